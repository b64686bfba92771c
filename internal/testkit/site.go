package testkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Site is a loopback web server with the given routes; "/" answers a small
// HTML page unless a route replaces it.
func Site(t testing.TB, routes map[string]http.HandlerFunc) *httptest.Server {
	mux := http.NewServeMux()
	if _, ok := routes["/"]; !ok {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><title>Home</title><h1 id="h">Hello</h1>` +
				`<script>console.log("home loaded")</script>`))
		})
	}
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// HTML answers a fixed HTML page.
func HTML(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}
