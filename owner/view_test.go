package owner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/wire"
)

// TestExpiredConsentLeavesScoring: a third party's public vouch counts in
// the owner's scoring while its subject's consent is live and for nothing
// once that consent has expired (spec/node-v1.md §4 "Live consents",
// §5.1); the owner's own public vouch whose consent expired is still the
// owner's word and counts, as it did before the consent.
func TestExpiredConsentLeavesScoring(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	friend, carol, dave := f.stranger(t, "friend"), f.stranger(t, "carol"), f.stranger(t, "dave")
	if _, err := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: friend.Public().String(), Strength: 90}); err != nil {
		t.Fatal(err)
	}
	expires := uint64(f.now.Add(time.Hour).Unix())
	consent := func(by *wire.PrivateKey, a *wire.Attestation) {
		t.Helper()
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created, Expires: expires}
		if err := c.Sign(by); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	theirs := f.signedBy(t, friend, wire.Vouch, carol.Public().String(), wire.PublicAudience)
	consent(carol, theirs)
	mine := f.signedBy(t, f.key, wire.Vouch, dave.Public().String(), wire.PublicAudience)
	consent(dave, mine)

	query := func(who *wire.PrivateKey) api.QueryResult {
		t.Helper()
		q, err := f.svc.Query(ctx, api.QueryRequest{Subject: who.Public().String()})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	if q := query(carol); !q.Covered || q.Explanation.TrustedVouchers != 1 {
		t.Fatalf("carol, vouched for by a friend with a live consent: covered %v, trusted vouchers %d", q.Covered, q.Explanation.TrustedVouchers)
	}
	f.now = time.Unix(int64(expires), 0) // the consents expire now
	if q := query(carol); q.Covered || q.Explanation.TrustedVouchers+q.Explanation.OtherVouchers != 0 {
		t.Errorf("carol, whose only consent expired: covered %v, vouchers %d+%d, want none", q.Covered, q.Explanation.TrustedVouchers, q.Explanation.OtherVouchers)
	}
	if q := query(dave); !q.Covered || q.Explanation.OwnStatement == nil || q.Explanation.OwnStatement.Kind != "vouch" {
		t.Errorf("dave, vouched for by the owner, consent expired: covered %v, own statement %+v, want the owner's vouch", q.Covered, q.Explanation.OwnStatement)
	}
}

// TestOlderRefinedModelSetAside: a refined model in the vault of an
// earlier model version (features that meant something else) is not used:
// the shipped model answers, and the model's description and every
// answer carry a note that says to run kith model train. A refined model
// of this version is used.
func TestOlderRefinedModelSetAside(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	friend := f.stranger(t, "friend")
	if _, err := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: friend.Public().String(), Strength: 90}); err != nil {
		t.Fatal(err)
	}
	f.signedBy(t, friend, wire.Warn, "@spammer@example.social", wire.PrivateAudience)

	refined := *trust.DefaultModel()
	refined.Provenance = "refined on-device on 3 of the owner's judgements"
	refined.Weights = slices.Clone(refined.Weights)
	refined.Weights[trust.FTrustedWarn] *= 2
	put := func(version int) {
		t.Helper()
		m := refined
		m.Version = version
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.vault.Put(map[string][]byte{"model:general": b}); err != nil {
			t.Fatal(err)
		}
	}

	put(trust.ModelVersion - 1)
	info, err := f.svc.Model(ctx, api.ModelRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantNote := "run kith model train --context general"
	if info.Kind != "shipped" || info.Model.Provenance != trust.DefaultModel().Provenance || !strings.Contains(info.Note, wantNote) ||
		!strings.Contains(info.Note, fmt.Sprintf("model version %d", trust.ModelVersion-1)) {
		t.Fatalf("an older refined model in the vault: kind %q, provenance %q, note %q", info.Kind, info.Model.Provenance, info.Note)
	}
	q, err := f.svc.Query(ctx, api.QueryRequest{Subject: "@spammer@example.social"})
	if err != nil {
		t.Fatal(err)
	}
	if m := q.Explanation.Model; m.Kind != "shipped" || !strings.Contains(m.Note, wantNote) {
		t.Fatalf("an answer with an older refined model in the vault: %+v", m)
	}
	shipped := *q.Score

	put(trust.ModelVersion)
	info, err = f.svc.Model(ctx, api.ModelRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != "refined" || info.Note != "" {
		t.Fatalf("a refined model of this version: kind %q, note %q", info.Kind, info.Note)
	}
	q, err = f.svc.Query(ctx, api.QueryRequest{Subject: "@spammer@example.social"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Explanation.Model.Kind != "refined" || *q.Score == shipped {
		t.Fatalf("a refined model of this version does not answer: %+v, score %v (shipped %v)", q.Explanation.Model, *q.Score, shipped)
	}
}

// TestThroughOneContact: when all the trust in a subject's raters came
// through one of the owner's contacts, the answer names that contact, its
// share and what kith does with it; when it came through three contacts
// alike, none is named.
func TestThroughOneContact(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	friend, carol := f.stranger(t, "friend"), f.stranger(t, "carol")
	if _, err := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: friend.Public().String(), Strength: 90}); err != nil {
		t.Fatal(err)
	}
	f.signedBy(t, friend, wire.Vouch, carol.Public().String(), wire.PrivateAudience)
	f.signedBy(t, carol, wire.Warn, "@spammer@example.social", wire.PrivateAudience)

	q, err := f.svc.Query(ctx, api.QueryRequest{Subject: "@spammer@example.social"})
	if err != nil {
		t.Fatal(err)
	}
	// Carol's trust came all through friend, so her warning counts for
	// little (for nothing while trust.ContactRetain is 0: no evidence to
	// weigh), and the answer says why.
	th := q.Explanation.Through
	if (trust.ContactRetain == 0 && q.Covered) || th == nil || th.Contact != friend.Public().String() || math.Abs(th.Share-1) > 1e-9 || !strings.Contains(th.Effect, "one contact") {
		t.Fatalf("the spammer, warned by carol whom the owner reaches only through friend: covered %v, through %+v", q.Covered, th)
	}
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"through":{"contact":"`+friend.Public().String()+`","share":1`) {
		t.Errorf("query JSON: %s", b)
	}
	// The owner's own contact's word is the owner's: carol, vouched for
	// by friend, has friend as a rater, who is exempt.
	if q, err = f.svc.Query(ctx, api.QueryRequest{Subject: carol.Public().String()}); err != nil {
		t.Fatal(err)
	}
	if q.Explanation.Through != nil {
		t.Errorf("carol, vouched for by the owner's contact: through %+v, want none", q.Explanation.Through)
	}

	// Two more contacts who vouch for carol as friend does: her trust
	// comes a third through each.
	for _, name := range []string{"friend2", "friend3"} {
		k := f.stranger(t, name)
		if _, err := f.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: k.Public().String(), Strength: 90}); err != nil {
			t.Fatal(err)
		}
		f.signedBy(t, k, wire.Vouch, carol.Public().String(), wire.PrivateAudience)
	}
	if q, err = f.svc.Query(ctx, api.QueryRequest{Subject: "@spammer@example.social"}); err != nil {
		t.Fatal(err)
	}
	if !q.Covered || q.Explanation.Through != nil || q.Explanation.TrustedWarners != 1 {
		t.Fatalf("the spammer, warned by carol whom three contacts vouch for: covered %v, trusted warners %d, through %+v, want none",
			q.Covered, q.Explanation.TrustedWarners, q.Explanation.Through)
	}
	if b, _ := json.Marshal(q); strings.Contains(string(b), `"through"`) {
		t.Errorf("query JSON without a dominant contact: %s", b)
	}
}
