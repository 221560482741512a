package owner_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/fedi"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/owner/ownertest"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

type fixture struct {
	svc   *owner.Service
	key   *wire.PrivateKey
	st    *mem.Store
	vault *ownertest.Vault
	net   *ownertest.Network
	now   time.Time
	rng   *rand.ChaCha8
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	var seed [32]byte
	copy(seed[:], t.Name())
	f := &fixture{st: mem.New(), vault: ownertest.NewVault(), now: time.Unix(1700000000, 0), rng: rand.NewChaCha8(seed)}
	var k [32]byte
	copy(k[:], "owner "+t.Name())
	f.key = wire.NewPrivateKey(k)
	f.net = &ownertest.Network{Store: f.st}
	svc, err := owner.New(owner.Config{Key: f.key, Store: f.st, Vault: f.vault, Network: f.net,
		Now: func() time.Time { return f.now }, Rand: f.rng, Version: "test", Topic: "/kith/test", AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// stranger is a key of someone else, with a statement signed by them.
func (f *fixture) stranger(t *testing.T, name string) *wire.PrivateKey {
	var k [32]byte
	copy(k[:], name)
	return wire.NewPrivateKey(k)
}

func (f *fixture) signedBy(t *testing.T, k *wire.PrivateKey, kind wire.Kind, subject string, aud wire.Audience) *wire.Attestation {
	t.Helper()
	sub, err := wire.ParseSubject(subject)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := wire.NewNonce(f.rng)
	if err != nil {
		t.Fatal(err)
	}
	a := &wire.Attestation{Subject: sub, Kind: kind, Context: "general", Strength: 80, Created: uint64(f.now.Unix()), Audience: aud, Nonce: nonce}
	if err := a.Sign(k); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Put(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestStatementsAndAnswers: a vouch puts the answer above 0.5 with the
// owner's word in the explanation, through a friend the owner vouched for
// a stranger gets a path; a retraction takes the owner's word away; the
// typed answers are what the API and the CLI print.
func TestStatementsAndAnswers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	friend := f.stranger(t, "friend")
	v, err := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: friend.Public().String(), Strength: 90})
	if err != nil {
		t.Fatal(err)
	}
	if v.State != api.AttestationActive || v.Context != "general" || v.Audience != "private" {
		t.Fatalf("vouch view: %+v", v)
	}
	f.signedBy(t, friend, wire.Warn, "@spammer@example.social", wire.PrivateAudience)

	q, err := f.svc.Query(ctx, api.QueryRequest{Subject: friend.Public().String()})
	if err != nil {
		t.Fatal(err)
	}
	if !q.Covered || q.Score == nil || *q.Score <= 0.5 || q.Explanation.OwnStatement == nil || q.Explanation.OwnStatement.Kind != "vouch" ||
		!strings.HasPrefix(q.Explanation.Summary, "vouched for by you") || q.Meaning != api.ScoreMeaning {
		t.Fatalf("query of the friend: %+v %+v", q, q.Explanation)
	}
	s, err := f.svc.Query(ctx, api.QueryRequest{Subject: "@spammer@example.social"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Covered || *s.Score >= 0.5 || s.Explanation.TrustedWarners != 1 || len(s.Explanation.Warners) != 1 ||
		s.Explanation.Warners[0].From != friend.Public().String() || s.Subject != "@spammer@example.social" {
		t.Fatalf("query of the spammer: %+v %+v", s, s.Explanation)
	}
	// The typed answer encodes with every array present, as the schema
	// wants.
	b, _ := json.Marshal(s)
	for _, k := range []string{`"vouchers":[]`, `"paths":[`, `"features":[`, `"model":{"kind":"shipped"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("query JSON lacks %s: %s", k, b)
		}
	}
	rows, err := f.svc.Rank(ctx, api.RankRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Subject != friend.Public().String() || rows[1].Subject != "@spammer@example.social" {
		t.Fatalf("rank: %+v", rows)
	}
	if bottom, _ := f.svc.Rank(ctx, api.RankRequest{Bottom: true, Limit: 1}); len(bottom) != 1 || bottom[0].Subject != "@spammer@example.social" {
		t.Fatalf("rank --bottom --limit 1: %+v", bottom)
	}

	many, err := f.svc.QueryMany(ctx, []string{"@spammer@example.social", "not a subject", friend.Public().String()}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 3 || many[1] != nil || many[0] == nil || *many[0].Score != *s.Score || *many[2].Score != *q.Score {
		t.Fatalf("QueryMany: %+v", many)
	}

	if _, err := f.svc.Retract(ctx, api.RetractRequest{CID: v.CID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Retract(ctx, api.RetractRequest{CID: v.CID}); api.ErrorCode(err) != api.CodeConflict {
		t.Fatalf("second retraction: %v", err)
	}
	q, _ = f.svc.Query(ctx, api.QueryRequest{Subject: friend.Public().String()})
	if q.Explanation.OwnStatement != nil {
		t.Fatalf("retracted vouch still counts: %+v", q.Explanation)
	}
	if got := f.net.Submitted.Load(); got != 2 {
		t.Fatalf("%d objects submitted, want the vouch and the retraction", got)
	}
}

// TestValidation: the same refusals for every caller, as invalid
// requests, and nothing stored.
func TestValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, req := range []api.AttestRequest{
		{Kind: "praise", Subject: "@a@b.c"},
		{Kind: "vouch", Subject: "nobody"},
		{Kind: "vouch", Subject: "@a@b.c", Strength: 101},
		{Kind: "warn", Subject: "@a@b.c", Audience: "public"},
		{Kind: "vouch", Subject: "@a@b.c", Expires: "2001-01-01"},
		{Kind: "vouch", Subject: "@a@b.c", Context: "Not A Context!"},
	} {
		if _, err := f.svc.Attest(ctx, req); api.ErrorCode(err) != api.CodeInvalid {
			t.Errorf("%+v: %v, want invalid", req, err)
		}
	}
	if _, err := f.svc.Retract(ctx, api.RetractRequest{CID: "nope"}); api.ErrorCode(err) != api.CodeInvalid {
		t.Errorf("retract nope: %v", err)
	}
	if n := f.net.Submitted.Load(); n != 0 {
		t.Fatalf("%d objects submitted by refused requests", n)
	}
}

// TestSuperseded: the owner's later statement about the same subject in
// the same context supersedes the earlier one in the views.
func TestSuperseded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: "@carol@example.social"})
	f.now = f.now.Add(time.Minute)
	second, _ := f.svc.Attest(ctx, api.AttestRequest{Kind: "warn", Subject: "@carol@example.social"})
	vs, err := f.svc.Attestations(ctx, api.ListRequest{By: "me"})
	if err != nil || len(vs) != 2 {
		t.Fatal(vs, err)
	}
	state := map[string]string{vs[0].CID: vs[0].State, vs[1].CID: vs[1].State}
	if state[first.CID] != api.AttestationSuperseded || state[second.CID] != api.AttestationActive {
		t.Fatalf("states: %v", state)
	}
}

// TestConsentDecisions: decisions go to the Network and the answer is the
// request as it stands after.
func TestConsentDecisions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.signedBy(t, f.stranger(t, "author"), wire.Vouch, f.key.Public().String(), wire.Audience{Scope: wire.Public})
	f.net.SetConsents([]owner.Consent{{Attestation: a, State: api.ConsentPending}})
	cs, err := f.svc.Consents(ctx)
	if err != nil || len(cs) != 1 || cs[0].State != api.ConsentPending || cs[0].CID != a.CID().String() {
		t.Fatal(cs, err)
	}
	for _, step := range []struct {
		act  func(context.Context, string) (api.ConsentRequest, error)
		want api.ConsentState
	}{{f.svc.Approve, api.ConsentApproved}, {f.svc.Withdraw, api.ConsentWithdrawn}, {f.svc.Decline, api.ConsentDeclined}} {
		c, err := step.act(ctx, a.CID().String())
		if err != nil || c.State != step.want {
			t.Fatalf("%v %v, want %s", c, err, step.want)
		}
	}
}

// TestReadsDoNotCallOut: with a verified link due for its check, no read
// (every GET of the API) asks the instance or writes the vault, and the
// due link does not count; the link job RecheckLinks is what asks, and it
// says so when the instance cannot answer.
func TestReadsDoNotCallOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var asked atomic.Int64
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer inst.Close()
	host := strings.TrimPrefix(inst.URL, "http://")
	acct := "acct:bob@" + host
	bob := f.stranger(t, "bob")
	link, err := fedi.NewLink(bob, acct, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Put(ctx, link); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(map[string]any{acct: map[string]any{"key": bob.Public().String(), "link": link.CID().String(),
		"checked": f.now.Add(-8 * 24 * time.Hour), "verified": true}})
	if err := f.vault.Put(map[string][]byte{"fedi:links": rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: "@bob@" + host}); err != nil {
		t.Fatal(err)
	}
	f.signedBy(t, bob, wire.Vouch, "@carol@example.social", wire.PrivateAudience)
	writes := f.vault.Writes()

	q, err := f.svc.Query(ctx, api.QueryRequest{Subject: "@carol@example.social"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Explanation.Paths) != 0 {
		t.Fatalf("a link due for its check counted: %+v", q.Explanation.Paths)
	}
	reads := map[string]func() error{
		"Status":       func() error { _, err := f.svc.Status(ctx); return err },
		"Peers":        func() error { _, err := f.svc.Peers(ctx); return err },
		"Rank":         func() error { _, err := f.svc.Rank(ctx, api.RankRequest{}); return err },
		"Attestations": func() error { _, err := f.svc.Attestations(ctx, api.ListRequest{}); return err },
		"Consents":     func() error { _, err := f.svc.Consents(ctx); return err },
		"Metrics":      func() error { _, err := f.svc.Metrics(ctx); return err },
		"Export":       func() error { _, err := f.svc.Export(ctx, api.ExportRequest{}); return err },
		"Model":        func() error { _, err := f.svc.Model(ctx, api.ModelRequest{}); return err },
	}
	for name, read := range reads {
		if err := read(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := asked.Load(); n != 0 || f.vault.Writes() != writes {
		t.Fatalf("reads asked the instance %d times and wrote the vault %d times", n, f.vault.Writes()-writes)
	}

	checks, err := f.svc.RecheckLinks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if asked.Load() == 0 || len(checks) != 1 || checks[0].Checked || !strings.Contains(checks[0].String(), "could not be checked") {
		t.Fatalf("link job: asked %d, checks %+v", asked.Load(), checks)
	}
	// Nothing was learnt, so the record is kept as it was.
	if f.vault.Writes() != writes {
		t.Fatal("an unanswered check rewrote the vault")
	}
}
