package artifact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// NameVersion is the HAR creator or browser object.
type NameVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// harLine is what BuildHAR needs to know of one line of the entries file.
// Decoding into it also checks that the whole line is valid JSON.
type harLine struct {
	Page            json.RawMessage `json:"page"`
	StartedDateTime string          `json:"startedDateTime"`
}

// harEntry locates one entry line in the entries file.
type harEntry struct {
	offset  int64
	length  int
	started time.Time
}

// harIndex is what the first pass over the entries file learns: the pages in
// order of first appearance and where each entry is.
type harIndex struct {
	pages   []json.RawMessage
	pageIDs map[string]int
	entries []harEntry
	skipped int
}

// BuildHAR reads the entries file at entriesPath, written line by line while
// the session ran, and writes the HAR 1.2 document to outPath atomically. Each
// line is either {"page":{...}} or one HAR entry. A page seen again under the
// same id replaces the earlier one in place. Entries are sorted by
// startedDateTime, ties kept in file order. Lines that do not parse, such as a
// last line cut short by a kill, and entries without a valid startedDateTime
// are skipped and counted. A missing entries file yields a HAR with no
// entries. The browser object is left out when browser.Name is empty.
//
// Entries are not held in memory: a first pass notes where each one is and a
// second copies them into the document in order.
func BuildHAR(entriesPath, outPath string, creator, browser NameVersion) (
	entries, skipped int, err error,
) {
	src, err := os.Open(entriesPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, 0, fmt.Errorf("build har: %w", err)
	}
	idx := &harIndex{pageIDs: map[string]int{}}
	if src != nil {
		defer src.Close()
		if err := idx.scan(src); err != nil {
			return 0, 0, fmt.Errorf("build har: read entries: %w", err)
		}
	}
	slices.SortStableFunc(idx.entries, func(a, b harEntry) int {
		return a.started.Compare(b.started)
	})

	err = writeAtomic(outPath, func(w io.Writer) error {
		return writeHAR(w, src, idx, creator, browser)
	})
	if err != nil {
		return 0, idx.skipped, fmt.Errorf("build har: %w", err)
	}
	return len(idx.entries), idx.skipped, nil
}

// scan reads r line by line, recording pages and entry positions.
func (idx *harIndex) scan(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var offset int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			idx.add(line, offset)
			offset += int64(len(line))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// add records one raw line that starts at offset in the file.
func (idx *harIndex) add(raw []byte, offset int64) {
	const space = " \t\r\n" // JSON's whitespace
	lead := len(raw) - len(bytes.TrimLeft(raw, space))
	line := bytes.Trim(raw, space)
	if len(line) == 0 {
		return
	}
	var l harLine
	if line[0] != '{' || json.Unmarshal(line, &l) != nil {
		idx.skipped++
		return
	}
	if l.Page != nil {
		idx.addPage(l.Page)
		return
	}
	started, err := time.Parse(time.RFC3339Nano, l.StartedDateTime)
	if err != nil {
		idx.skipped++
		return
	}
	e := harEntry{offset: offset + int64(lead), length: len(line), started: started}
	idx.entries = append(idx.entries, e)
}

// addPage records a page object, replacing an earlier one with the same id.
func (idx *harIndex) addPage(page json.RawMessage) {
	var p struct {
		ID string `json:"id"`
	}
	if len(page) == 0 || page[0] != '{' || json.Unmarshal(page, &p) != nil {
		idx.skipped++
		return
	}
	page = bytes.Clone(page)
	if i, ok := idx.pageIDs[p.ID]; ok && p.ID != "" {
		idx.pages[i] = page
		return
	}
	idx.pageIDs[p.ID] = len(idx.pages)
	idx.pages = append(idx.pages, page)
}

// writeHAR writes the HAR document, copying the entries from src in the
// order of idx.entries. src may be nil when there are no entries.
func writeHAR(w io.Writer, src io.ReaderAt, idx *harIndex, creator, browser NameVersion) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeHARHead(bw, creator, browser); err != nil {
		return err
	}
	writeList(bw, len(idx.pages), func(i int) []byte { return idx.pages[i] })
	bw.WriteString(`,"entries":[`)

	var buf []byte
	for i, e := range idx.entries {
		buf = slices.Grow(buf[:0], e.length)[:e.length]
		if _, err := src.ReadAt(buf, e.offset); err != nil {
			return fmt.Errorf("read entry: %w", err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(buf)
	}
	bw.WriteString("\n]}}\n")
	return bw.Flush()
}

// writeHARHead writes the document up to and including `"pages":`.
func writeHARHead(w *bufio.Writer, creator, browser NameVersion) error {
	c, err := json.Marshal(creator)
	if err != nil {
		return fmt.Errorf("encode creator: %w", err)
	}
	w.WriteString(`{"log":{"version":"1.2","creator":`)
	w.Write(c)
	if browser.Name != "" {
		b, err := json.Marshal(browser)
		if err != nil {
			return fmt.Errorf("encode browser: %w", err)
		}
		w.WriteString(`,"browser":`)
		w.Write(b)
	}
	w.WriteString(`,"pages":`)
	return nil
}

// writeList writes a JSON array of n raw elements, one per line.
func writeList(w *bufio.Writer, n int, elem func(int) []byte) {
	w.WriteByte('[')
	for i := range n {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n")
		w.Write(elem(i))
	}
	if n > 0 {
		w.WriteString("\n")
	}
	w.WriteByte(']')
}
