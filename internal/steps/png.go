package steps

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// pngSignature opens every PNG file.
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngSize reads the width and height from the IHDR chunk that follows the
// signature of a PNG image.
func pngSize(data []byte) (width, height int, err error) {
	const ihdrEnd = 8 + 4 + 4 + 8 // signature, chunk length, chunk type, size
	if len(data) < ihdrEnd || !bytes.HasPrefix(data, pngSignature) {
		return 0, 0, errors.New("not a PNG image")
	}
	if string(data[12:16]) != "IHDR" {
		return 0, 0, errors.New("PNG image without an IHDR chunk first")
	}
	w := binary.BigEndian.Uint32(data[16:20])
	h := binary.BigEndian.Uint32(data[20:24])
	return int(w), int(h), nil
}
