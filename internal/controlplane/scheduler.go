package controlplane

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Scheduling errors.
var (
	ErrQueueFull    = errors.New("no worker has room and the queue is full")
	ErrQueueTimeout = errors.New("no worker had room within QUEUE_TIMEOUT")
	ErrNoEngine     = errors.New("no worker offers this engine")
)

// Scheduler hands create requests a slot on the least-loaded worker that has
// the engine, or keeps them waiting in a bounded FIFO queue.
type Scheduler struct {
	pool    *Pool
	max     int
	timeout time.Duration

	mu    sync.Mutex
	queue *list.List // of *waiter, oldest first
}

type waiter struct {
	engine string
	since  time.Time
	got    chan *worker // receives the reserved worker once
}

func newScheduler(pool *Pool, max int, timeout time.Duration) *Scheduler {
	s := &Scheduler{pool: pool, max: max, timeout: timeout, queue: list.New()}
	pool.kick = s.Kick
	return s
}

// Acquire returns a worker with a slot held for one create, waiting in the
// queue while none has room. The caller must give the slot back with
// pool.release. A caller that gives up (ctx) leaves the queue at once and
// holds nothing.
func (s *Scheduler) Acquire(ctx context.Context, engine string) (*worker, error) {
	if !s.pool.hasEngine(engine) {
		return nil, fmt.Errorf("%w: %s", ErrNoEngine, engine)
	}
	s.mu.Lock()
	if s.queue.Len() == 0 {
		if w, ok := s.pool.reserve(engine); ok {
			s.mu.Unlock()
			return w, nil
		}
	}
	if s.queue.Len() >= s.max {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (QUEUE_MAX=%d)", ErrQueueFull, s.max)
	}
	wt := &waiter{engine: engine, since: time.Now(), got: make(chan *worker, 1)}
	el := s.queue.PushBack(wt)
	s.mu.Unlock()
	return s.wait(ctx, el, wt)
}

func (s *Scheduler) wait(ctx context.Context, el *list.Element, wt *waiter) (*worker, error) {
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	var err error
	select {
	case w := <-wt.got:
		return w, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = fmt.Errorf("%w (%s)", ErrQueueTimeout, s.timeout)
	}
	s.mu.Lock()
	s.queue.Remove(el)
	s.mu.Unlock()
	// A slot handed over at the last moment is given back, not leaked.
	select {
	case w := <-wt.got:
		s.pool.release(w, nil)
	default:
	}
	return nil, err
}

// Kick hands free slots to waiting requests, oldest first; a request whose
// engine has no room does not block those behind it with another engine.
func (s *Scheduler) Kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for el := s.queue.Front(); el != nil; {
		next := el.Next()
		wt := el.Value.(*waiter)
		if w, ok := s.pool.reserve(wt.engine); ok {
			s.queue.Remove(el)
			wt.got <- w
		}
		el = next
	}
}

// Len returns how many requests wait.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.Len()
}

// RetryAfter suggests when a refused client should try again, in seconds.
func (s *Scheduler) RetryAfter() int {
	return max(1, int(s.timeout.Seconds()/4))
}
