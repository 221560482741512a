package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/kith-net/kith/wire"
)

func TestRoundTripEveryType(t *testing.T) {
	for _, o := range vectorObjects(t) {
		t.Run(o.name, func(t *testing.T) {
			got, err := wire.Open(o.obj.Raw(), vectorTime)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type() != o.obj.Type() || !got.CID().Equals(o.obj.CID()) || !bytes.Equal(got.Raw(), o.obj.Raw()) {
				t.Fatalf("round trip changed the object")
			}
			if got.Signer() != o.obj.Signer() {
				t.Fatalf("signer %s, want %s", got.Signer(), o.obj.Signer())
			}
		})
	}
}

func TestSignRejectsInvalid(t *testing.T) {
	_, k := vectorKeys()
	alice, bob := k["alice"], k["bob"].Public()
	base := func() *wire.Attestation {
		return &wire.Attestation{Subject: wire.KeySubject(bob), Kind: wire.Vouch, Context: "general",
			Strength: 50, Created: 1700000000, Audience: wire.PrivateAudience, Nonce: make([]byte, wire.NonceSize)}
	}
	self := alice.Public()
	cases := []struct {
		name  string
		edit  func(a *wire.Attestation)
		field string
		err   error
	}{
		{"no subject", func(a *wire.Attestation) { a.Subject = wire.Subject{} }, "subject", wire.ErrInvalidField},
		{"self subject", func(a *wire.Attestation) { a.Subject = wire.KeySubject(self) }, "subject", wire.ErrInvalidField},
		{"unnormalised acct", func(a *wire.Attestation) { a.Subject = wire.Subject{Acct: "acct:Bob@x.org"} }, "subject", wire.ErrInvalidField},
		{"kind", func(a *wire.Attestation) { a.Kind = "like" }, "kind", wire.ErrInvalidField},
		{"context empty", func(a *wire.Attestation) { a.Context = "" }, "context", wire.ErrInvalidField},
		{"context space", func(a *wire.Attestation) { a.Context = "bad takes" }, "context", wire.ErrInvalidField},
		{"context empty segment", func(a *wire.Attestation) { a.Context = "expertise:" }, "context", wire.ErrInvalidField},
		{"strength 0", func(a *wire.Attestation) { a.Strength = 0 }, "strength", wire.ErrInvalidField},
		{"strength 101", func(a *wire.Attestation) { a.Strength = 101 }, "strength", wire.ErrInvalidField},
		{"reason control", func(a *wire.Attestation) { a.Reason = "a\x00b" }, "reason", wire.ErrInvalidField},
		{"reason long", func(a *wire.Attestation) { a.Reason = string(bytes.Repeat([]byte("x"), wire.MaxReasonLen+1)) }, "reason", wire.ErrInvalidField},
		{"evidence ftp", func(a *wire.Attestation) { a.Evidence = "ftp://x.org/a" }, "evidence", wire.ErrInvalidField},
		{"created zero", func(a *wire.Attestation) { a.Created = 0 }, "created", wire.ErrInvalidField},
		{"created millis", func(a *wire.Attestation) { a.Created = 1700000000000 * 1000 }, "created", wire.ErrInvalidField},
		{"expires before created", func(a *wire.Attestation) { a.Expires = a.Created }, "expires", wire.ErrInvalidField},
		{"audience scope", func(a *wire.Attestation) { a.Audience = wire.Audience{Scope: "friends"} }, "audience", wire.ErrInvalidField},
		{"audience peers empty", func(a *wire.Attestation) { a.Audience = wire.Audience{Scope: wire.Peers} }, "audience", wire.ErrInvalidField},
		{"audience unsorted", func(a *wire.Attestation) {
			a.Audience = wire.Audience{Scope: wire.Peers, Peers: []wire.PublicKey{{2}, {1}}}
		}, "audience", wire.ErrInvalidField},
		{"audience public with peers", func(a *wire.Attestation) {
			a.Audience = wire.Audience{Scope: wire.Public, Peers: []wire.PublicKey{{1}}}
		}, "audience", wire.ErrInvalidField},
		{"nonce short", func(a *wire.Attestation) { a.Nonce = []byte{1} }, "nonce", wire.ErrInvalidField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := base()
			c.edit(a)
			err := a.Sign(alice)
			var we *wire.Error
			if !errors.Is(err, c.err) || !errors.As(err, &we) || we.Field != c.field {
				t.Fatalf("got %v, want %v on field %q", err, c.err, c.field)
			}
			if a.Raw() != nil {
				t.Fatal("a failed Sign left an encoding")
			}
		})
	}
	if err := base().Sign(alice); err != nil {
		t.Fatalf("base case: %v", err)
	}
}

func TestTimeRules(t *testing.T) {
	_, k := vectorKeys()
	a := &wire.Attestation{Subject: wire.KeySubject(k["bob"].Public()), Kind: wire.Warn, Context: "spam",
		Strength: 10, Created: 1700000000, Expires: 1700003600, Audience: wire.PrivateAudience, Nonce: make([]byte, wire.NonceSize)}
	mustSign(t, a, k["alice"])
	for _, c := range []struct {
		at   int64
		want error
	}{
		{1700000000 - 301, wire.ErrFromFuture},
		{1700000000 - 300, nil},
		{1700003599, nil},
		{1700003600, wire.ErrExpired},
	} {
		if err := a.Verify(time.Unix(c.at, 0)); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("at %d: %v, want %v", c.at, err, c.want)
		}
	}
}

func TestVerifyBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var objs []wire.Object
	var wantBad []bool
	for i := range 300 {
		var seed [32]byte
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		k := wire.NewPrivateKey(seed)
		a := &wire.Attestation{Subject: wire.Subject{Acct: "acct:u@example.org"}, Kind: wire.Vouch, Context: "general",
			Strength: uint64(1 + i%100), Created: 1700000000, Audience: wire.PublicAudience, Nonce: make([]byte, wire.NonceSize)}
		mustSign(t, a, k)
		bad := i%97 == 5
		if bad {
			raw := bytes.Clone(a.Raw())
			raw[10] ^= 0x01 // inside the signature
			d, err := wire.DecodeAttestation(raw)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, d)
		} else {
			objs = append(objs, a)
		}
		wantBad = append(wantBad, bad)
	}
	errs := wire.VerifyBatch(objs, vectorTime, nil)
	for i, err := range errs {
		if (err != nil) != wantBad[i] {
			t.Errorf("object %d: err %v, want bad=%v", i, err, wantBad[i])
		}
		if wantBad[i] && !errors.Is(err, wire.ErrBadSignature) {
			t.Errorf("object %d: %v", i, err)
		}
		// Batch and single verification agree.
		if single := objs[i].Verify(vectorTime); (single == nil) != (err == nil) {
			t.Errorf("object %d: batch %v, single %v", i, err, single)
		}
	}
}

func TestRelations(t *testing.T) {
	objs := vectorObjects(t)
	vouch := objs[0].obj.(*wire.Attestation)
	retract := objs[3].obj.(*wire.Retraction)
	consent := objs[4].obj.(*wire.Consent)
	withdraw := objs[5].obj.(*wire.ConsentWithdrawal)
	if !retract.Retracts(vouch) || !consent.Covers(vouch, nil) || !withdraw.Withdraws(consent) {
		t.Fatal("vector relations do not hold")
	}
	other := objs[1].obj.(*wire.Attestation)
	if retract.Retracts(other) || consent.Covers(other, nil) {
		t.Fatal("relation holds for the wrong attestation")
	}
	// An acct-only subject is covered only through a link the caller vouches for.
	_, k := vectorKeys()
	c := &wire.Consent{Target: wire.LinkTo(other.CID()), Created: 1700000200}
	mustSign(t, c, k["carol"])
	if c.Covers(other, nil) {
		t.Fatal("acct subject covered without a link")
	}
	linked := func(acct string, key wire.PublicKey) bool {
		return acct == "acct:mallory@example.social" && key == k["carol"].Public()
	}
	if !c.Covers(other, linked) {
		t.Fatal("acct subject not covered through its link")
	}
}

func TestKeyText(t *testing.T) {
	_, k := vectorKeys()
	pub := k["alice"].Public()
	for _, s := range []string{pub.String(), pub.DIDKey()} {
		got, err := wire.ParsePublicKey(s)
		if err != nil || got != pub {
			t.Errorf("ParsePublicKey(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "12D3KooW", "did:key:z6Mk", "did:key:abc", "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"} {
		if _, err := wire.ParsePublicKey(s); !errors.Is(err, wire.ErrInvalidField) {
			t.Errorf("ParsePublicKey(%q): %v", s, err)
		}
	}
	if s := k["alice"].String(); bytes.Contains([]byte(s), func() []byte { x := k["alice"].Seed(); return x[:] }()) {
		t.Fatal("String leaks the seed")
	}
}

func TestAudienceAllows(t *testing.T) {
	_, k := vectorKeys()
	a, b, c := k["alice"].Public(), k["bob"].Public(), k["carol"].Public()
	aud := wire.PeersAudience(c, a, a)
	if len(aud.Peers) != 2 || !aud.Allows(a) || !aud.Allows(c) || aud.Allows(b) {
		t.Fatalf("peers audience %v", aud)
	}
	if wire.PrivateAudience.Allows(a) || !wire.PublicAudience.Allows(b) {
		t.Fatal("private/public audience")
	}
	p, err := wire.ParseAudience(aud.String())
	if err != nil || p.String() != aud.String() {
		t.Fatalf("ParseAudience round trip: %v %v", p, err)
	}
}

func TestBundleRejectsBadObject(t *testing.T) {
	objs := vectorObjects(t)
	_, k := vectorKeys()
	good := objs[0].obj
	raw := bytes.Clone(good.Raw())
	raw[10] ^= 1
	b := &wire.Bundle{Created: 1700000000, Objects: [][]byte{good.Raw(), raw}}
	mustSign(t, b, k["alice"])
	back, err := wire.DecodeBundle(b.Raw())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.OpenObjects(vectorTime); !errors.Is(err, wire.ErrBadSignature) {
		t.Fatalf("got %v", err)
	}
	nested := &wire.Bundle{Created: 1700000000, Objects: [][]byte{b.Raw()[:min(len(b.Raw()), wire.MaxObjectSize)]}}
	mustSign(t, nested, k["alice"])
	if _, err := nested.OpenObjects(vectorTime); err == nil {
		t.Fatal("nested bundle accepted")
	}
}

// TestTargetMustBeObjectCID: a reference to something that is not a kith
// object cannot be signed (it could never be decoded back).
func TestTargetMustBeObjectCID(t *testing.T) {
	_, k := vectorKeys()
	v0, err := cid.Decode("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N")
	if err != nil {
		t.Fatal(err)
	}
	raw := cid.NewCidV1(cid.Raw, v0.Hash())
	for _, c := range []cid.Cid{v0, raw, cid.Undef} {
		for _, o := range []interface{ Sign(*wire.PrivateKey) error }{
			&wire.Retraction{Target: wire.LinkTo(c), Created: 1700000000},
			&wire.Consent{Target: wire.LinkTo(c), Created: 1700000000},
			&wire.ConsentWithdrawal{Target: wire.LinkTo(c), Created: 1700000000},
		} {
			var we *wire.Error
			if err := o.Sign(k["alice"]); !errors.As(err, &we) || we.Field != "target" {
				t.Errorf("%T to %v: %v", o, c, err)
			}
		}
	}
}

// TestSignedDecodes: whatever Sign accepts, Decode accepts and reads back
// identically (the property the store relies on instead of decoding again).
func TestSignedDecodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	_, k := vectorKeys()
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	for i := range 500 {
		bob := k["bob"].Public()
		a := &wire.Attestation{
			Kind: wire.Kind(pick("vouch", "warn")), Context: pick("general", "spam", "expertise:go", "a.b-c_d:e"),
			Strength: uint64(1 + rng.IntN(100)), Created: uint64(1 + rng.Int64N(1<<40-1)),
			Audience: wire.PublicAudience, Nonce: make([]byte, wire.NonceSize),
			Reason: pick("", "ok", "naïve ☃"), Evidence: pick("", "https://x.org/a?b=c", "bafyreifks4um5v6eevtzppj2z5aj6rdfzpmzdqjsgfjgln5cjiqmrhtdpa"),
		}
		switch rng.IntN(3) {
		case 0:
			a.Subject = wire.KeySubject(bob)
		case 1:
			a.Subject = wire.Subject{Acct: "acct:u" + fmt.Sprint(i) + "@h.example:8080"}
		default:
			a.Subject = wire.Subject{Key: &bob, Acct: "acct:bob@example.org"}
		}
		if rng.IntN(2) == 0 {
			a.Expires = a.Created + uint64(1+rng.IntN(1<<20))
		}
		if rng.IntN(3) == 0 {
			a.Audience = wire.PeersAudience(k["carol"].Public(), bob)
		}
		mustSign(t, a, k["alice"])
		d, err := wire.DecodeAttestation(a.Raw())
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !d.CID().Equals(a.CID()) || d.Subject.String() != a.Subject.String() || d.Audience.String() != a.Audience.String() {
			t.Fatalf("case %d: decoded differently", i)
		}
	}
}
