package s3store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
)

const largeSize = 20 << 20 // above partSize: goes up in parts

func TestUploadSessionRoundTrip(t *testing.T) {
	cfg := serverConfig(t)
	rec := newRecorder(cfg.Secure)
	cfg.Transport = rec
	s := newTestStore(t, cfg, "s-round")
	ctx := testContext(t)

	dir := t.TempDir()
	small, smallData := writeArtifact(t, dir, "screenshots/home.png", 1234)
	large, largeData := writeArtifact(t, dir, "video/session.webm", largeSize)
	empty, _ := writeArtifact(t, dir, "console.jsonl", 0)
	rec.requests()

	n, err := s.UploadSession(ctx, "s-round", dir, []artifact.Artifact{small, large, empty})
	if err != nil || n != 3 {
		t.Fatalf("UploadSession = %d, %v; want 3, nil", n, err)
	}
	if parts := countParts(rec.requests()); parts < 2 {
		t.Fatalf("the %d MiB file went up in %d parts, want multipart", largeSize>>20, parts)
	}

	for _, tc := range []struct {
		want artifact.Artifact
		data []byte
	}{{small, smallData}, {large, largeData}, {empty, nil}} {
		t.Run(tc.want.Name, func(t *testing.T) {
			got, err := s.Stat(ctx, "s-round", tc.want.Name)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			assertSameArtifact(t, got, tc.want)

			r, info, err := s.Open(ctx, "s-round", tc.want.Name)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.Close()
			assertSameArtifact(t, info, tc.want)
			body, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(body, tc.data) {
				t.Fatalf("read %d bytes that differ from the %d uploaded", len(body), len(tc.data))
			}
		})
	}

	// The object carries its key, content type and metadata on the server too.
	info, err := s.client.StatObject(ctx, cfg.Bucket, cfg.Prefix+"sessions/s-round/video/session.webm",
		minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("raw stat: %v", err)
	}
	if info.ContentType != "video/webm" || metaValue(info, metaSHA256) != large.SHA256 {
		t.Fatalf("raw object: content type %q, sha256 %q", info.ContentType,
			metaValue(info, metaSHA256))
	}
}

func assertSameArtifact(t *testing.T, got, want artifact.Artifact) {
	t.Helper()
	if got.Name != want.Name || got.Kind != want.Kind || got.Size != want.Size ||
		got.SHA256 != want.SHA256 || got.ContentType != want.ContentType ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("stored artifact\n got %+v\nwant %+v", got, want)
	}
}

func TestUploadKeepsAnIdenticalObject(t *testing.T) {
	cfg := serverConfig(t)
	rec := newRecorder(cfg.Secure)
	cfg.Transport = rec
	s := newTestStore(t, cfg, "s-again")
	ctx := testContext(t)
	dir := t.TempDir()
	a, _ := writeArtifact(t, dir, "downloads/report.pdf", 4096)
	a.OriginalName = "Отчёт «Q3».pdf"

	if err := s.Upload(ctx, "s-again", a, filepath.Join(dir, "downloads/report.pdf")); err != nil {
		t.Fatalf("first Upload: %v", err)
	}
	rec.requests()
	if err := s.Upload(ctx, "s-again", a, filepath.Join(dir, "downloads/report.pdf")); err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	for _, r := range rec.requests() {
		if strings.HasPrefix(r, "PUT ") || strings.HasPrefix(r, "POST ") {
			t.Fatalf("second upload of the same content sent %s", r)
		}
	}
	got, err := s.Stat(ctx, "s-again", a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.OriginalName != a.OriginalName {
		t.Fatalf("original name = %q, want %q", got.OriginalName, a.OriginalName)
	}
}

func TestPresign(t *testing.T) {
	cfg := serverConfig(t)
	s := newTestStore(t, cfg, "s-presign")
	ctx := testContext(t)
	dir := t.TempDir()
	a, data := writeArtifact(t, dir, "screenshots/home.png", 70_000)
	if err := s.Upload(ctx, "s-presign", a, filepath.Join(dir, a.Name)); err != nil {
		t.Fatal(err)
	}

	link, err := s.Presign(ctx, "s-presign", a.Name, time.Minute, "home page.png")
	if err != nil {
		t.Fatalf("Presign: %v", err)
	}
	status, header, body := get(t, link)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET presigned: status %d, %d bytes (want 200, the %d uploaded)",
			status, len(body), len(data))
	}
	if cd := header.Get("Content-Disposition"); cd != `attachment; filename="home page.png"` {
		t.Fatalf("Content-Disposition = %q", cd)
	}

	short, err := s.Presign(ctx, "s-presign", a.Name, time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if status, _, body := get(t, short); status != http.StatusForbidden {
		t.Fatalf("GET expired presigned URL: status %d (%s), want 403", status, body)
	}

	if _, err := s.Presign(ctx, "s-presign", a.Name, 8*24*time.Hour, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Presign with 8 days = %v, want ErrInvalid", err)
	}
}

func get(t *testing.T, link string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", link, err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestUploadRefusesBadLocalFiles(t *testing.T) {
	cfg := serverConfig(t)
	rec := newRecorder(cfg.Secure)
	cfg.Transport = rec
	s := newTestStore(t, cfg, "s-local")
	ctx := testContext(t)
	dir := t.TempDir()
	a, _ := writeArtifact(t, dir, "screenshots/a.png", 100)
	changed, _ := writeArtifact(t, dir, "screenshots/b.png", 100)
	changed.SHA256 = strings.Repeat("0", 64)
	grown, _ := writeArtifact(t, dir, "screenshots/c.png", 100)
	grown.Size = 99

	tests := []struct {
		name string
		a    artifact.Artifact
		path string
		want error
	}{
		{"missing file", a, filepath.Join(dir, "screenshots/gone.png"), os.ErrNotExist},
		{"other sha256", changed, filepath.Join(dir, changed.Name), ErrMismatch},
		{"other size", grown, filepath.Join(dir, grown.Name), ErrMismatch},
		{"folder", a, dir, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.requests()
			err := s.Upload(ctx, "s-local", tc.a, tc.path)
			if err == nil {
				t.Fatal("Upload = nil, want an error")
			}
			if tc.want != nil {
				requireErrorIs(t, err, tc.want)
			}
			if reqs := rec.requests(); len(reqs) != 0 {
				t.Fatalf("Upload sent %v before failing", reqs)
			}
			if _, err := s.Stat(ctx, "s-local", tc.a.Name); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Stat after failed upload = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestUploadSessionStopsAtFirstFailure(t *testing.T) {
	cfg := serverConfig(t)
	s := newTestStore(t, cfg, "s-partial")
	ctx := testContext(t)
	dir := t.TempDir()
	first, _ := writeArtifact(t, dir, "screenshots/1.png", 10)
	second, _ := writeArtifact(t, dir, "screenshots/2.png", 10)
	third, _ := writeArtifact(t, dir, "screenshots/3.png", 10)
	if err := os.Remove(filepath.Join(dir, second.Name)); err != nil {
		t.Fatal(err)
	}

	n, err := s.UploadSession(ctx, "s-partial", dir, []artifact.Artifact{first, second, third})
	if n != 1 || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("UploadSession = %d, %v; want 1 and a missing file", n, err)
	}
	if _, err := s.Stat(ctx, "s-partial", third.Name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("artifact after the failure: Stat = %v, want ErrNotFound", err)
	}
}

func TestDelete(t *testing.T) {
	cfg := serverConfig(t)
	s := newTestStore(t, cfg, "s-del", "s-del-other")
	ctx := testContext(t)
	dir := t.TempDir()
	a, _ := writeArtifact(t, dir, "screenshots/1.png", 10)
	b, _ := writeArtifact(t, dir, "network.jsonl", 10)
	for _, id := range []string{"s-del", "s-del-other"} {
		if _, err := s.UploadSession(ctx, id, dir, []artifact.Artifact{a, b}); err != nil {
			t.Fatal(err)
		}
	}

	n, err := s.Delete(ctx, "s-del")
	if err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v; want 2, nil", n, err)
	}
	if _, err := s.Stat(ctx, "s-del", a.Name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Open(ctx, "s-del", b.Name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "s-del-other", a.Name); err != nil {
		t.Fatalf("Delete touched another session whose ID shares the prefix: %v", err)
	}
	if n, err := s.Delete(ctx, "s-del"); err != nil || n != 0 {
		t.Fatalf("second Delete = %d, %v; want 0, nil", n, err)
	}
}

func TestNewWrongSecretKey(t *testing.T) {
	cfg := serverConfig(t)
	cfg.SecretKey = "not-the-secret"
	_, err := New(testContext(t), cfg, testLogger(t))
	requireErrorIs(t, err, ErrAccessDenied)
	if !strings.Contains(err.Error(), EnvSecretKey) {
		t.Fatalf("error %q does not name %s", err, EnvSecretKey)
	}
	if strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("error %q shows the secret", err)
	}
	t.Logf("wrong secret: %v", err)
}

func TestNewWrongAccessKey(t *testing.T) {
	cfg := serverConfig(t)
	cfg.AccessKey = "nobody"
	_, err := New(testContext(t), cfg, testLogger(t))
	requireErrorIs(t, err, ErrAccessDenied)
	if !strings.Contains(err.Error(), EnvAccessKey) {
		t.Fatalf("error %q does not name %s", err, EnvAccessKey)
	}
}

func TestNewMissingBucket(t *testing.T) {
	cfg := serverConfig(t)
	cfg.Bucket = "camofleet-missing-" + randomHex(t, 4)
	cfg.CreateBucket = false
	_, err := New(testContext(t), cfg, testLogger(t))
	requireErrorIs(t, err, ErrNotFound)
	if !strings.Contains(err.Error(), EnvCreateBucket) || !strings.Contains(err.Error(), cfg.Bucket) {
		t.Fatalf("error %q names neither the bucket nor %s", err, EnvCreateBucket)
	}

	cfg.CreateBucket = true
	s, err := New(testContext(t), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New with CreateBucket: %v", err)
	}
	if err := s.client.RemoveBucket(testContext(t), cfg.Bucket); err != nil {
		t.Errorf("remove test bucket: %v", err)
	}
}

func TestNewServerDown(t *testing.T) {
	cfg := serverConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint = ln.Addr().String()
	ln.Close() // nothing listens there now

	start := time.Now()
	_, err = New(testContext(t), cfg, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), cfg.Endpoint) {
		t.Fatalf("New on a closed port = %v, want an error naming %s", err, cfg.Endpoint)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("New on a closed port took %s", d)
	}
	t.Logf("closed port: %v", err)
}

// TestUploadServerGoesAway cuts the connection to the server in the middle
// of a multipart upload and keeps it cut: Upload must fail after its bounded
// retries instead of hanging or pretending success.
func TestUploadServerGoesAway(t *testing.T) {
	cfg := serverConfig(t)
	proxy := startFlakyProxy(t, cfg.Endpoint, 6<<20)
	cfg.Endpoint = proxy.addr()
	s := newTestStore(t, cfg)
	ctx := testContext(t)
	dir := t.TempDir()
	a, _ := writeArtifact(t, dir, "video/v.webm", largeSize)

	start := time.Now()
	err := s.Upload(ctx, "s-away", a, filepath.Join(dir, a.Name))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Upload through a dead server returned nil")
	}
	if !proxy.down.Load() {
		t.Fatalf("the proxy never cut the upload; Upload failed on its own: %v", err)
	}
	if !strings.Contains(err.Error(), "attempts") {
		t.Fatalf("error %q does not say it retried", err)
	}
	// Each try makes up to requestAttempts connections for its first request.
	if got := proxy.refused.Load(); got < uploadAttempts {
		t.Fatalf("the dead server saw %d connection attempts, want at least %d", got, uploadAttempts)
	}
	if elapsed > time.Minute {
		t.Fatalf("Upload took %s to give up", elapsed)
	}
	t.Logf("gave up after %s and %d reconnects: %v", elapsed.Round(time.Millisecond),
		proxy.refused.Load(), err)
}

func TestTransient(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"slow down", minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, true},
		{"server fault", minio.ErrorResponse{Code: "X", StatusCode: 500}, true},
		{"too many", minio.ErrorResponse{StatusCode: 429}, true},
		{"access denied", minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, false},
		{"no bucket", minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, false},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"mismatch", ErrMismatch, true},
		{"local file", os.ErrNotExist, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := transient(ctx, tc.err); got != tc.want {
				t.Fatalf("transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestLocalMismatchNeedsNoServer(t *testing.T) {
	dir := t.TempDir()
	a, data := writeArtifact(t, dir, "screenshots/x.png", 33)
	sum := sha256.Sum256(data)
	f, got, err := openLocal(filepath.Join(dir, a.Name), a)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got != hex.EncodeToString(sum[:]) {
		t.Fatalf("sha256 = %s", got)
	}
	a.SHA256 = ""
	f, got, err = openLocal(filepath.Join(dir, a.Name), a)
	if err != nil || got != hex.EncodeToString(sum[:]) {
		t.Fatalf("without a described sha256: %q, %v", got, err)
	}
	f.Close()
}
