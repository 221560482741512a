package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/wire"
)

// Protocol names. The version is part of every name; spec/node-v1.md is
// normative for all of them.
const (
	// TopicName is the gossipsub topic for public, consented proofs,
	// retractions and consent withdrawals.
	TopicName = "/kith/proofs/1"
	// ExchangeProtocol is the request/response stream protocol: a peer asks
	// for attestations and gets what their audiences allow it.
	ExchangeProtocol = "/kith/exchange/1.0.0"
	// ExchangeProtocol11 is the exchange with a trailer: its response ends
	// with a frame saying whether the query was cut short and where to ask
	// again (a continuation). A node serves both versions and asks with
	// 1.1.0 first, falling back to 1.0.0.
	ExchangeProtocol11 = "/kith/exchange/1.1.0"
	// SyncProtocol runs set reconciliation (node/recon) over the public set.
	SyncProtocol = "/kith/sync/1.0.0"
	// ConsentProtocol delivers a consent request: an issuer's node hands a
	// public attestation to its subject's node.
	ConsentProtocol = "/kith/consent/1.0.0"
)

// Caps on protocol messages.
const (
	// MaxGossipObjects caps the objects in one gossip message.
	MaxGossipObjects = 4
	// MaxGossipSize caps a gossip message.
	MaxGossipSize = MaxGossipObjects*wire.MaxObjectSize + 64
	// MaxRequestSize caps an exchange request.
	MaxRequestSize = 64 << 10
	// MaxGetKeys caps the keys in one "get" request.
	MaxGetKeys = 1024
	// MaxResponseObjects caps the objects in one exchange response; ask
	// again with a later Since for more.
	MaxResponseObjects = 4096
	// MaxTrailerSize caps the trailer frame of an exchange 1.1.0 response.
	MaxTrailerSize = 128
	// maxCIDSize caps the binary CID of a request's or trailer's after
	// (a kith CID is 36 bytes).
	maxCIDSize = 64
)

// ErrProtocol marks a message that breaks the protocol (malformed, over a
// cap, not canonical). The sender is at fault.
var ErrProtocol = errors.New("protocol violation")

var (
	msgEnc cbor.EncMode
	msgDec cbor.DecMode
)

func init() {
	var err error
	eo := cbor.CoreDetEncOptions()
	eo.Sort = cbor.SortLengthFirst
	if msgEnc, err = eo.EncMode(); err != nil {
		panic(err)
	}
	do := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxGetKeys,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		UTF8:              cbor.UTF8RejectInvalid,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
	}
	if msgDec, err = do.DecMode(); err != nil {
		panic(err)
	}
}

// protoVersion is the version field of every node protocol message.
const protoVersion = 1

// gossipMessage is the payload of a message on TopicName: signed object
// encodings. A proof is [attestation, consent...]; a retraction or a consent
// withdrawal travels alone. There is no envelope signature: every object
// carries its signer's.
type gossipMessage struct {
	V    uint64   `cbor:"v"`
	Objs [][]byte `cbor:"objs"`
}

func encodeGossip(objs ...wire.Object) []byte {
	m := gossipMessage{V: protoVersion}
	for _, o := range objs {
		m.Objs = append(m.Objs, o.Raw())
	}
	b, err := msgEnc.Marshal(m)
	if err != nil {
		panic(err) // byte slices always encode
	}
	return b
}

// decodeGossip checks a gossip payload's framing and returns the object
// encodings (not yet decoded or verified).
func decodeGossip(b []byte) ([][]byte, error) {
	if len(b) > MaxGossipSize {
		return nil, fmt.Errorf("%w: gossip message of %d bytes (cap %d)", ErrProtocol, len(b), MaxGossipSize)
	}
	var m gossipMessage
	if err := decodeCanonical(b, &m); err != nil {
		return nil, fmt.Errorf("gossip message: %w", err)
	}
	if m.V != protoVersion {
		return nil, fmt.Errorf("%w: gossip message version %d", ErrProtocol, m.V)
	}
	if len(m.Objs) == 0 || len(m.Objs) > MaxGossipObjects {
		return nil, fmt.Errorf("%w: gossip message with %d objects", ErrProtocol, len(m.Objs))
	}
	for i, o := range m.Objs {
		if len(o) == 0 || len(o) > wire.MaxObjectSize {
			return nil, fmt.Errorf("%w: gossip object %d has %d bytes", ErrProtocol, i, len(o))
		}
	}
	return m.Objs, nil
}

func decodeCanonical(b []byte, v any) error {
	if err := msgDec.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	again, err := msgEnc.Marshal(v)
	if err != nil || !bytes.Equal(again, b) {
		return fmt.Errorf("%w: not canonical CBOR", ErrProtocol)
	}
	return nil
}

// Exchange request operations.
const (
	opQuery = "query" // attestations matching subject/issuer/since
	opGet   = "get"   // objects by recon key
)

// request is an exchange request. For opQuery, Subject ("" or a subject's
// text form), Issuer ("" or a peer ID) and Since (Unix seconds, inclusive)
// filter; After (exchange 1.1.0 only: a binary CID) selects, of the
// attestations created at Since, those whose CID sorts after it, so that a
// continuation resumes where a response stopped; Limit caps the
// attestations (0 = MaxResponseObjects). For opGet, Keys are recon keys
// (the sha2-256 digests inside object CIDs).
type request struct {
	V       uint64   `cbor:"v"`
	Op      string   `cbor:"op"`
	Subject string   `cbor:"subject,omitempty"`
	Issuer  string   `cbor:"issuer,omitempty"`
	Since   uint64   `cbor:"since,omitempty"`
	After   []byte   `cbor:"after,omitempty"`
	Limit   uint64   `cbor:"limit,omitempty"`
	Keys    [][]byte `cbor:"keys,omitempty"`
}

// position is a place in a query's result order: after the attestation
// with CID after created at since (after undefined: before every
// attestation created at since).
type position struct {
	since uint64
	after cid.Cid
}

// before reports whether p comes strictly before q in the result order.
func (p position) before(q position) bool {
	if p.since != q.since {
		return p.since < q.since
	}
	if !q.after.Defined() {
		return false
	}
	return !p.after.Defined() || bytes.Compare(p.after.Bytes(), q.after.Bytes()) < 0
}

// at returns the position of a request (its Since and After; After is
// valid once the request is).
func (r *request) at() position {
	p := position{since: r.Since}
	if r.After != nil {
		p.after, _ = cid.Cast(r.After)
	}
	return p
}

// parseAfter checks an after field: a binary CID of at most maxCIDSize
// bytes, in its canonical form.
func parseAfter(b []byte) (cid.Cid, error) {
	if len(b) == 0 || len(b) > maxCIDSize {
		return cid.Undef, fmt.Errorf("%w: after of %d bytes", ErrProtocol, len(b))
	}
	c, err := cid.Cast(b)
	if err != nil || !bytes.Equal(c.Bytes(), b) {
		return cid.Undef, fmt.Errorf("%w: after is not a binary CID", ErrProtocol)
	}
	return c, nil
}

// trailer is the last frame of an exchange 1.1.0 response, after the
// zero-length frame: {"v": 1} when the response is complete; with Since
// and After when the responder stopped before it had read every matching
// attestation: the requester asks again with them to get the rest.
type trailer struct {
	V     uint64 `cbor:"v"`
	Since uint64 `cbor:"since,omitempty"`
	After []byte `cbor:"after,omitempty"`
}

func encodeTrailer(next *position) []byte {
	t := trailer{V: protoVersion}
	if next != nil {
		t.Since, t.After = next.since, next.after.Bytes()
	}
	b, err := msgEnc.Marshal(t)
	if err != nil {
		panic(err)
	}
	return b
}

// decodeTrailer checks a trailer frame and returns its continuation (nil:
// the response is complete).
func decodeTrailer(b []byte) (*position, error) {
	if len(b) > MaxTrailerSize {
		return nil, fmt.Errorf("%w: trailer of %d bytes", ErrProtocol, len(b))
	}
	var t trailer
	if err := decodeCanonical(b, &t); err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	if t.V != protoVersion {
		return nil, fmt.Errorf("%w: trailer version %d", ErrProtocol, t.V)
	}
	if t.After == nil {
		if t.Since != 0 {
			return nil, fmt.Errorf("%w: trailer with since and no after", ErrProtocol)
		}
		return nil, nil
	}
	c, err := parseAfter(t.After)
	if err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	return &position{since: t.Since, after: c}, nil
}

func (r *request) validate() error {
	switch r.Op {
	case opQuery:
		if len(r.Keys) != 0 {
			return fmt.Errorf("%w: query with keys", ErrProtocol)
		}
		if r.Subject != "" {
			if _, err := wire.ParseSubject(r.Subject); err != nil {
				return fmt.Errorf("%w: subject: %w", ErrProtocol, err)
			}
		}
		if r.Issuer != "" {
			if _, err := wire.ParsePublicKey(r.Issuer); err != nil {
				return fmt.Errorf("%w: issuer: %w", ErrProtocol, err)
			}
		}
		if r.Limit > MaxResponseObjects {
			return fmt.Errorf("%w: limit %d over %d", ErrProtocol, r.Limit, MaxResponseObjects)
		}
		if r.After != nil {
			if _, err := parseAfter(r.After); err != nil {
				return err
			}
		}
	case opGet:
		if r.Subject != "" || r.Issuer != "" || r.Since != 0 || r.After != nil || r.Limit != 0 {
			return fmt.Errorf("%w: get with query fields", ErrProtocol)
		}
		if len(r.Keys) == 0 || len(r.Keys) > MaxGetKeys {
			return fmt.Errorf("%w: get with %d keys", ErrProtocol, len(r.Keys))
		}
		for _, k := range r.Keys {
			if len(k) != 32 {
				return fmt.Errorf("%w: key of %d bytes", ErrProtocol, len(k))
			}
		}
	default:
		return fmt.Errorf("%w: unknown op %q", ErrProtocol, r.Op)
	}
	return nil
}

func encodeRequest(r request) []byte {
	r.V = protoVersion
	b, err := msgEnc.Marshal(r)
	if err != nil {
		panic(err)
	}
	return b
}

func decodeRequest(b []byte) (request, error) {
	var r request
	if len(b) > MaxRequestSize {
		return r, fmt.Errorf("%w: request of %d bytes", ErrProtocol, len(b))
	}
	if err := decodeCanonical(b, &r); err != nil {
		return r, fmt.Errorf("request: %w", err)
	}
	if r.V != protoVersion {
		return r, fmt.Errorf("%w: request version %d", ErrProtocol, r.V)
	}
	return r, r.validate()
}

// Frames: a stream carries frames, each a uvarint length then that many
// bytes. A zero-length frame ends a response.

func writeFrame(w io.Writer, b []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(b)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// readFrame reads one frame of at most max bytes; a zero-length frame
// returns (nil, nil).
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := readMinimalUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: frame of %d bytes (cap %d)", ErrProtocol, n, max)
	}
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
