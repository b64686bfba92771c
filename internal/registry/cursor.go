package registry

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SessionCursor is the position after the last session of a page: the
// keyset of ListSessions' order (CreatedAt, then ID, both descending).
type SessionCursor struct {
	CreatedAt time.Time
	ID        string
}

// String encodes c as the opaque text of SessionFilter.Cursor.
func (c SessionCursor) String() string {
	raw := strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseSessionCursor decodes a SessionFilter.Cursor; a malformed one gives
// ErrInvalidCursor.
func ParseSessionCursor(s string) (SessionCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return SessionCursor{}, fmt.Errorf("%w: %v", ErrInvalidCursor, err)
	}
	micro, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return SessionCursor{}, fmt.Errorf("%w: malformed", ErrInvalidCursor)
	}
	us, err := strconv.ParseInt(micro, 10, 64)
	if err != nil {
		return SessionCursor{}, fmt.Errorf("%w: %v", ErrInvalidCursor, err)
	}
	return SessionCursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}
