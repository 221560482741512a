package node

import (
	"errors"
	"fmt"
	"io"
)

// maxVarintLen is the longest length prefix a frame may have: ten bytes
// hold any uint64. Frame caps are far smaller, so real prefixes are 1–3
// bytes.
const maxVarintLen = 10

// readMinimalUvarint reads an unsigned LEB128 integer in its minimal form
// (spec/node-v1.md §4.1): no final byte 0x00 after a continuation byte, so
// that every length has exactly one encoding. encoding/binary's
// ReadUvarint also accepts padded forms ("85 80 00" for 5); those are
// protocol violations here. An input that ends before the first byte is
// io.EOF; one that ends inside the integer is io.ErrUnexpectedEOF.
func readMinimalUvarint(r io.ByteReader) (uint64, error) {
	var x uint64
	for i := range maxVarintLen {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if i == maxVarintLen-1 && b > 1 {
			return 0, fmt.Errorf("%w: length prefix overflows 64 bits", ErrProtocol)
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, fmt.Errorf("%w: length prefix not in its minimal form", ErrProtocol)
			}
			return x, nil
		}
	}
	return 0, fmt.Errorf("%w: length prefix longer than %d bytes", ErrProtocol, maxVarintLen)
}
