package s3store

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
)

const (
	// partSize is the size of each part of a multipart upload: a file larger
	// than this goes up in parts (S3 wants at least 5 MiB per part).
	partSize = 16 << 20
	// uploadThreads is how many parts of one file are sent at once.
	uploadThreads = 2
	// uploadAttempts bounds the tries of a whole upload (send, then verify)
	// when a try fails in a way that may pass: the network, a 5xx, a
	// throttling answer or a failed verification.
	uploadAttempts = 3
	// retryBackoff is the wait after the first failed try; it doubles after
	// each further one, up to maxRetryBackoff, and is jittered.
	retryBackoff    = time.Second
	maxRetryBackoff = 8 * time.Second
)

// User metadata keys, as the server hands them back (canonical header case,
// without the x-amz-meta- prefix).
const (
	metaSHA256       = "Sha256"
	metaKind         = "Kind"
	metaCreated      = "Created"
	metaOriginalName = "Original-Name"
)

// Upload copies the artifact a of session sessionID from localPath to the
// bucket and returns nil only once the stored object has the artifact's size
// and sha256: then, and only then, the caller may delete its local copy.
//
// The local file is opened and hashed before anything is sent, so a missing
// or changed file (size or sha256 not those of a; ErrMismatch) fails without
// a request to the server. An object already stored with the same size and
// sha256 is kept as it is. Files larger than partSize go up in parts.
// Transient failures are retried up to uploadAttempts times with backoff;
// refusals (credentials, permissions, a missing bucket) are not retried.
func (s *Store) Upload(ctx context.Context, sessionID string, a artifact.Artifact,
	localPath string) error {
	key, err := s.Key(sessionID, a.Name)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	start := time.Now()
	f, sum, err := openLocal(localPath, a)
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	defer f.Close()
	a.SHA256 = sum

	log := s.log.With("session_id", sessionID, "name", a.Name)
	if s.stored(ctx, key, a) {
		log.Debug("artifact already in s3", "size", a.Size)
		return nil
	}
	opts := putOptions(a)
	err = retry(ctx, log, func() error { return s.put(ctx, key, f, a, opts) })
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	log.Info("artifact uploaded", "size", a.Size, "duration", time.Since(start))
	return nil
}

// UploadSession uploads the artifacts in list, in order, from the session
// folder sessionDir, and returns how many it uploaded. It stops at the first
// failure: then list[:n] are stored and verified, list[n] failed (the error
// says why) and the rest were not tried.
func (s *Store) UploadSession(ctx context.Context, sessionID, sessionDir string,
	list []artifact.Artifact) (int, error) {
	start := time.Now()
	for i, a := range list {
		p, err := artifact.Resolve(sessionDir, a.Name)
		if err != nil {
			return i, fmt.Errorf("upload session %s: %w", sessionID, err)
		}
		if err := s.Upload(ctx, sessionID, a, p); err != nil {
			return i, err
		}
	}
	s.log.Info("session artifacts uploaded", "session_id", sessionID,
		"count", len(list), "duration", time.Since(start))
	return len(list), nil
}

// openLocal opens the file at p, checks it against a and returns it with its
// sha256 (hex). The file is read once to hash it; the upload reads it again.
func openLocal(p string, a artifact.Artifact) (*os.File, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, "", err
	}
	sum, err := checkLocal(f, a)
	if err != nil {
		f.Close()
		return nil, "", err
	}
	return f, sum, nil
}

func checkLocal(f *os.File, a artifact.Artifact) (string, error) {
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", f.Name())
	}
	if info.Size() != a.Size {
		return "", fmt.Errorf("%w: %s has %d bytes, the artifact %d",
			ErrMismatch, f.Name(), info.Size(), a.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", f.Name(), err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if a.SHA256 != "" && !strings.EqualFold(a.SHA256, sum) {
		return "", fmt.Errorf("%w: %s has sha256 %s, the artifact %s",
			ErrMismatch, f.Name(), sum, a.SHA256)
	}
	return sum, nil
}

func putOptions(a artifact.Artifact) minio.PutObjectOptions {
	ct := a.ContentType
	if ct == "" {
		ct = artifact.ContentType(a.Name)
	}
	meta := map[string]string{metaSHA256: a.SHA256}
	if a.Kind != "" {
		meta[metaKind] = string(a.Kind)
	}
	if !a.CreatedAt.IsZero() {
		meta[metaCreated] = a.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	if a.OriginalName != "" {
		// Header values must be ASCII; the name came from a web page.
		meta[metaOriginalName] = url.PathEscape(a.OriginalName)
	}
	return minio.PutObjectOptions{
		ContentType:  ct,
		UserMetadata: meta,
		PartSize:     partSize,
		NumThreads:   uploadThreads,
	}
}

// put sends the file once and verifies what the server stored.
func (s *Store) put(ctx context.Context, key string, f *os.File, a artifact.Artifact,
	opts minio.PutObjectOptions) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, f, a.Size, opts)
	if err != nil {
		return explain(err)
	}
	return s.verify(ctx, key, a)
}

// verify checks that the object at key has the size and sha256 of a.
func (s *Store) verify(ctx context.Context, key string, a artifact.Artifact) error {
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return fmt.Errorf("verify: %w", explain(err))
	}
	if info.Size != a.Size {
		return fmt.Errorf("verify: %w: stored %d bytes, sent %d", ErrMismatch, info.Size, a.Size)
	}
	if got := metaValue(info, metaSHA256); !strings.EqualFold(got, a.SHA256) {
		return fmt.Errorf("verify: %w: stored sha256 %q, sent %s", ErrMismatch, got, a.SHA256)
	}
	return nil
}

// stored reports whether key already holds a's content. Any error counts as
// no: the upload that follows will report it.
func (s *Store) stored(ctx context.Context, key string, a artifact.Artifact) bool {
	return s.verify(ctx, key, a) == nil
}

func metaValue(info minio.ObjectInfo, key string) string {
	if v, ok := info.UserMetadata[key]; ok {
		return v
	}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// retry runs op until it succeeds, fails for good, or has run uploadAttempts
// times, waiting with jittered exponential backoff in between.
func retry(ctx context.Context, log *slog.Logger, op func() error) error {
	wait := retryBackoff
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if !transient(ctx, err) {
			return err
		}
		if attempt == uploadAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		d := wait/2 + rand.N(wait/2+1)
		log.Warn("s3 upload failed; retrying", "attempt", attempt, "retry_in", d, "err", err)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts: %w)", ctx.Err(), attempt, err)
		}
		wait = min(2*wait, maxRetryBackoff)
	}
}

// transient reports whether err may go away on a new try: network failures,
// server faults, throttling and verification mismatches. It is false once ctx
// is done, and for refusals and local errors.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, ErrMismatch) {
		return true
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "RequestTimeout", "SlowDown", "SlowDownWrite", "InternalError",
			"ServiceUnavailable", "RequestError", "Throttling":
			return true
		}
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout ||
			resp.StatusCode == http.StatusTooManyRequests
	}
	if tlsConfigError(err) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// tlsConfigError reports errors that another try cannot fix: a certificate
// that is not trusted, or TLS spoken to a plain HTTP server.
func tlsConfigError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var record tls.RecordHeaderError
	return errors.As(err, &unknown) || errors.As(err, &invalid) ||
		errors.As(err, &host) || errors.As(err, &record)
}
