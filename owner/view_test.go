package owner_test

import (
	"context"
	"testing"
	"time"

	"github.com/kith-net/kith/api"
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
