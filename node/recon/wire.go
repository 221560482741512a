package recon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// Wire format, spec/resync-v1.md §4. Every message is one frame:
//
//	length  u32 big-endian: number of bytes that follow (2 ≤ length ≤ MaxMessageSize)
//	version u8, Version
//	type    u8, one of msgQuery, msgReply, msgDone, msgError
//	payload
//
// Version history:
//
//	1: first version.
const Version = 1

// Caps, spec §6. A peer that exceeds one gets an ERROR and the session ends.
const (
	// MaxMessageSize is the largest value of a frame's length field.
	MaxMessageSize = 4 << 20
	// MaxEntries is the largest number of entries in a QUERY (and so of
	// answers in a REPLY).
	MaxEntries = 4096
	// MaxItems is the largest number of keys in one REPLY, all ITEMS
	// answers together.
	MaxItems = 65536
	// DefaultMaxRounds is the default cap on QUERY/REPLY exchanges in one
	// session, on either side.
	DefaultMaxRounds = 64
)

// Message types. Append-only.
const (
	msgQuery byte = 0x01 // client → server: entries to compare
	msgReply byte = 0x02 // server → client: one answer per entry
	msgDone  byte = 0x03 // client → server: session over, empty payload
	msgError byte = 0x04 // either way: code u8, then the session ends
)

// Answer kinds inside a REPLY. Append-only.
const (
	ansMatch    byte = 0x00 // the ranges are equal
	ansItems    byte = 0x01 // k u32, then k keys ascending, all under the entry's prefix
	ansChildren byte = 0x02 // 16 × (count u32, fingerprint [16])
)

// entry is one range in a QUERY: the sender's count and fingerprint of the
// keys under p.
type entry struct {
	p     prefix
	count uint32
	fp    Fingerprint
}

type summary struct {
	count uint32
	fp    Fingerprint
}

// answer is one element of a REPLY.
type answer struct {
	kind     byte
	keys     []Key        // ansItems
	children *[16]summary // ansChildren
}

// frame starts a frame of type typ in buf; finish fills in its length.
func frame(buf []byte, typ byte) []byte {
	return append(buf[:0], 0, 0, 0, 0, Version, typ)
}

func finish(buf []byte) ([]byte, error) {
	n := len(buf) - 4
	if n > MaxMessageSize {
		return nil, errorf(CodeInternal, "encoded message of %d bytes exceeds the cap", n)
	}
	binary.BigEndian.PutUint32(buf, uint32(n))
	return buf, nil
}

func appendPrefix(b []byte, p prefix) []byte {
	b = append(b, byte(p.n))
	return append(b, p.key[:(p.n+1)/2]...)
}

func encodeQuery(buf []byte, es []entry) ([]byte, error) {
	b := frame(buf, msgQuery)
	b = binary.BigEndian.AppendUint16(b, uint16(len(es)))
	for _, e := range es {
		b = appendPrefix(b, e.p)
		b = binary.BigEndian.AppendUint32(b, e.count)
		b = append(b, e.fp[:]...)
	}
	return finish(b)
}

func encodeReply(buf []byte, as []answer) ([]byte, error) {
	b := frame(buf, msgReply)
	b = binary.BigEndian.AppendUint16(b, uint16(len(as)))
	for _, a := range as {
		b = append(b, a.kind)
		switch a.kind {
		case ansItems:
			b = binary.BigEndian.AppendUint32(b, uint32(len(a.keys)))
			for i := range a.keys {
				b = append(b, a.keys[i][:]...)
			}
		case ansChildren:
			for _, c := range a.children {
				b = binary.BigEndian.AppendUint32(b, c.count)
				b = append(b, c.fp[:]...)
			}
		}
	}
	return finish(b)
}

func encodeDone(buf []byte) []byte {
	b, _ := finish(frame(buf, msgDone))
	return b
}

func encodeError(buf []byte, c Code) []byte {
	b, _ := finish(append(frame(buf, msgError), byte(c)))
	return b
}

// readFrame reads one frame and returns its type and payload. It returns
// io.EOF only when the stream ends cleanly before a frame.
func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxMessageSize {
		return 0, nil, errorf(CodeTooLarge, "frame of %d bytes, cap %d", n, MaxMessageSize)
	}
	if n < 2 {
		return 0, nil, errorf(CodeMalformed, "frame of %d bytes", n)
	}
	body, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return 0, nil, err
	}
	if len(body) != int(n) {
		return 0, nil, io.ErrUnexpectedEOF
	}
	return parseFrame(body)
}

// parseFrame checks the version and type of a frame body (the bytes after
// the length field).
func parseFrame(body []byte) (byte, []byte, error) {
	if len(body) < 2 {
		return 0, nil, errorf(CodeMalformed, "frame of %d bytes", len(body))
	}
	if body[0] != Version {
		return 0, nil, errorf(CodeVersion, "version %d, want %d", body[0], Version)
	}
	switch body[1] {
	case msgQuery, msgReply, msgDone, msgError:
	default:
		return 0, nil, errorf(CodeMalformed, "unknown message type %#x", body[1])
	}
	return body[1], body[2:], nil
}

// reader consumes a payload, remembering the first shortfall.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errorf(CodeMalformed, "truncated payload")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) summary() (summary, error) {
	var s summary
	s.count = r.u32()
	copy(s.fp[:], r.take(FingerprintSize))
	if r.err != nil {
		return s, r.err
	}
	if (s.count == 0) != (s.fp == Fingerprint{}) {
		return s, errorf(CodeMalformed, "count %d with fingerprint %x", s.count, s.fp)
	}
	return s, nil
}

// end reports trailing bytes or an earlier shortfall.
func (r *reader) end() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return errorf(CodeMalformed, "%d trailing bytes", len(r.b))
	}
	return nil
}

// count reads the u16 number of entries or answers.
func (r *reader) count() (int, error) {
	n := int(r.u16())
	if r.err != nil {
		return 0, r.err
	}
	if n == 0 {
		return 0, errorf(CodeMalformed, "no entries")
	}
	if n > MaxEntries {
		return 0, errorf(CodeTooLarge, "%d entries, cap %d", n, MaxEntries)
	}
	return n, nil
}

// decodeQuery strictly decodes the payload of a QUERY.
func decodeQuery(payload []byte) ([]entry, error) {
	r := &reader{b: payload}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	es := make([]entry, 0, n)
	for i := 0; i < n; i++ {
		var e entry
		e.p.n = int(r.u8())
		if r.err == nil && e.p.n > maxDepth {
			return nil, errorf(CodeMalformed, "prefix of %d nibbles", e.p.n)
		}
		copy(e.p.key[:], r.take((e.p.n+1)/2))
		if r.err == nil && e.p.n%2 == 1 && e.p.key[e.p.n/2]&0x0f != 0 {
			return nil, errorf(CodeMalformed, "prefix padding nibble not zero")
		}
		s, err := r.summary()
		if err != nil {
			return nil, err
		}
		e.count, e.fp = s.count, s.fp
		if i > 0 {
			prevLast := es[i-1].p.last()
			if bytes.Compare(e.p.key[:], prevLast[:]) <= 0 {
				return nil, errorf(CodeMalformed, "entry %d overlaps or precedes entry %d", i, i-1)
			}
		}
		es = append(es, e)
	}
	return es, r.end()
}

// decodeReply strictly decodes the payload of a REPLY to the query q.
func decodeReply(payload []byte, q []entry) ([]answer, error) {
	r := &reader{b: payload}
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	if n != len(q) {
		return nil, errorf(CodeMalformed, "%d answers to %d entries", n, len(q))
	}
	as := make([]answer, n)
	items := 0
	for i := range as {
		a := &as[i]
		a.kind = r.u8()
		if r.err != nil {
			return nil, r.err
		}
		switch a.kind {
		case ansMatch:
		case ansItems:
			k := r.u32()
			if r.err != nil {
				return nil, r.err
			}
			if uint64(items)+uint64(k) > MaxItems {
				return nil, errorf(CodeTooLarge, "more than %d items", MaxItems)
			}
			items += int(k)
			raw := r.take(int(k) * KeySize)
			if r.err != nil {
				return nil, r.err
			}
			a.keys = make([]Key, k)
			for j := range a.keys {
				copy(a.keys[j][:], raw[j*KeySize:])
				if !q[i].p.contains(&a.keys[j]) {
					return nil, errorf(CodeMalformed, "answer %d: key %s outside the prefix", i, a.keys[j])
				}
				if j > 0 && a.keys[j].Compare(a.keys[j-1]) <= 0 {
					return nil, errorf(CodeMalformed, "answer %d: keys not strictly ascending", i)
				}
			}
		case ansChildren:
			if q[i].p.n >= maxDepth {
				return nil, errorf(CodeMalformed, "answer %d: children of a %d-nibble prefix", i, q[i].p.n)
			}
			a.children = new([16]summary)
			var total uint64
			for c := range a.children {
				s, err := r.summary()
				if err != nil {
					return nil, err
				}
				a.children[c] = s
				total += uint64(s.count)
			}
			if total <= LeafMax {
				return nil, errorf(CodeMalformed, "answer %d: children of a range of %d keys", i, total)
			}
		default:
			return nil, errorf(CodeMalformed, "answer %d: unknown kind %#x", i, a.kind)
		}
	}
	return as, r.end()
}

// decodeError decodes the payload of an ERROR into the peer's error.
func decodeError(payload []byte) error {
	if len(payload) != 1 || payload[0] == 0 {
		return errorf(CodeMalformed, "ERROR payload %x", payload)
	}
	return &Error{Code: Code(payload[0]), Remote: true}
}

// decodeDone checks the payload of a DONE.
func decodeDone(payload []byte) error {
	if len(payload) != 0 {
		return errorf(CodeMalformed, "DONE with %d payload bytes", len(payload))
	}
	return nil
}

// protoErr returns the protocol error inside err, if any, that this side
// detected (and should report to the peer).
func protoErr(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && !e.Remote {
		return e, true
	}
	return nil, false
}

// unexpected is the error for a well-formed message of the wrong type.
func unexpected(typ byte, want string) error {
	return errorf(CodeUnexpected, "message type %#x, want %s", typ, want)
}
