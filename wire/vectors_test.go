package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/kith-net/kith/wire"
	"github.com/multiformats/go-multihash"
)

var update = flag.Bool("update", false, "rewrite spec/vectors/wire-v1.json and the fuzz seed corpus")

const vectorsPath = "../spec/vectors/wire-v1.json"

// vectorTime is the verification time the vectors are checked at.
var vectorTime = time.Unix(1700000600, 0)

type vectorFile struct {
	Comment     string          `json:"comment"`
	Version     int             `json:"version"`
	VerifyAt    int64           `json:"verify_at"`
	Keys        []vectorKey     `json:"keys"`
	Objects     []vectorObject  `json:"objects"`
	Invalid     []vectorInvalid `json:"invalid"`
	Identifiers []vectorIdent   `json:"identifiers"`
}

type vectorKey struct {
	Name      string `json:"name"`
	Seed      string `json:"seed_hex"`
	PublicKey string `json:"public_key_hex"`
	PeerID    string `json:"peer_id"`
	DIDKey    string `json:"did_key"`
}

type vectorObject struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	Signer       string `json:"signer"`
	SigningInput string `json:"signing_input_hex"`
	Signature    string `json:"signature_hex"`
	Encoding     string `json:"encoding_hex"`
	CID          string `json:"cid"`
}

type vectorInvalid struct {
	Name     string `json:"name"`
	Encoding string `json:"encoding_hex"`
	Error    string `json:"error"` // the sentinel's text
}

type vectorIdent struct {
	Input string `json:"input"`
	Kind  string `json:"kind"` // subject, audience
	Want  string `json:"want"` // normalised text, or "error"
}

// vectorKeys are fixed keys: seed i is 32 bytes of value i.
func vectorKeys() (names []string, keys map[string]*wire.PrivateKey) {
	keys = map[string]*wire.PrivateKey{}
	names = []string{"alice", "bob", "carol"}
	for i, n := range names {
		keys[n] = wire.NewPrivateKey([32]byte(bytes.Repeat([]byte{byte(i + 1)}, 32)))
	}
	return names, keys
}

type namedObject struct {
	name   string
	signer string
	obj    wire.Object
}

func mustSign(t testing.TB, o interface{ Sign(*wire.PrivateKey) error }, k *wire.PrivateKey) {
	t.Helper()
	if err := o.Sign(k); err != nil {
		t.Fatal(err)
	}
}

// vectorObjects builds the valid vectors. Changing this list changes the
// spec: do it only with a spec revision.
func vectorObjects(t testing.TB) []namedObject {
	_, k := vectorKeys()
	nonce := func(b byte) []byte { return bytes.Repeat([]byte{b}, wire.NonceSize) }
	bob := k["bob"].Public()
	carol := k["carol"].Public()

	vouch := &wire.Attestation{
		Subject: wire.KeySubject(bob), Kind: wire.Vouch, Context: "general", Strength: 80,
		Created: 1700000000, Audience: wire.PublicAudience, Nonce: nonce(0x11),
	}
	mustSign(t, vouch, k["alice"])
	warn := &wire.Attestation{
		Subject: wire.Subject{Acct: "acct:mallory@example.social"}, Kind: wire.Warn, Context: "spam",
		Strength: 60, Reason: "sends bulk advertising", Evidence: "https://example.social/@mallory/1",
		Created: 1700000100, Expires: 1731536100, Audience: wire.PeersAudience(carol, bob), Nonce: nonce(0x22),
	}
	mustSign(t, warn, k["alice"])
	both := &wire.Attestation{
		Subject: wire.Subject{Key: &carol, Acct: "acct:carol@localhost:18080"}, Kind: wire.Vouch,
		Context: "expertise:go", Strength: 100, Created: 1700000200, Audience: wire.PrivateAudience, Nonce: nonce(0x33),
	}
	mustSign(t, both, k["bob"])
	retract := &wire.Retraction{Target: wire.LinkTo(vouch.CID()), Created: 1700000300, Reason: "changed my mind"}
	mustSign(t, retract, k["alice"])
	consent := &wire.Consent{Target: wire.LinkTo(vouch.CID()), Created: 1700000150}
	mustSign(t, consent, k["bob"])
	withdraw := &wire.ConsentWithdrawal{Target: wire.LinkTo(vouch.CID()), Created: 1700000400}
	mustSign(t, withdraw, k["bob"])
	link := &wire.IdentityLink{Acct: "acct:alice@example.social", Created: 1700000000}
	mustSign(t, link, k["alice"])
	bundle := wire.NewBundle(time.Unix(1700000500, 0), vouch, warn, consent)
	mustSign(t, bundle, k["alice"])

	return []namedObject{
		{"attestation-vouch-public", "alice", vouch},
		{"attestation-warn-peers-acct", "alice", warn},
		{"attestation-vouch-private-key-and-acct", "bob", both},
		{"retraction", "alice", retract},
		{"consent", "bob", consent},
		{"consent-withdrawal", "bob", withdraw},
		{"identity-link", "alice", link},
		{"bundle", "alice", bundle},
	}
}

// invalidVectors derives inputs every implementation must refuse.
func invalidVectors(t testing.TB, objs []namedObject) []vectorInvalid {
	raw := objs[0].obj.Raw()
	pairs := splitMap(t, raw)
	var out []vectorInvalid
	add := func(name string, b []byte, sentinel error) {
		out = append(out, vectorInvalid{Name: name, Encoding: hex.EncodeToString(b), Error: sentinel.Error()})
	}
	add("trailing-byte", append(bytes.Clone(raw), 0x00), wire.ErrMalformed)
	rev := make([][2][]byte, len(pairs))
	for i := range pairs {
		rev[i] = pairs[len(pairs)-1-i]
	}
	add("keys-out-of-order", joinMap(rev, false), wire.ErrNotCanonical)
	add("indefinite-length-map", joinMap(pairs, true), wire.ErrNotCanonical)
	add("non-minimal-integer", replaceValue(t, pairs, "strength", []byte{0x19, 0x00, 0x50}), wire.ErrNotCanonical)
	add("unknown-field", joinMap(append(clonePairs(pairs), [2][]byte{cborText("extra"), {0x01}}), false), wire.ErrUnknownField)
	add("duplicate-key", joinMap(append(clonePairs(pairs), pairs[0]), false), wire.ErrDuplicateKey)
	add("version-2", replaceValue(t, pairs, "v", []byte{0x02}), wire.ErrUnsupportedVersion)
	add("unknown-type", replaceValue(t, pairs, "type", cborText("rating")), wire.ErrWrongType)
	add("strength-zero", replaceValue(t, pairs, "strength", []byte{0x00}), wire.ErrInvalidField)
	add("strength-float", replaceValue(t, pairs, "strength", []byte{0xf9, 0x3c, 0x00}), wire.ErrMalformed)
	add("context-uppercase", replaceValue(t, pairs, "context", cborText("General")), wire.ErrInvalidField)
	add("empty-reason-present", joinMap(append(clonePairs(pairs), [2][]byte{cborText("reason"), cborText("")}), false), wire.ErrNotCanonical)
	sig := bytes.Clone(raw)
	i := bytes.Index(sig, append(cborText("sig"), 0x58, 0x40))
	sig[i+6] ^= 0x01
	add("signature-bit-flip", sig, wire.ErrBadSignature)
	add("too-large", append(bytes.Clone(raw), make([]byte, wire.MaxObjectSize)...), wire.ErrTooLarge)
	return out
}

func TestVectors(t *testing.T) {
	names, keys := vectorKeys()
	objs := vectorObjects(t)
	got := vectorFile{
		Comment:  "kith wire format v1 test vectors; see spec/wire-v1.md §9. Hex is lower case. verify_at is the Unix time to verify at.",
		Version:  wire.Version,
		VerifyAt: vectorTime.Unix(),
	}
	for _, n := range names {
		k := keys[n]
		seed := k.Seed()
		pub := k.Public()
		got.Keys = append(got.Keys, vectorKey{n, hex.EncodeToString(seed[:]), hex.EncodeToString(pub[:]), pub.String(), pub.DIDKey()})
	}
	for _, o := range objs {
		in, sig := signingParts(t, o.obj)
		got.Objects = append(got.Objects, vectorObject{
			Name: o.name, Type: string(o.obj.Type()), Signer: o.signer,
			SigningInput: hex.EncodeToString(in), Signature: hex.EncodeToString(sig),
			Encoding: hex.EncodeToString(o.obj.Raw()), CID: o.obj.CID().String(),
		})
	}
	got.Invalid = invalidVectors(t, objs)
	for _, c := range identCases {
		got.Identifiers = append(got.Identifiers, vectorIdent{Input: c.in, Kind: c.kind, Want: identify(c.kind, c.in)})
	}
	enc, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	enc = append(enc, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		writeFuzzSeeds(t, objs, got.Invalid)
	}
	want, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (run go test ./wire -run TestVectors -update)", err)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("vectors differ from %s: the encoding changed. If intended, revise the spec and run with -update", vectorsPath)
	}
	// Check the file the way a second implementation would: from its hex.
	var vf vectorFile
	if err := json.Unmarshal(want, &vf); err != nil {
		t.Fatal(err)
	}
	checkVectorFile(t, vf)
}

func checkVectorFile(t *testing.T, vf vectorFile) {
	at := time.Unix(vf.VerifyAt, 0)
	pubs := map[string]ed25519.PublicKey{}
	for _, k := range vf.Keys {
		seed, _ := hex.DecodeString(k.Seed)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if hex.EncodeToString(pub) != k.PublicKey {
			t.Errorf("key %s: public key mismatch", k.Name)
		}
		pubs[k.Name] = pub
	}
	for _, v := range vf.Objects {
		// The signature checks with a plain RFC 8032 verifier over the
		// stated signing input, which is the encoding minus "sig".
		in, _ := hex.DecodeString(v.SigningInput)
		sig, _ := hex.DecodeString(v.Signature)
		if !ed25519.Verify(pubs[v.Signer], in, sig) {
			t.Errorf("%s: signature does not verify over signing_input_hex", v.Name)
		}
		b, _ := hex.DecodeString(v.Encoding)
		// The CID is sha2-256 over the encoding, codec dag-cbor.
		if c, err := (cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}).Sum(b); err != nil || c.String() != v.CID {
			t.Errorf("%s: CID recomputed as %v (%v), want %s", v.Name, c, err, v.CID)
		}
		o, err := wire.Open(b, at)
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if o.CID().String() != v.CID || string(o.Type()) != v.Type {
			t.Errorf("%s: CID %s type %s, want %s %s", v.Name, o.CID(), o.Type(), v.CID, v.Type)
		}
		if bd, ok := o.(*wire.Bundle); ok {
			if _, err := bd.OpenObjects(at); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
	}
	sentinels := []error{wire.ErrTooLarge, wire.ErrMalformed, wire.ErrUnknownField, wire.ErrDuplicateKey,
		wire.ErrNotCanonical, wire.ErrUnsupportedVersion, wire.ErrWrongType, wire.ErrInvalidField,
		wire.ErrBadSignature, wire.ErrExpired, wire.ErrFromFuture, wire.ErrMissingField}
	for _, v := range vf.Invalid {
		b, _ := hex.DecodeString(v.Encoding)
		_, err := wire.Open(b, at)
		if err == nil {
			t.Errorf("%s: accepted", v.Name)
			continue
		}
		var want error
		for _, s := range sentinels {
			if s.Error() == v.Error {
				want = s
			}
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		}
	}
	for _, v := range vf.Identifiers {
		if got := identify(v.Kind, v.Input); got != v.Want {
			t.Errorf("%s %q: got %q, want %q", v.Kind, v.Input, got, v.Want)
		}
	}
}

var identCases = []struct{ kind, in string }{
	{"subject", "@Bob@Example.Social"},
	{"subject", "acct:bob@example.social"},
	{"subject", "bob@localhost:18080"},
	{"subject", "12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3"},
	{"subject", "did:key:z6MktNWXFy7fn9kNfwfvD9e2rDK3RPetS4MRKtZH8AxQzg9y"},
	{"subject", "bob"},
	{"subject", "@bob@exa mple.social"},
	{"subject", "@bob@example.social:0"},
	{"subject", "@b!ob@example.social"},
	{"audience", "private"},
	{"audience", "public"},
	{"audience", "12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3"},
	{"audience", "friends"},
}

func identify(kind, in string) string {
	switch kind {
	case "subject":
		s, err := wire.ParseSubject(in)
		if err != nil {
			return "error"
		}
		return s.String()
	case "audience":
		a, err := wire.ParseAudience(in)
		if err != nil {
			return "error"
		}
		return a.String()
	}
	return "error"
}

// signingParts recovers the signing input and signature of an object from
// its encoding: the map without the "sig" pair, prefixed by the domain.
func signingParts(t testing.TB, o wire.Object) (input, sig []byte) {
	t.Helper()
	var rest [][2][]byte
	for _, p := range splitMap(t, o.Raw()) {
		if bytes.Equal(p[0], cborText("sig")) {
			sig = p[1][2:] // 0x58 0x40 header
			continue
		}
		rest = append(rest, p)
	}
	input = append([]byte("kith/1/"+string(o.Type())+"\x00"), joinMap(rest, false)...)
	return input, sig
}

func writeFuzzSeeds(t *testing.T, objs []namedObject, invalid []vectorInvalid) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objs {
		write(o.name, o.obj.Raw())
	}
	for _, v := range invalid {
		b, _ := hex.DecodeString(v.Encoding)
		if len(b) < 4096 {
			write("invalid-"+v.Name, b)
		}
	}
}
