package review

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// MetricsHandler serves /metrics: strongroom's numbers, read from the
// catalog and the daemon at each scrape, and the Go runtime's and the
// process's. Handler serves it behind a token; the daemon serves it alone
// on http.metrics_listen.
func (s *Server) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &collector{s})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

// collector reads the numbers when scraped: they live in the catalog (and
// the rest of the daemon), not in counters of this process.
type collector struct{ s *Server }

var (
	descItems         = prometheus.NewDesc("strongroom_items", "Items by pipeline stage (done = stored and released).", []string{"stage"}, nil)
	descBags          = prometheus.NewDesc("strongroom_bags_stored", "Bags stored and verified.", nil, nil)
	descBytes         = prometheus.NewDesc("strongroom_bytes_stored", "Bytes in stored bags.", nil, nil)
	descObjects       = prometheus.NewDesc("strongroom_objects", "Stored objects under audit.", nil, nil)
	descCoverage      = prometheus.NewDesc("strongroom_audit_coverage_ratio", "Share of objects re-read within the audit cycle.", nil, nil)
	descAlerts        = prometheus.NewDesc("strongroom_open_alerts", "Alerts by state.", []string{"state"}, nil)
	descAudited       = prometheus.NewDesc("strongroom_bytes_audited_total", "Bytes re-read by audits since start.", nil, nil)
	descAuditFailures = prometheus.NewDesc("strongroom_audit_failures_total", "Problems found by audits since start.", nil, nil)
	descPages         = prometheus.NewDesc("strongroom_pages_ocred_total", "Pages OCRed since start.", nil, nil)
	descEnvironment   = prometheus.NewDesc("strongroom_environment_errors_total", "Steps that waited because the store or a folder was unusable (down, read-only, full, no permission).", nil, nil)
	descStoreUp       = prometheus.NewDesc("strongroom_store_up", "1 once the store is open, 0 while it cannot be opened.", nil, nil)
	descQueue         = prometheus.NewDesc("strongroom_queue_depth", "Items waiting for or in a stage: the catalog's work list.", nil, nil)
	descHTTPFailures  = prometheus.NewDesc("strongroom_http_failures_total", "Requests answered 500 by a fault of the server: a handler that panicked, a page that failed to render.", []string{"kind"}, nil)
)

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descItems, descBags, descBytes, descObjects, descCoverage, descAlerts,
		descAudited, descAuditFailures, descPages, descEnvironment, descStoreUp, descQueue, descHTTPFailures} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A catalog that does not answer
// makes the scrape fail (promhttp answers 500), rather than report zeros.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, counts, err := c.s.auditView(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descItems, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, f func() int64) {
		if f != nil {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(f()))
		}
	}
	waiting := 0
	for st, n := range counts.ItemsByStage {
		gauge(descItems, float64(n), string(st))
		if !st.Terminal() {
			waiting += int(n)
		}
	}
	gauge(descQueue, float64(waiting))
	gauge(descBags, float64(counts.BagsStored))
	gauge(descBytes, float64(counts.BytesStored))
	gauge(descObjects, float64(v.Objects))
	gauge(descCoverage, v.AuditedInCycle)
	gauge(descAlerts, float64(counts.OpenAlerts), string(catalog.AlertOpen))
	gauge(descAlerts, float64(counts.AckedAlerts), string(catalog.AlertAcknowledged))
	g := c.s.Gauges
	counter(descAudited, g.BytesAudited)
	counter(descAuditFailures, g.AuditFailed)
	counter(descPages, g.PagesOCRed)
	counter(descEnvironment, g.EnvironmentErrors)
	ch <- prometheus.MustNewConstMetric(descHTTPFailures, prometheus.CounterValue, float64(c.s.failures.panics.Load()), "panic")
	ch <- prometheus.MustNewConstMetric(descHTTPFailures, prometheus.CounterValue, float64(c.s.failures.renders.Load()), "render")
	if g.Store != nil {
		up := 1.0
		if g.Store() != nil {
			up = 0
		}
		gauge(descStoreUp, up)
	}
}
