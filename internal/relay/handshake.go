package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// acceptGUID is the fixed suffix of the Sec-WebSocket-Accept hash (RFC 6455).
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshakeReadSize bounds the buffer used to read the backend's 101.
const handshakeReadSize = 4096

// skippedBackendHeaders are handshake headers the relay writes itself;
// Options.BackendHeader cannot override them.
var skippedBackendHeaders = map[string]bool{
	"Host":                     true,
	"Upgrade":                  true,
	"Connection":               true,
	"Sec-Websocket-Key":        true,
	"Sec-Websocket-Version":    true,
	"Sec-Websocket-Extensions": true,
	"Sec-Websocket-Protocol":   true,
}

// backend is a backend connection whose websocket handshake is done.
type backend struct {
	conn     net.Conn
	pending  []byte // stream bytes the backend sent right after its 101
	protocol string // subprotocol the backend accepted, if any
}

// checkUpgrade reports what is wrong with r as a websocket upgrade request.
// CheckUpgrade reports whether r is a websocket upgrade this package can
// relay, so a caller can refuse it before spending anything on it.
func CheckUpgrade(r *http.Request) error {
	if err := checkUpgrade(r); err != nil {
		return fmt.Errorf("%w: %w", ErrBadUpgrade, err)
	}
	return nil
}

func checkUpgrade(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return errors.New("a websocket upgrade must use GET")
	case !hasToken(r.Header, "Upgrade", "websocket"):
		return errors.New("the Upgrade header must be websocket")
	case !hasToken(r.Header, "Connection", "upgrade"):
		return errors.New("the Connection header must include upgrade")
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return errors.New("the Sec-WebSocket-Version header must be 13")
	case !validKey(r.Header.Get("Sec-WebSocket-Key")):
		return errors.New("the Sec-WebSocket-Key header is missing or malformed")
	}
	return nil
}

// hasToken reports whether a comma-separated header holds token, ignoring case.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validKey reports whether key is the base64 form of 16 bytes.
func validKey(key string) bool {
	raw, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(raw) == 16
}

// acceptValue computes the Sec-WebSocket-Accept answer to key.
func acceptValue(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// newKey returns a fresh Sec-WebSocket-Key.
func newKey() string {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(raw[:])
}

// parseBackendURL checks that raw is a ws:// URL with a host. Its errors never
// quote the URL, whose path is a secret.
func parseBackendURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("parse backend url: %w", err)
	}
	if u.Scheme != "ws" || u.Host == "" {
		return nil, errors.New("parse backend url: want ws://host:port/path")
	}
	return u, nil
}

// hostPort returns u's host with the port, defaulting to 80.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// dialBackend connects to u and completes the websocket handshake within
// timeout, forwarding the client's subprotocols and User-Agent.
func dialBackend(ctx context.Context, u *url.URL, client http.Header,
	opts Options) (*backend, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.HandshakeTimeout)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hostPort(u))
	if err != nil {
		return nil, fmt.Errorf("dial backend: %w", err)
	}
	b, err := handshakeBackend(ctx, conn, u, backendRequestHeader(client, opts))
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("backend handshake: %w", err)
	}
	return b, nil
}

// backendRequestHeader builds the extra headers of the backend handshake.
func backendRequestHeader(client http.Header, opts Options) http.Header {
	h := make(http.Header)
	for k, vs := range opts.BackendHeader {
		if !skippedBackendHeaders[http.CanonicalHeaderKey(k)] {
			h[http.CanonicalHeaderKey(k)] = vs
		}
	}
	if p := client.Values("Sec-WebSocket-Protocol"); len(p) > 0 {
		h["Sec-Websocket-Protocol"] = p
	}
	if ua := client.Get("User-Agent"); ua != "" {
		h.Set("User-Agent", ua)
	}
	return h
}

// handshakeBackend sends the upgrade request on conn and checks the answer.
// ctx bounds the whole exchange.
func handshakeBackend(ctx context.Context, conn net.Conn, u *url.URL,
	h http.Header) (*backend, error) {
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// Cancelling ctx must interrupt a blocked write or read.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })

	key := newKey()
	resp, br, err := exchange(conn, upgradeRequest(u, key, h))
	if !stop() {
		return nil, context.Cause(ctx)
	}
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("clear deadline: %w", err)
	}
	if err := checkBackendResponse(resp, key, h.Values("Sec-Websocket-Protocol")); err != nil {
		return nil, err
	}
	return &backend{
		conn:     conn,
		pending:  drain(br),
		protocol: resp.Header.Get("Sec-WebSocket-Protocol"),
	}, nil
}

// exchange writes req to conn and reads the response head.
func exchange(conn net.Conn, req []byte) (*http.Response, *bufio.Reader, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, nil, fmt.Errorf("write request: %w", err)
	}
	br := bufio.NewReaderSize(conn, handshakeReadSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	// A 101 has no body; closing only releases the response.
	_ = resp.Body.Close()
	return resp, br, nil
}

// upgradeRequest renders the backend's HTTP/1.1 upgrade request.
func upgradeRequest(u *url.URL, key string, h http.Header) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	buf.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	buf.WriteString("Sec-WebSocket-Version: 13\r\n")
	fmt.Fprintf(&buf, "Sec-WebSocket-Key: %s\r\n", key)
	_ = h.Write(&buf) // writing to a bytes.Buffer cannot fail
	buf.WriteString("\r\n")
	return buf.Bytes()
}

// checkBackendResponse verifies the backend's answer to the upgrade request
// with the given key and offered subprotocols.
func checkBackendResponse(resp *http.Response, key string, offered []string) error {
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return fmt.Errorf("backend answered %q, want 101", resp.Status)
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		return errors.New("backend 101 lacks Upgrade: websocket")
	case !hasToken(resp.Header, "Connection", "upgrade"):
		return errors.New("backend 101 lacks Connection: upgrade")
	case resp.Header.Get("Sec-WebSocket-Accept") != acceptValue(key):
		return errors.New("backend 101 has a wrong Sec-WebSocket-Accept")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return errors.New("backend negotiated an extension nobody offered")
	}
	p := resp.Header.Get("Sec-WebSocket-Protocol")
	if p != "" && !offeredProtocol(offered, p) {
		return fmt.Errorf("backend chose subprotocol %q that was not offered", p)
	}
	return nil
}

// offeredProtocol reports whether p is among the offered subprotocol lists.
func offeredProtocol(offered []string, p string) bool {
	for _, v := range offered {
		for t := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(t) == p {
				return true
			}
		}
	}
	return false
}

// drain returns a copy of the bytes br has buffered, or nil.
func drain(br *bufio.Reader) []byte {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	p := make([]byte, n)
	_, _ = io.ReadFull(br, p) // reads from the buffer only
	return p
}

// switchingProtocols renders the 101 answer to a client handshake.
func switchingProtocols(key, protocol string) []byte {
	var buf bytes.Buffer
	buf.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	buf.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&buf, "Sec-WebSocket-Accept: %s\r\n", acceptValue(key))
	if protocol != "" {
		fmt.Fprintf(&buf, "Sec-WebSocket-Protocol: %s\r\n", protocol)
	}
	buf.WriteString("\r\n")
	return buf.Bytes()
}

// hijack takes over the client connection, clears the deadlines the HTTP
// server may have set, and writes the 101. It returns the connection and any
// bytes the client sent after its request.
func hijack(w http.ResponseWriter, r *http.Request, protocol string,
	timeout time.Duration) (net.Conn, []byte, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	pending := drain(brw.Reader)

	answer := switchingProtocols(r.Header.Get("Sec-WebSocket-Key"), protocol)
	if err := writeWithin(conn, answer, timeout); err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("write 101: %w", err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("clear deadline: %w", err)
	}
	return conn, pending, nil
}

// writeWithin writes p to conn, giving up after timeout, and clears the
// write deadline afterwards.
func writeWithin(conn net.Conn, p []byte, timeout time.Duration) error {
	if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := conn.Write(p); err != nil {
		return err
	}
	return conn.SetWriteDeadline(time.Time{})
}
