package wire_test

import (
	"bytes"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// splitMap splits a definite-length CBOR map into its encoded key and value
// items, in order.
func splitMap(t testing.TB, b []byte) [][2][]byte {
	t.Helper()
	var m []cbor.RawMessage
	dec := cbor.NewDecoder(bytes.NewReader(b[mapHeaderLen(b):]))
	for dec.NumBytesRead() < len(b)-mapHeaderLen(b) {
		var item cbor.RawMessage
		if err := dec.Decode(&item); err != nil {
			t.Fatal(err)
		}
		m = append(m, item)
	}
	var pairs [][2][]byte
	for i := 0; i+1 < len(m); i += 2 {
		pairs = append(pairs, [2][]byte{m[i], m[i+1]})
	}
	return pairs
}

func mapHeaderLen(b []byte) int {
	switch ai := b[0] & 0x1f; {
	case ai < 24:
		return 1
	case ai == 24:
		return 2
	default:
		return 3
	}
}

// joinMap encodes pairs as a map in the given order, definite or
// indefinite length.
func joinMap(pairs [][2][]byte, indefinite bool) []byte {
	var b []byte
	switch {
	case indefinite:
		b = []byte{0xbf}
	case len(pairs) < 24:
		b = []byte{0xa0 | byte(len(pairs))}
	default:
		b = []byte{0xb8, byte(len(pairs))}
	}
	for _, p := range pairs {
		b = append(b, p[0]...)
		b = append(b, p[1]...)
	}
	if indefinite {
		b = append(b, 0xff)
	}
	return b
}

func cborText(s string) []byte {
	b, err := cbor.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}
