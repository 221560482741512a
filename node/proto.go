package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"

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
// filter; Limit caps the attestations (0 = MaxResponseObjects). For opGet,
// Keys are recon keys (the sha2-256 digests inside object CIDs).
type request struct {
	V       uint64   `cbor:"v"`
	Op      string   `cbor:"op"`
	Subject string   `cbor:"subject,omitempty"`
	Issuer  string   `cbor:"issuer,omitempty"`
	Since   uint64   `cbor:"since,omitempty"`
	Limit   uint64   `cbor:"limit,omitempty"`
	Keys    [][]byte `cbor:"keys,omitempty"`
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
	case opGet:
		if r.Subject != "" || r.Issuer != "" || r.Since != 0 || r.Limit != 0 {
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
