package vectorgen

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/mr-tron/base58/base58"
)

// obj is an object as an ordered set of fields; enc sorts them.
type obj struct {
	typ string
	f   []field
}

type field struct {
	key string
	val []byte
}

func newObj(typ string, fields ...field) obj {
	o := obj{typ: typ, f: []field{{"type", T(typ)}, {"v", U(1)}}}
	o.f = append(o.f, fields...)
	return o
}

func F(key string, val []byte) field { return field{key, val} }

// set returns o with key set to val (replaced in place, or added).
func (o obj) set(key string, val []byte) obj {
	c := obj{typ: o.typ, f: append([]field(nil), o.f...)}
	for i := range c.f {
		if c.f[i].key == key {
			c.f[i].val = val
			return c
		}
	}
	c.f = append(c.f, field{key, val})
	return c
}

// del returns o without key.
func (o obj) del(key string) obj {
	c := obj{typ: o.typ}
	for _, f := range o.f {
		if f.key != key {
			c.f = append(c.f, f)
		}
	}
	return c
}

func (o obj) pairs(withSig bool) []kv {
	var ps []kv
	for _, f := range o.f {
		if f.key == "sig" && !withSig {
			continue
		}
		ps = append(ps, P(f.key, f.val))
	}
	return sortPairs(ps)
}

// signingInput is "kith/1/" ‖ type ‖ 00 ‖ the canonical map without sig.
func (o obj) signingInput() []byte {
	return cat([]byte("kith/1/"+o.typ+"\x00"), rawMap(o.pairs(false)))
}

// sign returns o with a signature by k over its signing input.
func (o obj) sign(k ed25519.PrivateKey) obj {
	return o.set("sig", B(ed25519.Sign(k, o.signingInput())))
}

// enc is the canonical encoding.
func (o obj) enc() []byte { return rawMap(o.pairs(true)) }

// sigBytes returns the signature o carries.
func (o obj) sigBytes() []byte {
	for _, f := range o.f {
		if f.key == "sig" {
			return f.val[2:]
		}
	}
	return nil
}

// binCID is the binary CIDv1 (dag-cbor, sha2-256) of an encoding.
func binCID(enc []byte) []byte {
	sum := sha256.Sum256(enc)
	return append([]byte{0x01, 0x71, 0x12, 0x20}, sum[:]...)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// cidText is the default text form: "b" ‖ base32 lower case.
func cidText(bin []byte) string { return "b" + strings.ToLower(b32.EncodeToString(bin)) }

// peerID and didKey are a key's text forms (spec §2).
func peerID(pub []byte) string {
	return base58.Encode(cat([]byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}, pub))
}

func didKey(pub []byte) string { return "did:key:z" + base58.Encode(cat([]byte{0xed, 0x01}, pub)) }

// keys are the three fixed vector keys: seed i is 32 bytes of value i.
type keyset struct {
	names []string
	priv  map[string]ed25519.PrivateKey
}

func vectorKeys() keyset {
	ks := keyset{names: []string{"alice", "bob", "carol"}, priv: map[string]ed25519.PrivateKey{}}
	for i, n := range ks.names {
		ks.priv[n] = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32))
	}
	return ks
}

func (ks keyset) pub(name string) []byte { return ks.priv[name].Public().(ed25519.PublicKey) }

// base holds the valid objects every other vector derives from.
type base struct {
	ks                                                          keyset
	vouch, warn, both, retract, consent, withdraw, link, bundle obj
	names                                                       []string
	signers                                                     []string
	all                                                         []obj
	vouchCID                                                    []byte
}

func newBase() *base {
	ks := vectorKeys()
	alice, bob, carol := ks.pub("alice"), ks.pub("bob"), ks.pub("carol")
	nonce := func(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }
	b := &base{ks: ks}
	b.vouch = newObj("attestation",
		F("issuer", B(alice)), F("subject", M(P("key", B(bob)))), F("kind", T("vouch")),
		F("context", T("general")), F("strength", U(80)), F("created", U(1700000000)),
		F("audience", M(P("scope", T("public")))), F("nonce", B(nonce(0x11))),
	).sign(ks.priv["alice"])
	peers := [][]byte{bob, carol}
	if bytes.Compare(peers[0], peers[1]) > 0 {
		peers[0], peers[1] = peers[1], peers[0]
	}
	b.warn = newObj("attestation",
		F("issuer", B(alice)), F("subject", M(P("acct", T("acct:mallory@example.social")))), F("kind", T("warn")),
		F("context", T("spam")), F("strength", U(60)), F("reason", T("sends bulk advertising")),
		F("evidence", T("https://example.social/@mallory/1")), F("created", U(1700000100)), F("expires", U(1731536100)),
		F("audience", M(P("scope", T("peers")), P("peers", A(B(peers[0]), B(peers[1]))))), F("nonce", B(nonce(0x22))),
	).sign(ks.priv["alice"])
	b.both = newObj("attestation",
		F("issuer", B(bob)), F("subject", M(P("key", B(carol)), P("acct", T("acct:carol@localhost:18080")))),
		F("kind", T("vouch")), F("context", T("expertise:go")), F("strength", U(100)), F("created", U(1700000200)),
		F("audience", M(P("scope", T("private")))), F("nonce", B(nonce(0x33))),
	).sign(ks.priv["bob"])
	b.vouchCID = binCID(b.vouch.enc())
	b.retract = newObj("retraction", F("issuer", B(alice)), F("target", Link(b.vouchCID)),
		F("created", U(1700000300)), F("reason", T("changed my mind"))).sign(ks.priv["alice"])
	b.consent = newObj("consent", F("subject", B(bob)), F("target", Link(b.vouchCID)),
		F("created", U(1700000150))).sign(ks.priv["bob"])
	b.withdraw = newObj("consent-withdrawal", F("subject", B(bob)), F("target", Link(b.vouchCID)),
		F("created", U(1700000400))).sign(ks.priv["bob"])
	b.link = newObj("identity-link", F("key", B(alice)), F("acct", T("acct:alice@example.social")),
		F("created", U(1700000000))).sign(ks.priv["alice"])
	b.bundle = newObj("bundle", F("issuer", B(alice)), F("created", U(1700000500)),
		F("objects", A(B(b.vouch.enc()), B(b.warn.enc()), B(b.consent.enc())))).sign(ks.priv["alice"])
	b.names = []string{"attestation-vouch-public", "attestation-warn-peers-acct", "attestation-vouch-private-key-and-acct",
		"retraction", "consent", "consent-withdrawal", "identity-link", "bundle"}
	b.signers = []string{"alice", "alice", "bob", "alice", "bob", "bob", "alice", "alice"}
	b.all = []obj{b.vouch, b.warn, b.both, b.retract, b.consent, b.withdraw, b.link, b.bundle}
	return b
}

// signerOf names the key that signs each base type's objects.
func (b *base) signerKey(o obj) ed25519.PrivateKey {
	for i, x := range b.all {
		if x.typ == o.typ {
			return b.ks.priv[b.signers[i]]
		}
	}
	return nil
}
