package wire

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mr-tron/base58/base58"
	"github.com/oasisprotocol/curve25519-voi/curve"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// PublicKeySize is the length of an Ed25519 public key.
const PublicKeySize = 32

// SignatureSize is the length of an Ed25519 signature.
const SignatureSize = 64

// peerIDPrefix is the identity multihash header (code 0x00, length 36)
// followed by the libp2p protobuf PublicKey header (field 1 Type = 1
// Ed25519, field 2 Data of length 32). A libp2p peer ID of an Ed25519 key is
// base58btc(peerIDPrefix || key).
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// didKeyPrefix is the multicodec varint of ed25519-pub (0xed).
var didKeyPrefix = []byte{0xed, 0x01}

// PublicKey is an Ed25519 public key: the identity of a kith node, equal to
// the key behind its libp2p peer ID. Its text form is the peer ID
// ("12D3KooW..."). The zero value is not a valid key.
type PublicKey [PublicKeySize]byte

// IsZero reports whether k is the zero value.
func (k PublicKey) IsZero() bool { return k == PublicKey{} }

// Valid reports whether k may appear in an object (spec/wire-v1.md §2):
// the canonical encoding of a point on the curve that is not of small
// order. Anyone can make signatures that verify for a small-order key, and
// a non-canonical encoding is a second name for a key that has one
// already. The zero value (a point of order 4) is not valid.
func (k PublicKey) Valid() error {
	keyChecks.Lock()
	err, ok := keyChecks.m[k]
	keyChecks.Unlock()
	if ok {
		return err
	}
	err = checkPoint(k)
	keyChecks.Lock()
	if len(keyChecks.m) >= maxKeyChecks {
		clear(keyChecks.m)
	}
	keyChecks.m[k] = err
	keyChecks.Unlock()
	return err
}

func checkPoint(k PublicKey) error {
	var y curve.CompressedEdwardsY
	copy(y[:], k[:])
	if !y.IsCanonicalVartime() {
		return errorf("", "", ErrInvalidField, "public key %x is not a canonical point encoding", k[:])
	}
	p, err := curve.NewEdwardsPoint().SetCompressedY(&y)
	if err != nil {
		return errorf("", "", ErrInvalidField, "public key %x is not a point on the curve", k[:])
	}
	if p.IsSmallOrder() {
		return errorf("", "", ErrInvalidField, "public key %x has small order: anyone can sign for it", k[:])
	}
	return nil
}

// keyChecks caches Valid's answers: decompressing a key costs about as
// much as a third of a signature check, and the same keys come again and
// again. Bounded: forgotten wholesale past maxKeyChecks.
var keyChecks = struct {
	sync.Mutex
	m map[PublicKey]error
}{m: map[PublicKey]error{}}

const maxKeyChecks = 4096

// checkKey checks a key field of an object.
func checkKey(field string, k PublicKey) error {
	if err := k.Valid(); err != nil {
		return withField(field, err)
	}
	return nil
}

// String returns the libp2p peer ID of k.
func (k PublicKey) String() string {
	b := make([]byte, 0, len(peerIDPrefix)+PublicKeySize)
	b = append(b, peerIDPrefix...)
	b = append(b, k[:]...)
	return base58.Encode(b)
}

// DIDKey returns k as a did:key identifier ("did:key:z6Mk...").
func (k PublicKey) DIDKey() string {
	b := make([]byte, 0, len(didKeyPrefix)+PublicKeySize)
	b = append(b, didKeyPrefix...)
	b = append(b, k[:]...)
	return "did:key:z" + base58.Encode(b)
}

// MarshalText implements encoding.TextMarshaler with the peer ID form.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; see ParsePublicKey.
func (k *PublicKey) UnmarshalText(b []byte) error {
	p, err := ParsePublicKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// ParsePublicKey parses a libp2p peer ID of an Ed25519 key ("12D3KooW...")
// or a did:key of an Ed25519 key ("did:key:z6Mk...").
func ParsePublicKey(s string) (PublicKey, error) {
	const op = "parse public key"
	var k PublicKey
	if rest, ok := strings.CutPrefix(s, "did:key:"); ok {
		enc, ok := strings.CutPrefix(rest, "z")
		if !ok {
			return k, errorf(op, "", ErrInvalidField, "did:key must use base58btc (prefix z)")
		}
		b, err := base58.Decode(enc)
		if err != nil || len(b) != len(didKeyPrefix)+PublicKeySize || !bytes.HasPrefix(b, didKeyPrefix) {
			return k, errorf(op, "", ErrInvalidField, "%q is not a did:key of an Ed25519 key", s)
		}
		copy(k[:], b[len(didKeyPrefix):])
		return k, withOp(op, k.Valid())
	}
	b, err := base58.Decode(s)
	if err != nil || len(b) != len(peerIDPrefix)+PublicKeySize || !bytes.HasPrefix(b, peerIDPrefix) {
		return k, errorf(op, "", ErrInvalidField, "%q is not a peer ID of an Ed25519 key", s)
	}
	copy(k[:], b[len(peerIDPrefix):])
	return k, withOp(op, k.Valid())
}

// MarshalBinary returns the 32 key bytes; the CBOR encoding of a key is a
// 32-byte byte string.
func (k PublicKey) MarshalBinary() ([]byte, error) { return k[:], nil }

// UnmarshalBinary accepts exactly 32 bytes.
func (k *PublicKey) UnmarshalBinary(b []byte) error {
	if len(b) != PublicKeySize {
		return errorf("", "", ErrInvalidField, "public key is %d bytes, want %d", len(b), PublicKeySize)
	}
	copy(k[:], b)
	return nil
}

// verify checks sig over msg under the ZIP-215 rules.
func (k PublicKey) verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	if x := expandedKey(k); x != nil {
		return voi.VerifyExpandedWithOptions(x, msg, sig, zip215)
	}
	return voi.VerifyWithOptions(voi.PublicKey(k[:]), msg, sig, zip215)
}

// expandedKeys caches public keys in voi's expanded form: decompressing a
// key and building its table is about a third of a verification, and the
// same issuers sign again and again. Bounded: forgotten wholesale past
// maxExpandedKeys (about 1.5 KiB each).
var expandedKeys = struct {
	sync.Mutex
	m map[PublicKey]*voi.ExpandedPublicKey
}{m: map[PublicKey]*voi.ExpandedPublicKey{}}

const maxExpandedKeys = 1024

// expandedKey returns k's expanded form, or nil if k does not decompress
// (its signatures then fail the ordinary check, with the same result).
func expandedKey(k PublicKey) *voi.ExpandedPublicKey {
	expandedKeys.Lock()
	x, ok := expandedKeys.m[k]
	expandedKeys.Unlock()
	if ok {
		return x
	}
	x, err := voi.NewExpandedPublicKey(voi.PublicKey(k[:]))
	if err != nil {
		return nil
	}
	expandedKeys.Lock()
	if len(expandedKeys.m) >= maxExpandedKeys {
		clear(expandedKeys.m)
	}
	expandedKeys.m[k] = x
	expandedKeys.Unlock()
	return x
}

var zip215 = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// PrivateKey is an Ed25519 signing key. It is not comparable with ==; pass
// it by pointer.
type PrivateKey struct {
	_    [0]func() // not comparable
	priv ed25519.PrivateKey
	pub  PublicKey
}

// NewPrivateKey returns the key for a 32-byte Ed25519 seed (RFC 8032).
func NewPrivateKey(seed [32]byte) *PrivateKey {
	priv := ed25519.NewKeyFromSeed(seed[:])
	k := &PrivateKey{priv: priv}
	copy(k.pub[:], priv.Public().(ed25519.PublicKey))
	return k
}

// GeneratePrivateKey returns a new key from rand.
func GeneratePrivateKey(rand io.Reader) (*PrivateKey, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("wire: generate key: %w", err)
	}
	return NewPrivateKey(seed), nil
}

// Public returns the public key.
func (k *PrivateKey) Public() PublicKey { return k.pub }

// Seed returns the 32-byte seed, for storage in the vault.
func (k *PrivateKey) Seed() [32]byte {
	var s [32]byte
	copy(s[:], k.priv.Seed())
	return s
}

// Std returns the key as a crypto/ed25519 key, for libraries that need one
// (the libp2p host identity). The caller must not modify it.
func (k *PrivateKey) Std() ed25519.PrivateKey { return k.priv }

// sign signs msg.
func (k *PrivateKey) sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// String does not reveal the key.
func (k *PrivateKey) String() string { return "PrivateKey(" + k.pub.String() + ")" }

// GoString does not reveal the key.
func (k *PrivateKey) GoString() string { return k.String() }
