package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/kith-net/kith/wire"
	"github.com/kith-net/kith/wire/internal/vectorgen"
)

const vectorsPath = "../spec/vectors/wire-v1.json"

// vectorTime is the verification time the vectors are checked at.
var vectorTime = time.Unix(vectorgen.VerifyAt, 0)

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

// TestVectorFile: the committed file is what the generator writes.
func TestVectorFile(t *testing.T) {
	want, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vectorgen.JSON(), want) {
		t.Fatalf("%s differs from the generator's output: run go run ./wire/internal/vectorgen/cmd (and revise the spec if an encoding changed)", vectorsPath)
	}
}

// TestEncoderMatchesVectors: the wire package's encoder and signer produce
// the generator's objects byte for byte (the generator has its own CBOR
// writer).
func TestEncoderMatchesVectors(t *testing.T) {
	vf := readVectors(t)
	objs := vectorObjects(t)
	if len(objs) != len(vf.Objects) {
		t.Fatalf("%d objects, file has %d", len(objs), len(vf.Objects))
	}
	for i, o := range objs {
		if got := hex.EncodeToString(o.obj.Raw()); got != vf.Objects[i].Encoding {
			t.Errorf("%s: wire encodes %s, the vectors say %s", o.name, got, vf.Objects[i].Encoding)
		}
		in, sig := signingParts(t, o.obj)
		if hex.EncodeToString(in) != vf.Objects[i].SigningInput || hex.EncodeToString(sig) != vf.Objects[i].Signature {
			t.Errorf("%s: signing input or signature differs", o.name)
		}
	}
}

func readVectors(t *testing.T) vectorgen.File {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorgen.File
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	return vf
}

// TestVectors checks the file the way a second implementation would: from
// its hex.
func TestVectors(t *testing.T) {
	vf := readVectors(t)
	at := time.Unix(vf.VerifyAt, 0)
	pubs := map[string]ed25519.PublicKey{}
	for _, k := range vf.Keys {
		seed, _ := hex.DecodeString(k.Seed)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		var wk wire.PublicKey
		copy(wk[:], pub)
		if hex.EncodeToString(pub) != k.PublicKey || wk.String() != k.PeerID || wk.DIDKey() != k.DIDKey {
			t.Errorf("key %s: public key or text forms mismatch", k.Name)
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
		checkAccepted(t, v.Name, b, v.CID, at)
		if o, err := wire.Decode(b); err == nil && string(o.Type()) != v.Type {
			t.Errorf("%s: type %s, want %s", v.Name, o.Type(), v.Type)
		}
	}
	for _, v := range vf.Accept {
		b, _ := hex.DecodeString(v.Encoding)
		checkAccepted(t, v.Name, b, v.CID, at)
	}
	for _, v := range vf.Invalid {
		b, _ := hex.DecodeString(v.Encoding)
		_, err := wire.Open(b, at)
		if err == nil {
			t.Errorf("%s: accepted", v.Name)
			continue
		}
		if want := sentinelOf(v.Error); want == nil || !errors.Is(err, want) {
			t.Errorf("%s (%s): got %v, want %s", v.Name, v.Rule, err, v.Error)
		}
	}
	for _, v := range vf.Bundles {
		b, _ := hex.DecodeString(v.Encoding)
		o, err := wire.Open(b, at)
		if err != nil {
			t.Errorf("%s: the bundle itself: %v", v.Name, err)
			continue
		}
		_, err = o.(*wire.Bundle).OpenObjects(at)
		var we *wire.Error
		want := sentinelOf(v.Error)
		if want == nil || !errors.Is(err, want) || !errors.As(err, &we) || !strings.HasPrefix(we.Op, fmt.Sprintf("bundle object %d:", v.Index)) {
			t.Errorf("%s: got %v, want %s at object %d", v.Name, err, v.Error, v.Index)
		}
	}
	for _, v := range vf.Identifiers {
		if got := identify(v.Kind, v.Input); got != v.Want {
			t.Errorf("%s %q: got %q, want %q", v.Kind, v.Input, got, v.Want)
		}
	}
	t.Logf("%d objects, %d accepted, %d invalid, %d bundles, %d identifiers", len(vf.Objects), len(vf.Accept), len(vf.Invalid), len(vf.Bundles), len(vf.Identifiers))
}

func checkAccepted(t *testing.T, name string, b []byte, wantCID string, at time.Time) {
	t.Helper()
	// The CID is sha2-256 over the encoding, codec dag-cbor.
	if c, err := (cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}).Sum(b); err != nil || c.String() != wantCID {
		t.Errorf("%s: CID recomputed as %v (%v), want %s", name, c, err, wantCID)
	}
	o, err := wire.Open(b, at)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if o.CID().String() != wantCID || !bytes.Equal(o.Raw(), b) {
		t.Errorf("%s: CID %s, want %s", name, o.CID(), wantCID)
	}
	if again, err := wire.EncodeUnsigned(o); err != nil || len(again) == 0 {
		t.Errorf("%s: encode unsigned: %v", name, err)
	}
	if bd, ok := o.(*wire.Bundle); ok {
		if _, err := bd.OpenObjects(at); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// sentinels are the wire package's sentinel errors by name.
var sentinels = map[string]error{
	"ErrTooLarge": wire.ErrTooLarge, "ErrMalformed": wire.ErrMalformed, "ErrUnknownField": wire.ErrUnknownField,
	"ErrDuplicateKey": wire.ErrDuplicateKey, "ErrNotCanonical": wire.ErrNotCanonical,
	"ErrUnsupportedVersion": wire.ErrUnsupportedVersion, "ErrWrongType": wire.ErrWrongType,
	"ErrInvalidField": wire.ErrInvalidField, "ErrBadSignature": wire.ErrBadSignature, "ErrExpired": wire.ErrExpired,
	"ErrFromFuture": wire.ErrFromFuture, "ErrMissingField": wire.ErrMissingField,
}

func sentinelOf(text string) error {
	for _, s := range sentinels {
		if s.Error() == text {
			return s
		}
	}
	return nil
}

// TestVectorsReachEverySentinel: every Err* variable declared in the wire
// package is the expected reason of at least one vector, so the set covers
// every reason of §7.
func TestVectorsReachEverySentinel(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, sp := range gd.Specs {
			for _, n := range sp.(*ast.ValueSpec).Names {
				if strings.HasPrefix(n.Name, "Err") {
					declared = append(declared, n.Name)
				}
			}
		}
	}
	vf := readVectors(t)
	reached := map[string]int{}
	for _, v := range vf.Invalid {
		reached[v.Error]++
	}
	for _, v := range vf.Bundles {
		reached[v.Error]++
	}
	if len(declared) != len(sentinels) {
		t.Errorf("errors.go declares %v; this test knows %d sentinels", declared, len(sentinels))
	}
	for _, name := range declared {
		s, ok := sentinels[name]
		if !ok {
			t.Errorf("sentinel %s is not known to this test", name)
			continue
		}
		if reached[s.Error()] == 0 {
			t.Errorf("no vector expects %s (%q)", name, s.Error())
		}
	}
	t.Logf("vectors per reason: %v", reached)
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
