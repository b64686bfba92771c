package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/httpx"
	"github.com/camo-fleet/camo-fleet/internal/relay"
	"github.com/camo-fleet/camo-fleet/internal/session"
	"github.com/camo-fleet/camo-fleet/internal/steps"
)

// capacityRetryAfter is the Retry-After a full worker suggests, in seconds.
const capacityRetryAfter = 5

// statusOf maps domain errors to an HTTP status, a stable code and the
// request field to blame, if one is. It is the only place that does.
var statusOf = []struct {
	err    error
	status int
	code   string
	field  string
}{
	{session.ErrNotFound, http.StatusNotFound, "not_found", ""},
	{session.ErrEnded, http.StatusConflict, "session_ended", ""},
	{session.ErrNotReady, http.StatusConflict, "session_not_ready", ""},
	{session.ErrWrongMode, http.StatusConflict, "wrong_mode", ""},
	{session.ErrClientConnected, http.StatusConflict, "client_connected", ""},
	{session.ErrCapacity, http.StatusTooManyRequests, "capacity", ""},
	{session.ErrEngineUnavailable, http.StatusServiceUnavailable, "engine_unavailable", ""},
	{session.ErrDirectDisabled, http.StatusForbidden, "direct_disabled", ""},
	{session.ErrTokenInvalid, http.StatusUnauthorized, "token_invalid", ""},
	{session.ErrShuttingDown, http.StatusServiceUnavailable, "shutting_down", ""},
	{httpx.ErrBadRequest, http.StatusBadRequest, "bad_request", "body"},
	{httpx.ErrTooLarge, http.StatusRequestEntityTooLarge, "body_too_large", "body"},
	{errNoRoute, http.StatusNotFound, "no_route", ""},
	{relay.ErrBadUpgrade, http.StatusBadRequest, "bad_upgrade", ""},
}

var errNoRoute = errors.New("no such endpoint")

func errRoute(r *http.Request) error {
	return fmt.Errorf("%w: %s %s", errNoRoute, r.Method, r.URL.Path)
}

// writeError answers with the status and JSON body that fit err. Client
// mistakes are logged at Debug, server faults at Error.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var fe *session.FieldError
	var he *httpx.FieldError
	var se *steps.FieldError
	var start *session.StartError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, errorBody("invalid_field", fe.Error(), fe.Field))
		return
	case errors.As(err, &he):
		writeJSON(w, http.StatusBadRequest, errorBody("invalid_field", he.Error(), he.Field))
		return
	case errors.As(err, &se):
		field, code := "steps", "invalid_field"
		if se.Field != "" {
			field = se.Field
		}
		if se.Code != "" {
			code = strings.ToLower(se.Code)
		}
		writeJSON(w, http.StatusBadRequest, errorBody(code, se.Error(), field))
		return
	case errors.As(err, &start):
		log.Warn("session start failed", "session_id", start.SessionID, "err", start.Err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody("start_failed", start.Error(), ""))
		return
	}
	for _, m := range statusOf {
		if errors.Is(err, m.err) {
			if m.status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", strconv.Itoa(capacityRetryAfter))
			}
			log.Debug("request refused", "path", r.URL.Path, "status", m.status, "err", err)
			writeJSON(w, m.status, errorBody(m.code, err.Error(), m.field))
			return
		}
	}
	log.Error("request failed", "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, errorBody("internal", "internal error; see the worker log", ""))
}

var (
	errorBody = httpx.ErrorBody
	writeJSON = httpx.WriteJSON
)
