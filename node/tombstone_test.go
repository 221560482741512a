package node

import (
	"context"
	"errors"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/kith-net/kith/wire"
)

// gossipFrom runs the node's gossip validator on data as if peer from had
// sent it.
func gossipFrom(n *Node, from *wire.PrivateKey, data []byte) pubsub.ValidationResult {
	_, id, _ := Identity(from)
	return n.validate(context.Background(), id, &pubsub.Message{Message: &pb.Message{Data: data}, ReceivedFrom: id})
}

// A withdrawal that arrives before the proof it cancels (gossip keeps no
// order) is kept as a tombstone: the proof is then ignored when gossiped,
// and stored already withdrawn when it comes by another path (resync). A
// forged withdrawal is kept too (its signer cannot be checked before the
// proof comes) and cancels nothing. The protocol-level simulator found
// this race.
func TestWithdrawalBeforeProof(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	tn := newTestNet(t, 1, netOptions{})
	n := tn.nodes[0]
	ctx := context.Background()
	issuer, subject, stranger, relay := mustKey(t), mustKey(t), mustKey(t), mustKey(t)

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

	for _, o := range []wire.Object{w, forged} {
		if _, err := n.checkGossip(ctx, encodeGossip(o), false); !errors.Is(err, errIgnore) || !errors.Is(err, errUnknownTarget) {
			t.Fatalf("withdrawal before its proof: %v, want ignored (target unknown)", err)
		}
		if r := gossipFrom(n, relay, encodeGossip(o)); r != pubsub.ValidationIgnore {
			t.Fatalf("withdrawal before its proof: validation %v, want ignore", r)
		}
		if ok, _ := n.cfg.Store.Has(ctx, o.CID()); !ok {
			t.Fatalf("withdrawal %s before its proof not kept as a tombstone", o.CID())
		}
	}
	if _, err := n.checkGossip(ctx, encodeGossip(a, c), false); !errors.Is(err, errIgnore) {
		t.Fatalf("proof after its withdrawal: %v, want ignored", err)
	}

	// By resync: the proof is stored, withdrawn; the forged withdrawal,
	// signed by someone else than the subject, counts for nothing.
	if _, err := n.ingest(ctx, []wire.Object{a, c}); err != nil {
		t.Fatal(err)
	}
	st, err := n.cfg.Store.Status(ctx, a.CID())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Withdrawn) != 1 || !st.Withdrawn[0].CID().Equals(w.CID()) || len(st.Consents) != 0 {
		t.Fatalf("status after the proof came: withdrawals %v, %d live consents", st.Withdrawn, len(st.Consents))
	}
	if n.InPublicSet(a.CID()) || n.InPublicSet(c.CID()) || !n.InPublicSet(w.CID()) || n.InPublicSet(forged.CID()) {
		t.Error("the public set offers the withdrawn proof or the forged withdrawal, or not the withdrawal")
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

// Issue 24, item 6: a node that joins after a retraction gets the
// retraction by resync, though it never held the proof, and keeps it as a
// tombstone: a replay of the retracted proof is then ignored, and the next
// resyncs fetch nothing again.
func TestRetractionReachesLateNode(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	// Nodes 0, 1 and 2 connected; the late node 3 later connects to node 0
	// only, which is neither the issuer (1) nor the subject (2) of the
	// proof, so nothing but the public set brings it anything.
	// Nodes 0 to 2 resync every second (the proof must reach node 0,
	// gossip or not); the late node only when it connects.
	tn := newTestNet(t, 4, netOptions{links: [][2]int{{0, 1}, {1, 2}, {0, 2}}, configure: func(i int, c *Config) {
		c.ResyncInterval = time.Second
		if i == 3 {
			c.ResyncInterval = time.Hour
		}
	}})
	ctx := context.Background()
	tn.waitFor(time.Minute, "nodes 0 to 2 on the topic", func() bool {
		for _, nd := range tn.nodes[:3] {
			if len(nd.TopicPeers()) < 2 {
				return false
			}
		}
		return true
	})
	a, c := tn.proof(1, 2, "soon retracted")
	tn.waitFor(time.Minute, "the proof at node 0", func() bool { return tn.nodes[0].InPublicSet(c.CID()) })
	r := &wire.Retraction{Target: wire.LinkTo(a.CID()), Created: a.Created + 1}
	if err := r.Sign(tn.keys[1]); err != nil {
		t.Fatal(err)
	}
	if err := tn.nodes[1].Submit(ctx, r); err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the retraction in node 0's public set", func() bool {
		return tn.nodes[0].InPublicSet(r.CID()) && !tn.nodes[0].InPublicSet(a.CID())
	})

	late := tn.nodes[3]
	if _, err := tn.mn.ConnectPeers(late.ID(), tn.nodes[0].ID()); err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the retraction at the late node", func() bool { ok, _ := late.cfg.Store.Has(ctx, r.CID()); return ok })
	if ok, _ := late.cfg.Store.Has(ctx, a.CID()); ok {
		t.Fatal("the late node holds the retracted attestation")
	}
	// A replay of the retracted proof.
	if _, err := late.checkGossip(ctx, encodeGossip(a, c), false); !errors.Is(err, errIgnore) {
		t.Errorf("the late node's verdict on a replay of the retracted proof: %v, want ignored", err)
	}
	// Resync again: nothing is fetched (the tombstone is held, though not in
	// the late node's public set, since it does not hold the attestation).
	before := late.Stats().Fetched
	for range 3 {
		if _, err := late.Resync(ctx, tn.nodes[0].ID()); err != nil {
			t.Fatal(err)
		}
	}
	if got := late.Stats().Fetched - before; got != 0 {
		t.Errorf("three more resyncs fetched %d objects again", got)
	}
}

// Issue 24, item 6: an expired proof leaves the public set, so a fresh node
// does not fetch (and drop) it at every resync.
func TestExpiredLeavesPublicSet(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	clock := newTestClock()
	tn := newTestNet(t, 2, netOptions{links: [][2]int{}, resync: time.Hour, configure: func(_ int, c *Config) { c.Now = clock.now }})
	ctx := context.Background()
	old, fresh := tn.nodes[0], tn.nodes[1]
	issuer, subject := mustKey(t), mustKey(t)
	a := &wire.Attestation{
		Subject: wire.KeySubject(subject.Public()), Kind: wire.Vouch, Context: "general", Strength: 70, Audience: wire.PublicAudience,
		Created: uint64(clock.now().Unix()), Expires: uint64(clock.now().Add(time.Hour).Unix()), Nonce: make([]byte, wire.NonceSize),
	}
	if err := a.Sign(issuer); err != nil {
		t.Fatal(err)
	}
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	if err := c.Sign(subject); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ingest(ctx, []wire.Object{a, c}); err != nil {
		t.Fatal(err)
	}
	if !old.InPublicSet(a.CID()) || !old.InPublicSet(c.CID()) {
		t.Fatal("the proof is not in the public set before it expires")
	}
	clock.add(2 * time.Hour)
	if _, err := tn.mn.ConnectPeers(fresh.ID(), old.ID()); err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the fresh node's first resync", func() bool { return fresh.Stats().Resyncs >= 1 })
	for range 3 {
		if _, err := fresh.Resync(ctx, old.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if old.InPublicSet(a.CID()) || old.InPublicSet(c.CID()) {
		t.Error("the expired proof is still in the public set")
	}
	if got := fresh.Stats().Fetched; got != 0 {
		t.Errorf("the fresh node fetched %d objects of an expired proof", got)
	}
	on, ofp := old.set.Fingerprint()
	fn, ffp := fresh.set.Fingerprint()
	if on != fn || ofp != ffp {
		t.Errorf("the public sets differ: %d keys and %d keys", on, fn)
	}
}
