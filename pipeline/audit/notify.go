package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Webhook is where new alerts are posted: one JSON message per audit run,
// signed with HMAC-SHA256 of Secret in the X-Strongroom-Signature header
// ("sha256=<hex>"), so the receiver can tell it came from us.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
}

// Secret is a string that never prints: not in logs, errors or `config`.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// MarshalYAML redacts the secret when a configuration is printed.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Message is the webhook payload.
type Message struct {
	Run    int64          `json:"run"`
	Time   time.Time      `json:"time"`
	Alerts []MessageAlert `json:"new_alerts"`
}

// MessageAlert is one new or reopened alert.
type MessageAlert struct {
	ID      int64           `json:"id"`
	Bag     string          `json:"bag"`
	Problem catalog.Problem `json:"problem"`
	Key     string          `json:"key"`
	Detail  string          `json:"detail"`
}

// Sign returns the signature header value for body.
func Sign(secret Secret, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notifier posts to a webhook, trying up to attempts times with
// exponential pauses from pause.
func (w Webhook) Notifier(client *http.Client, attempts int, pause time.Duration) func(context.Context, int64, []*catalog.Alert) error {
	return func(ctx context.Context, run int64, alerts []*catalog.Alert) error {
		msg := Message{Run: run, Time: time.Now().UTC()}
		for _, a := range alerts {
			msg.Alerts = append(msg.Alerts, MessageAlert{a.ID, a.BagID, a.Problem, a.Key, a.Detail})
		}
		body, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		post := func() (struct{}, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
			if err != nil {
				return struct{}{}, backoff.Permanent(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Strongroom-Signature", Sign(w.Secret, body))
			resp, err := client.Do(req)
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text holds the URL, which may carry a token
			}
			if err != nil {
				return struct{}{}, err
			}
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				return struct{}{}, fmt.Errorf("HTTP %s", resp.Status)
			}
			return struct{}{}, nil
		}
		b := &backoff.ExponentialBackOff{InitialInterval: pause, RandomizationFactor: 0.1, Multiplier: 2, MaxInterval: time.Minute}
		_, err = backoff.Retry(ctx, post, backoff.WithBackOff(b), backoff.WithMaxTries(uint(attempts)), backoff.WithMaxElapsedTime(0))
		if err != nil {
			return fmt.Errorf("webhook: %d attempts failed, last: %w", attempts, err)
		}
		return nil
	}
}
