package controlplane

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/engine"
)

// Timeouts of calls to workers.
const (
	healthTimeout = 5 * time.Second
	listTimeout   = 15 * time.Second
)

// workerHealth is the part of a worker's GET /health the control-plane uses.
type workerHealth struct {
	Status   string                `json:"status"`
	WorkerID string                `json:"workerId"`
	Version  string                `json:"version"`
	BootID   string                `json:"bootId"`
	Engines  []engine.Availability `json:"engines"`
	Capacity int                   `json:"capacity"`
	Active   int                   `json:"active"`
}

// workerEvent is one event of a worker's /events stream.
type workerEvent struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	SessionID string          `json:"sessionId"`
	Data      json.RawMessage `json:"data"`
}

// sessionOf extracts the session from a worker event's data.
func (e workerEvent) sessionOf() (api.Session, error) {
	var d struct {
		Session api.Session `json:"session"`
	}
	err := json.Unmarshal(e.Data, &d)
	return d.Session, err
}

// workerClient calls one worker's API.
type workerClient struct {
	base string
	http *http.Client
}

func (c workerClient) health(ctx context.Context) (workerHealth, error) {
	var h workerHealth
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	return h, c.getJSON(ctx, "/health", &h)
}

func (c workerClient) sessions(ctx context.Context) ([]api.Session, error) {
	var out api.SessionList
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	return out.Sessions, c.getJSON(ctx, "/sessions?limit=1000", &out)
}

func (c workerClient) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s%s: %w", c.base, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s%s: status %d: %s", c.base, path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c workerClient) deleteSession(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, "DELETE", c.base+"/sessions/"+id, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// errRestarted ends a worker's event stream whose worker has restarted.
var errRestarted = errors.New("the worker restarted; its event ids start over")

// streamEvents reads the worker's /events after lastID and calls fn for each
// event until the stream ends, fn returns false or ctx is done.
func (c workerClient) streamEvents(ctx context.Context, lastID int64,
	fn func(workerEvent) bool) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Last-Event-ID", fmt.Sprint(lastID))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/events: status %d", c.base, resp.StatusCode)
	}
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var ev workerEvent
		if json.Unmarshal([]byte(line[len("data: "):]), &ev) != nil || ev.ID == 0 {
			continue
		}
		if !fn(ev) {
			return errRestarted
		}
	}
}
