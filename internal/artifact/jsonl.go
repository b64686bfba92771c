package artifact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// TailJSONL reads the JSONL file at path and returns up to limit records,
// passing over the first skip. Only lines holding a JSON object count as
// records: blank and broken lines are passed over, and so is a last line
// still being written or cut short by a kill. So skip plus the number of
// records returned is where the next call should start, even while the file
// grows. A limit of zero or less returns no records.
//
// TODO: every call reads the file from its start, which costs more as a log
// grows; a byte offset handed back to the caller as a cursor would remove it.
func TailJSONL(path string, skip, limit int) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tail jsonl: %w", err)
	}
	defer f.Close()

	out := []json.RawMessage{}
	br := bufio.NewReaderSize(f, 64<<10)
	for len(out) < limit {
		line, err := br.ReadBytes('\n')
		if rec, ok := record(line); ok {
			if skip > 0 {
				skip--
			} else {
				out = append(out, rec)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tail jsonl: %w", err)
		}
	}
	return out, nil
}

// record returns line without its surrounding whitespace when it holds one
// JSON object.
func record(line []byte) (json.RawMessage, bool) {
	line = bytes.Trim(line, " \t\r\n")
	if len(line) == 0 || line[0] != '{' || !json.Valid(line) {
		return nil, false
	}
	return line, true
}
