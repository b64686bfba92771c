package relay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Test constants shared by the relay tests.
const (
	secretPath   = "/secretpath-9f8e7d"
	subprotocol  = "camo.v1"
	testTimeout  = 10 * time.Second
	resultWait   = 5 * time.Second
	closeCommand = "close-please"
	pingCommand  = "ping-me"
	pingReply    = "pinged"
)

// echoBackend is a coder/websocket echo server standing in for Playwright.
type echoBackend struct {
	url     string
	ended   chan error       // the read error of every finished connection
	headers chan http.Header // the handshake headers of every connection
}

// startEcho starts an echo backend on 127.0.0.1 that serves secretPath.
func startEcho(t testing.TB) *echoBackend {
	t.Helper()
	e := &echoBackend{ended: make(chan error, 16), headers: make(chan http.Header, 16)}
	srv := httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(srv.Close)
	e.url = "ws" + strings.TrimPrefix(srv.URL, "http") + secretPath
	return e
}

func (e *echoBackend) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != secretPath {
		http.NotFound(w, r)
		return
	}
	select {
	case e.headers <- r.Header.Clone():
	default:
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{subprotocol},
		CompressionMode: websocket.CompressionContextTakeover,
	})
	if err != nil {
		return
	}
	c.SetReadLimit(-1)
	e.ended <- echo(r.Context(), c)
}

// echo sends every message back until reading fails, and obeys the test
// commands.
func echo(ctx context.Context, c *websocket.Conn) error {
	defer c.CloseNow()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return err
		}
		switch string(data) {
		case closeCommand:
			return c.Close(websocket.StatusNormalClosure, "bye")
		case pingCommand:
			go func() {
				if c.Ping(ctx) == nil {
					_ = c.Write(ctx, websocket.MessageText, []byte(pingReply))
				}
			}()
			continue
		}
		if err := c.Write(ctx, typ, data); err != nil {
			return err
		}
	}
}

// waitEnded returns the error that ended a backend connection.
func (e *echoBackend) waitEnded(t testing.TB) error {
	t.Helper()
	select {
	case err := <-e.ended:
		return err
	case <-time.After(resultWait):
		t.Fatal("backend connection did not end")
		return nil
	}
}

// outcome is what one Serve call returned.
type outcome struct {
	res Result
	err error
}

// relayServer mounts Serve in an httptest server.
type relayServer struct {
	url      string // ws:// URL of the relay endpoint
	addr     string // host:port
	outcomes chan outcome
}

// startRelay serves the relay to backendURL; ctx is handed to every Serve.
func startRelay(t testing.TB, ctx context.Context, backendURL string,
	opts Options) *relayServer {
	t.Helper()
	rs := &relayServer{outcomes: make(chan outcome, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := Serve(ctx, w, r, backendURL, opts)
		rs.outcomes <- outcome{res, err}
	}))
	t.Cleanup(srv.Close)
	rs.addr = srv.Listener.Addr().String()
	rs.url = "ws://" + rs.addr + "/sessions/s1/ws"
	return rs
}

// wait returns the outcome of the next Serve call to end.
func (rs *relayServer) wait(t testing.TB) outcome {
	t.Helper()
	select {
	case o := <-rs.outcomes:
		return o
	case <-time.After(resultWait):
		t.Fatal("relay did not end")
		return outcome{}
	}
}

// dial connects a coder/websocket client to the relay.
func dial(t testing.TB, ctx context.Context, url string) (*websocket.Conn, *http.Response) {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols:    []string{subprotocol},
		CompressionMode: websocket.CompressionContextTakeover,
		HTTPHeader:      http.Header{"User-Agent": {"relay-test"}},
	})
	if err != nil {
		t.Fatalf("dial relay: %v", err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c, resp
}

// rawHandshake opens a TCP connection to addr and performs a client
// handshake by hand, sending extra right after the request.
func rawHandshake(t testing.TB, addr, path string, extra []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	key := newKey()
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		path, addr, key)
	if _, err := conn.Write(append([]byte(req), extra...)); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %s, want 101", resp.Status)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptValue(key) {
		t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, acceptValue(key))
	}
	return conn, br
}

// maskedFrame renders a final client frame with a masked payload.
func maskedFrame(op byte, payload []byte) []byte {
	key := [4]byte{0x37, 0xFA, 0x21, 0x3D}
	f := []byte{finBit | op, maskBit | byte(len(payload))}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// readFrame reads one unmasked frame with a payload under 126 bytes.
func readFrame(t testing.TB, r io.Reader) (byte, []byte) {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	if hdr[1]&maskBit != 0 || hdr[1]&len7Mask > 125 {
		t.Fatalf("unexpected frame header % x", hdr)
	}
	payload := make([]byte, hdr[1]&len7Mask)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatalf("read frame payload: %v", err)
	}
	return hdr[0] & opcodeMask, payload
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
