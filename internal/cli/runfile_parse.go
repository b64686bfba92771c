package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the values of a run file, aliases expanded: a few YAML
// aliases can otherwise stand for billions of values.
const maxNodes = 1 << 20

// yamlLine matches the line yaml.v3 puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses one YAML document into a node tree.
func parseYAML(data []byte) (*node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("is empty: want a list of steps or an object with steps")
		}
		return nil, yamlError(err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &fileError{line: more.Line, msg: "holds more than one YAML document"}
	}
	budget := maxNodes
	return fromYAML(&doc, &budget)
}

func yamlError(err error) error {
	msg := strings.TrimSpace(err.Error())
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &fileError{line: line, msg: m[2]}
	}
	return errors.New(strings.TrimPrefix(msg, "yaml: "))
}

// fromYAML converts a YAML node to a node, with JSON's types: keys must be
// strings, numbers finite, and tags the standard ones.
func fromYAML(y *yaml.Node, budget *int) (*node, error) {
	if *budget--; *budget < 0 {
		return nil, &fileError{line: y.Line, msg: "too many values (aliases expanded)"}
	}
	n := &node{line: y.Line}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return nil, errors.New("is empty")
		}
		return fromYAML(y.Content[0], budget)
	case yaml.AliasNode:
		return fromYAML(y.Alias, budget)
	case yaml.SequenceNode:
		if tag := y.ShortTag(); tag != "!!seq" {
			return nil, &fileError{line: y.Line, msg: "unsupported YAML tag " + tag}
		}
		n.kind = kindList
		for _, c := range y.Content {
			item, err := fromYAML(c, budget)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, item)
		}
		return n, nil
	case yaml.MappingNode:
		return yamlMapping(y, n, budget)
	case yaml.ScalarNode:
		return yamlScalar(y, n)
	}
	return nil, &fileError{line: y.Line, msg: "unsupported YAML node"}
}

func yamlMapping(y *yaml.Node, n *node, budget *int) (*node, error) {
	if tag := y.ShortTag(); tag != "!!map" {
		return nil, &fileError{line: y.Line, msg: "unsupported YAML tag " + tag}
	}
	n.kind, n.fields = kindObject, map[string]*node{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k := y.Content[i]
		if k.ShortTag() == "!!merge" {
			return nil, &fileError{line: k.Line, msg: "YAML merge keys (<<) are not supported"}
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			return nil, &fileError{line: k.Line, msg: fmt.Sprintf("key %q must be a string "+
				"(quote it)", k.Value)}
		}
		if _, dup := n.fields[k.Value]; dup {
			return nil, &fileError{line: k.Line, msg: fmt.Sprintf("key %q given twice", k.Value)}
		}
		v, err := fromYAML(y.Content[i+1], budget)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k.Value)
		n.fields[k.Value] = v
	}
	return n, nil
}

func yamlScalar(y *yaml.Node, n *node) (*node, error) {
	bad := func(what string) error {
		return &fileError{line: y.Line, msg: fmt.Sprintf("%q is %s; quote it for a string",
			y.Value, what)}
	}
	switch y.ShortTag() {
	case "!!null":
		n.kind = kindNull
	case "!!bool":
		var b bool
		if err := y.Decode(&b); err != nil {
			return nil, bad("not a boolean")
		}
		n.kind, n.scalar = kindBool, b
	case "!!int":
		var i int64
		if err := y.Decode(&i); err != nil {
			return nil, bad("an integer out of range")
		}
		n.kind, n.scalar = kindNumber, json.Number(strconv.FormatInt(i, 10))
	case "!!float":
		var f float64
		if err := y.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, bad("not a finite number")
		}
		n.kind, n.scalar = kindNumber, json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case "!!str", "!!timestamp":
		n.kind, n.scalar = kindString, y.Value
	default:
		return nil, &fileError{line: y.Line, msg: fmt.Sprintf("unsupported YAML tag %s", y.Tag)}
	}
	return n, nil
}

// parseJSON parses one JSON value into a node tree, keeping lines.
func parseJSON(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &jsonParser{dec: dec, data: data}
	// Check the syntax first: json.Unmarshal reports where in the whole
	// input an error is, the decoder's Token only where in the value.
	var se *json.SyntaxError
	if err := json.Unmarshal(data, new(any)); errors.As(err, &se) {
		if se.Offset >= int64(len(data)) {
			return nil, p.errorAt(int64(len(data)), "unexpected end of JSON")
		}
		return nil, p.errorAt(se.Offset-1, se.Error())
	}
	root, err := p.value()
	if err != nil {
		return nil, err
	}
	off := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, p.errorAt(p.skipSeparators(off), "more than one JSON value")
	}
	return root, nil
}

// jsonParser reads JSON tokens and notes the line each value starts on.
type jsonParser struct {
	dec   *json.Decoder
	data  []byte
	depth int
}

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 1000

func (p *jsonParser) value() (*node, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.tokenError(err)
	}
	n := &node{line: p.lineCol(p.skipSeparators(start))[0]}
	switch t := tok.(type) {
	case json.Delim:
		if p.depth++; p.depth > maxJSONDepth {
			return nil, p.errorAt(start, "nested too deeply")
		}
		defer func() { p.depth-- }()
		if t == '[' {
			return p.list(n)
		}
		return p.object(n)
	case nil:
		n.kind = kindNull
	case bool:
		n.kind, n.scalar = kindBool, t
	case json.Number:
		n.kind, n.scalar = kindNumber, t
	case string:
		n.kind, n.scalar = kindString, t
	}
	return n, nil
}

func (p *jsonParser) list(n *node) (*node, error) {
	n.kind = kindList
	for p.dec.More() {
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, item)
	}
	return n, p.closing()
}

func (p *jsonParser) object(n *node) (*node, error) {
	n.kind, n.fields = kindObject, map[string]*node{}
	for p.dec.More() {
		start := p.dec.InputOffset()
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.tokenError(err)
		}
		key, _ := tok.(string)
		if _, dup := n.fields[key]; dup {
			return nil, p.errorAt(p.skipSeparators(start), fmt.Sprintf("key %q given twice", key))
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.fields[key] = v
	}
	return n, p.closing()
}

// closing reads the ] or } that ends a list or object.
func (p *jsonParser) closing() error {
	if _, err := p.dec.Token(); err != nil {
		return p.tokenError(err)
	}
	return nil
}

func (p *jsonParser) tokenError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return p.errorAt(int64(len(p.data)), "unexpected end of JSON")
	}
	return err
}

func (p *jsonParser) errorAt(off int64, msg string) error {
	lc := p.lineCol(off)
	return &fileError{line: lc[0], col: lc[1], msg: msg}
}

// skipSeparators moves off past the blanks, commas and colons that the
// decoder leaves before a value.
func (p *jsonParser) skipSeparators(off int64) int64 {
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	return off
}

// lineCol returns the 1-based line and column of byte offset off.
func (p *jsonParser) lineCol(off int64) [2]int {
	off = max(0, min(off, int64(len(p.data))))
	before := p.data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return [2]int{line, col}
}
