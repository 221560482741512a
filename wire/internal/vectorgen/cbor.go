package vectorgen

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// A minimal CBOR writer, independent of the wire package and of any CBOR
// library: the vectors must not depend on the encoder they test.

// head encodes an initial byte and its argument in the shortest form.
func head(major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return []byte{m | byte(n)}
	case n < 1<<8:
		return []byte{m | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{m | 25}, uint16(n))
	case n < 1<<32:
		return binary.BigEndian.AppendUint32([]byte{m | 26}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{m | 27}, n)
}

// U is an unsigned integer.
func U(n uint64) []byte { return head(0, n) }

// T is a text string.
func T(s string) []byte { return append(head(3, uint64(len(s))), s...) }

// B is a byte string.
func B(b []byte) []byte { return append(head(2, uint64(len(b))), b...) }

// A is an array of encoded items.
func A(items ...[]byte) []byte {
	out := head(4, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// Link is tag 42 over 00 ‖ the binary CID.
func Link(binCID []byte) []byte {
	return append([]byte{0xd8, 0x2a}, B(append([]byte{0}, binCID...))...)
}

// kv is one map entry: an encoded key and an encoded value.
type kv struct{ k, v []byte }

// M is a canonical map of text keys (sorted length-first, then bytewise).
func M(pairs ...kv) []byte { return rawMap(sortPairs(pairs)) }

// P is a pair with a text key.
func P(key string, v []byte) kv { return kv{T(key), v} }

func sortPairs(pairs []kv) []kv {
	ps := slices.Clone(pairs)
	slices.SortStableFunc(ps, func(a, b kv) int {
		if len(a.k) != len(b.k) {
			return len(a.k) - len(b.k)
		}
		return bytes.Compare(a.k, b.k)
	})
	return ps
}

// rawMap encodes pairs in the order given.
func rawMap(pairs []kv) []byte {
	out := head(5, uint64(len(pairs)))
	for _, p := range pairs {
		out = append(out, p.k...)
		out = append(out, p.v...)
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
