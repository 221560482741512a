package wire

import (
	"time"
)

// Bundle carries many objects, signed as a whole by the node that made it,
// for export, import and bulk transfer. Each object inside keeps its own
// signature and is verified on its own; the bundle's signature says who
// assembled it.
type Bundle struct {
	sealed
	Issuer  PublicKey `cbor:"issuer"`
	Created uint64    `cbor:"created"`
	Objects [][]byte  `cbor:"objects"` // signed encodings of objects other than bundles
	Sig     []byte    `cbor:"sig,omitempty"`
}

type bundleEnv struct {
	Type Type   `cbor:"type"`
	V    uint64 `cbor:"v"`
	Bundle
}

// NewBundle returns an unsigned bundle of objs.
func NewBundle(created time.Time, objs ...Object) *Bundle {
	b := &Bundle{Created: uint64(created.Unix()), Objects: make([][]byte, len(objs))}
	for i, o := range objs {
		b.Objects[i] = o.Raw()
	}
	return b
}

// Type implements Object.
func (*Bundle) Type() Type { return TypeBundle }

// Signer implements Object.
func (b *Bundle) Signer() PublicKey { return b.Issuer }

// Verify implements Object. It checks the bundle's own signature only;
// OpenObjects checks the objects inside.
func (b *Bundle) Verify(now time.Time) error { return verify(b, now) }

// Sign sets the issuer to k's public key, validates, and signs.
func (b *Bundle) Sign(k *PrivateKey) error {
	if k != nil {
		b.Issuer = k.Public()
	}
	return sign(b, k)
}

// OpenObjects decodes every object in the bundle and verifies them (in
// one batch) at now. It returns the objects in order or, if any fails, the
// failure of the lowest index that fails, annotated with the index: each
// object is checked as if received alone (spec/wire-v1.md §5.6), and a
// bundle inside a bundle is ErrWrongType. A caller importing a bundle
// imports nothing then.
func (b *Bundle) OpenObjects(now time.Time) ([]Object, error) {
	objs := make([]Object, 0, len(b.Objects))
	var decodeErr error
	for i, raw := range b.Objects {
		o, err := decodeAny("decode", raw, false)
		if err != nil {
			decodeErr = annotate(err, i)
			break
		}
		objs = append(objs, o)
	}
	for i, err := range VerifyBatch(objs, now, nil) {
		if err != nil {
			return nil, annotate(err, i)
		}
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	return objs, nil
}

func annotate(err error, i int) error {
	var e *Error
	if asError(err, &e) {
		c := *e
		c.Op = "bundle object " + itoa(i) + ": " + c.Op
		return &c
	}
	return err
}

func (b *Bundle) signable() signable      { return b }
func (b *Bundle) seal() *sealed           { return &b.sealed }
func (b *Bundle) sig() *[]byte            { return &b.Sig }
func (b *Bundle) times() (uint64, uint64) { return b.Created, 0 }
func (b *Bundle) env(withSig bool) any {
	e := &bundleEnv{Type: TypeBundle, V: Version, Bundle: *b}
	e.sealed = sealed{}
	if !withSig {
		e.Sig = nil
	}
	return e
}

func (b *Bundle) validate() error {
	if err := checkKey("issuer", b.Issuer); err != nil {
		return err
	}
	if len(b.Objects) > MaxBundleObjects {
		return errorf("", "objects", ErrTooLarge, "%d objects, cap %d", len(b.Objects), MaxBundleObjects)
	}
	for i, o := range b.Objects {
		if len(o) == 0 || len(o) > MaxObjectSize {
			return errorf("", "objects", ErrInvalidField, "object %d is %d bytes, want 1..%d", i, len(o), MaxObjectSize)
		}
	}
	return checkTimes(b.Created, 0)
}

// DecodeBundle decodes a bundle strictly (no signature check; the objects
// inside are decoded by OpenObjects).
func DecodeBundle(b []byte) (*Bundle, error) {
	o, err := decodeAs(TypeBundle, b, bundleDecMode, func(e *bundleEnv) signable { return &e.Bundle })
	if err != nil {
		return nil, err
	}
	return o.(*Bundle), nil
}
