package camoufox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ChunkSize is the largest chunk the binary accepts, in characters (Unicode
// code points).
const ChunkSize = 32767

// maxChunkBytes keeps one "CAMOU_CONFIG_n=chunk" string, with its NUL, under
// Linux's 128 KiB limit on a single environment string (MAX_ARG_STRLEN):
// ChunkSize four-byte characters alone would pass that limit.
const maxChunkBytes = 128*1024 - 64

// The environment variables the browser reads its configuration from.
const (
	chunkPrefix = "CAMOU_CONFIG_"
	singleName  = "CAMOU_CONFIG"
)

// ErrNoConfig is returned by Join when the environment holds no
// configuration.
var ErrNoConfig = errors.New("no CAMOU_CONFIG_1 or CAMOU_CONFIG in environment")

// Env validates c and returns it as environment entries for one browser
// process: "CAMOU_CONFIG_1=...", "CAMOU_CONFIG_2=...", and so on. The JSON
// text is deterministic (sorted keys, no HTML escaping) and cut into chunks
// of at most ChunkSize code points, never inside a UTF-8 sequence. A
// validation failure is returned wrapped, so errors.As finds the
// *ValidationError.
//
// The browser joins chunks until a number is missing, so the caller must
// drop any CAMOU_CONFIG entries the process would inherit: a stale
// CAMOU_CONFIG_3 after two fresh chunks would be joined too.
func (c Config) Env() ([]string, error) {
	raws, err := c.encode()
	if err != nil {
		return nil, fmt.Errorf("camoufox env: %w", err)
	}
	text, err := marshal(raws)
	if err != nil {
		return nil, fmt.Errorf("camoufox env: %w", err)
	}

	chunks := split(string(text))
	env := make([]string, len(chunks))
	for i, chunk := range chunks {
		env[i] = chunkPrefix + strconv.Itoa(i+1) + "=" + chunk
	}
	return env, nil
}

// split cuts s into chunks of at most ChunkSize code points and
// maxChunkBytes bytes. It returns no chunk for an empty s.
func split(s string) []string {
	var chunks []string
	for len(s) > 0 {
		n := cut(s)
		chunks = append(chunks, s[:n])
		s = s[n:]
	}
	return chunks
}

// cut returns the byte length of the first chunk of a non-empty s.
func cut(s string) int {
	i := 0
	for runes := 0; runes < ChunkSize && i < len(s); runes++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		if i+size > maxChunkBytes {
			break
		}
		i += size
	}
	return i
}

// Join is the inverse of Env, for tests and diagnostics. Given an
// environment of KEY=VALUE entries, it concatenates CAMOU_CONFIG_1,
// CAMOU_CONFIG_2, ... in order until one is missing, or takes CAMOU_CONFIG
// alone when CAMOU_CONFIG_1 is absent, and parses the object. A name given
// twice takes its last value, as os/exec does. Numbers come back as
// json.Number. Join does not validate; call Validate on the result.
func Join(env []string) (Config, error) {
	text, ok := joinChunks(lookupEnv(env))
	if !ok {
		return nil, fmt.Errorf("join camoufox config: %w", ErrNoConfig)
	}
	c, err := parseConfig(text)
	if err != nil {
		return nil, fmt.Errorf("join camoufox config: %w", err)
	}
	return c, nil
}

// lookupEnv turns KEY=VALUE entries into a map; entries without '=' are
// skipped and a later entry wins.
func lookupEnv(env []string) map[string]string {
	vars := make(map[string]string, len(env))
	for _, entry := range env {
		if name, value, ok := strings.Cut(entry, "="); ok {
			vars[name] = value
		}
	}
	return vars
}

// joinChunks returns the configuration text held in vars, and whether there
// was any.
func joinChunks(vars map[string]string) (string, bool) {
	if _, ok := vars[chunkPrefix+"1"]; !ok {
		text, ok := vars[singleName]
		return text, ok
	}
	var b strings.Builder
	for i := 1; ; i++ {
		chunk, ok := vars[chunkPrefix+strconv.Itoa(i)]
		if !ok {
			return b.String(), true
		}
		b.WriteString(chunk)
	}
}

// parseConfig parses text as exactly one JSON object, keeping numbers as
// written.
func parseConfig(text string) (Config, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if c == nil {
		return nil, errors.New("parse config: null, want a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parse config: data after the JSON object")
	}
	return c, nil
}
