package relay

import "encoding/binary"

// Opcodes and header bits of RFC 6455, section 5.2.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	finBit     = 0x80
	maskBit    = 0x80
	opcodeMask = 0x0F
	len7Mask   = 0x7F

	// maxHeaderSize is 2 fixed bytes, an 8-byte length and a 4-byte mask key.
	maxHeaderSize = 14
)

// isControl reports whether op is a control opcode (close, ping, pong or a
// reserved control code). Every other opcode carries data.
func isControl(op byte) bool { return op&0x8 != 0 }

// segment describes a run of bytes that belongs to one frame.
type segment struct {
	opcode byte // opcode of the frame the bytes belong to
	start  bool // the run holds the frame's first byte
	end    bool // the run holds the frame's last byte
}

// scanner follows frame boundaries in a websocket byte stream that arrives
// in chunks of any size. It looks at headers only: payload bytes are skipped
// by count, never read or unmasked. The zero value is at a frame boundary.
type scanner struct {
	hdr    [maxHeaderSize]byte
	have   int    // header bytes collected; 0 outside a header
	need   int    // header size, known once its second byte is in
	remain uint64 // payload bytes left in the current frame
	opcode byte   // opcode of the current frame
}

// atBoundary reports whether the next byte starts a new frame.
func (s *scanner) atBoundary() bool { return s.have == 0 && s.remain == 0 }

// next consumes the longest prefix of p that belongs to a single frame and
// returns its length and description. p must not be empty.
func (s *scanner) next(p []byte) (int, segment) {
	seg := segment{start: s.atBoundary()}
	n := 0
	if seg.start || s.have > 0 {
		n = s.header(p)
		if s.have > 0 {
			// The chunk ended inside the header.
			return n, segment{opcode: s.opcode, start: seg.start}
		}
	}

	k := s.remain
	if rest := uint64(len(p) - n); rest < k {
		k = rest
	}
	s.remain -= k
	n += int(k)

	seg.opcode = s.opcode
	seg.end = s.remain == 0
	return n, seg
}

// header collects header bytes from p until the header is complete or p
// runs out, and returns how many bytes it took.
func (s *scanner) header(p []byte) int {
	for n, b := range p {
		s.hdr[s.have] = b
		s.have++
		switch s.have {
		case 1:
			s.opcode = b & opcodeMask
			s.need = 2
		case 2:
			s.need = headerSize(b)
		}
		if s.have == s.need {
			s.remain = payloadLen(s.hdr[:s.need])
			s.have = 0
			return n + 1
		}
	}
	return len(p)
}

// headerSize returns the full header size given the header's second byte.
func headerSize(b1 byte) int {
	size := 2
	switch b1 & len7Mask {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b1&maskBit != 0 {
		size += 4
	}
	return size
}

// payloadLen decodes the payload length of a complete header.
func payloadLen(hdr []byte) uint64 {
	switch n := hdr[1] & len7Mask; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(hdr[2:4]))
	case 127:
		return binary.BigEndian.Uint64(hdr[2:10])
	default:
		return uint64(n)
	}
}
