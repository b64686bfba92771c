package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// The defaults Parse applies to the zero fields of Limits.
const (
	DefaultMaxSteps   = 100
	DefaultTimeout    = 30 * time.Second
	DefaultMaxTimeout = 10 * time.Minute
)

// Limits bound a run.
type Limits struct {
	// MaxSteps is the longest accepted list; DefaultMaxSteps when zero.
	MaxSteps int
	// DefaultTimeout bounds a step without timeoutMs; DefaultTimeout when
	// zero, MaxTimeout when larger than it.
	DefaultTimeout time.Duration
	// MaxTimeout is the largest accepted timeoutMs; DefaultMaxTimeout when zero.
	MaxTimeout time.Duration
	// AllowEvaluate lets the evaluate action through.
	AllowEvaluate bool
	// Engine is the session's browser: "chromium", "firefox" or "camoufox".
	Engine string
}

// withDefaults returns l with its zero fields filled in.
func (l Limits) withDefaults() Limits {
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxTimeout <= 0 {
		l.MaxTimeout = DefaultMaxTimeout
	}
	if l.DefaultTimeout <= 0 {
		l.DefaultTimeout = DefaultTimeout
	}
	l.DefaultTimeout = min(l.DefaultTimeout, l.MaxTimeout)
	return l
}

// Step is one parsed and validated step.
type Step struct {
	// Action is the step's action, e.g. "goto".
	Action string
	// Timeout bounds the step.
	Timeout time.Duration

	act action
}

// The codes a FieldError may carry besides the plain invalid field.
const (
	CodeEvaluateDisabled    = "EVALUATE_DISABLED"
	CodeUnsupportedByEngine = "UNSUPPORTED_BY_ENGINE"
)

// FieldError is why Parse refused a list: the offending field, e.g.
// "steps[2].url", and the reason, e.g. "is required".
type FieldError struct {
	Field  string
	Reason string
	// Code is empty for a plain invalid field, or CodeEvaluateDisabled or
	// CodeUnsupportedByEngine when the step is valid but refused here.
	Code string
}

// Error returns the field and the reason as one sentence.
func (e *FieldError) Error() string {
	return e.Field + " " + e.Reason
}

// fieldErr builds a FieldError for a field relative to its step.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Parse decodes and validates raw steps strictly: unknown fields, wrong JSON
// types, unknown actions, missing parameters and out-of-range numbers are
// refused with a *FieldError, and so are actions the worker does not allow.
// URL schemes are not checked: the browser side enforces the URL policy.
func Parse(raw []json.RawMessage, lim Limits) ([]Step, error) {
	lim = lim.withDefaults()
	if len(raw) == 0 {
		return nil, fieldErr("steps", "must not be empty")
	}
	if len(raw) > lim.MaxSteps {
		return nil, fieldErr("steps", "must have at most %d steps", lim.MaxSteps)
	}

	steps := make([]Step, 0, len(raw))
	for i, r := range raw {
		s, fe := parseStep(r, lim)
		if fe != nil {
			fe.Field = prefixField(fmt.Sprintf("steps[%d]", i), fe.Field)
			return nil, fe
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// prefixField joins a step's path and a field name relative to the step.
func prefixField(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// parseStep decodes one step; field names in its error are relative to it.
func parseStep(raw json.RawMessage, lim Limits) (Step, *FieldError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return Step{}, fieldErr("", "must be a JSON object")
	}

	name, fe := parseAction(obj)
	if fe != nil {
		return Step{}, fe
	}
	sp := specs[name]
	if fe := checkKeys(obj, sp); fe != nil {
		return Step{}, fe
	}

	timeout, fe := parseTimeout(obj, lim)
	if fe != nil {
		return Step{}, fe
	}

	act := sp.newParams()
	if fe := decodeParams(raw, act, sp); fe != nil {
		return Step{}, fe
	}
	if fe := act.check(lim, timeout); fe != nil {
		return Step{}, fe
	}
	return Step{Action: name, Timeout: timeout, act: act}, nil
}

// parseAction reads the action name and checks that it is known.
func parseAction(obj map[string]json.RawMessage) (string, *FieldError) {
	raw, ok := obj["action"]
	if !ok {
		return "", fieldErr("action", "is required")
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", fieldErr("action", "must be a string")
	}
	if name == "" {
		return "", fieldErr("action", "is required")
	}
	if _, ok := specs[name]; !ok {
		return "", fieldErr("action", "is not a known action: %q", name)
	}
	return name, nil
}

// checkKeys refuses a key the action does not take. Keys are compared
// exactly, unlike encoding/json, which would also accept "URL" for "url".
func checkKeys(obj map[string]json.RawMessage, sp *spec) *FieldError {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "action" || k == "timeoutMs" {
			continue
		}
		if _, ok := sp.fields()[k]; !ok {
			return fieldErr(k, "is not a parameter of %s", sp.name)
		}
	}
	return nil
}

// parseTimeout reads timeoutMs, or returns the default.
func parseTimeout(obj map[string]json.RawMessage, lim Limits) (time.Duration, *FieldError) {
	raw, ok := obj["timeoutMs"]
	if !ok || string(raw) == "null" {
		return lim.DefaultTimeout, nil
	}
	var ms int64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return 0, fieldErr("timeoutMs", "must be an integer")
	}
	maxMs := lim.MaxTimeout.Milliseconds()
	if ms < 1 || ms > maxMs {
		return 0, fieldErr("timeoutMs", "must be between 1 and %d", maxMs)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// decodeParams fills act from the step object, naming the field of a JSON
// type mismatch.
func decodeParams(raw json.RawMessage, act action, sp *spec) *FieldError {
	err := json.Unmarshal(raw, act)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		name, _, _ := strings.Cut(te.Field, ".")
		return fieldErr(name, "must be %s", typeName(sp.fields()[name]))
	}
	return fieldErr("", "is not valid: %v", err)
}

// typeName describes a parameter's Go type in JSON terms.
func typeName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(typeName(t.Elem()), "a ") + "s"
	}
	return "of another type"
}

// spec describes one action: how to make its parameters, which are read from
// the JSON tags of their struct.
type spec struct {
	name      string
	newParams func() action

	once   sync.Once
	byName map[string]reflect.Type
}

// fields maps each JSON parameter name of the action to its Go type.
func (s *spec) fields() map[string]reflect.Type {
	s.once.Do(func() {
		s.byName = map[string]reflect.Type{}
		t := reflect.TypeOf(s.newParams()).Elem()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				s.byName[name] = f.Type
			}
		}
	})
	return s.byName
}

// specs holds every action by name.
var specs = map[string]*spec{}

// register adds an action to specs.
func register(name string, newParams func() action) {
	specs[name] = &spec{name: name, newParams: newParams}
}

func init() {
	register("goto", func() action { return &gotoStep{} })
	register("click", func() action { return &clickStep{} })
	register("fill", func() action { return &fillStep{} })
	register("type", func() action { return &typeStep{} })
	register("press", func() action { return &pressStep{} })
	register("hover", func() action { return &hoverStep{} })
	register("check", func() action { return &checkStep{} })
	register("uncheck", func() action { return &uncheckStep{} })
	register("select", func() action { return &selectStep{} })
	register("waitForSelector", func() action { return &waitForSelectorStep{} })
	register("waitForURL", func() action { return &waitForURLStep{} })
	register("waitForLoadState", func() action { return &waitForLoadStateStep{} })
	register("wait", func() action { return &waitStep{} })
	register("scroll", func() action { return &scrollStep{} })
	register("screenshot", func() action { return &screenshotStep{} })
	register("extract", func() action { return &extractStep{} })
	register("evaluate", func() action { return &evaluateStep{} })
	register("pdf", func() action { return &pdfStep{} })
}
