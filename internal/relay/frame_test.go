package relay

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// frameEvent is one frame found in a stream: where it starts, its opcode and
// where it ends (-1 when the stream stops inside it).
type frameEvent struct {
	start  int
	opcode byte
	end    int
}

// buildFrame renders a frame header and an n-byte payload.
func buildFrame(fin bool, op byte, masked bool, n int) []byte {
	var b bytes.Buffer
	b0 := op
	if fin {
		b0 |= finBit
	}
	b.WriteByte(b0)
	var m byte
	if masked {
		m = maskBit
	}
	switch {
	case n < 126:
		b.WriteByte(m | byte(n))
	case n <= 0xFFFF:
		b.WriteByte(m | 126)
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
	default:
		b.WriteByte(m | 127)
		b.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	}
	if masked {
		b.Write([]byte{0xA1, 0xB2, 0xC3, 0xD4})
	}
	for i := range n {
		b.WriteByte(byte(i))
	}
	return b.Bytes()
}

// referenceParse finds the frames of a whole stream in one pass, written
// independently of scanner.
func referenceParse(data []byte) []frameEvent {
	var evs []frameEvent
	for pos := 0; pos < len(data); {
		evs = append(evs, frameEvent{start: pos, opcode: data[pos] & 0x0F, end: -1})
		end, ok := referenceFrameEnd(data[pos:])
		if !ok {
			break
		}
		pos += end
		evs[len(evs)-1].end = pos
	}
	return evs
}

// referenceFrameEnd returns the size of the frame at the start of b, if b
// holds all of it.
func referenceFrameEnd(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	hlen, size := 2, uint64(b[1]&0x7F)
	switch size {
	case 126:
		hlen = 4
	case 127:
		hlen = 10
	}
	if b[1]&0x80 != 0 {
		hlen += 4
	}
	if len(b) < hlen {
		return 0, false
	}
	switch size {
	case 126:
		size = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		size = binary.BigEndian.Uint64(b[2:])
	}
	if size > uint64(len(b)-hlen) {
		return 0, false
	}
	return hlen + int(size), true
}

// scanChunks runs a scanner over chunks and lists the frames it reports.
func scanChunks(t testing.TB, chunks [][]byte) []frameEvent {
	t.Helper()
	var s scanner
	var evs []frameEvent
	pos := 0
	for _, c := range chunks {
		for off := 0; off < len(c); {
			n, seg := s.next(c[off:])
			if n <= 0 || n > len(c)-off {
				t.Fatalf("next consumed %d of %d bytes", n, len(c)-off)
			}
			if seg.start {
				evs = append(evs, frameEvent{start: pos + off, opcode: seg.opcode, end: -1})
			}
			if len(evs) == 0 || evs[len(evs)-1].opcode != seg.opcode {
				t.Fatalf("segment at %d has opcode %#x without a matching start", pos+off,
					seg.opcode)
			}
			off += n
			if seg.end {
				evs[len(evs)-1].end = pos + off
			}
		}
		pos += len(c)
	}
	return evs
}

// sampleStream concatenates frames covering every header form.
func sampleStream() []byte {
	parts := [][]byte{
		buildFrame(true, opText, false, 0),
		buildFrame(true, opBinary, true, 1),
		buildFrame(false, opText, true, 125),
		buildFrame(true, opContinuation, false, 126),
		buildFrame(true, opPing, true, 0),
		buildFrame(true, opBinary, false, 65535),
		buildFrame(true, opPong, false, 3),
		buildFrame(true, opBinary, true, 65536),
		buildFrame(true, opClose, true, 2),
	}
	return bytes.Join(parts, nil)
}

func TestScannerWholeStream(t *testing.T) {
	data := sampleStream()
	got := scanChunks(t, [][]byte{data})
	want := referenceParse(data)
	if !slices.Equal(got, want) {
		t.Fatalf("frames:\n got %v\nwant %v", got, want)
	}
	if len(want) != 9 || want[len(want)-1].end != len(data) {
		t.Fatalf("reference parse found %v", want)
	}
	ops := []byte{opText, opBinary, opText, opContinuation, opPing, opBinary, opPong,
		opBinary, opClose}
	for i, ev := range got {
		if ev.opcode != ops[i] {
			t.Errorf("frame %d opcode = %#x, want %#x", i, ev.opcode, ops[i])
		}
	}
}

func TestScannerSplitAtEveryOffset(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"len7", buildFrame(true, opText, false, 5)},
		{"len7 masked", buildFrame(true, opText, true, 125)},
		{"len16", buildFrame(true, opBinary, false, 126)},
		{"len16 masked", buildFrame(true, opBinary, true, 300)},
		{"len64", buildFrame(true, opBinary, false, 65536)},
		{"len64 masked", buildFrame(true, opBinary, true, 70000)},
		{"empty then ping", bytes.Join([][]byte{
			buildFrame(true, opText, true, 0), buildFrame(true, opPing, false, 4),
		}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two copies so every split also lands in a second header.
			data := bytes.Repeat(tt.data, 2)
			want := referenceParse(data)
			for i := 0; i <= len(data); i++ {
				if i > 40 && i < len(data)-40 && i%997 != 0 {
					continue // payload splits all behave alike
				}
				got := scanChunks(t, [][]byte{data[:i], data[i:]})
				if !slices.Equal(got, want) {
					t.Fatalf("split at %d:\n got %v\nwant %v", i, got, want)
				}
			}
		})
	}
}

func TestScannerByteByByte(t *testing.T) {
	data := sampleStream()[:2000]
	chunks := make([][]byte, len(data))
	for i := range data {
		chunks[i] = data[i : i+1]
	}
	got := scanChunks(t, chunks)
	if want := referenceParse(data); !slices.Equal(got, want) {
		t.Fatalf("frames:\n got %v\nwant %v", got, want)
	}
}

func TestScannerBoundary(t *testing.T) {
	data := buildFrame(true, opText, true, 10) // 2 + 4 + 10 bytes
	var s scanner
	steps := []struct {
		take     int
		boundary bool
	}{
		{1, false}, {5, false}, {3, false}, {7, true},
	}
	off := 0
	for _, st := range steps {
		chunk := data[off : off+st.take]
		for len(chunk) > 0 {
			n, _ := s.next(chunk)
			chunk = chunk[n:]
		}
		off += st.take
		if s.atBoundary() != st.boundary {
			t.Fatalf("after %d bytes atBoundary = %v, want %v", off, !st.boundary,
				st.boundary)
		}
	}
}

func FuzzFrameScanner(f *testing.F) {
	f.Add(sampleStream()[:300], []byte{1, 2, 3})
	f.Add(buildFrame(true, opBinary, true, 70000), []byte{0, 9, 200})
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1}, []byte{3})
	f.Add([]byte{0x81}, []byte{})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var chunks [][]byte
		rest := data
		for _, c := range cuts {
			n := min(int(c)%32+1, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		chunks = append(chunks, rest)
		got := scanChunks(t, chunks)
		if want := referenceParse(data); !slices.Equal(got, want) {
			t.Fatalf("frames:\n got %v\nwant %v", got, want)
		}
	})
}
