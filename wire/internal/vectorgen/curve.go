package vectorgen

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"math/big"
	"slices"

	"github.com/oasisprotocol/curve25519-voi/curve"
)

// Point arithmetic for the key vectors. It uses curve25519-voi's curve
// package (not the wire package): the small-order points, the
// non-canonical encodings, and signatures that a ZIP-215 verifier accepts
// but an RFC 8032 verifier refuses.

var (
	fieldP    = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	orderL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

// order8 is a point of order 8 (it generates the torsion subgroup).
var order8 = mustHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func decompress(enc []byte) (*curve.EdwardsPoint, bool) {
	var y curve.CompressedEdwardsY
	copy(y[:], enc)
	p, err := curve.NewEdwardsPoint().SetCompressedY(&y)
	return p, err == nil
}

func compress(p *curve.EdwardsPoint) []byte {
	var y curve.CompressedEdwardsY
	y.SetEdwardsPoint(p)
	return slices.Clone(y[:])
}

// smallOrderCanonical returns the canonical encodings of the 8 points of
// small order, T, 2T, ..., 8T (the identity last).
func smallOrderCanonical() [][]byte {
	t, ok := decompress(order8)
	if !ok {
		panic("order-8 point does not decode")
	}
	var out [][]byte
	acc := curve.NewEdwardsPoint().Identity()
	for range 8 {
		acc = curve.NewEdwardsPoint().Add(acc, t)
		out = append(out, compress(acc))
	}
	return out
}

// le encodes n (< 2^256) in 32 bytes, little endian.
func le(n *big.Int) []byte {
	b := n.FillBytes(make([]byte, 32))
	slices.Reverse(b)
	return b
}

// nonCanonical returns every non-canonical encoding that decodes to a
// point, split by the point's order: y in [p, 2^255) with either sign bit,
// and y = 1 or p-1 (the points with x = 0) with the sign bit set.
func nonCanonical() (small, large [][]byte) {
	var cands [][]byte
	for d := int64(0); d < 19; d++ {
		y := le(new(big.Int).Add(fieldP, big.NewInt(d)))
		cands = append(cands, y, withSign(y))
	}
	cands = append(cands, withSign(le(big.NewInt(1))), withSign(le(new(big.Int).Sub(fieldP, big.NewInt(1)))))
	for _, c := range cands {
		p, ok := decompress(c)
		if !ok {
			continue
		}
		if p.IsSmallOrder() {
			small = append(small, c)
		} else {
			large = append(large, c)
		}
	}
	return small, large
}

func withSign(y []byte) []byte {
	c := slices.Clone(y)
	c[31] |= 0x80
	return c
}

// offCurve returns the canonical encoding of the smallest y that is not
// the y of a curve point.
func offCurve() []byte {
	for y := int64(2); ; y++ {
		e := le(big.NewInt(y))
		if _, ok := decompress(e); !ok {
			return e
		}
	}
}

// scalarOf returns the secret scalar of an Ed25519 key (RFC 8032 §5.1.5).
func scalarOf(k ed25519.PrivateKey) *big.Int {
	h := sha512.Sum512(k.Seed())
	a := slices.Clone(h[:32])
	a[0] &= 248
	a[31] &= 127
	a[31] |= 64
	slices.Reverse(a)
	return new(big.Int).SetBytes(a)
}

// challenge is SHA-512(R ‖ A ‖ M) mod L.
func challenge(r, a, msg []byte) *big.Int {
	h := sha512.New()
	h.Write(r)
	h.Write(a)
	h.Write(msg)
	d := h.Sum(nil)
	slices.Reverse(d)
	return new(big.Int).Mod(new(big.Int).SetBytes(d), orderL)
}

// torsionSign signs msg for key k with R a point of small order given by
// its (possibly non-canonical) encoding r: S = k·a mod L. The cofactored
// (ZIP-215) equation [8]SB = [8]R + [8]kA holds since [8]R is the
// identity; the RFC 8032 equation SB = R + kA does not, unless R is the
// identity encoded canonically.
func torsionSign(k ed25519.PrivateKey, pub, r, msg []byte) []byte {
	s := new(big.Int).Mul(challenge(r, pub, msg), scalarOf(k))
	s.Mod(s, orderL)
	return append(slices.Clone(r), le(s)...)
}

// mixedKey returns k's public point plus the order-8 point T, and a
// signature over msg under it: R = rB for a fixed r, S = r + c·a with the
// challenge c computed over the mixed key's encoding. [8]SB = [8]R +
// [8]c(A+T) holds, so a ZIP-215 verifier accepts it.
func mixedKey(k ed25519.PrivateKey) []byte {
	a, _ := decompress(k.Public().(ed25519.PublicKey))
	t, _ := decompress(order8)
	return compress(curve.NewEdwardsPoint().Add(a, t))
}

func mixedSign(k ed25519.PrivateKey, mixedPub, msg []byte) []byte {
	// The nonce point R = rB: the public key of a fixed seed, whose secret
	// scalar is r.
	nk := ed25519.NewKeyFromSeed(make([]byte, 32))
	rEnc := []byte(nk.Public().(ed25519.PublicKey))
	s := new(big.Int).Mul(challenge(rEnc, mixedPub, msg), scalarOf(k))
	s.Add(s, scalarOf(nk))
	s.Mod(s, orderL)
	return append(slices.Clone(rEnc), le(s)...)
}

// sPlusL returns the 32-byte little-endian scalar s + L.
func sPlusL(s []byte) []byte {
	b := slices.Clone(s)
	slices.Reverse(b)
	return le(new(big.Int).Add(new(big.Int).SetBytes(b), orderL))
}
