// Package s3store keeps session artifacts in an S3-compatible bucket (AWS S3,
// MinIO, SeaweedFS) and hands them out as presigned URLs. It is the adapter
// the control-plane uses when S3_ENDPOINT is set; without it, artifacts stay
// under RUNNER_DATA.
//
// Objects are stored at <prefix>sessions/<session id>/<artifact name>, with
// the artifact's content type and its sha256, kind and creation time in user
// metadata. Upload returns nil only once the object is verified on the
// server, so a caller may then delete its local copy.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Errors returned by the store; wrapped, so test them with errors.Is.
var (
	// ErrNotFound: no such object (or, from New, no such bucket).
	ErrNotFound = errors.New("not found")
	// ErrAccessDenied: the server refused the credentials or the request.
	ErrAccessDenied = errors.New("access denied")
	// ErrInvalid: a session ID, artifact name or argument that is not allowed.
	ErrInvalid = errors.New("invalid argument")
	// ErrMismatch: the local file or the stored object does not match the
	// artifact's description (size or sha256).
	ErrMismatch = errors.New("content mismatch")
)

const (
	// requestAttempts bounds the tries minio-go makes for each HTTP request
	// (a part of a multipart upload is one request), with its own short
	// exponential backoff.
	requestAttempts = 3
	// checkTimeout bounds the bucket check New makes.
	checkTimeout = 30 * time.Second
	// dialTimeout bounds connecting to the server.
	dialTimeout = 10 * time.Second
	// responseHeaderTimeout bounds the wait for an answer once a request
	// (a part included) has been sent.
	responseHeaderTimeout = 2 * time.Minute
	// maxPresignTTL is the longest validity S3 allows for a presigned URL.
	maxPresignTTL = 7 * 24 * time.Hour
)

// Store reads and writes the artifacts of sessions in one bucket.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
	log    *slog.Logger
}

// New connects to the server described by cfg and checks that the bucket is
// there, creating it when cfg.CreateBucket is set. The check is bounded by
// checkTimeout; its error says whether the server could not be reached, the
// credentials were refused or the bucket is missing.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := cfg.Transport
	if tr == nil {
		tr = newTransport(cfg.Secure)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.Secure,
		Region:     cfg.Region,
		Transport:  tr,
		MaxRetries: requestAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &Store{
		client: client,
		bucket: cfg.Bucket,
		prefix: normalPrefix(cfg.Prefix),
		log:    log.With("bucket", cfg.Bucket),
	}
	if err := s.ensureBucket(ctx, cfg); err != nil {
		return nil, err
	}
	log.Info("s3 artifact store ready", "s3", cfg)
	return s, nil
}

func newTransport(secure bool) http.RoundTripper {
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return http.DefaultTransport
	}
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = responseHeaderTimeout
	return tr
}

func (s *Store) ensureBucket(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()

	where := fmt.Sprintf("bucket %q at %s", cfg.Bucket, s.client.EndpointURL().Host)
	ok, err := s.client.BucketExists(ctx, cfg.Bucket)
	var netErr net.Error
	if errors.As(err, &netErr) {
		return fmt.Errorf("s3: cannot reach %s for bucket %q (check %s and %s): %w",
			s.client.EndpointURL().Host, cfg.Bucket, EnvEndpoint, EnvSecure, err)
	}
	if err != nil {
		return fmt.Errorf("s3: check %s: %w", where, explain(err))
	}
	if ok {
		return nil
	}
	if !cfg.CreateBucket {
		return fmt.Errorf("s3: %s: %w (create it, or set %s=true)",
			where, ErrNotFound, EnvCreateBucket)
	}
	err = s.client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
	if err != nil {
		// Another replica may have created it in the meantime.
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("s3: create %s: %w", where, explain(err))
	}
	s.log.Info("s3 bucket created")
	return nil
}

// Key returns the object key of an artifact, or ErrInvalid when the session
// ID or the name would leave the session's folder.
func (s *Store) Key(sessionID, name string) (string, error) {
	if err := checkSessionID(sessionID); err != nil {
		return "", err
	}
	if !validName(name) {
		return "", fmt.Errorf("artifact name %q: %w", name, ErrInvalid)
	}
	return s.sessionPrefix(sessionID) + name, nil
}

func (s *Store) sessionPrefix(sessionID string) string {
	return s.prefix + "sessions/" + sessionID + "/"
}

// checkSessionID accepts the IDs the registry hands out and refuses anything
// that could reach another session's objects.
func checkSessionID(id string) error {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return fmt.Errorf("session id %q: %w", id, ErrInvalid)
	}
	for _, r := range id {
		ok := r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') ||
			(r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("session id %q: %w", id, ErrInvalid)
		}
	}
	return nil
}

// validName reports whether name is a clean relative artifact name with
// forward slashes, as artifact.Describe produces.
func validName(name string) bool {
	if name == "" || len(name) > 512 || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	if path.Clean(name) != name || path.IsAbs(name) || name == "." ||
		name == ".." || strings.HasPrefix(name, "../") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// explain wraps a server error with the store's sentinel for it and a hint a
// person can act on.
func explain(err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	switch resp.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case "SignatureDoesNotMatch":
		return fmt.Errorf("%w: the secret key is wrong (%s): %w", ErrAccessDenied, EnvSecretKey, err)
	case "InvalidAccessKeyId":
		return fmt.Errorf("%w: unknown access key (%s): %w", ErrAccessDenied, EnvAccessKey, err)
	case "AccessDenied", "Forbidden":
		return fmt.Errorf("%w: check %s, %s and the key's permissions on the bucket: %w",
			ErrAccessDenied, EnvAccessKey, EnvSecretKey, err)
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case http.StatusForbidden, http.StatusUnauthorized:
		return fmt.Errorf("%w: check %s, %s and the key's permissions on the bucket: %w",
			ErrAccessDenied, EnvAccessKey, EnvSecretKey, err)
	}
	return err
}
