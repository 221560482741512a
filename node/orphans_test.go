package node

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// A withdrawal that arrives before the proof it cancels (gossip keeps no
// order) is kept as an orphan: the proof is then ignored when gossiped, and
// stored already withdrawn when it comes by another path (resync). The
// protocol-level simulator found this race.
func TestWithdrawalBeforeProof(t *testing.T) {
	ctx := context.Background()
	issuer, _ := wire.GeneratePrivateKey(rand.Reader)
	subject, _ := wire.GeneratePrivateKey(rand.Reader)
	stranger, _ := wire.GeneratePrivateKey(rand.Reader)
	me, _ := wire.GeneratePrivateKey(rand.Reader)
	n := &Node{cfg: Config{Key: me, Store: mem.New(), Now: testNow}, me: me.Public(), set: new(recon.Set), recent: recentSet{now: testNow}}

	a := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "good trade")
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	w := &wire.ConsentWithdrawal{Target: wire.LinkTo(a.CID()), Created: a.Created + 1}
	forged := &wire.ConsentWithdrawal{Target: wire.LinkTo(a.CID()), Created: a.Created + 1}
	for _, s := range []struct {
		o interface{ Sign(*wire.PrivateKey) error }
		k *wire.PrivateKey
	}{{c, subject}, {w, subject}, {forged, stranger}} {
		if err := s.o.Sign(s.k); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := n.checkGossip(ctx, encodeGossip(w), false); !errors.Is(err, errIgnore) || !errors.Is(err, errUnknownTarget) {
		t.Fatalf("withdrawal before its proof: %v, want ignored (target unknown)", err)
	}
	if _, err := n.checkGossip(ctx, encodeGossip(forged), false); !errors.Is(err, errUnknownTarget) {
		t.Fatalf("forged withdrawal before its proof: %v, want ignored (target unknown)", err)
	}
	if _, err := n.checkGossip(ctx, encodeGossip(a, c), false); !errors.Is(err, errIgnore) {
		t.Fatalf("proof after its withdrawal: %v, want ignored", err)
	}

	// By resync: the proof is stored with its withdrawal; the forged one,
	// signed by someone else than the subject, is not.
	if _, err := n.ingest(ctx, []wire.Object{a, c}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		o    wire.Object
		want bool
	}{{w, true}, {forged, false}} {
		if ok, err := n.cfg.Store.Has(ctx, x.o.CID()); err != nil || ok != x.want {
			t.Errorf("store has %s: %v (%v), want %v", x.o.CID(), ok, err, x.want)
		}
	}
	if n.InPublicSet(a.CID()) || n.InPublicSet(c.CID()) || !n.InPublicSet(w.CID()) {
		t.Error("the public set offers the withdrawn proof, or not its withdrawal")
	}
	if n.orphans.n != 0 {
		t.Errorf("%d orphans left after their target arrived", n.orphans.n)
	}

	// Resync asks for the withdrawal by key: any peer gets it, though the
	// proof it cancels is no longer visible. (It was refused before, and
	// nodes that missed the gossip kept the proof live; the simulator
	// found this too.)
	k, _ := keyOf(w.CID())
	got, err := n.answer(ctx, stranger.Public(), request{Op: opGet, Keys: [][]byte{k[:]}})
	if err != nil || len(got) != 1 || got[0].CID() != w.CID() {
		t.Errorf("get of the withdrawal by a stranger: %v, %v", got, err)
	}
	ka, _ := keyOf(a.CID())
	if got, err := n.answer(ctx, stranger.Public(), request{Op: opGet, Keys: [][]byte{ka[:]}}); err != nil || len(got) != 0 {
		t.Errorf("get of the withdrawn proof by a stranger: %v, %v; want nothing", got, err)
	}
}
