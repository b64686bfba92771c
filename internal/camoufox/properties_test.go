package camoufox

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPropertiesTable(t *testing.T) {
	var entries []json.RawMessage
	if err := json.Unmarshal(propertiesJSON, &entries); err != nil {
		t.Fatalf("embedded table: %v", err)
	}
	props := Properties()
	if len(props) != len(entries) {
		t.Fatalf("Properties() has %d entries, file has %d", len(props), len(entries))
	}
	for name, p := range props {
		if p.Name != name {
			t.Errorf("entry %q has Name %q", name, p.Name)
		}
		if _, ok := kinds[p.Type]; !ok {
			t.Errorf("property %q has unsupported type %q", name, p.Type)
		}
	}
	if got := props["navigator.userAgent"]; got.Type != "str" {
		t.Errorf("navigator.userAgent = %+v, want type str", got)
	}
}

func TestPropertiesReturnsCopy(t *testing.T) {
	props := Properties()
	delete(props, "navigator.userAgent")
	props["made.up"] = Property{Name: "made.up", Type: "str"}

	again := Properties()
	if _, ok := again["navigator.userAgent"]; !ok {
		t.Error("deleting from the returned map changed the table")
	}
	if _, ok := again["made.up"]; ok {
		t.Error("adding to the returned map changed the table")
	}
}

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    int
		wantErr string
	}{
		{name: "empty list", data: `[]`, want: 0},
		{
			name: "two entries",
			data: `[{"property":"a","type":"str"},{"property":"b","type":"uint"}]`,
			want: 2,
		},
		{name: "not json", data: `{`, wantErr: "parse property table"},
		{name: "not a list", data: `{"a":"str"}`, wantErr: "parse property table"},
		{name: "no name", data: `[{"type":"str"}]`, wantErr: "empty name or type"},
		{name: "no type", data: `[{"property":"a"}]`, wantErr: "empty name or type"},
		{
			name:    "duplicate",
			data:    `[{"property":"a","type":"str"},{"property":"a","type":"int"}]`,
			wantErr: `duplicate property "a"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props, err := parseProperties([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(props) != tt.want {
				t.Errorf("got %d properties, want %d", len(props), tt.want)
			}
		})
	}
}
