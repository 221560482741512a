package fedi

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/wire"
)

func TestProfileTextAndNewLink(t *testing.T) {
	now := time.Unix(1763784000, 0)
	if got, want := ProfileText(bobKey.Public()), "did:key:z6MktNWXFy7fn9kNfwfvD9e2rDK3RPetS4MRKtZH8AxQzg9y"; got != want {
		t.Fatalf("ProfileText = %q, want %q", got, want)
	}
	l, err := NewLink(bobKey, "@Bob@Mastodon.Example", now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Acct != "acct:bob@mastodon.example" || l.Key != bobKey.Public() || l.Verify(now) != nil {
		t.Fatalf("link %+v", l)
	}
	if _, err := NewLink(bobKey, "bob", now); err == nil {
		t.Fatal("link to a bare name")
	}
}

func TestVerifyBothShapes(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1763784000, 0)
	for _, fl := range flavours {
		t.Run(fl, func(t *testing.T) {
			d := domainOf(fl)
			in := newInstance(t, fl)
			in.on("GET /api/v1/accounts/lookup?acct=bob%40"+d, reply{file: "lookup_bob.json"})
			in.on("GET /api/v1/accounts/lookup?acct=mallory%40"+d, reply{file: "lookup_mallory.json"})
			if fl == "mastodon" {
				// Mallory is remote on the Mastodon fixture.
				in.on("GET /api/v1/accounts/lookup?acct=mallory%40elsewhere.example", reply{file: "lookup_mallory.json"})
			}
			c, _ := in.client("tok")

			link, err := NewLink(bobKey, "bob@"+d, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(ctx, c, "@bob@"+d, link, now)
			if err != nil {
				t.Fatal(err)
			}
			if v.Acct != "acct:bob@"+d || v.Key != bobKey.Public() || !v.CheckedAt.Equal(now) || v.Account.Username != "bob" {
				t.Fatalf("verification %+v", v)
			}

			// Bob's node claims mallory's account, whose field names
			// mallory's own key: a clear mismatch naming both keys.
			malloryAcct := "mallory@" + d
			if fl == "mastodon" {
				malloryAcct = "mallory@elsewhere.example"
			}
			steal, err := NewLink(bobKey, malloryAcct, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Verify(ctx, c, malloryAcct, steal, now)
			if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), malloryKey.Public().DIDKey()) || !strings.Contains(err.Error(), bobKey.Public().DIDKey()) {
				t.Fatalf("someone else's key: %v", err)
			}
			// And mallory's key claiming bob's account fails the same way.
			fake, _ := NewLink(malloryKey, "bob@"+d, now.Add(-time.Hour))
			if _, err := Verify(ctx, c, "bob@"+d, fake, now); !errors.Is(err, ErrKeyMismatch) {
				t.Fatalf("bob's account for mallory's key: %v", err)
			}

			// A link for another account, a forged one, and an expired
			// one are refused before any lookup.
			n := len(in.requests())
			if _, err := Verify(ctx, c, "carol@"+d, link, now); !errors.Is(err, ErrBadLink) || !strings.Contains(err.Error(), "names acct:bob@") {
				t.Fatalf("link for another account: %v", err)
			}
			raw := bytes.Clone(link.Raw())
			raw[len(raw)-1] ^= 1 // the signature's last byte
			forged, err := wire.DecodeIdentityLink(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(ctx, c, "bob@"+d, forged, now); !errors.Is(err, ErrBadLink) {
				t.Fatalf("forged link: %v", err)
			}
			exp := &wire.IdentityLink{Acct: "acct:bob@" + d, Created: uint64(now.Add(-2 * time.Hour).Unix()), Expires: uint64(now.Add(-time.Hour).Unix())}
			if err := exp.Sign(bobKey); err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(ctx, c, "bob@"+d, exp, now); !errors.Is(err, ErrBadLink) {
				t.Fatalf("expired link: %v", err)
			}
			if _, err := Verify(ctx, c, "bob@"+d, nil, now); !errors.Is(err, ErrBadLink) {
				t.Fatalf("nil link: %v", err)
			}
			if len(in.requests()) != n {
				t.Fatal("a bad link caused a lookup")
			}
			// An unknown account.
			ghost, _ := NewLink(bobKey, "ghost@"+d, now)
			if _, err := Verify(ctx, c, "ghost@"+d, ghost, now); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown account: %v", err)
			}
		})
	}
}

func TestCheckClaim(t *testing.T) {
	k := bobKey.Public()
	if err := CheckClaim("@a@b", Claim{Keys: []wire.PublicKey{malloryKey.Public(), k}}, k); err != nil {
		t.Fatalf("two keys, one ours: %v", err)
	}
	if err := CheckClaim("@a@b", Claim{}, k); !errors.Is(err, ErrNoField) || !strings.Contains(err.Error(), k.DIDKey()) {
		t.Fatalf("no field: %v", err)
	}
	if err := CheckClaim("@a@b", Claim{Invalid: []string{"did:key:zNOPE"}}, k); !errors.Is(err, ErrNoField) || !strings.Contains(err.Error(), "zNOPE") {
		t.Fatalf("invalid field: %v", err)
	}
	a := &Account{ID: "1", Acct: "a", Fields: []Field{
		{Name: "kith", Value: "did:key:z6MkBROKEN"},
		{Name: "other", Value: bobKey.Public().DIDKey()},
	}}
	c := Claims(a)
	if len(c.Keys) != 0 || len(c.Invalid) != 1 {
		t.Fatalf("claims %+v: only fields named kith count", c)
	}
}
