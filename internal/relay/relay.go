// Package relay carries one websocket between a Playwright client and the
// session's local Playwright server. It shakes hands with each side itself,
// offering and accepting no extensions, and then copies raw bytes both ways.
// It reads only frame headers, to find frame boundaries and opcodes: messages
// are never re-framed, decompressed or unmasked. It pings the client so a long
// silent command is not cut by proxies, and drops a client that stops
// answering.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// Defaults for the zero fields of Options.
const (
	DefaultPingInterval     = 20 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
)

// The values of Result.ClosedBy.
const (
	ClosedByClient      = "client"
	ClosedByBackend     = "backend"
	ClosedByContext     = "context"
	ClosedByPingTimeout = "ping_timeout"
	ClosedByError       = "error"
)

// ErrBadUpgrade is returned by Serve when the request is not a valid
// websocket upgrade; the client got a 400.
var ErrBadUpgrade = errors.New("bad websocket upgrade")

// ErrBackend is returned by Serve when the backend cannot be dialed or
// refuses the handshake; the client got a 502.
var ErrBackend = errors.New("backend unavailable")

// Error codes of the JSON bodies Serve writes.
const (
	codeBadUpgrade = "bad_upgrade"
	codeBackend    = "backend_unavailable"
	codeInternal   = "internal"
)

// Options tune one relay.
type Options struct {
	// PingInterval is how often the client is pinged; DefaultPingInterval
	// when zero.
	PingInterval time.Duration
	// PongTimeout ends the relay when the client sends no byte at all for
	// this long after a ping; twice PingInterval when zero.
	PongTimeout time.Duration
	// HandshakeTimeout bounds the backend dial and handshake, and the write
	// of the 101 to the client; DefaultHandshakeTimeout when zero.
	HandshakeTimeout time.Duration
	// BackendHeader holds extra headers for the backend handshake, such as
	// Authorization. Handshake headers the relay sets itself are ignored.
	BackendHeader http.Header
	// OnActivity is called for every data frame (text, binary, continuation)
	// in either direction, never for control frames. It runs on the copy
	// path, so it must be cheap: an atomic store.
	OnActivity func()
	// Logger receives one Info line per relay and Debug detail; nothing is
	// logged when nil.
	Logger *slog.Logger
}

// withDefaults returns o with its zero fields filled in.
func (o Options) withDefaults() Options {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 2 * o.PingInterval
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.OnActivity == nil {
		o.OnActivity = func() {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Result says how a relay ended.
type Result struct {
	// BytesUp and BytesDown count the bytes forwarded client→backend and
	// backend→client; frames the relay adds or consumes are not counted.
	BytesUp, BytesDown int64
	// FramesUp and FramesDown count forwarded data frames.
	FramesUp, FramesDown int64
	// PingsSent counts the pings the relay sent to the client.
	PingsSent int64
	// ClosedBy is one of the ClosedBy constants. A side that started the
	// close handshake is named even if the other side dropped TCP first.
	ClosedBy string
	// Duration is how long the relay ran after the 101.
	Duration time.Duration
}

// Serve relays r, a websocket upgrade request the caller has already
// authorized, to backendURL (ws://host:port/path).
//
// Before hijacking the connection it validates the upgrade request and dials
// and shakes hands with the backend. On failure it writes a JSON error (400 for
// a bad upgrade request, 502 when the backend cannot be reached) and returns
// an error matching ErrBadUpgrade or ErrBackend.
//
// After the 101 it copies until either side closes, the client stops
// answering pings, or ctx is done; then it sends a going-away close frame
// where it can and closes both connections. It returns when both copy loops
// have ended and both connections are closed; the error is nil unless the
// relay broke on an I/O error.
func Serve(ctx context.Context, w http.ResponseWriter, r *http.Request, backendURL string,
	opts Options) (Result, error) {
	opts = opts.withDefaults()
	if err := checkUpgrade(r); err != nil {
		opts.Logger.Debug("relay refused upgrade", "err", err)
		writeError(w, http.StatusBadRequest, codeBadUpgrade, err.Error())
		return Result{}, fmt.Errorf("%w: %w", ErrBadUpgrade, err)
	}

	u, err := parseBackendURL(backendURL)
	if err != nil {
		return Result{}, refuseBackend(w, opts.Logger, err)
	}
	// Only host:port is logged: the path is a secret.
	opts.Logger = opts.Logger.With("backend", hostPort(u))
	b, err := dialBackend(ctx, u, r.Header, opts)
	if err != nil {
		return Result{}, refuseBackend(w, opts.Logger, err)
	}

	client, pending, err := acceptClient(w, r, b, opts)
	if err != nil {
		return Result{}, err
	}
	return newRelay(client, pending, b, opts).run(ctx)
}

// refuseBackend answers 502 for a backend that failed and returns the error
// for Serve.
func refuseBackend(w http.ResponseWriter, log *slog.Logger, err error) error {
	log.Warn("relay backend unavailable", "err", err)
	writeError(w, http.StatusBadGateway, codeBackend, "the browser session is not reachable")
	return fmt.Errorf("%w: %w", ErrBackend, err)
}

// acceptClient hijacks the client connection and sends the 101, closing the
// backend if that fails.
func acceptClient(w http.ResponseWriter, r *http.Request, b *backend,
	opts Options) (net.Conn, []byte, error) {
	client, pending, err := hijack(w, r, b.protocol, opts.HandshakeTimeout)
	if err == nil {
		return client, pending, nil
	}
	_ = b.conn.Close()
	opts.Logger.Warn("relay could not take over the client connection", "err", err)
	if errors.Is(err, http.ErrNotSupported) {
		writeError(w, http.StatusInternalServerError, codeInternal, "websocket not supported")
	}
	return nil, nil, fmt.Errorf("accept client: %w", err)
}

// logEnd writes the one Info line of a finished relay.
func logEnd(log *slog.Logger, res Result, err error) {
	attrs := []any{
		"closed_by", res.ClosedBy,
		"duration", res.Duration,
		"bytes_up", res.BytesUp,
		"bytes_down", res.BytesDown,
		"frames_up", res.FramesUp,
		"frames_down", res.FramesDown,
		"pings", res.PingsSent,
	}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	log.Info("relay ended", attrs...)
}

// writeError answers with the project's JSON error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := api.Error{Error: api.ErrorBody{Code: code, Message: msg}}
	_ = json.NewEncoder(w).Encode(body)
}
