// Package camoufox builds the fingerprint configuration that a Camoufox
// browser reads at start: one JSON object, checked against the property table
// the binary knows, and handed over as CAMOU_CONFIG_1, CAMOU_CONFIG_2, ...
// environment variables. One browser process has one configuration.
package camoufox

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
)

// propertiesJSON is the Camoufox property table; see data/README.md.
//
//go:embed data/properties.json
var propertiesJSON []byte

// Property is one key the binary reads, with its type.
type Property struct {
	// Name is the configuration key, such as "navigator.userAgent".
	Name string `json:"property"`
	// Type is the type name used by the table, such as "str" or "uint".
	Type string `json:"type"`
}

// table parses the embedded property table on first use. A table that does
// not parse is a build defect, so it panics; the package tests catch it.
var table = sync.OnceValue(func() map[string]Property {
	props, err := parseProperties(propertiesJSON)
	if err != nil {
		panic(fmt.Sprintf("camoufox: embedded properties.json: %v", err))
	}
	return props
})

// Properties returns the embedded property table keyed by name. The table
// is parsed once; each call returns a fresh copy the caller may change.
func Properties() map[string]Property {
	return maps.Clone(table())
}

// parseProperties reads a property table: a JSON array of
// {"property": name, "type": type} objects with unique, non-empty fields.
func parseProperties(data []byte) (map[string]Property, error) {
	var list []Property
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("parse property table: %w", err)
	}
	props := make(map[string]Property, len(list))
	for i, p := range list {
		if p.Name == "" || p.Type == "" {
			return nil, fmt.Errorf("property table entry %d: empty name or type", i)
		}
		if _, dup := props[p.Name]; dup {
			return nil, fmt.Errorf("property table: duplicate property %q", p.Name)
		}
		props[p.Name] = p
	}
	return props, nil
}
