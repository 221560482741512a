package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestReadMinimalUvarint(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint64
		err  error
	}{
		{[]byte{0x00}, 0, nil},
		{[]byte{0x05}, 5, nil},
		{[]byte{0x7f}, 127, nil},
		{[]byte{0x80, 0x01}, 128, nil},
		{[]byte{0x80, 0x80, 0x04}, 65536, nil},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1<<64 - 1, nil},
		{[]byte{0x85, 0x80, 0x00}, 0, ErrProtocol}, // 5, padded: the example
		{[]byte{0x85, 0x00}, 0, ErrProtocol},
		{[]byte{0x80, 0x00}, 0, ErrProtocol}, // 0, padded
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, ErrProtocol},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 0, ErrProtocol},
		{nil, 0, io.EOF},
		{[]byte{0x80}, 0, io.ErrUnexpectedEOF},
	} {
		got, err := readMinimalUvarint(bytes.NewReader(c.in))
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("% x: %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
	// Every minimal encoding writeFrame produces reads back.
	for _, n := range []uint64{0, 1, 127, 128, 8192, 65536, 1 << 35, 1<<64 - 1} {
		b := binary.AppendUvarint(nil, n)
		if got, err := readMinimalUvarint(bytes.NewReader(b)); err != nil || got != n {
			t.Errorf("%d: %d, %v", n, got, err)
		}
	}
	// readFrame refuses a padded length.
	if _, err := readFrame(bufio.NewReader(bytes.NewReader([]byte{0x85, 0x80, 0x00, 1, 2, 3, 4, 5})), 64); !errors.Is(err, ErrProtocol) {
		t.Fatalf("readFrame with a padded length: %v", err)
	}
}
