package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"300", 300, true}, {"90s", 90, true},
		{"5m", 300, true}, {"1h30m", 5400, true},
		{"1.5s", 0, false}, {"-5", 0, false}, {"-1m", 0, false}, {"soon", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSeconds(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSeconds(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseViewportAndRecord(t *testing.T) {
	v, err := parseViewport("1280X720")
	if err != nil || *v != (api.Viewport{Width: 1280, Height: 720}) {
		t.Errorf("parseViewport: %v, %v", v, err)
	}
	for _, bad := range []string{"1280", "x720", "0x10", "axb", "10x-1"} {
		if _, err := parseViewport(bad); err == nil {
			t.Errorf("parseViewport(%q) accepted", bad)
		}
	}
	r, err := parseRecord("har, screenshots")
	if err != nil || *r != (api.Record{HAR: true, Screenshots: true}) {
		t.Errorf("parseRecord: %+v, %v", r, err)
	}
	if r, err := parseRecord(""); r != nil || err != nil {
		t.Errorf("parseRecord(\"\") = %v, %v; want nothing", r, err)
	}
}

func TestFlagsAnywhere(t *testing.T) {
	var out bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	tests := []struct {
		name   string
		args   []string
		pos    []string
		output string
		labels labelsFlag
	}{
		{"flags first", []string{"--output", "json", "ID"}, []string{"ID"}, "json", labelsFlag{}},
		{"flags after", []string{"ID", "--output=json"}, []string{"ID"}, "json", labelsFlag{}},
		{"mixed", []string{"--label", "a=1", "ID", "--label", "b=2"}, []string{"ID"}, "text",
			labelsFlag{"a": "1", "b": "2"}},
		{"double dash", []string{"--", "--output"}, []string{"--output"}, "text", labelsFlag{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet(e, "get", "ID", "")
			labels := labelsFlag{}
			fs.Var(labels, "label", "")
			pos, err := fs.parse(e, tt.args, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tt.pos) || fs.output != tt.output ||
				!reflect.DeepEqual(labels, tt.labels) {
				t.Fatalf("got %q, output %s, labels %v", pos, fs.output, labels)
			}
		})
	}
}

func TestSpinner(t *testing.T) {
	var buf syncBuffer
	s := startSpinner(&buf, true, "[1/2] goto")
	time.Sleep(3 * spinnerTick)
	s.end()
	out := buf.String()
	if !strings.Contains(out, "[1/2] goto") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Fatalf("spinner wrote %q", out)
	}
	if s := startSpinner(&buf, false, "x"); s != nil {
		t.Fatal("a spinner started when off")
	}
	var off *spinner
	off.end() // a nil spinner is a no-op
}
