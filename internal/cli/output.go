package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/client"
)

// table writes aligned columns; rows are tab-separated cells.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = oneLine(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() { _ = t.tw.Flush() }

// oneLine replaces line breaks, tabs and other control characters so that a
// value from a page cannot break a table or move the cursor.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// shorten cuts s to at most n runes, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(oneLine(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// writeRaw writes an API answer as it came, ending with a newline.
func writeRaw(w io.Writer, raw []byte) {
	raw = bytes.TrimRight(raw, "\r\n")
	_, _ = w.Write(append(raw, '\n'))
}

// writeCompact writes an API answer on one line (JSON Lines).
func writeCompact(w io.Writer, raw []byte) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		writeRaw(w, raw)
		return
	}
	writeRaw(w, b.Bytes())
}

// errorLine is err as one line for people: the API's message with its code
// and field, or what kept the request from reaching the API.
func errorLine(err error) string {
	var ae *client.APIError
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		return "error: " + oneLine(ae.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time: " + oneLine(err.Error())
	case errors.As(err, &ne):
		return "cannot reach the API: " + oneLine(err.Error())
	}
	return oneLine(err.Error())
}

// count says "1 record", "3 records".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// size formats a byte count for people: 512 B, 12.3 KiB, 4.0 MiB.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// duration formats an elapsed time: 412ms, 3.4s, 2m05s, 3h10m.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// ago formats a time as how long before now it was, e.g. "3m12s ago".
func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + roughly(-d)
	}
	return roughly(d) + " ago"
}

// roughly formats a duration to the second: 7s, 3m12s, 2h05m.
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// stamp formats a time in UTC to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func labels(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func record(r api.Record) string {
	var on []string
	for _, x := range []struct {
		on   bool
		name string
	}{{r.HAR, "har"}, {r.Video, "video"}, {r.Screenshots, "screenshots"}} {
		if x.on {
			on = append(on, x.name)
		}
	}
	if len(on) == 0 {
		return "-"
	}
	return strings.Join(on, ",")
}

// endState says how a session stands, e.g. "killed (reason killed)".
func endState(s *api.Session) string {
	out := string(s.State)
	if s.Reason != "" {
		out += " (reason " + string(s.Reason) + ")"
	}
	return out
}

// printSession writes a session as a two-column table.
func printSession(w io.Writer, s *api.Session, now time.Time) {
	t := newTable(w)
	engine := s.Engine
	if s.EngineVersion != "" {
		engine += " " + s.EngineVersion
	}
	t.row("ID", s.ID)
	t.row("STATE", endState(s))
	if s.Error != "" {
		t.row("ERROR", s.Error)
	}
	t.row("ENGINE", engine)
	t.row("MODE", string(s.Mode))
	t.row("HEADLESS", fmt.Sprint(s.Headless))
	t.row("RECORD", record(s.Record))
	t.row("VIEWPORT", fmt.Sprintf("%dx%d", s.Viewport.Width, s.Viewport.Height))
	t.row("LABELS", labels(s.Labels))
	t.row("CREATED", stamp(s.CreatedAt)+" ("+ago(s.CreatedAt, now)+")")
	if s.EndedAt != nil {
		t.row("ENDED", stamp(*s.EndedAt)+" ("+ago(*s.EndedAt, now)+")")
	} else {
		t.row("EXPIRES", stamp(s.ExpiresAt)+" ("+ago(s.ExpiresAt, now)+")")
	}
	t.row("IDLE TTL", fmt.Sprintf("%ds", s.IdleTTLSec))
	t.row("MAX DURATION", fmt.Sprintf("%ds", s.MaxDurationSec))
	if s.WorkerID != "" {
		t.row("WORKER", s.WorkerID)
	}
	t.flush()
}

// printSteps writes step results as a table.
func printSteps(w io.Writer, steps []api.StepResult) {
	t := newTable(w, "INDEX", "ACTION", "STATUS", "DURATION", "RESULT")
	for _, r := range steps {
		t.row(fmt.Sprint(r.Index), r.Action, string(r.Status),
			duration(time.Duration(r.DurationMs)*time.Millisecond), stepSummary(r))
	}
	t.flush()
}

// stepSummary is a step's output or error in a few words.
func stepSummary(r api.StepResult) string {
	if r.Error != nil {
		return shorten(r.Error.Code+": "+r.Error.Message, 120)
	}
	return outputSummary(r.Output)
}

// outputSummary shows a step's output briefly: a navigation's URL and
// status, a screenshot's file and size, extracted text quoted.
func outputSummary(out any) string {
	switch v := out.(type) {
	case nil:
		return ""
	case string:
		return shorten(fmt.Sprintf("%q", v), 80)
	case map[string]any:
		if u, ok := v["url"].(string); ok {
			if st, ok := v["status"].(float64); ok {
				return shorten(fmt.Sprintf("%s (%d)", u, int(st)), 100)
			}
			return shorten(u, 100)
		}
		if a, ok := v["artifact"].(string); ok {
			if w, ok := v["width"].(float64); ok {
				return fmt.Sprintf("%s %dx%d", a, int(w), int(num(v["height"])))
			}
			return a
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Sprint(out)
	}
	return shorten(string(b), 80)
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
