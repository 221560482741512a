package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// Version is the wire format version this package writes and reads.
const Version = 1

// Size caps. An input larger than its cap is refused before any parsing.
const (
	// MaxObjectSize caps the encoding of one object other than a Bundle.
	MaxObjectSize = 8 << 10
	// MaxBundleSize caps the encoding of a Bundle.
	MaxBundleSize = 256 << 20
	// MaxBundleObjects caps the number of objects in a Bundle.
	MaxBundleObjects = 1 << 20
)

// linkTag is the CBOR tag of a CID link in DAG-CBOR.
const linkTag = 42

var (
	encMode cbor.EncMode
	// decMode is the strict mode every object decodes with.
	decMode cbor.DecMode
	// bundleDecMode is the mode bundles decode with (the same limits:
	// the scan of §7 step 2 enforces the caps before either runs).
	bundleDecMode cbor.DecMode
)

func init() {
	var err error
	eo := cbor.CoreDetEncOptions() // RFC 8949 §4.2.1: shortest forms, sorted keys, no indefinite lengths
	eo.Sort = cbor.SortLengthFirst // DAG-CBOR order; identical to bytewise for kith's short text keys
	if encMode, err = eo.EncMode(); err != nil {
		panic(err)
	}
	do := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsAllowed, // only tag 42, checked by the scan and Link
		MaxNestedLevels:   2 * MaxNesting,
		MaxArrayElements:  MaxArrayElements,
		MaxMapPairs:       MaxMapPairs,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		UTF8:              cbor.UTF8RejectInvalid,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
	}
	if decMode, err = do.DecMode(); err != nil {
		panic(err)
	}
	bundleDecMode = decMode
}

// errReencode is the detail of a not-canonical error found only by
// encoding the decoded value again. The scan and schema steps of §7 leave
// no such difference, so it marks a disagreement between them and the
// encoder; FuzzDecode fails on it.
const errReencode = "decoded value re-encodes to different bytes"

// decodeStruct decodes data (already scanned and schema-checked) into v.
func decodeStruct(op string, dm cbor.DecMode, data []byte, v any) error {
	if err := dm.Unmarshal(data, v); err != nil {
		return mapDecodeError(op, err)
	}
	return nil
}

// checkReencode checks that v encodes to exactly data.
func checkReencode(op string, data []byte, v any) error {
	again, err := encMode.Marshal(v)
	if err != nil {
		return errorf(op, "", ErrMalformed, "re-encode: %v", err)
	}
	if !bytes.Equal(again, data) {
		return errorf(op, "", ErrNotCanonical, errReencode)
	}
	return nil
}

// mapDecodeError turns an error from the CBOR library into an *Error with
// the right sentinel.
func mapDecodeError(op string, err error) error {
	var (
		we    *Error
		dup   *cbor.DupMapKeyError
		unk   *cbor.UnknownFieldError
		extra *cbor.ExtraneousDataError
		typ   *cbor.UnmarshalTypeError
		arr   *cbor.MaxArrayElementsError
		mp    *cbor.MaxMapPairsError
		nest  *cbor.MaxNestedLevelError
		ind   *cbor.IndefiniteLengthError
	)
	switch {
	case errors.As(err, &we):
		c := *we
		c.Op = op
		return &c
	case errors.As(err, &dup):
		return errorf(op, fmt.Sprint(dup.Key), ErrDuplicateKey, "%v", err)
	case errors.As(err, &unk):
		return errorf(op, "", ErrUnknownField, "%v", err)
	case errors.As(err, &extra):
		return errorf(op, "", ErrMalformed, "trailing bytes after the object")
	case errors.As(err, &typ):
		return errorf(op, typ.StructFieldName, ErrMalformed, "%v", err)
	case errors.As(err, &arr), errors.As(err, &mp), errors.As(err, &nest):
		return errorf(op, "", ErrTooLarge, "%v", err)
	case errors.As(err, &ind):
		return errorf(op, "", ErrNotCanonical, "%v", err)
	default:
		return errorf(op, "", ErrMalformed, "%v", err)
	}
}

// signingInput returns the bytes an object's signature covers.
func signingInput(t Type, unsigned []byte) []byte {
	const domain = "kith/1/"
	b := make([]byte, 0, len(domain)+len(t)+1+len(unsigned))
	b = append(b, domain...)
	b = append(b, t...)
	b = append(b, 0)
	return append(b, unsigned...)
}

// computeCID returns the CIDv1 (dag-cbor, sha2-256) of an encoding.
func computeCID(raw []byte) cid.Cid {
	sum := sha256.Sum256(raw)
	mh, err := multihash.Encode(sum[:], multihash.SHA2_256)
	if err != nil {
		panic(err) // unreachable: fixed, valid code and length
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}

// CIDOf returns the identifier of an object's signed encoding.
func CIDOf(raw []byte) cid.Cid { return computeCID(raw) }

// Link is a reference to another kith object by CID, encoded as a DAG-CBOR
// link (tag 42 over the binary CID with a 0x00 multibase prefix). A Link
// must be a CIDv1 with codec dag-cbor and a sha2-256 multihash.
type Link cid.Cid

// LinkTo returns a Link to c.
func LinkTo(c cid.Cid) Link { return Link(c) }

// CID returns the CID l refers to.
func (l Link) CID() cid.Cid { return cid.Cid(l) }

// String returns the CID in its default text form (base32 "bafy...").
func (l Link) String() string { return cid.Cid(l).String() }

// MarshalCBOR encodes l as tag 42.
func (l Link) MarshalCBOR() ([]byte, error) {
	c := cid.Cid(l)
	if !c.Defined() {
		return nil, errorf("encode link", "", ErrInvalidField, "undefined CID")
	}
	return encMode.Marshal(cbor.Tag{Number: linkTag, Content: append([]byte{0}, c.Bytes()...)})
}

// linkPrefix starts the content of every v1 link: the 0x00 multibase
// prefix, CID version 1, codec dag-cbor (0x71), sha2-256 (0x12) of 32
// bytes (0x20). The 32-byte digest follows.
var linkPrefix = []byte{0x00, 0x01, 0x71, 0x12, 0x20}

// UnmarshalCBOR decodes tag 42 and checks the CID's form: a byte string
// of exactly linkPrefix and a 32-byte digest (spec/wire-v1.md §4).
func (l *Link) UnmarshalCBOR(data []byte) error {
	var t cbor.RawTag
	if err := decMode.Unmarshal(data, &t); err != nil {
		return errorf("", "target", ErrMalformed, "link: %v", err)
	}
	if t.Number != linkTag {
		return errorf("", "target", ErrMalformed, "link: tag %d, want %d", t.Number, linkTag)
	}
	var b []byte
	if err := decMode.Unmarshal(t.Content, &b); err != nil {
		return errorf("", "target", ErrMalformed, "link content: %v", err)
	}
	if len(b) != len(linkPrefix)+sha256.Size || !bytes.HasPrefix(b, linkPrefix) {
		return errorf("", "target", ErrInvalidField, "link content %x is not 00 01 71 12 20 and a 32-byte digest", b)
	}
	c, err := cid.Cast(b[1:])
	if err != nil {
		return errorf("", "target", ErrInvalidField, "link: %v", err) // unreachable for this fixed form
	}
	*l = Link(c)
	return nil
}

// validate checks that a link names a kith object.
func (l Link) validate() error {
	c := cid.Cid(l)
	if !c.Defined() {
		return errorf("", "target", ErrMissingField, "no target")
	}
	if err := checkObjectCID(c); err != nil {
		var e *Error
		if asError(err, &e) {
			e.Field = "target"
		}
		return err
	}
	return nil
}

// checkObjectCID reports whether c has the form of a kith object ID.
func checkObjectCID(c cid.Cid) error {
	p := c.Prefix()
	if p.Version != 1 || p.Codec != cid.DagCBOR || p.MhType != multihash.SHA2_256 || p.MhLength != sha256.Size {
		return errorf("", "", ErrInvalidField, "CID %s is not a CIDv1 dag-cbor sha2-256", c)
	}
	return nil
}

// ParseCID parses the text form of a kith object ID and checks its form.
func ParseCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, errorf("parse CID", "", ErrInvalidField, "%q: %v", s, err)
	}
	if err := checkObjectCID(c); err != nil {
		return cid.Undef, withOp("parse CID", err)
	}
	return c, nil
}
