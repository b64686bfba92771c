package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
)

// The variables scripts/s3-test.sh start prints.
const (
	envTestEndpoint  = "CAMOFLEET_TEST_S3_ENDPOINT"
	envTestAccessKey = "CAMOFLEET_TEST_S3_ACCESS_KEY"
	envTestSecretKey = "CAMOFLEET_TEST_S3_SECRET_KEY"
	envTestBucket    = "CAMOFLEET_TEST_S3_BUCKET"
)

// testTimeout bounds each test's calls to the server.
const testTimeout = 2 * time.Minute

// serverConfig returns the configuration of the test server, with a prefix of
// its own for this test, or skips the test when no server is set up.
func serverConfig(t *testing.T) Config {
	t.Helper()
	raw := os.Getenv(envTestEndpoint)
	if raw == "" {
		t.Skipf("%s is not set: run eval \"$(scripts/s3-test.sh start)\" first "+
			"(scripts/s3-test.sh stop afterwards)", envTestEndpoint)
	}
	c, err := FromEnv(func(k string) (string, bool) {
		switch k {
		case EnvEndpoint:
			return raw, true
		case EnvAccessKey:
			return os.Getenv(envTestAccessKey), true
		case EnvSecretKey:
			return os.Getenv(envTestSecretKey), true
		case EnvBucket:
			return os.Getenv(envTestBucket), true
		case EnvCreateBucket:
			return "true", true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("test server variables: %v", err)
	}
	c.Prefix = "test-" + randomHex(t, 6) + "/"
	return *c
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newTestStore opens a store on cfg and removes the listed sessions' objects
// when the test ends.
func newTestStore(t *testing.T, cfg Config, sessions ...string) *Store {
	t.Helper()
	s, err := New(testContext(t), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, id := range sessions {
			if _, err := s.Delete(ctx, id); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return s
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeArtifact writes size random bytes to sessionDir/name and returns the
// artifact's description and content.
func writeArtifact(t *testing.T, sessionDir, name string, size int) (artifact.Artifact, []byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(sessionDir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	kind, _ := artifact.KindOf(name)
	a, err := artifact.Describe(sessionDir, name, kind)
	if err != nil {
		t.Fatal(err)
	}
	return a, data
}

// recorder is an HTTP transport that notes every request it passes on.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func newRecorder(secure bool) *recorder {
	return &recorder{base: newTransport(secure)}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// requests returns the requests so far and forgets them.
func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.reqs
	r.reqs = nil
	return got
}

func countParts(reqs []string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, "PUT ") && strings.Contains(r, "partNumber=") {
			n++
		}
	}
	return n
}

// flakyProxy forwards TCP connections to a server until it has carried
// cutAfter bytes from client to server; then it cuts every connection and
// from there on accepts new ones only to close them at once, as a server
// that went away behind a load balancer does. It counts those refusals.
type flakyProxy struct {
	ln        net.Listener
	target    string
	cutAfter  int64
	forwarded atomic.Int64
	down      atomic.Bool
	refused   atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startFlakyProxy(t *testing.T, target string, cutAfter int64) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target, cutAfter: cutAfter}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *flakyProxy) addr() string { return p.ln.Addr().String() }

func (p *flakyProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			p.refused.Add(1)
			c.Close()
			continue
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *flakyProxy) forward(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, client, server)
	p.mu.Unlock()
	if p.down.Load() { // cut while this one was dialling
		p.cut()
		return
	}

	p.wg.Go(func() { io.Copy(client, server); client.Close() })
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if p.forwarded.Add(int64(n)) > p.cutAfter {
				p.cut()
				return
			}
			if _, werr := server.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	server.Close()
}

// cut marks the proxy down and closes every connection it carries.
func (p *flakyProxy) cut() {
	p.down.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as from a crashed server
		}
		c.Close()
	}
	p.conns = nil
}

func requireErrorIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}
