// Package app wires the parts of camofleet together for each role and runs
// them until a signal arrives; cmd/camofleet only parses the command line.
package app

import (
	"io"
	"log/slog"
)

// NewLogger returns a JSON logger at the named level.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
