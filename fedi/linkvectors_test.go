package fedi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kith-net/kith/wire"
)

var updateLinkVectors = flag.Bool("update", false, "rewrite spec/vectors/fedi-link-v1.json")

const linkVectorsPath = "../spec/vectors/fedi-link-v1.json"

// The vector file of spec/fedi-link-v1.md: profile fields with the keys
// they claim, and verifications with their outcome.
type linkVectorFile struct {
	Comment string            `json:"comment"`
	Keys    map[string]string `json:"keys"` // name -> did:key
	Claims  []claimVector     `json:"claims"`
	Verify  []verifyVector    `json:"verify"`
}

type claimVector struct {
	Name    string   `json:"name"`
	Account Account  `json:"account"` // as the instance serves it
	Keys    []string `json:"keys"`    // did:keys claimed, in order
	Invalid int      `json:"invalid"` // kith fields that claim no valid key
}

type verifyVector struct {
	Name    string  `json:"name"`
	Acct    string  `json:"acct"`     // the account asked about, as typed
	Link    string  `json:"link_hex"` // signed identity link
	Account Account `json:"account"`  // the profile the instance serves
	Now     int64   `json:"now"`
	Want    string  `json:"want"` // verified, or the error
}

var linkVectorKeys = func() map[string]*wire.PrivateKey {
	return map[string]*wire.PrivateKey{
		"bob":     wire.NewPrivateKey([32]byte(bytes.Repeat([]byte{0x0b}, 32))),
		"mallory": wire.NewPrivateKey([32]byte(bytes.Repeat([]byte{0x0d}, 32))),
	}
}

const linkVectorNow = 1763784000

func buildLinkVectors(t *testing.T) linkVectorFile {
	ks := linkVectorKeys()
	bob, mal := ks["bob"].Public().DIDKey(), ks["mallory"].Public().DIDKey()
	f := linkVectorFile{
		Comment: "kith Fediverse identity link v1 vectors; see spec/fedi-link-v1.md §7. Regenerate: go test ./fedi -run TestLinkVectors -update.",
		Keys:    map[string]string{"bob": bob, "mallory": mal},
	}
	acct := func(fields ...Field) Account {
		return Account{ID: "1", Username: "bob", Acct: "bob", Fields: fields}
	}
	fd := func(name, value string) Field { return Field{Name: name, Value: value} }
	small := wire.PublicKey{1} // a small-order point: never a claim
	claims := []struct {
		name    string
		a       Account
		keys    []string
		invalid int
	}{
		{"plain", acct(fd("kith", bob)), []string{bob}, 0},
		{"paragraph", acct(fd("kith", "<p>"+bob+"</p>")), []string{bob}, 0},
		{"name-case-and-space", acct(fd(" KiTh ", bob)), []string{bob}, 0},
		{"name-kelvin-sign", acct(fd("\u212aith", bob)), nil, 0},
		{"name-other", acct(fd("other", bob)), nil, 0},
		{"name-kith-key", acct(fd("kith key", bob)), nil, 0},
		{"label-before-key", acct(fd("kith", "my node: "+bob)), []string{bob}, 0},
		{"leading-punctuation-hides-a-key", acct(fd("kith", "("+bob+"), "+mal+".")), []string{mal}, 0},
		{"trailing-punctuation-after-space", acct(fd("kith", bob+"., "+mal+");")), []string{bob, mal}, 0},
		{"two-fields", acct(fd("kith", bob), fd("Kith", mal)), []string{bob, mal}, 0},
		{"repeated-key", acct(fd("kith", bob+" "+bob), fd("kith", bob)), []string{bob}, 0},
		{"br-separates", acct(fd("kith", bob+"<br>"+mal)), []string{bob, mal}, 0},
		{"br-self-closing", acct(fd("kith", bob+"<br />"+mal)), []string{bob, mal}, 0},
		{"span-joins", acct(fd("kith", `<span class="invisible">did:key:</span><span>`+bob[len("did:key:"):]+"</span>")), []string{bob}, 0},
		{"character-references", acct(fd("kith", "did&#58;key&#x3a;"+bob[len("did:key:"):])), []string{bob}, 0},
		{"escaped-tag-is-text", acct(fd("kith", "&lt;p&gt;"+bob)), nil, 1},
		{"nbsp-separates", acct(fd("kith", "key\u00a0"+bob)), []string{bob}, 0},
		{"broken-key", acct(fd("kith", "did:key:z6MkBROKEN")), nil, 1},
		{"small-order-key", acct(fd("kith", small.DIDKey())), nil, 1},
		{"peer-id-not-did-key", acct(fd("kith", ks["bob"].Public().String())), nil, 1},
		{"did-key-upper-prefix", acct(fd("kith", "DID:KEY:"+bob[len("did:key:"):])), nil, 1},
		{"empty-value", acct(fd("kith", "")), nil, 1},
		{"source-fields", Account{ID: "1", Username: "bob", Acct: "bob", Source: &Source{Fields: []Field{fd("kith", bob)}}}, []string{bob}, 0},
		{"broken-and-valid", acct(fd("kith", "did:key:zzz"), fd("kith", mal)), []string{mal}, 1},
	}
	for _, c := range claims {
		f.Claims = append(f.Claims, claimVector{Name: c.name, Account: c.a, Keys: c.keys, Invalid: c.invalid})
	}
	sign := func(k *wire.PrivateKey, acct string, created, expires int64) string {
		l := &wire.IdentityLink{Acct: acct, Created: uint64(created)}
		if expires != 0 {
			l.Expires = uint64(expires)
		}
		if err := l.Sign(k); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(l.Raw())
	}
	good := sign(ks["bob"], "acct:bob@example.social", linkVectorNow-3600, 0)
	forged, _ := hex.DecodeString(good)
	forged[len(forged)-1] ^= 1
	profile := func(fields ...Field) Account {
		return Account{ID: "7", Username: "bob", Acct: "bob@example.social", Fields: fields}
	}
	f.Verify = append(f.Verify, []verifyVector{
		{"verified", "@Bob@Example.Social", good, profile(fd("kith", bob)), linkVectorNow, "verified"},
		{"verified-among-two-keys", "bob@example.social", good, profile(fd("kith", mal+" "+bob)), linkVectorNow, "verified"},
		{"field-names-another-key", "@bob@example.social", good, profile(fd("kith", mal)), linkVectorNow, ErrKeyMismatch.Error()},
		{"field-removed", "@bob@example.social", good, profile(fd("web", "https://example.org")), linkVectorNow, ErrNoField.Error()},
		{"field-without-key", "@bob@example.social", good, profile(fd("kith", "soon")), linkVectorNow, ErrNoField.Error()},
		{"link-names-another-account", "@carol@example.social", good, profile(fd("kith", bob)), linkVectorNow, ErrBadLink.Error()},
		{"link-forged", "@bob@example.social", hex.EncodeToString(forged), profile(fd("kith", bob)), linkVectorNow, ErrBadLink.Error()},
		{"link-expired", "@bob@example.social", sign(ks["bob"], "acct:bob@example.social", linkVectorNow-7200, linkVectorNow), profile(fd("kith", bob)), linkVectorNow, ErrBadLink.Error()},
		{"link-from-the-future", "@bob@example.social", sign(ks["bob"], "acct:bob@example.social", linkVectorNow+3600, 0), profile(fd("kith", bob)), linkVectorNow, ErrBadLink.Error()},
		{"link-by-another-key", "@bob@example.social", sign(ks["mallory"], "acct:bob@example.social", linkVectorNow-60, 0), profile(fd("kith", bob)), linkVectorNow, ErrKeyMismatch.Error()},
		{"instance-answers-another-account", "@bob@example.social", good, Account{ID: "8", Username: "bob", Acct: "bob@elsewhere.example", Fields: []Field{fd("kith", bob)}}, linkVectorNow, ErrMalformed.Error()},
		{"instance-answers-kelvin-sign", "@kith@example.social", sign(ks["bob"], "acct:kith@example.social", linkVectorNow-60, 0), Account{ID: "9", Username: "\u212aith", Acct: "\u212aith@example.social", Fields: []Field{fd("kith", bob)}}, linkVectorNow, ErrMalformed.Error()},
	}...)
	return f
}

// fixedLookup answers every Resolve with one account, checking that it is
// the account asked for as a Client does.
type fixedLookup struct{ a Account }

func (l fixedLookup) Resolve(_ context.Context, acct string) (*Account, error) {
	want, err := splitAcct(acct)
	if err != nil {
		return nil, err
	}
	a := l.a
	c := &Client{Domain: "example.social"}
	if err := c.sameAcct("lookup "+want, &a, want); err != nil {
		return nil, err
	}
	return &a, nil
}

func TestLinkVectors(t *testing.T) {
	got, err := json.MarshalIndent(buildLinkVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *updateLinkVectors {
		if err := os.WriteFile(linkVectorsPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(linkVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the generator (go test ./fedi -run TestLinkVectors -update)", linkVectorsPath)
	}
	var f linkVectorFile
	if err := json.Unmarshal(want, &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Claims {
		cl := Claims(&c.Account)
		var keys []string
		for _, k := range cl.Keys {
			keys = append(keys, k.DIDKey())
		}
		if !slices.Equal(keys, c.Keys) || len(cl.Invalid) != c.Invalid {
			t.Errorf("claims %s: keys %v invalid %d, want %v %d", c.Name, keys, len(cl.Invalid), c.Keys, c.Invalid)
		}
	}
	sentinels := []error{ErrKeyMismatch, ErrNoField, ErrBadLink, ErrMalformed}
	for _, v := range f.Verify {
		raw, _ := hex.DecodeString(v.Link)
		link, err := wire.DecodeIdentityLink(raw)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		_, err = Verify(context.Background(), fixedLookup{v.Account}, v.Acct, link, time.Unix(v.Now, 0))
		if v.Want == "verified" {
			if err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
			continue
		}
		var want error
		for _, s := range sentinels {
			if s.Error() == v.Want {
				want = s
			}
		}
		if want == nil || !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Want)
		}
	}
}
