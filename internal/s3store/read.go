package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
)

// Presign returns a URL that lets whoever holds it GET the artifact name of
// session sessionID for ttl (one second to seven days), without credentials.
// The response asks the browser to save the file as downloadName (the base of
// name when empty). It does not check that the object exists.
func (s *Store) Presign(ctx context.Context, sessionID, name string, ttl time.Duration,
	downloadName string) (string, error) {
	key, err := s.Key(sessionID, name)
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	if ttl < time.Second || ttl > maxPresignTTL {
		return "", fmt.Errorf("presign %s: ttl %s: %w (want 1s to %s)",
			key, ttl, ErrInvalid, maxPresignTTL)
	}
	if downloadName == "" {
		downloadName = path.Base(name)
	}
	params := url.Values{"response-content-disposition": {attachment(downloadName)}}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, explain(err))
	}
	return u.String(), nil
}

// attachment returns a Content-Disposition value that saves the file as
// name; a name that is not ASCII is sent in RFC 2231 form.
func attachment(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == '"' {
			return '_'
		}
		return r
	}, name)
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}

// Stat describes the stored artifact name of session sessionID; ErrNotFound
// when there is none.
func (s *Store) Stat(ctx context.Context, sessionID, name string) (artifact.Artifact, error) {
	key, err := s.Key(sessionID, name)
	if err != nil {
		return artifact.Artifact{}, fmt.Errorf("stat: %w", err)
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return artifact.Artifact{}, fmt.Errorf("stat %s: %w", key, explain(err))
	}
	return describe(name, info), nil
}

// Open returns the content of the stored artifact name of session sessionID
// and its description; ErrNotFound when there is none. The caller closes the
// reader.
func (s *Store) Open(ctx context.Context, sessionID, name string) (io.ReadCloser,
	artifact.Artifact, error) {
	key, err := s.Key(sessionID, name)
	if err != nil {
		return nil, artifact.Artifact{}, fmt.Errorf("open: %w", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, artifact.Artifact{}, fmt.Errorf("open %s: %w", key, explain(err))
	}
	// GetObject is lazy: Stat sends the request and reports a missing object.
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, artifact.Artifact{}, fmt.Errorf("open %s: %w", key, explain(err))
	}
	return obj, describe(name, info), nil
}

// describe turns a stored object back into the Artifact it was uploaded
// from, as far as the metadata allows.
func describe(name string, info minio.ObjectInfo) artifact.Artifact {
	a := artifact.Artifact{
		Kind:        artifact.Kind(metaValue(info, metaKind)),
		Name:        name,
		Size:        info.Size,
		SHA256:      metaValue(info, metaSHA256),
		ContentType: info.ContentType,
		CreatedAt:   info.LastModified.UTC(),
	}
	if a.Kind == "" {
		a.Kind, _ = artifact.KindOf(name)
	}
	if t, err := time.Parse(time.RFC3339Nano, metaValue(info, metaCreated)); err == nil {
		a.CreatedAt = t.UTC()
	}
	if v := metaValue(info, metaOriginalName); v != "" {
		if n, err := url.PathUnescape(v); err == nil {
			a.OriginalName = n
		}
	}
	return a
}

// Delete removes every stored artifact of session sessionID and returns how
// many objects it removed. A session with nothing stored is not an error.
func (s *Store) Delete(ctx context.Context, sessionID string) (int, error) {
	if err := checkSessionID(sessionID); err != nil {
		return 0, fmt.Errorf("delete: %w", err)
	}
	prefix := s.sessionPrefix(sessionID)
	var keys []string
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
	for obj := range s.client.ListObjects(ctx, s.bucket, opts) {
		if obj.Err != nil {
			return 0, fmt.Errorf("delete %s: list: %w", prefix, explain(obj.Err))
		}
		keys = append(keys, obj.Key)
	}

	objects := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		objects <- minio.ObjectInfo{Key: k}
	}
	close(objects)
	var errs []error
	for r := range s.client.RemoveObjects(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		errs = append(errs, fmt.Errorf("%s: %w", r.ObjectName, explain(r.Err)))
	}
	deleted := len(keys) - len(errs)
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("delete %s: %w", prefix, err)
	}
	s.log.Info("session artifacts deleted from s3", "session_id", sessionID, "count", deleted)
	return deleted, nil
}
