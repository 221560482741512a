package wire

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// Caps of the generic scan (spec/wire-v1.md §3.2).
const (
	// MaxNesting is the deepest level of arrays, maps and tags: the
	// top-level map is level 1.
	MaxNesting = 8
	// MaxMapPairs caps the pairs of any map.
	MaxMapPairs = 32
	// MaxArrayElements caps the elements of any array.
	MaxArrayElements = MaxBundleObjects
)

// bundleHead is the start of every canonical bundle encoding: map(6),
// "v": 1, "sig": bytes(64), then, after the 64 signature bytes,
// "type": "bundle". An input longer than MaxObjectSize may be a bundle only
// if it starts this way (spec/wire-v1.md §7, step 1).
var (
	bundleHead1 = []byte{0xa6, 0x61, 'v', 0x01, 0x63, 's', 'i', 'g', 0x58, 0x40}
	bundleHead2 = []byte{0x64, 't', 'y', 'p', 'e', 0x66, 'b', 'u', 'n', 'd', 'l', 'e'}
)

// hasBundleHead reports whether b starts like a canonical bundle.
func hasBundleHead(b []byte) bool {
	n := len(bundleHead1) + SignatureSize
	return len(b) >= n+len(bundleHead2) && bytes.Equal(b[:len(bundleHead1)], bundleHead1) &&
		bytes.Equal(b[n:n+len(bundleHead2)], bundleHead2)
}

// checkSize applies step 1 of §7: the size caps, before any parsing.
// bundleOK says whether the context admits a bundle.
func checkSize(op string, b []byte, bundleOK bool) error {
	switch {
	case bundleOK && len(b) > MaxBundleSize:
		return errorf(op, "", ErrTooLarge, "%d bytes, cap %d", len(b), MaxBundleSize)
	case len(b) > MaxObjectSize && !(bundleOK && hasBundleHead(b)):
		return errorf(op, "", ErrTooLarge, "%d bytes, cap %d (%d for an input that starts as a bundle)", len(b), MaxObjectSize, MaxBundleSize)
	}
	return nil
}

// scanner walks CBOR bytes once, in order, and stops at the first
// violation of §3: this is step 2 of §7, so the reason an input gets does
// not depend on the order an implementation happens to check things in.
type scanner struct {
	b   []byte
	pos int
	op  string
}

// scan checks that b is exactly one data item in kith's restricted,
// canonical CBOR.
func scan(op string, b []byte) error {
	s := &scanner{b: b, op: op}
	if err := s.item(1, false); err != nil {
		return err
	}
	if s.pos != len(b) {
		return s.fail(ErrMalformed, "%d trailing bytes after the object", len(b)-s.pos)
	}
	return nil
}

func (s *scanner) fail(sentinel error, format string, args ...any) *Error {
	e := errorf(s.op, "", sentinel, format, args...)
	e.Detail = "at byte " + itoa(s.pos) + ": " + e.Detail
	return e
}

// head reads an item's initial byte and argument and checks them: the
// per-item rules of §3.2 in their stated order.
func (s *scanner) head() (major byte, arg uint64, err error) {
	if s.pos >= len(s.b) {
		return 0, 0, s.fail(ErrMalformed, "truncated: a data item is missing")
	}
	ib := s.b[s.pos]
	major, ai := ib>>5, ib&0x1f
	// 1. Well-formedness of the head.
	switch {
	case ai >= 28 && ai <= 30:
		return 0, 0, s.fail(ErrMalformed, "reserved additional information %d", ai)
	case ai == 31 && (major == 7 || major < 2 || major == 6):
		return 0, 0, s.fail(ErrMalformed, "initial byte %#02x is not well-formed here", ib)
	}
	var size int
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai == 24:
		size = 1
	case ai == 25:
		size = 2
	case ai == 26:
		size = 4
	case ai == 27:
		size = 8
	}
	if s.pos+1+size > len(s.b) {
		return 0, 0, s.fail(ErrMalformed, "truncated head")
	}
	a := s.b[s.pos+1 : s.pos+1+size]
	switch size {
	case 1:
		arg = uint64(a[0])
	case 2:
		arg = uint64(binary.BigEndian.Uint16(a))
	case 4:
		arg = uint64(binary.BigEndian.Uint32(a))
	case 8:
		arg = binary.BigEndian.Uint64(a)
	}
	// 2. Kinds of item kith never uses.
	if major == 7 {
		return 0, 0, s.fail(ErrMalformed, "simple value or float (initial byte %#02x)", ib)
	}
	if major == 6 && arg != linkTag {
		return 0, 0, s.fail(ErrMalformed, "tag %d (only tag %d is allowed)", arg, linkTag)
	}
	// 3. Canonical form of the head.
	if ai == 31 {
		return 0, 0, s.fail(ErrNotCanonical, "indefinite length")
	}
	if size > 0 && arg < minArg(size) {
		return 0, 0, s.fail(ErrNotCanonical, "argument %d in %d bytes: not the shortest form", arg, size)
	}
	s.pos += 1 + size
	return major, arg, nil
}

// minArg is the smallest argument that needs an argument of size bytes.
func minArg(size int) uint64 {
	switch size {
	case 1:
		return 24
	case 2:
		return 1 << 8
	case 4:
		return 1 << 16
	}
	return 1 << 32
}

// item scans one data item at nesting level level (the level its
// container, if it is one, would be at). asKey marks a map key.
func (s *scanner) item(level int, asKey bool) error {
	start := s.pos
	major, arg, err := s.head()
	if err != nil {
		return err
	}
	// 4. Caps.
	if (major == 4 || major == 5 || major == 6) && level > MaxNesting {
		s.pos = start
		return s.fail(ErrTooLarge, "nesting deeper than %d levels", MaxNesting)
	}
	if major == 4 && arg > MaxArrayElements {
		s.pos = start
		return s.fail(ErrTooLarge, "array of %d elements, cap %d", arg, MaxArrayElements)
	}
	if major == 5 && arg > MaxMapPairs {
		s.pos = start
		return s.fail(ErrTooLarge, "map of %d pairs, cap %d", arg, MaxMapPairs)
	}
	if asKey && major != 3 {
		s.pos = start
		return s.fail(ErrMalformed, "map key of major type %d, want a text string", major)
	}
	switch major {
	case 2, 3:
		if arg > uint64(len(s.b)-s.pos) {
			return s.fail(ErrMalformed, "truncated string of %d bytes", arg)
		}
		body := s.b[s.pos : s.pos+int(arg)]
		if major == 3 && !utf8.Valid(body) {
			return s.fail(ErrMalformed, "text string is not valid UTF-8")
		}
		s.pos += int(arg)
	case 4:
		for range arg {
			if err := s.item(level+1, false); err != nil {
				return err
			}
		}
	case 5:
		var keys [][]byte
		for range arg {
			kstart := s.pos
			if err := s.item(level+1, true); err != nil {
				return err
			}
			key := s.b[kstart:s.pos]
			for _, k := range keys {
				if bytes.Equal(k, key) {
					s.pos = kstart
					e := s.fail(ErrDuplicateKey, "key %q again", textOf(key))
					e.Field = textOf(key)
					return e
				}
			}
			if n := len(keys); n > 0 && !keyLess(keys[n-1], key) {
				s.pos = kstart
				return s.fail(ErrNotCanonical, "key %q after %q: keys must ascend, shorter first", textOf(key), textOf(keys[n-1]))
			}
			keys = append(keys, key)
			if err := s.item(level+1, false); err != nil {
				return err
			}
		}
	case 6:
		cstart := s.pos
		cmajor, _, err := s.peekHead()
		if err != nil {
			return err
		}
		if cmajor != 2 {
			s.pos = cstart
			return s.fail(ErrMalformed, "tag %d does not enclose a byte string", linkTag)
		}
		return s.item(level+1, false)
	}
	return nil
}

// peekHead checks the next item's head without consuming it.
func (s *scanner) peekHead() (byte, uint64, error) {
	p := s.pos
	major, arg, err := s.head()
	s.pos = p
	return major, arg, err
}

// keyLess is the DAG-CBOR key order on encoded text keys: the shorter
// encoding first, then bytewise.
func keyLess(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return bytes.Compare(a, b) < 0
}

// textOf returns the content of an encoded text string (already scanned).
func textOf(enc []byte) string {
	switch ai := enc[0] & 0x1f; {
	case ai < 24:
		return string(enc[1:])
	case ai == 24:
		return string(enc[2:])
	case ai == 25:
		return string(enc[3:])
	case ai == 26:
		return string(enc[5:])
	}
	return string(enc[9:])
}
