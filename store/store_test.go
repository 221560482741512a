package store_test

import (
	"errors"
	"testing"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

func TestQueryValidate(t *testing.T) {
	tests := []struct {
		name string
		q    store.Query
		ok   bool
	}{
		{"zero", store.Query{}, true},
		{"every field", store.Query{Acct: "acct:alice@example.org", Context: "expertise:go", Kind: wire.Warn, Retracted: true, Limit: 3}, true},
		{"negative limit", store.Query{Limit: -1}, false},
		{"unknown kind", store.Query{Kind: "meh"}, false},
		{"bad context", store.Query{Context: "Go!"}, false},
		{"unnormalised acct", store.Query{Acct: "Alice@Example.org"}, false},
		{"not an acct", store.Query{Acct: "alice"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tt.ok && !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Validate error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestQueryMatch(t *testing.T) {
	issuer := wire.NewPrivateKey([32]byte{1})
	subject := wire.NewPrivateKey([32]byte{2}).Public()
	other := wire.NewPrivateKey([32]byte{3}).Public()
	a := &wire.Attestation{
		Subject:  wire.Subject{Key: &subject, Acct: "acct:bob@example.org"},
		Kind:     wire.Vouch,
		Context:  "general",
		Strength: 5,
		Created:  1_700_000_000,
		Audience: wire.PublicAudience,
		Nonce:    make([]byte, wire.NonceSize),
	}
	if err := a.Sign(issuer); err != nil {
		t.Fatal(err)
	}
	acctOnly := *a
	acctOnly.Subject.Key = nil
	pub := issuer.Public()
	tests := []struct {
		name string
		q    store.Query
		a    *wire.Attestation
		want bool
	}{
		{"zero", store.Query{}, a, true},
		{"issuer", store.Query{Issuer: &pub}, a, true},
		{"other issuer", store.Query{Issuer: &other}, a, false},
		{"subject key", store.Query{SubjectKey: &subject}, a, true},
		{"other subject key", store.Query{SubjectKey: &other}, a, false},
		{"subject key of an account-only subject", store.Query{SubjectKey: &subject}, &acctOnly, false},
		{"acct", store.Query{Acct: "acct:bob@example.org"}, a, true},
		{"other acct", store.Query{Acct: "acct:eve@example.org"}, a, false},
		{"context", store.Query{Context: "general"}, a, true},
		{"other context", store.Query{Context: "trade"}, a, false},
		{"kind", store.Query{Kind: wire.Vouch}, a, true},
		{"other kind", store.Query{Kind: wire.Warn}, a, false},
		{"all fields", store.Query{Issuer: &pub, SubjectKey: &subject, Acct: "acct:bob@example.org", Context: "general", Kind: wire.Vouch}, a, true},
		{"all fields but one", store.Query{Issuer: &pub, SubjectKey: &subject, Acct: "acct:bob@example.org", Context: "general", Kind: wire.Warn}, a, false},
		{"retracted and limit are ignored", store.Query{Retracted: true, Limit: 1}, a, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Match(tt.a); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
