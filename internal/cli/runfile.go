package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/steps"
)

// The limits of a run file. A run sends its steps one at a time, so it is
// not held to the API's 100 steps per request.
const (
	maxRunFileBytes = 4 << 20
	maxRunSteps     = 10000
)

// runFile is a Managed run read from a file: the session to create, the
// steps to run on it, and whether to keep it open afterwards.
type runFile struct {
	Engine   string
	Headless *bool
	Record   *api.Record
	Viewport *api.Viewport
	Labels   map[string]string
	Keep     bool
	// Steps are the steps as JSON objects, checked with steps.Parse.
	Steps []json.RawMessage
	// Actions is each step's action, for the progress lines.
	Actions []string
}

// fileError is a problem with a run file, at a line (and column) when known.
type fileError struct {
	file      string
	line, col int
	msg       string
}

func (e *fileError) Error() string {
	switch {
	case e.line > 0 && e.col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
	case e.line > 0:
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return e.file + ": " + e.msg
}

// errAt is a problem at a line, before the file name is known.
func errAt(n *node, format string, args ...any) error {
	return &fileError{line: n.line, msg: fmt.Sprintf(format, args...)}
}

// The run file formats.
const (
	formatYAML = "yaml"
	formatJSON = "json"
)

// readRunFile reads and checks a run file; path "-" reads stdin. The format
// comes from the extension (.yaml, .yml, .json) or, failing that, from the
// content: JSON when it parses as JSON, YAML otherwise.
func readRunFile(path string, stdin io.Reader) (*runFile, error) {
	name, format := path, ""
	var data []byte
	var err error
	if path == "-" {
		name = "stdin"
		data, err = io.ReadAll(io.LimitReader(stdin, maxRunFileBytes+1))
	} else {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml":
			format = formatYAML
		case ".json":
			format = formatJSON
		}
		data, err = readLimited(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read run file: %w", err)
	}
	if len(data) > maxRunFileBytes {
		return nil, &fileError{file: name, msg: fmt.Sprintf("larger than %d bytes", maxRunFileBytes)}
	}
	return parseRunFile(name, data, format)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxRunFileBytes+1))
}

// parseRunFile parses data in format (sniffed when empty) and checks it.
// Errors are *fileError values naming name and the line.
func parseRunFile(name string, data []byte, format string) (*runFile, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if format == "" {
		format = sniff(data)
	}
	var root *node
	var err error
	if format == formatJSON {
		root, err = parseJSON(data)
	} else {
		root, err = parseYAML(data)
	}
	if err == nil {
		var rf *runFile
		if rf, err = decodeRun(root); err == nil {
			return rf, nil
		}
	}
	var fe *fileError
	if errors.As(err, &fe) {
		fe.file = name
		return nil, fe
	}
	return nil, &fileError{file: name, msg: err.Error()}
}

// sniff tells JSON from YAML by the content: JSON is what parses as JSON.
// YAML is a superset of JSON, but JSON's errors name the column.
func sniff(data []byte) string {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if json.Valid(data) {
		return formatJSON
	}
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		// Invalid JSON may still be YAML in flow style ([{action: goto}]).
		if _, err := parseYAML(data); err == nil {
			return formatYAML
		}
		return formatJSON
	}
	return formatYAML
}

// runFields are the keys of a run file's top-level object.
var runFields = []string{"engine", "headless", "record", "viewport", "labels", "steps", "keep"}

// decodeRun reads the top level: a list of steps, or an object.
func decodeRun(root *node) (*runFile, error) {
	rf := &runFile{Engine: "chromium"}
	var list *node
	switch root.kind {
	case kindList:
		list = root
	case kindObject:
		for _, k := range root.keys {
			if err := rf.setField(k, root.fields[k]); err != nil {
				return nil, err
			}
		}
		list = root.fields["steps"]
		if list == nil {
			return nil, errAt(root, "steps is required: a list of steps")
		}
	default:
		return nil, errAt(root, "a run file is a list of steps, or an object with "+
			"steps (and engine, headless, record, viewport, labels, keep); got %s", root.kind)
	}
	if err := rf.setSteps(list); err != nil {
		return nil, err
	}
	return rf, nil
}

func (rf *runFile) setField(key string, n *node) error {
	var err error
	switch key {
	case "engine":
		rf.Engine, err = n.str(key)
	case "headless":
		var b bool
		b, err = n.boolean(key)
		rf.Headless = &b
	case "keep":
		rf.Keep, err = n.boolean(key)
	case "record":
		rf.Record, err = decodeRecord(n)
	case "viewport":
		rf.Viewport, err = decodeViewport(n)
	case "labels":
		rf.Labels, err = decodeLabels(n)
	case "steps":
		if n.kind != kindList {
			err = errAt(n, "steps must be a list of steps, not %s", n.kind)
		}
	default:
		err = errAt(n, "unknown field %q: want one of %s", key, strings.Join(runFields, ", "))
	}
	return err
}

func decodeRecord(n *node) (*api.Record, error) {
	if err := n.want(kindObject, "record"); err != nil {
		return nil, err
	}
	r := &api.Record{}
	for _, k := range n.keys {
		dst := map[string]*bool{"har": &r.HAR, "video": &r.Video, "screenshots": &r.Screenshots}[k]
		if dst == nil {
			return nil, errAt(n.fields[k], "unknown field record.%s: want har, video or "+
				"screenshots", k)
		}
		var err error
		if *dst, err = n.fields[k].boolean("record." + k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func decodeViewport(n *node) (*api.Viewport, error) {
	if err := n.want(kindObject, "viewport"); err != nil {
		return nil, err
	}
	v := &api.Viewport{}
	for _, k := range n.keys {
		dst := map[string]*int{"width": &v.Width, "height": &v.Height}[k]
		if dst == nil {
			return nil, errAt(n.fields[k], "unknown field viewport.%s: want width and height", k)
		}
		var err error
		if *dst, err = n.fields[k].integer("viewport." + k); err != nil {
			return nil, err
		}
	}
	if v.Width == 0 || v.Height == 0 {
		return nil, errAt(n, "viewport needs both width and height")
	}
	return v, nil
}

func decodeLabels(n *node) (map[string]string, error) {
	if err := n.want(kindObject, "labels"); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(n.keys))
	for _, k := range n.keys {
		v, err := n.fields[k].str("labels." + k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// setSteps encodes each step as JSON and checks the list as the API would,
// so that a bad step is reported with its line before any browser starts.
func (rf *runFile) setSteps(list *node) error {
	if len(list.items) == 0 {
		return errAt(list, "steps must not be empty")
	}
	if len(list.items) > maxRunSteps {
		return errAt(list, "at most %d steps, not %d", maxRunSteps, len(list.items))
	}
	for _, item := range list.items {
		raw, err := json.Marshal(item.value())
		if err != nil {
			return errAt(item, "step: %v", err)
		}
		rf.Steps = append(rf.Steps, raw)
	}

	parsed, err := steps.Parse(rf.Steps, steps.Limits{MaxSteps: maxRunSteps,
		AllowEvaluate: true, Engine: rf.Engine})
	var fe *steps.FieldError
	if errors.As(err, &fe) {
		return errAt(stepNode(list, fe.Field), "%s", fe.Error())
	}
	if err != nil {
		return errAt(list, "steps: %v", err)
	}
	for _, s := range parsed {
		rf.Actions = append(rf.Actions, s.Action)
	}
	return nil
}

// stepField matches "steps[2]" and "steps[2].url".
var stepField = regexp.MustCompile(`^steps\[(\d+)\](?:\.([^.\[]+))?`)

// stepNode finds the node a field of steps.Parse names: the step's key when
// it is there, else the step, else the list.
func stepNode(list *node, field string) *node {
	m := stepField.FindStringSubmatch(field)
	if m == nil {
		return list
	}
	i, err := strconv.Atoi(m[1])
	if err != nil || i >= len(list.items) {
		return list
	}
	step := list.items[i]
	if f, ok := step.fields[m[2]]; ok && m[2] != "" {
		return f
	}
	return step
}

// kind is the JSON type of a node.
type kind int

// The kinds of node.
const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindList
	kindObject
)

func (k kind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "a list", "an object"}[k]
}

// node is a value of a run file, YAML or JSON, with the line it starts on.
type node struct {
	line   int
	kind   kind
	scalar any // bool, json.Number or string
	items  []*node
	keys   []string // in file order
	fields map[string]*node
}

// value returns the node as plain Go values for encoding/json.
func (n *node) value() any {
	switch n.kind {
	case kindList:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = it.value()
		}
		return out
	case kindObject:
		out := make(map[string]any, len(n.fields))
		for k, v := range n.fields {
			out[k] = v.value()
		}
		return out
	}
	return n.scalar
}

func (n *node) want(k kind, field string) error {
	if n.kind != k {
		return errAt(n, "%s must be %s, not %s", field, k, n.kind)
	}
	return nil
}

func (n *node) str(field string) (string, error) {
	if err := n.want(kindString, field); err != nil {
		return "", err
	}
	return n.scalar.(string), nil
}

func (n *node) boolean(field string) (bool, error) {
	if err := n.want(kindBool, field); err != nil {
		return false, err
	}
	return n.scalar.(bool), nil
}

func (n *node) integer(field string) (int, error) {
	if err := n.want(kindNumber, field); err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(string(n.scalar.(json.Number)))
	if err != nil {
		return 0, errAt(n, "%s must be a whole number, not %s", field, n.scalar)
	}
	return i, nil
}
