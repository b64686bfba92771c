package camoufox

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Config is a Camoufox configuration object: property name to value.
//
// A value may be anything encoding/json encodes. It is checked as the JSON
// text the browser will read, so float64(1920) is a valid uint (it encodes
// as 1920), []string is a valid array and a struct is a valid dict.
type Config map[string]any

// ErrInvalid is matched by errors.Is for every *ValidationError.
var ErrInvalid = errors.New("invalid camoufox config")

// Problem is one reason a Config is refused.
type Problem struct {
	// Key is the configuration key at fault.
	Key string
	// Reason says what is wrong with it.
	Reason string
}

// ValidationError lists every problem found in a Config, sorted by key and
// then by reason.
type ValidationError struct {
	Problems []Problem
}

// Error returns all problems on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%q: %s", p.Key, p.Reason)
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap returns ErrInvalid, so that errors.Is(err, ErrInvalid) holds.
func (e *ValidationError) Unwrap() error {
	return ErrInvalid
}

// Validate checks that every key of c is a known property and that every
// value has the property's type. It returns nil or a *ValidationError that
// lists every problem, not only the first.
func (c Config) Validate() error {
	_, err := c.encode()
	return err
}

// encode validates c and returns each value as the JSON text the browser
// will read.
func (c Config) encode() (map[string]json.RawMessage, error) {
	raws := make(map[string]json.RawMessage, len(c))
	var problems []Problem
	for key, value := range c {
		raw, reason := encodeValue(key, value)
		if reason != "" {
			problems = append(problems, Problem{Key: key, Reason: reason})
			continue
		}
		raws[key] = raw
	}
	if len(problems) > 0 {
		slices.SortFunc(problems, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Reason, b.Reason))
		})
		return nil, &ValidationError{Problems: problems}
	}
	return raws, nil
}

// encodeValue returns the JSON text of value for the property key, or the
// reason it is refused.
func encodeValue(key string, value any) (json.RawMessage, string) {
	prop, ok := table()[key]
	if !ok {
		return nil, "unknown property"
	}
	want, ok := kinds[prop.Type]
	if !ok {
		return nil, fmt.Sprintf("property type %q is not supported", prop.Type)
	}
	raw, err := marshal(value)
	if err != nil {
		return nil, fmt.Sprintf("cannot encode as JSON: %v", err)
	}
	if hasInvalidUTF8(raw) {
		return nil, "holds a string that is not valid UTF-8"
	}
	if !want.accepts(raw) {
		return nil, fmt.Sprintf("want %s (%s), got %s", prop.Type, want.desc, describe(raw))
	}
	return raw, ""
}

// kind is what the browser accepts for one property type name.
type kind struct {
	desc    string
	accepts func(raw []byte) bool
}

// kinds maps the type names of properties.json to the JSON the browser
// accepts for them: a uint or int must be written as an integer literal,
// since the browser checks how the number was written, not its value.
var kinds = map[string]kind{
	"str":    {"a string", startsWith('"')},
	"bool":   {"true or false", isBool},
	"uint":   {"a non-negative integer", isUint},
	"int":    {"an integer", isInt},
	"double": {"a number", isNumber},
	"array":  {"an array", startsWith('[')},
	"dict":   {"an object", startsWith('{')},
}

// startsWith returns a check that the JSON text begins with c.
func startsWith(c byte) func(raw []byte) bool {
	return func(raw []byte) bool { return raw[0] == c }
}

// isBool reports whether raw is true or false.
func isBool(raw []byte) bool {
	return raw[0] == 't' || raw[0] == 'f'
}

// isUint reports whether raw is an integer literal from 0 to 2^64-1.
func isUint(raw []byte) bool {
	_, err := strconv.ParseUint(string(raw), 10, 64)
	return err == nil
}

// isInt reports whether raw is an integer literal that fits int64 or uint64.
func isInt(raw []byte) bool {
	_, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil || isUint(raw)
}

// isNumber reports whether raw is a JSON number.
func isNumber(raw []byte) bool {
	return raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9')
}

// describe names the JSON value raw for an error message.
func describe(raw []byte) string {
	switch raw[0] {
	case '"':
		return "a string"
	case 't', 'f':
		return "a bool"
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "the number " + string(raw)
}

// marshal encodes v as compact JSON without HTML escaping. Object keys come
// out sorted, so equal values give equal text.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// hasInvalidUTF8 reports whether encoding/json replaced invalid UTF-8 while
// writing raw. It writes each bad byte as the escape \ufffd, while a valid
// U+FFFD stays a literal character; so only a value whose own MarshalJSON
// writes that escape is refused by mistake.
func hasInvalidUTF8(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if bytes.HasPrefix(raw[i+1:], []byte("ufffd")) {
			return true
		}
		i++ // skip the escaped character, which may be a backslash
	}
	return false
}
