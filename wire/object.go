package wire

import (
	"bytes"
	"io"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Type names an object type; it is the "type" field of every object and part
// of the signing domain.
type Type string

// Object types of version 1.
const (
	TypeAttestation       Type = "attestation"
	TypeRetraction        Type = "retraction"
	TypeConsent           Type = "consent"
	TypeConsentWithdrawal Type = "consent-withdrawal"
	TypeIdentityLink      Type = "identity-link"
	TypeBundle            Type = "bundle"
)

// Object is any signed kith object.
type Object interface {
	// Type returns the object's type.
	Type() Type
	// CID returns the object's identifier: the CID of Raw.
	CID() cid.Cid
	// Raw returns the signed canonical encoding. The caller must not
	// modify it.
	Raw() []byte
	// Signer returns the key whose signature the object carries.
	Signer() PublicKey
	// Verify checks the signature and the time rules at now.
	Verify(now time.Time) error

	signable() signable
}

// signable is what the generic sign, decode and verify code needs.
type signable interface {
	Object
	// env returns the value to encode, with or without the signature.
	env(withSig bool) any
	validate() error
	sig() *[]byte
	times() (created, expires uint64)
	seal() *sealed
}

// sealed caches an object's encoding and ID once it is signed or decoded.
type sealed struct {
	raw []byte
	id  cid.Cid
}

// CID returns the object's identifier (cid.Undef before signing).
func (s *sealed) CID() cid.Cid { return s.id }

// Raw returns the signed canonical encoding (nil before signing).
func (s *sealed) Raw() []byte { return s.raw }

func sign(o signable, k *PrivateKey) error {
	op := "sign " + string(o.Type())
	if k == nil {
		return errorf(op, "", ErrMissingField, "nil key")
	}
	if err := o.validate(); err != nil {
		return withOp(op, err)
	}
	if o.Signer() != k.Public() {
		return errorf(op, "", ErrInvalidField, "signer %s is not the signing key %s", o.Signer(), k.Public())
	}
	*o.sig() = nil
	unsigned, err := encMode.Marshal(o.env(false))
	if err != nil {
		return errorf(op, "", ErrMalformed, "encode: %v", err)
	}
	*o.sig() = k.sign(signingInput(o.Type(), unsigned))
	raw, err := encMode.Marshal(o.env(true))
	if err != nil {
		return errorf(op, "", ErrMalformed, "encode: %v", err)
	}
	if max := maxSize(o.Type()); len(raw) > max {
		*o.sig() = nil
		return errorf(op, "", ErrTooLarge, "%d bytes, cap %d", len(raw), max)
	}
	*o.seal() = sealed{raw: raw, id: computeCID(raw)}
	return nil
}

func maxSize(t Type) int {
	if t == TypeBundle {
		return MaxBundleSize
	}
	return MaxObjectSize
}

// sigPairPrefix is the encoding of the key "sig" and the header of a
// 64-byte byte string.
var sigPairPrefix = []byte{0x63, 's', 'i', 'g', 0x58, 0x40}

// signedMessage returns the signing input of a sealed object. Because the
// sealed encoding is canonical, the unsigned encoding is the same map with
// the "sig" pair cut out and the pair count one lower; cutting is much
// cheaper than encoding again. The cut is located by the whole pair,
// signature included, which cannot occur inside the signed content.
func signedMessage(o signable) ([]byte, error) {
	raw, sig := o.seal().raw, *o.sig()
	if len(raw) > 0 && raw[0] > 0xa1 && raw[0] < 0xb8 && len(sig) == SignatureSize {
		needle := append(bytes.Clone(sigPairPrefix), sig...)
		if i := bytes.Index(raw, needle); i > 0 {
			const domain = "kith/1/"
			t := o.Type()
			b := make([]byte, 0, len(domain)+len(t)+1+len(raw)-len(needle))
			b = append(b, domain...)
			b = append(b, t...)
			b = append(b, 0, raw[0]-1)
			b = append(b, raw[1:i]...)
			return append(b, raw[i+len(needle):]...), nil
		}
	}
	unsigned, err := encMode.Marshal(o.env(false))
	if err != nil {
		return nil, errorf("verify "+string(o.Type()), "", ErrMalformed, "encode: %v", err)
	}
	return signingInput(o.Type(), unsigned), nil
}

func verify(o signable, now time.Time) error {
	op := "verify " + string(o.Type())
	if o.seal().raw == nil {
		return errorf(op, "", ErrMissingField, "object is not signed")
	}
	msg, err := signedMessage(o)
	if err != nil {
		return err
	}
	if !o.Signer().verify(msg, *o.sig()) {
		return errorf(op, "sig", ErrBadSignature, "signer %s", o.Signer())
	}
	c, e := o.times()
	if err := checkNow(c, e, now); err != nil {
		return withOp(op, err)
	}
	return nil
}

// decodeAs decodes b as the object type t whose envelope is E: the steps of
// spec/wire-v1.md §7 in order, up to (not including) the signature.
func decodeAs[E any](t Type, b []byte, dm cbor.DecMode, obj func(*E) signable) (signable, error) {
	op := "decode " + string(t)
	if err := checkSize(op, b, t == TypeBundle); err != nil {
		return nil, err
	}
	if err := scan(op, b); err != nil {
		return nil, err
	}
	h, err := header(op, b)
	if err != nil {
		return nil, err
	}
	if h != t {
		return nil, errorf(op, "type", ErrWrongType, "got %q", h)
	}
	return decodeBody(op, t, b, dm, obj)
}

// decodeBody runs steps 4 and 5 of §7 on scanned bytes of type t.
func decodeBody[E any](op string, t Type, b []byte, dm cbor.DecMode, obj func(*E) signable) (signable, error) {
	if err := checkSchema(op, b, t); err != nil {
		return nil, err
	}
	var e E
	if err := decodeStruct(op, dm, b, &e); err != nil {
		return nil, err
	}
	o := obj(&e)
	if err := o.validate(); err != nil {
		return nil, withOp(op, err)
	}
	if len(*o.sig()) != SignatureSize {
		return nil, errorf(op, "sig", ErrInvalidField, "signature is %d bytes, want %d", len(*o.sig()), SignatureSize)
	}
	if err := checkReencode(op, b, &e); err != nil {
		return nil, err
	}
	*o.seal() = sealed{raw: slices.Clone(b), id: computeCID(b)}
	return o, nil
}

// Decode decodes any version-1 object, strictly. It does not verify the
// signature or the time rules: call Verify, Open, or VerifyBatch.
func Decode(b []byte) (Object, error) { return decodeAny("decode", b, true) }

// decodeAny decodes an object of any type; bundleOK says whether a bundle
// is admissible (it is not inside a bundle).
func decodeAny(op string, b []byte, bundleOK bool) (Object, error) {
	if err := checkSize(op, b, bundleOK); err != nil {
		return nil, err
	}
	if err := scan(op, b); err != nil {
		return nil, err
	}
	t, err := header(op, b)
	if err != nil {
		return nil, err
	}
	if t == TypeBundle && !bundleOK {
		return nil, errorf(op, "type", ErrWrongType, "a bundle inside a bundle")
	}
	if t != TypeBundle {
		// The head test of step 1 let a larger input through only as a
		// bundle.
		if err := checkSize(op, b, false); err != nil {
			return nil, err
		}
	}
	op = "decode " + string(t)
	switch t {
	case TypeAttestation:
		return asObject(decodeBody(op, t, b, decMode, func(e *attestationEnv) signable { return &e.Attestation }))
	case TypeRetraction:
		return asObject(decodeBody(op, t, b, decMode, func(e *retractionEnv) signable { return &e.Retraction }))
	case TypeConsent:
		return asObject(decodeBody(op, t, b, decMode, func(e *consentEnv) signable { return &e.Consent }))
	case TypeConsentWithdrawal:
		return asObject(decodeBody(op, t, b, decMode, func(e *consentWithdrawalEnv) signable { return &e.ConsentWithdrawal }))
	case TypeIdentityLink:
		return asObject(decodeBody(op, t, b, decMode, func(e *identityLinkEnv) signable { return &e.IdentityLink }))
	default:
		return asObject(decodeBody(op, t, b, bundleDecMode, func(e *bundleEnv) signable { return &e.Bundle }))
	}
}

// Open decodes b and verifies it at now.
func Open(b []byte, now time.Time) (Object, error) {
	o, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if err := o.Verify(now); err != nil {
		return nil, err
	}
	return o, nil
}

// minBatch is the smallest number of objects VerifyBatch checks as a batch.
const minBatch = 4

// VerifyBatch verifies objs at now and returns one error (or nil) per
// object. Signatures are checked together with Ed25519 batch verification
// (ZIP-215 rules, the same as Verify); when the batch fails, each object is
// checked on its own so that the error names it. rand supplies the batch
// verification's random scalars; nil means crypto/rand.
func VerifyBatch(objs []Object, now time.Time, rand io.Reader) []error {
	errs := make([]error, len(objs))
	if len(objs) < minBatch {
		// Batch verification pays off from a few signatures on; below
		// that, single checks (same ZIP-215 rules) are faster.
		for i, o := range objs {
			errs[i] = o.Verify(now)
		}
		return errs
	}
	bv := voi.NewBatchVerifierWithCapacity(len(objs))
	idx := make([]int, 0, len(objs))
	for i, o := range objs {
		s := o.signable()
		if s.seal().raw == nil {
			errs[i] = errorf("verify "+string(o.Type()), "", ErrMissingField, "object is not signed")
			continue
		}
		msg, err := signedMessage(s)
		if err != nil {
			errs[i] = err
			continue
		}
		k := s.Signer()
		if x := expandedKey(k); x != nil {
			bv.AddExpandedWithOptions(x, msg, *s.sig(), zip215)
		} else {
			bv.AddWithOptions(voi.PublicKey(k[:]), msg, *s.sig(), zip215)
		}
		idx = append(idx, i)
	}
	if len(idx) > 0 {
		_, valid := bv.Verify(rand)
		for j, i := range idx {
			if !valid[j] {
				errs[i] = errorf("verify "+string(objs[i].Type()), "sig", ErrBadSignature, "signer %s", objs[i].Signer())
			}
		}
	}
	for i, o := range objs {
		if errs[i] != nil {
			continue
		}
		c, e := o.signable().times()
		if err := checkNow(c, e, now); err != nil {
			errs[i] = withOp("verify "+string(o.Type()), err)
		}
	}
	return errs
}

// asObject converts a typed result to an Object without turning a nil
// pointer into a non-nil interface.
func asObject[T Object](o T, err error) (Object, error) {
	if err != nil {
		return nil, err
	}
	return o, nil
}

// EncodeUnsigned returns the canonical encoding of o without its signature:
// the part of the signing input after the domain prefix.
func EncodeUnsigned(o Object) ([]byte, error) {
	return encMode.Marshal(o.signable().env(false))
}
