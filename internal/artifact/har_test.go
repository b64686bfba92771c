package artifact

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testHAR is the part of a HAR document the tests look at.
type testHAR struct {
	Log struct {
		Version string       `json:"version"`
		Creator NameVersion  `json:"creator"`
		Browser *NameVersion `json:"browser"`
		Pages   []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"pages"`
		Entries []testHAREntry `json:"entries"`
	} `json:"log"`
}

// testHAREntry is the part of a HAR entry the tests look at.
type testHAREntry struct {
	PageRef         string    `json:"pageref"`
	StartedDateTime time.Time `json:"startedDateTime"`
	Request         struct {
		URL string `json:"url"`
	} `json:"request"`
}

var (
	testCreator = NameVersion{Name: "camo-fleet", Version: "0.1.0"}
	testBrowser = NameVersion{Name: "chromium", Version: "140.0"}
)

// buildTestHAR writes entries to a file, builds a HAR from it and decodes it.
func buildTestHAR(t *testing.T, entries string) (testHAR, int, int) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, HAREntriesName)
	if err := os.WriteFile(in, []byte(entries), 0o644); err != nil {
		t.Fatal(err)
	}
	har, n, skipped := buildHARFrom(t, in, filepath.Join(dir, HARName))
	checkNoTemp(t, dir)
	return har, n, skipped
}

// buildHARFrom builds a HAR from in into out and decodes it.
func buildHARFrom(t *testing.T, in, out string) (testHAR, int, int) {
	t.Helper()
	n, skipped, err := BuildHAR(in, out, testCreator, testBrowser)
	if err != nil {
		t.Fatalf("BuildHAR: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var har testHAR
	if err := json.Unmarshal(data, &har); err != nil {
		t.Fatalf("HAR is not valid JSON: %v\n%s", err, data)
	}
	return har, n, skipped
}

// checkNoTemp fails t when dir holds a leftover temporary file.
func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil || len(names) > 0 {
		t.Errorf("temporary files left: %v %v", names, err)
	}
}

func testEntry(page, started, url string) string {
	return fmt.Sprintf(`{"pageref":%q,"startedDateTime":%q,"time":12.5,`+
		`"request":{"method":"GET","url":%q,"headers":[]},"response":{"status":200},`+
		`"cache":{},"timings":{"send":0,"wait":10,"receive":2.5}}`, page, started, url)
}

func TestBuildHAR(t *testing.T) {
	lines := []string{
		`{"page":{"id":"page@1","startedDateTime":"2025-01-01T10:00:00.000Z","title":"one"}}`,
		testEntry("page@1", "2025-01-01T10:00:02.000Z", "https://a.test/third"),
		testEntry("page@1", "2025-01-01T10:00:00.500Z", "https://a.test/first"),
		"",
		`{"page":{"id":"page@2","startedDateTime":"2025-01-01T10:00:01.000Z","title":"two"}}`,
		testEntry("page@2", "2025-01-01T11:00:01.000+01:00", "https://b.test/second"),
		`{"pageref":"page@2","startedDateTime":"2025-01-01T10:00:03.000Z","request":{"url":"htt`,
	}
	har, n, skipped := buildTestHAR(t, strings.Join(lines, "\n"))

	if n != 3 || skipped != 1 {
		t.Errorf("entries, skipped = %d, %d; want 3, 1", n, skipped)
	}
	l := har.Log
	if l.Version != "1.2" || l.Creator != testCreator || l.Browser == nil ||
		*l.Browser != testBrowser {
		t.Errorf("header = %q %+v %+v", l.Version, l.Creator, l.Browser)
	}
	if len(l.Pages) != 2 || l.Pages[0].ID != "page@1" || l.Pages[1].Title != "two" {
		t.Errorf("pages = %+v", l.Pages)
	}
	var urls []string
	for _, e := range l.Entries {
		urls = append(urls, e.Request.URL)
	}
	want := []string{"https://a.test/first", "https://b.test/second", "https://a.test/third"}
	if !slices.Equal(urls, want) {
		t.Errorf("entry order = %v, want %v", urls, want)
	}
}

func TestBuildHARSkips(t *testing.T) {
	tests := []struct {
		name           string
		lines          []string
		entries, skips int
		pages          int
	}{
		{"empty file", nil, 0, 0, 0},
		{"blank lines only", []string{"", "  ", "\r"}, 0, 0, 0},
		{"not json", []string{"garbage"}, 0, 1, 0},
		{"not an object", []string{"[1,2]", "null", `"x"`}, 0, 3, 0},
		{"null page", []string{`{"page":null}`}, 0, 1, 0},
		{"no start time", []string{`{"request":{}}`}, 0, 1, 0},
		{"bad start time", []string{`{"startedDateTime":"yesterday"}`}, 0, 1, 0},
		{"page updated", []string{
			`{"page":{"id":"p","title":"old"}}`,
			`{"page":{"id":"p","title":"new"}}`,
		}, 0, 0, 1},
		{"crlf", []string{testEntry("p", "2025-01-01T00:00:00Z", "u") + "\r"}, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			har, n, skipped := buildTestHAR(t, strings.Join(tc.lines, "\n"))
			if n != tc.entries || skipped != tc.skips || len(har.Log.Pages) != tc.pages {
				t.Errorf("entries, skipped, pages = %d, %d, %d; want %d, %d, %d",
					n, skipped, len(har.Log.Pages), tc.entries, tc.skips, tc.pages)
			}
			if har.Log.Pages == nil || har.Log.Entries == nil {
				t.Errorf("pages or entries is null, want []")
			}
		})
	}
}

func TestBuildHARMissingFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, HARName)
	har, n, skipped := buildHARFrom(t, filepath.Join(dir, "missing.jsonl"), out)
	if n != 0 || skipped != 0 || har.Log.Version != "1.2" {
		t.Errorf("entries, skipped, version = %d, %d, %q", n, skipped, har.Log.Version)
	}
	if har.Log.Entries == nil || har.Log.Pages == nil || len(har.Log.Entries) != 0 {
		t.Errorf("entries = %v, pages = %v; want [] and []", har.Log.Entries, har.Log.Pages)
	}
}

func TestBuildHARNoBrowser(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, HARName)
	if _, _, err := BuildHAR(filepath.Join(dir, "x"), out, testCreator, NameVersion{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"browser"`) {
		t.Errorf("browser written though empty: %s", data)
	}
}

func TestBuildHARReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, HARName)
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := BuildHAR(filepath.Join(dir, "x"), filepath.Join(dir, "no", HARName),
		testCreator, testBrowser)
	if err == nil {
		t.Fatal("BuildHAR into a missing folder succeeded")
	}
	har, _, _ := buildHARFrom(t, filepath.Join(dir, "x"), out)
	if har.Log.Version != "1.2" {
		t.Errorf("version = %q", har.Log.Version)
	}
	checkNoTemp(t, dir)
}

func TestBuildHARLarge(t *testing.T) {
	const total = 20000
	var b strings.Builder
	b.WriteString(`{"page":{"id":"page@1","title":"big"}}` + "\n")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range total {
		// Reverse order, so that sorting has to do all the work.
		at := start.Add(time.Duration(total-i) * time.Millisecond).Format(time.RFC3339Nano)
		b.WriteString(testEntry("page@1", at, fmt.Sprintf("https://a.test/%d", i)) + "\n")
	}
	har, n, skipped := buildTestHAR(t, b.String())

	if n != total || skipped != 0 || len(har.Log.Entries) != total {
		t.Fatalf("entries, skipped, decoded = %d, %d, %d", n, skipped, len(har.Log.Entries))
	}
	first := har.Log.Entries[0].Request.URL
	if first != fmt.Sprintf("https://a.test/%d", total-1) {
		t.Errorf("first entry = %s", first)
	}
	sorted := slices.IsSortedFunc(har.Log.Entries, func(a, b testHAREntry) int {
		return a.StartedDateTime.Compare(b.StartedDateTime)
	})
	if !sorted {
		t.Error("entries not sorted by startedDateTime")
	}
}
