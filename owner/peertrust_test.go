package owner_test

import (
	"context"
	"testing"

	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/wire"
)

// PeerTrustOf, the daemon's peer trust for a node with only its store,
// agrees with Service.PeerTrust on the same store, and the cache maps the
// engine's probabilities onto [-1, 1]: a vouched-for peer above 0, a
// warned one below, a stranger at 0.
func TestPeerTrustOf(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	friend, foe, stranger := f.stranger(t, "friend"), f.stranger(t, "foe"), f.stranger(t, "stranger")
	f.signedBy(t, f.key, wire.Vouch, friend.Public().String(), wire.PrivateAudience)
	f.signedBy(t, f.key, wire.Warn, foe.Public().String(), wire.PrivateAudience)

	got, err := owner.PeerTrustOf(ctx, f.st, f.key.Public(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	want := f.svc.PeerTrust(ctx)
	if len(got) != len(want) || len(got) < 2 {
		t.Fatalf("PeerTrustOf scored %d keys, Service.PeerTrust %d; want the same, at least the two the owner judged", len(got), len(want))
	}
	for k, x := range want {
		if got[k] != x {
			t.Errorf("%s: PeerTrustOf %v, Service.PeerTrust %v", k, got[k], x)
		}
	}
	var c owner.PeerTrustCache
	if c.Get(friend.Public()) != 0 {
		t.Error("an empty cache trusts someone")
	}
	c.Set(got)
	if x := c.Get(friend.Public()); x <= 0 || x > 1 {
		t.Errorf("trust in a friend the owner vouched for: %v, want in (0, 1]", x)
	}
	if x := c.Get(foe.Public()); x >= 0 || x < -1 {
		t.Errorf("trust in someone the owner warned about: %v, want in [-1, 0)", x)
	}
	if x := c.Get(stranger.Public()); x != 0 {
		t.Errorf("trust in a stranger: %v, want 0", x)
	}
}
