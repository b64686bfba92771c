package relay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestRelayMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	backend := startEcho(t)
	var activity atomic.Int64
	rs := startRelay(t, ctx, backend.url, Options{
		BackendHeader: http.Header{"Authorization": {"Bearer relay-test"}},
		OnActivity:    func() { activity.Add(1) },
	})
	c, resp := dial(t, ctx, rs.url)

	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("client got extensions %q", ext)
	}
	if c.Subprotocol() != subprotocol {
		t.Errorf("subprotocol = %q, want %q", c.Subprotocol(), subprotocol)
	}
	checkBackendHeaders(t, <-backend.headers)

	sizes := []int{0, 1, 125, 126, 65535, 65536, 1 << 20}
	sent := 0
	for _, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%v/%d", typ, size), func(t *testing.T) {
				roundTrip(t, ctx, c, typ, testPayload(typ, size))
			})
			sent++
		}
	}

	c.Close(websocket.StatusNormalClosure, "done")
	o := rs.wait(t)
	if o.err != nil || o.res.ClosedBy != ClosedByClient {
		t.Fatalf("relay ended with %q, %v; want client, nil", o.res.ClosedBy, o.err)
	}
	checkCounts(t, o.res, activity.Load(), sent)
	backend.waitEnded(t)
}

// checkBackendHeaders checks what the backend saw in its handshake.
func checkBackendHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("Authorization"); got != "Bearer relay-test" {
		t.Errorf("backend Authorization = %q", got)
	}
	if got := h.Get("User-Agent"); got != "relay-test" {
		t.Errorf("backend User-Agent = %q", got)
	}
	if got := h.Get("Sec-WebSocket-Extensions"); got != "" {
		t.Errorf("backend was offered extensions %q", got)
	}
	if got := h.Get("Sec-WebSocket-Protocol"); got != subprotocol {
		t.Errorf("backend Sec-WebSocket-Protocol = %q", got)
	}
}

// checkCounts checks a result and the activity count after sent echoes.
func checkCounts(t *testing.T, res Result, activity int64, sent int) {
	t.Helper()
	if res.FramesUp != int64(sent) || res.FramesDown != int64(sent) {
		t.Errorf("frames up/down = %d/%d, want %d each", res.FramesUp, res.FramesDown, sent)
	}
	if activity != int64(2*sent) {
		t.Errorf("OnActivity called %d times, want %d", activity, 2*sent)
	}
	if res.BytesUp == 0 || res.BytesDown == 0 {
		t.Errorf("bytes up/down = %d/%d", res.BytesUp, res.BytesDown)
	}
}

// testPayload returns a message of size bytes, valid UTF-8 for text.
func testPayload(typ websocket.MessageType, size int) []byte {
	p := make([]byte, size)
	for i := range p {
		if typ == websocket.MessageText {
			p[i] = 'a' + byte(i%26)
		} else {
			p[i] = byte(i * 7)
		}
	}
	return p
}

// roundTrip sends one message and expects it back unchanged.
func roundTrip(t testing.TB, ctx context.Context, c *websocket.Conn,
	typ websocket.MessageType, p []byte) {
	t.Helper()
	if err := c.Write(ctx, typ, p); err != nil {
		t.Fatalf("write: %v", err)
	}
	gotTyp, got, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gotTyp != typ || !bytes.Equal(got, p) {
		t.Fatalf("echo: got %v of %d bytes, want %v of %d bytes", gotTyp, len(got), typ, len(p))
	}
}

func TestRelayManyMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var activity atomic.Int64
	rs := startRelay(t, ctx, startEcho(t).url, Options{OnActivity: func() { activity.Add(1) }})
	c, _ := dial(t, ctx, rs.url)

	const count = 2000
	writeErr := make(chan error, 1)
	go func() {
		for i := range count {
			msg := fmt.Appendf(nil, `{"id":%d,"method":"Page.evaluate"}`, i)
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	for i := range count {
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if want := fmt.Sprintf(`{"id":%d,"method":"Page.evaluate"}`, i); string(got) != want {
			t.Fatalf("message %d = %q, want %q", i, got, want)
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("write: %v", err)
	}

	c.CloseNow()
	o := rs.wait(t)
	checkCounts(t, o.res, activity.Load(), count)
}

func TestRelayPingKeepsClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rs := startRelay(t, ctx, startEcho(t).url, Options{
		PingInterval: 50 * time.Millisecond,
		PongTimeout:  150 * time.Millisecond,
	})
	c, _ := dial(t, ctx, rs.url)

	// A pending Read answers the relay's pings while the client is idle for
	// well over the pong timeout.
	type message struct {
		data []byte
		err  error
	}
	got := make(chan message, 1)
	go func() {
		_, data, err := c.Read(ctx)
		got <- message{data, err}
	}()
	time.Sleep(400 * time.Millisecond)
	if err := c.Write(ctx, websocket.MessageText, []byte("still here")); err != nil {
		t.Fatalf("write after idle: %v", err)
	}
	if m := <-got; m.err != nil || string(m.data) != "still here" {
		t.Fatalf("read after idle: %q, %v", m.data, m.err)
	}

	c.Close(websocket.StatusNormalClosure, "")
	o := rs.wait(t)
	if o.res.ClosedBy != ClosedByClient || o.res.PingsSent < 3 {
		t.Fatalf("closed by %q after %d pings; want client after at least 3",
			o.res.ClosedBy, o.res.PingsSent)
	}
}

func TestRelayPingsOnlyBetweenFrames(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rs := startRelay(t, ctx, startEcho(t).url, Options{
		PingInterval: time.Millisecond,
		PongTimeout:  testTimeout,
	})
	c, _ := dial(t, ctx, rs.url)

	// Pings are due all the time while large frames stream by; one inside a
	// frame would corrupt the stream and fail the echo.
	for i := range 20 {
		size := 100_000 + i*1000
		roundTrip(t, ctx, c, websocket.MessageBinary, testPayload(websocket.MessageBinary, size))
	}
	c.Close(websocket.StatusNormalClosure, "")
	if o := rs.wait(t); o.res.PingsSent == 0 || o.res.ClosedBy != ClosedByClient {
		t.Fatalf("closed by %q after %d pings: %v", o.res.ClosedBy, o.res.PingsSent, o.err)
	}
}

func TestRelayPingTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	backend := startEcho(t)
	const pongTimeout = 150 * time.Millisecond
	rs := startRelay(t, ctx, backend.url, Options{
		PingInterval: 50 * time.Millisecond,
		PongTimeout:  pongTimeout,
	})
	start := time.Now()
	conn, br := rawHandshake(t, rs.addr, "/ws", nil)

	o := rs.wait(t)
	if o.res.ClosedBy != ClosedByPingTimeout || o.err != nil {
		t.Fatalf("relay ended with %q, %v; want ping_timeout", o.res.ClosedBy, o.err)
	}
	if elapsed := time.Since(start); elapsed < pongTimeout {
		t.Errorf("client dropped after %v, before the pong timeout", elapsed)
	}

	// The silent client got pings, then a going-away close, then EOF.
	conn.SetReadDeadline(time.Now().Add(resultWait))
	var ops []byte
	for {
		op, payload := readFrame(t, br)
		ops = append(ops, op)
		if op == opClose {
			if !bytes.Equal(payload, goingAway[:]) {
				t.Errorf("close payload = % x, want 1001", payload)
			}
			break
		}
	}
	if len(ops) < 2 || ops[0] != opPing {
		t.Errorf("client saw opcodes % x, want pings then close", ops)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after close: %v, want EOF", err)
	}
	if err := backend.waitEnded(t); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("backend ended with %v, want going away", err)
	}
}

func TestServeBadUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rs := startRelay(t, ctx, startEcho(t).url, Options{})
	base := "http://" + rs.addr + "/ws"
	upgrade := map[string]string{
		"Upgrade": "websocket", "Connection": "keep-alive, Upgrade",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": newKey(),
	}
	tests := []struct {
		name   string
		method string
		change map[string]string // header values to set; "" removes
	}{
		{"plain get", http.MethodGet, map[string]string{"Upgrade": "", "Connection": "close"}},
		{"post", http.MethodPost, nil},
		{"no key", http.MethodGet, map[string]string{"Sec-WebSocket-Key": ""}},
		{"short key", http.MethodGet, map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}},
		{"version 8", http.MethodGet, map[string]string{"Sec-WebSocket-Version": "8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tt.method, base, nil)
			for k, v := range upgrade {
				req.Header.Set(k, v)
			}
			for k, v := range tt.change {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			checkErrorAnswer(t, req, http.StatusBadRequest, codeBadUpgrade)
			if o := rs.wait(t); !errors.Is(o.err, ErrBadUpgrade) {
				t.Errorf("Serve error = %v, want ErrBadUpgrade", o.err)
			}
		})
	}
}

// checkErrorAnswer sends req and checks the JSON error answer.
func checkErrorAnswer(t *testing.T, req *http.Request, status int, code string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	if resp.StatusCode != status || body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("got %d %+v, want %d with code %q", resp.StatusCode, body, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestServeBackendUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	notWS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusNotFound)
	}))
	defer notWS.Close()
	echoURL := startEcho(t).url

	tests := []struct {
		name string
		url  string
	}{
		{"refused", "ws://" + freeAddr(t) + secretPath},
		{"not websocket", "ws" + strings.TrimPrefix(notWS.URL, "http") + secretPath},
		{"wrong path", strings.TrimSuffix(echoURL, secretPath) + "/other"},
		{"bad scheme", "http://" + freeAddr(t) + secretPath},
		{"bad url", "ws://[::1" + secretPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			rs := startRelay(t, ctx, tt.url, Options{Logger: debugLogger(&logs)})
			req := upgradeRequestTo(t, ctx, "http://"+rs.addr+"/ws")
			checkErrorAnswer(t, req, http.StatusBadGateway, codeBackend)
			o := rs.wait(t)
			if !errors.Is(o.err, ErrBackend) {
				t.Errorf("Serve error = %v, want ErrBackend", o.err)
			}
			if strings.Contains(logs.String(), "secretpath") ||
				strings.Contains(o.err.Error(), "secretpath") {
				t.Errorf("backend path leaked: %s / %v", logs.String(), o.err)
			}
		})
	}
}

// upgradeRequestTo builds a valid websocket upgrade request for url.
func upgradeRequestTo(t *testing.T, ctx context.Context, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", newKey())
	return req
}

// debugLogger logs JSON at Debug level into w.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestRelayContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backend := startEcho(t)
	rs := startRelay(t, ctx, backend.url, Options{})
	dialCtx, dialCancel := context.WithTimeout(context.Background(), testTimeout)
	defer dialCancel()
	c, _ := dial(t, dialCtx, rs.url)
	roundTrip(t, dialCtx, c, websocket.MessageText, []byte("hello"))

	cancel()
	o := rs.wait(t)
	if o.res.ClosedBy != ClosedByContext || o.err != nil {
		t.Fatalf("relay ended with %q, %v; want context", o.res.ClosedBy, o.err)
	}
	if err := backend.waitEnded(t); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("backend ended with %v, want going away", err)
	}
	if _, _, err := c.Read(dialCtx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client read %v, want going away", err)
	}
}

func TestRelayClientDisconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	backend := startEcho(t)
	rs := startRelay(t, ctx, backend.url, Options{})
	c, _ := dial(t, ctx, rs.url)
	roundTrip(t, ctx, c, websocket.MessageBinary, []byte{1, 2, 3})

	c.CloseNow() // TCP close without a close frame
	o := rs.wait(t)
	if o.res.ClosedBy != ClosedByClient || o.err != nil {
		t.Fatalf("relay ended with %q, %v; want client", o.res.ClosedBy, o.err)
	}
	if err := backend.waitEnded(t); err == nil {
		t.Error("backend connection ended without an error")
	}
}

func TestRelayBackendClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rs := startRelay(t, ctx, startEcho(t).url, Options{})
	c, _ := dial(t, ctx, rs.url)

	if err := c.Write(ctx, websocket.MessageText, []byte(closeCommand)); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("client read %v, want a normal close", err)
	}
	if o := rs.wait(t); o.res.ClosedBy != ClosedByBackend || o.err != nil {
		t.Fatalf("relay ended with %q, %v; want backend", o.res.ClosedBy, o.err)
	}
}

func TestRelayForwardsBackendPings(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rs := startRelay(t, ctx, startEcho(t).url, Options{PingInterval: 20 * time.Millisecond})
	c, _ := dial(t, ctx, rs.url)

	// The backend pings the client; the pong must reach it through the relay
	// even while the relay's own pings are answered too.
	if err := c.Write(ctx, websocket.MessageText, []byte(pingCommand)); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, got, err := c.Read(ctx)
	if err != nil || string(got) != pingReply {
		t.Fatalf("read %q, %v; want %q", got, err, pingReply)
	}
	c.Close(websocket.StatusNormalClosure, "")
	rs.wait(t)
}

func TestRelayKeepsBytesAfterHandshakes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	greeting := buildFrame(true, opText, false, 0)
	greeting[1] = 5
	greeting = append(greeting, "hello"...)
	rs := startRelay(t, ctx, startGreeter(t, greeting), Options{})

	// The client's first frame rides in the same write as its handshake.
	conn, br := rawHandshake(t, rs.addr, "/ws", maskedFrame(opText, []byte("from client")))
	conn.SetReadDeadline(time.Now().Add(resultWait))
	tests := []string{"hello", "from client"}
	for _, want := range tests {
		op, payload := readFrame(t, br)
		if op != opText || string(payload) != want {
			t.Fatalf("got opcode %#x %q, want text %q", op, payload, want)
		}
	}
	conn.Close()
	rs.wait(t)
}

// startGreeter starts a raw backend that sends greeting in the same write as
// its 101 and then echoes bytes unmasked by hand, one small frame at a time.
func startGreeter(t *testing.T, greeting []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	wg.Go(func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		greet(conn, greeting)
	})
	return "ws://" + ln.Addr().String() + secretPath
}

// greet answers one handshake with the greeting attached, then echoes small
// masked client frames back unmasked.
func greet(conn net.Conn, greeting []byte) {
	conn.SetDeadline(time.Now().Add(resultWait))
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	answer := switchingProtocols(req.Header.Get("Sec-WebSocket-Key"), "")
	if _, err := conn.Write(append(answer, greeting...)); err != nil {
		return
	}
	var hdr [6]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		payload := make([]byte, hdr[1]&len7Mask)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		for i := range payload {
			payload[i] ^= hdr[2+i%4]
		}
		out := append([]byte{hdr[0], byte(len(payload))}, payload...)
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

func TestServeLogsEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var logs syncBuffer
	rs := startRelay(t, ctx, startEcho(t).url, Options{Logger: debugLogger(&logs)})
	c, _ := dial(t, ctx, rs.url)
	roundTrip(t, ctx, c, websocket.MessageText, []byte("hi"))
	c.Close(websocket.StatusNormalClosure, "")
	rs.wait(t)

	out := logs.String()
	if strings.Contains(out, "secretpath") {
		t.Errorf("backend path leaked into logs: %s", out)
	}
	var end map[string]any
	for line := range strings.Lines(out) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "relay ended" {
			end = rec
		}
	}
	if end == nil || end["level"] != "INFO" || end["closed_by"] != ClosedByClient ||
		end["frames_up"] != 1.0 || end["backend"] == nil {
		t.Errorf("end line = %v", end)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
