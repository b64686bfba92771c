package cli

import (
	"fmt"
	"io"
	"time"
)

// spinnerTick is how often the spinner is redrawn.
const spinnerTick = 100 * time.Millisecond

// spinner redraws one terminal line with a turning mark, a label and the
// time elapsed, until end clears the line. Nothing else may write to the
// same writer while it runs. A nil *spinner does nothing.
type spinner struct {
	stop chan struct{}
	done chan struct{}
}

// startSpinner starts a spinner on w when on is true, else returns nil.
func startSpinner(w io.Writer, on bool, label string) *spinner {
	if !on {
		return nil
	}
	s := &spinner{stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(w, label, time.Now())
	return s
}

func (s *spinner) loop(w io.Writer, label string, start time.Time) {
	defer close(s.done)
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	t := time.NewTicker(spinnerTick)
	defer t.Stop()
	for i := 0; ; i++ {
		fmt.Fprintf(w, "\r%c %s %s\x1b[K", frames[i%len(frames)], label,
			duration(time.Since(start).Truncate(100*time.Millisecond)))
		select {
		case <-s.stop:
			fmt.Fprint(w, "\r\x1b[K")
			return
		case <-t.C:
		}
	}
}

// end stops the spinner and clears its line.
func (s *spinner) end() {
	if s == nil {
		return
	}
	close(s.stop)
	<-s.done
}
