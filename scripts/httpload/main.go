// Command httpload is the benchmarks' HTTP client: it GETs URLs with C
// clients at once, N requests in all (the URLs in turn), and prints the
// latency percentiles and the requests per second. Every answer must be
// 200 with a body, or the run fails.
//
//	go run ./scripts/httpload -c 8 -n 500 URL...
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	c := flag.Int("c", 8, "clients at once")
	n := flag.Int("n", 500, "requests in all")
	label := flag.String("label", "", "what is measured (printed first)")
	flag.Parse()
	urls := flag.Args()
	if len(urls) == 0 {
		fmt.Fprintln(os.Stderr, "httpload: give URLs")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c}}
	lat := make([]time.Duration, *n)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				t := time.Now()
				resp, err := client.Get(urls[i%len(urls)])
				if err == nil {
					b, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || b == 0 {
						err = fmt.Errorf("%s: %d", urls[i%len(urls)], resp.StatusCode)
					}
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "httpload:", err)
					failed.Add(1)
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "httpload: %d of %d requests failed\n", failed.Load(), *n)
		os.Exit(1)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("%-44s p50 %7.2f ms  p95 %7.2f ms  %7.0f req/s  (%d requests, %d clients)\n", *label, pct(.5), pct(.95),
		float64(*n)/took.Seconds(), *n, *c)
}
