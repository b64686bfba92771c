package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bufferSize is the read buffer of each direction.
const bufferSize = 32 << 10

// Bounds of the going-away close frames: how long stopping waits for a copy
// loop to let go of its writer, and how long a close frame write may take.
const (
	goodbyeLockWait = 100 * time.Millisecond
	goodbyeTimeout  = time.Second
)

// pingFrame is an unmasked ping without payload, sent to the client.
var pingFrame = []byte{finBit | opPing, 0}

// goingAway is the close payload the relay sends when it ends a relay itself:
// status 1001 (going away).
var goingAway = [2]byte{0x03, 0xE9}

// direction is one copy path with its writer lock. The lock serializes the
// copy loop with frames the relay writes itself (pings, close frames), so
// those land on a frame boundary.
type direction struct {
	mu   sync.Mutex
	scan scanner // frames written to dst so far
	dst  net.Conn
	side string // who dst is: ClosedByClient or ClosedByBackend

	bytes, frames int64 // forwarded; only the copy loop touches them
	drop          bool  // the current frame is being consumed, not forwarded
}

// relay is one running relay. Three goroutines share it: upward copies
// client→backend, downward copies backend→client, keepAlive pings the client.
type relay struct {
	client, backend net.Conn
	clientPending   []byte // client bytes read with its handshake
	backendPending  []byte // backend bytes read with its handshake
	protocol        string // the subprotocol both sides agreed on, if any
	opts            Options
	log             *slog.Logger
	start           time.Time

	up, down direction

	pingDue      atomic.Bool            // a ping waits for the next downward boundary
	pingAt       atomic.Int64           // first unanswered ping, ns since start; 0 if none
	lastRead     atomic.Int64           // last read from the client, ns since start
	pingsSent    int64                  // guarded by down.mu
	backendPings atomic.Int64           // backend pings the client has yet to answer
	closeInit    atomic.Pointer[string] // side that sent the first close frame

	claimOnce sync.Once
	closeOnce sync.Once
	done      chan struct{} // closed once the relay is ending
	closedBy  string
	err       error
}

// newRelay wires a relay between an accepted client and a handshaken backend.
func newRelay(client net.Conn, clientPending []byte, b *backend, opts Options) *relay {
	r := &relay{
		client:         client,
		backend:        b.conn,
		clientPending:  clientPending,
		backendPending: b.pending,
		protocol:       b.protocol,
		opts:           opts,
		log:            opts.Logger,
		start:          time.Now(),
		done:           make(chan struct{}),
	}
	r.up.dst, r.up.side = b.conn, ClosedByBackend
	r.down.dst, r.down.side = client, ClosedByClient
	return r
}

// run copies both ways until the relay ends and returns its result.
func (r *relay) run(ctx context.Context) (Result, error) {
	r.log.Debug("relay started", "protocol", r.protocol)
	ctxDone := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		defer close(ctxDone)
		r.stop(ClosedByContext)
	})

	var wg sync.WaitGroup
	wg.Go(r.upward)
	wg.Go(r.downward)
	wg.Go(r.keepAlive)
	wg.Wait()
	if !stopWatch() {
		<-ctxDone
	}
	res, err := r.result(), r.failure()
	logEnd(r.log, res, err)
	return res, err
}

// result gathers the counters; call it after every loop has ended.
func (r *relay) result() Result {
	return Result{
		BytesUp:    r.up.bytes,
		BytesDown:  r.down.bytes,
		FramesUp:   r.up.frames,
		FramesDown: r.down.frames,
		PingsSent:  r.pingsSent,
		ClosedBy:   r.closedBy,
		Duration:   time.Since(r.start),
	}
}

// failure returns the I/O error that broke the relay, if that is how it ended.
func (r *relay) failure() error {
	if r.closedBy != ClosedByError {
		return nil
	}
	return fmt.Errorf("relay: %w", r.err)
}

// now returns the monotonic time since the relay started, in nanoseconds.
func (r *relay) now() int64 { return int64(time.Since(r.start)) }

// upward copies client→backend, consuming the client's pongs to our pings.
func (r *relay) upward() {
	err := r.copyFrom(r.client, r.clientPending, r.forwardUp, true)
	r.finish(r.endReason(ClosedByClient, err), err)
}

// downward copies backend→client, slipping in pings between frames.
func (r *relay) downward() {
	err := r.copyFrom(r.backend, r.backendPending, r.forwardDown, false)
	r.finish(r.endReason(ClosedByBackend, err), err)
}

// copyFrom feeds pending and then everything read from src to forward,
// until an error. fromClient marks reads that prove the client is alive.
func (r *relay) copyFrom(src net.Conn, pending []byte, forward func([]byte) error,
	fromClient bool) error {
	if len(pending) > 0 {
		if err := forward(pending); err != nil {
			return err
		}
	}
	buf := make([]byte, bufferSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromClient {
				r.lastRead.Store(r.now())
			}
			if werr := forward(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

// forwardUp writes a chunk from the client to the backend, leaving out the
// pongs that answer the relay's pings. The chunk is compacted in place.
func (r *relay) forwardUp(p []byte) error {
	d := &r.up
	d.mu.Lock()
	defer d.mu.Unlock()

	w := 0
	for off := 0; off < len(p); {
		n, seg := d.scan.next(p[off:])
		if seg.start {
			r.noteUp(seg.opcode)
		}
		if !d.drop {
			if w != off {
				copy(p[w:], p[off:off+n])
			}
			w += n
		}
		off += n
	}
	return d.write(p[:w])
}

// noteUp accounts for a client frame starting with opcode op and decides
// whether it is forwarded.
func (r *relay) noteUp(op byte) {
	d := &r.up
	d.drop = false
	switch {
	case !isControl(op):
		d.frames++
		r.opts.OnActivity()
	case op == opPong:
		// A pong answers the backend's ping if one is outstanding, else ours.
		d.drop = !takeOne(&r.backendPings)
	case op == opClose:
		r.noteClose(ClosedByClient)
	}
}

// forwardDown writes a chunk from the backend to the client and, when a ping
// is due, sends it at the first frame boundary in or after the chunk.
func (r *relay) forwardDown(p []byte) error {
	d := &r.down
	d.mu.Lock()
	defer d.mu.Unlock()

	cut := -1
	if d.scan.atBoundary() && r.pingDue.Load() {
		cut = 0
	}
	for off := 0; off < len(p); {
		n, seg := d.scan.next(p[off:])
		if seg.start {
			r.noteDown(seg.opcode)
		}
		off += n
		if seg.end && cut < 0 && r.pingDue.Load() {
			cut = off
		}
	}
	if cut < 0 {
		return d.write(p)
	}
	if err := d.write(p[:cut]); err != nil {
		return err
	}
	if err := r.sendPingLocked(); err != nil {
		return err
	}
	return d.write(p[cut:])
}

// takeOne decrements c if it is positive and reports whether it did.
func takeOne(c *atomic.Int64) bool {
	for {
		n := c.Load()
		if n <= 0 {
			return false
		}
		if c.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// noteDown accounts for a backend frame starting with opcode op.
func (r *relay) noteDown(op byte) {
	switch {
	case !isControl(op):
		r.down.frames++
		r.opts.OnActivity()
	case op == opPing:
		r.backendPings.Add(1)
	case op == opClose:
		r.noteClose(ClosedByBackend)
	}
}

// noteClose remembers the side that sent the first close frame.
func (r *relay) noteClose(side string) {
	r.closeInit.CompareAndSwap(nil, &side)
}

// write sends p to the direction's destination and counts it.
func (d *direction) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := d.dst.Write(p)
	d.bytes += int64(n)
	if err != nil {
		return &writeFailure{side: d.side, op: "forward", err: err}
	}
	return nil
}

// writeFailure is a failed write to one side of the relay.
type writeFailure struct {
	side string // ClosedByClient or ClosedByBackend
	op   string // what was written
	err  error
}

func (e *writeFailure) Error() string {
	return fmt.Sprintf("%s to %s: %v", e.op, e.side, e.err)
}

func (e *writeFailure) Unwrap() error { return e.err }

// sendPingLocked writes a ping to the client; down.mu must be held and the
// stream must be at a frame boundary.
func (r *relay) sendPingLocked() error {
	r.pingDue.Store(false)
	if _, err := r.client.Write(pingFrame); err != nil {
		return &writeFailure{side: ClosedByClient, op: "ping", err: err}
	}
	r.pingsSent++
	// Start the pong clock unless an earlier ping is still unanswered.
	if r.pingAt.Load() <= r.lastRead.Load() {
		r.pingAt.Store(max(r.now(), 1))
	}
	return nil
}

// keepAlive pings the client every PingInterval and ends the relay when the
// client stays silent for PongTimeout after a ping.
func (r *relay) keepAlive() {
	ping := time.NewTicker(r.opts.PingInterval)
	defer ping.Stop()
	// Checking at least every PongTimeout keeps the deadline exact: the
	// first check after a ping sees it and waits out the rest.
	check := time.NewTimer(r.opts.PongTimeout)
	defer check.Stop()

	for {
		select {
		case <-r.done:
			return
		case <-ping.C:
			r.requestPing()
		case <-check.C:
			left := r.silenceLeft()
			if left <= 0 {
				r.log.Debug("relay client stopped answering pings")
				r.stop(ClosedByPingTimeout)
				return
			}
			check.Reset(left)
		}
	}
}

// silenceLeft returns how much longer the client may stay silent.
func (r *relay) silenceLeft() time.Duration {
	at := r.pingAt.Load()
	if at == 0 || r.lastRead.Load() >= at {
		return r.opts.PongTimeout
	}
	return time.Duration(at + int64(r.opts.PongTimeout) - r.now())
}

// requestPing marks a ping as due and sends it now if the downward stream is
// idle at a frame boundary; otherwise the copy loop sends it at the next
// boundary. It never waits for the copy loop.
//
// TODO: a ping waits behind a frame whose write to the client is blocked, so
// a dead client that stopped reading mid-frame is only dropped by TCP's own
// timeout. A write deadline on the copy loop's writes would remove that.
func (r *relay) requestPing() {
	r.pingDue.Store(true)
	d := &r.down
	if !d.mu.TryLock() {
		return
	}
	defer d.mu.Unlock()
	if !d.scan.atBoundary() || !r.pingDue.Load() {
		return
	}
	err := r.client.SetWriteDeadline(time.Now().Add(r.opts.PongTimeout))
	if err == nil {
		err = r.sendPingLocked()
	}
	if err == nil {
		err = r.client.SetWriteDeadline(time.Time{})
	}
	if err != nil {
		r.finish(r.endReason(ClosedByClient, err), err)
	}
}

// stop ends the relay for reason, first telling both sides it is going away
// where that can be done on a frame boundary.
func (r *relay) stop(reason string) {
	if !r.claim(reason, nil) {
		return
	}
	// Both locks are taken before either close frame goes out, so a peer's
	// quick answer cannot slip in first, and held until both connections are
	// closed, so no frame follows the close frames.
	downLocked := lockWithin(&r.down.mu, goodbyeLockWait)
	upLocked := lockWithin(&r.up.mu, goodbyeLockWait)
	if downLocked {
		defer r.down.mu.Unlock()
		r.goodbye(&r.down, closeFrame(false))
	}
	if upLocked {
		defer r.up.mu.Unlock()
		r.goodbye(&r.up, closeFrame(true))
	}
	r.closeConns()
}

// lockWithin locks mu unless that takes longer than wait, and reports
// whether it did. A copy loop holds its lock only while it handles a chunk.
func lockWithin(mu *sync.Mutex, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for !mu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// goodbye writes a close frame on d if its stream is at a frame boundary;
// d.mu must be held. Failures are ignored: the connection closes next.
func (r *relay) goodbye(d *direction, frame []byte) {
	if !d.scan.atBoundary() {
		return
	}
	if d.dst.SetWriteDeadline(time.Now().Add(goodbyeTimeout)) != nil {
		return
	}
	_, _ = d.dst.Write(frame)
}

// closeFrame returns a going-away close frame, masked for the backend.
func closeFrame(masked bool) []byte {
	if !masked {
		return []byte{finBit | opClose, 2, goingAway[0], goingAway[1]}
	}
	var key [4]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read never fails
	return []byte{finBit | opClose, maskBit | 2, key[0], key[1], key[2], key[3],
		goingAway[0] ^ key[0], goingAway[1] ^ key[1]}
}

// endReason names who ended the relay when a copy loop reading from side
// stopped with err. A close handshake names its initiator; a connection
// that was closed or reset names its side, even when the relay noticed it
// on a write; a ping that could not be written in time is a ping timeout.
func (r *relay) endReason(side string, err error) string {
	if init := r.closeInit.Load(); init != nil {
		return *init
	}
	var wf *writeFailure
	if errors.As(err, &wf) {
		side = wf.side
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ClosedByPingTimeout
	case peerGone(err):
		return side
	}
	return ClosedByError
}

// peerGone reports whether err means the peer closed or reset the connection.
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// finish ends the relay for reason and closes both connections so every
// loop returns. If the relay is already ending, whoever claimed it closes.
func (r *relay) finish(reason string, err error) {
	if r.claim(reason, err) {
		r.closeConns()
	}
}

// claim records why the relay ended and reports whether this call was the
// first to do so.
func (r *relay) claim(reason string, err error) bool {
	first := false
	r.claimOnce.Do(func() {
		r.closedBy = reason
		r.err = err
		close(r.done)
		first = true
	})
	return first
}

// closeConns closes both connections once.
func (r *relay) closeConns() {
	r.closeOnce.Do(func() {
		if err := errors.Join(r.client.Close(), r.backend.Close()); err != nil {
			r.log.Debug("relay close", "err", err)
		}
	})
}
