package perf

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/kith-net/kith/wire"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Case is one measured operation.
type Case struct {
	Name string
	// Items is how many items one benchmark iteration handles (a batch
	// of 256 verifications counts 256).
	Items int
	// Parallel says the body uses every core (b.RunParallel or its own
	// workers), so its rate per core is its rate divided by GOMAXPROCS.
	Parallel bool
	Run      func(b *testing.B)
}

// sampleAttestations returns n signed attestations by distinct keys, as a
// node receives them from many peers.
func sampleAttestations(n int) []*wire.Attestation {
	out := make([]*wire.Attestation, n)
	subject := wire.NewPrivateKey([32]byte{0xff}).Public()
	for i := range out {
		var seed [32]byte
		seed[0], seed[1], seed[2], seed[3] = byte(i), byte(i>>8), byte(i>>16), 1
		k := wire.NewPrivateKey(seed)
		nonce := make([]byte, wire.NonceSize)
		nonce[0], nonce[1], nonce[2] = byte(i), byte(i>>8), byte(i>>16)
		a := &wire.Attestation{
			Subject: wire.KeySubject(subject), Kind: wire.Vouch, Context: "general", Strength: 70,
			Reason: "met at a conference, reliable", Created: 1700000000,
			Audience: wire.PublicAudience, Nonce: nonce,
		}
		if err := a.Sign(k); err != nil {
			panic(err)
		}
		out[i] = a
	}
	return out
}

// Now is the verification time used by the cases.
var Now = time.Unix(1700000600, 0)

// WireCases returns the wire-level cases.
func WireCases() []Case {
	const pool = 1024
	atts := sampleAttestations(pool)
	raws := make([][]byte, pool)
	for i, a := range atts {
		raws[i] = a.Raw()
	}
	key := wire.NewPrivateKey([32]byte{7})
	subject := atts[0].Subject
	msg := []byte("kith/1/attestation\x00" + string(raws[0][:200]))
	stdPub := key.Std().Public().(ed25519.PublicKey)
	stdSig := ed25519.Sign(key.Std(), msg)

	cases := []Case{
		{Name: RawVerifyCase, Items: 1, Run: func(b *testing.B) {
			for b.Loop() {
				if !ed25519.Verify(stdPub, msg, stdSig) {
					fail(b, "verify")
				}
			}
		}},
		{Name: "ed25519 verify (voi ZIP-215, raw)", Items: 1, Run: func(b *testing.B) {
			opts := &voi.Options{Verify: voi.VerifyOptionsZIP_215}
			for b.Loop() {
				if !voi.VerifyWithOptions(voi.PublicKey(stdPub), msg, stdSig, opts) {
					fail(b, "verify")
				}
			}
		}},
		{Name: "sign attestation", Items: 1, Run: func(b *testing.B) {
			i := 0
			for b.Loop() {
				a := &wire.Attestation{Subject: subject, Kind: wire.Vouch, Context: "general", Strength: 70,
					Created: 1700000000, Audience: wire.PublicAudience, Nonce: atts[i%pool].Nonce}
				if err := a.Sign(key); err != nil {
					fail(b, err)
				}
				i++
			}
		}},
		{Name: "encode attestation", Items: 1, Run: func(b *testing.B) {
			a := atts[0]
			for b.Loop() {
				if _, err := wire.EncodeUnsigned(a); err != nil {
					fail(b, err)
				}
			}
		}},
		{Name: "decode attestation (strict)", Items: 1, Run: func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := wire.DecodeAttestation(raws[i%pool]); err != nil {
					fail(b, err)
				}
				i++
			}
		}},
		{Name: "CID of attestation", Items: 1, Run: func(b *testing.B) {
			i := 0
			for b.Loop() {
				_ = wire.CIDOf(raws[i%pool])
				i++
			}
		}},
		{Name: "verify attestation (decoded)", Items: 1, Run: func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := atts[i%pool].Verify(Now); err != nil {
					fail(b, err)
				}
				i++
			}
		}},
		{Name: "open attestation (decode+verify)", Items: 1, Run: func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := wire.Open(raws[i%pool], Now); err != nil {
					fail(b, err)
				}
				i++
			}
		}},
	}
	for _, n := range []int{64, 256} {
		cases = append(cases, Case{Name: fmt.Sprintf("batch verify %d attestations", n), Items: n, Run: func(b *testing.B) {
			objs := make([]wire.Object, n)
			for i := range objs {
				objs[i] = atts[i]
			}
			for b.Loop() {
				for _, err := range wire.VerifyBatch(objs, Now, nil) {
					if err != nil {
						fail(b, err)
					}
				}
			}
		}})
	}
	return cases
}
