package registry

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[string]("thing")
	r.Register("mem", func(_ context.Context, u *url.URL) (string, error) { return u.Host + u.Path, nil })
	if got, err := r.Open(context.Background(), "mem://a/b"); err != nil || got != "a/b" {
		t.Errorf("Open: %q %v", got, err)
	}
	for _, c := range []struct{ url, want string }{
		{"disk:///x", `no backend for scheme "disk" (have [mem://])`},
		{"postgres://u:s3cret@h:%zz/db", "does not parse"},
	} {
		err := r.Registered(c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v", c.url, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a second registration of a scheme did not panic")
		}
	}()
	r.Register("mem", nil)
}
