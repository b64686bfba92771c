package steps

import (
	"slices"
	"strings"
)

// firstErr returns the first non-nil error of errs.
func firstErr(errs ...*FieldError) *FieldError {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// required refuses an empty or blank string.
func required(field, value string) *FieldError {
	if strings.TrimSpace(value) == "" {
		return fieldErr(field, "is required")
	}
	return nil
}

// present refuses an absent string; an empty one is fine.
func present(field string, value *string) *FieldError {
	if value == nil {
		return fieldErr(field, "is required")
	}
	return nil
}

// oneOf refuses a value outside allowed; an empty value means the default.
func oneOf(field, value string, allowed ...string) *FieldError {
	if value == "" || slices.Contains(allowed, value) {
		return nil
	}
	return fieldErr(field, "must be one of %s", strings.Join(allowed, ", "))
}

// between refuses a given number outside [lo, hi].
func between[N int | int64](field string, v *N, lo, hi N) *FieldError {
	if v != nil && (*v < lo || *v > hi) {
		return fieldErr(field, "must be between %d and %d", lo, hi)
	}
	return nil
}

// excludes refuses field when other, which it cannot be combined with, is set.
func excludes(field string, set bool, other string, otherSet bool) *FieldError {
	if set && otherSet {
		return fieldErr(field, "cannot be combined with %s", other)
	}
	return nil
}

// The load states a navigation may wait for.
var waitUntilStates = []string{"load", "domcontentloaded", "networkidle", "commit"}

// optional converts a string parameter to a Playwright option, nil when empty.
func optional[T ~string](v string) *T {
	if v == "" {
		return nil
	}
	return new(T(v))
}
