package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Decode reads a JSON body strictly: Content-Type application/json, one
// object, no unknown fields, right types, at most maxBytes. Problems come
// back as *FieldError or ErrTooLarge, naming the field where one is to blame.
func Decode(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	// A missing Content-Type is refused too: a page can send a body without
	// one (a typeless Blob) cross-origin, without a CORS preflight.
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &FieldError{Field: "Content-Type", Reason: "must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fmt.Errorf("%w: the limit is %d bytes (MAX_BODY_BYTES)", ErrTooLarge, tooBig.Limit)
	}
	if err != nil {
		return fmt.Errorf("%w: read body: %v", ErrBadRequest, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonFieldError(err)
	}
	if dec.More() {
		return &FieldError{Field: "body", Reason: "must hold exactly one JSON object"}
	}
	return nil
}

// jsonFieldError names the field behind an encoding/json error.
func jsonFieldError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return &FieldError{Field: field,
			Reason: fmt.Sprintf("must be %s, got JSON %s", typeName(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return &FieldError{Field: "body",
			Reason: fmt.Sprintf("is not valid JSON at byte %d: %v", syntaxErr.Offset, err)}
	case errors.Is(err, io.EOF):
		return &FieldError{Field: "body", Reason: "is empty; send a JSON object"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &FieldError{Field: name, Reason: "is not a known field"}
	}
	return &FieldError{Field: "body", Reason: err.Error()}
}

func typeName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return kind
}
