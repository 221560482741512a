package node

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// A consented proof reaches every node of a 30-node network by gossip; the
// consent request goes to the subject first, and nothing is gossiped before
// the subject approves. Periodic resync is off, and every node's pubsub
// shows that gossip delivered the proof to it (some nodes may also fetch
// it by exchange, when a DHT lookup connects them to new peers).
func TestProofReachesAll(t *testing.T) {
	delivered := make([]*deliveries, 30)
	tn := newTestNet(t, 30, netOptions{degree: 4, resync: time.Hour, configure: func(i int, c *Config) {
		delivered[i] = &deliveries{}
		c.RawTracer = delivered[i]
	}})
	tn.waitMeshes()
	a := attest(t, tn.keys[3], tn.keys[17].Public(), wire.Vouch, wire.PublicAudience, "ran a fair market stall")
	ctx := context.Background()
	if err := tn.nodes[3].Submit(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A first delivery attempt that fails on a loaded machine is retried
	// after outboxFirst (10 s), as in testNet.proof.
	tn.waitFor(time.Minute, "the consent request", func() bool { return tn.has(a.CID()) == 2 })
	if tn.nodes[3].InPublicSet(a.CID()) || tn.nodes[17].InPublicSet(a.CID()) {
		t.Fatal("an unconsented attestation is in the public set")
	}
	c, err := tn.nodes[17].Approve(ctx, a.CID())
	if err != nil {
		t.Fatal(err)
	}
	id := GossipID(&pb.Message{Data: encodeGossip(a, c)})
	took := tn.waitFor(2*time.Minute, "the proof to reach every node by gossip", func() bool {
		for i, nd := range tn.nodes {
			if !nd.InPublicSet(c.CID()) || (i != 17 && delivered[i].count(id) == 0) {
				return false
			}
		}
		return tn.has(a.CID()) == len(tn.nodes) && tn.has(c.CID()) == len(tn.nodes)
	})
	t.Logf("proof reached %d nodes by gossip in %v", len(tn.nodes), took)
	for i, nd := range tn.nodes {
		if !nd.InPublicSet(a.CID()) || !nd.InPublicSet(c.CID()) {
			t.Errorf("node %d: proof not in its public set", i)
		}
	}
}

// deliveries counts the gossip messages pubsub delivered to a node (accepted
// from a peer), by message ID.
type deliveries struct {
	orderTracer // the other events, ignored
	mu          sync.Mutex
	m           map[string]int
}

func (d *deliveries) DeliverMessage(m *pubsub.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]int{}
	}
	d.m[GossipID(m.Message)]++
}

func (d *deliveries) RejectMessage(*pubsub.Message, string) {}
func (d *deliveries) DuplicateMessage(*pubsub.Message)      {}

func (d *deliveries) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[id]
}

// Private attestations never leave their node, peer-audience ones reach
// only the peers they name, by gossip, exchange, consent or resync.
func TestPrivacyCanaries(t *testing.T) {
	// Resync every 200 ms, 50 times the default: so is the budget of sync
	// sessions a node serves a peer.
	tn := newTestNet(t, 20, netOptions{degree: 4, tap: true, resync: 200 * time.Millisecond, configure: func(_ int, c *Config) {
		c.Budget.SyncSessions = 50 * DefaultBudget.SyncSessions
	}})
	tn.waitMeshes()
	ctx := context.Background()
	var canaries [][]byte
	var private []*wire.Attestation
	for i := range tn.nodes {
		for k := 0; k < 5; k++ {
			canary := make([]byte, 16)
			rand.Read(canary)
			canaries = append(canaries, canary)
			subj := tn.keys[(i+k+1)%len(tn.keys)].Public()
			// A canary in a private attestation about a peer, which that
			// peer will ask for about itself and the network will resync.
			a := attest(t, tn.keys[i], subj, wire.Warn, wire.PrivateAudience, "canary:"+string(hexOf(canary)))
			if err := tn.nodes[i].Submit(ctx, a); err != nil {
				t.Fatal(err)
			}
			private = append(private, a)
		}
	}
	// Peer-audience warnings: node 0 tells only node 1.
	named := attest(t, tn.keys[0], tn.keys[5].Public(), wire.Warn, wire.PeersAudience(tn.keys[1].Public()), "for node 1 only")
	if err := tn.nodes[0].Submit(ctx, named); err != nil {
		t.Fatal(err)
	}
	// Public, consented traffic in both directions.
	var proofs []*wire.Attestation
	for i := 0; i < 6; i++ {
		a, _ := tn.proof(i, (i+7)%len(tn.nodes), "public praise")
		proofs = append(proofs, a)
	}
	tn.waitFor(time.Minute, "every proof to reach every node", func() bool {
		for _, a := range proofs {
			if tn.has(a.CID()) != len(tn.nodes) {
				return false
			}
		}
		return true
	})
	// Node 1 asks node 0 for its statements (as on connect).
	if _, err := tn.nodes[1].Fetch(ctx, tn.nodes[0].ID(), "", tn.keys[0].Public().String(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Every other node asks every node for everything about everyone.
	for i, nd := range tn.nodes[2:6] {
		for j := range tn.nodes {
			if j == i+2 {
				continue
			}
			if _, err := nd.Fetch(ctx, tn.nodes[j].ID(), "", "", time.Time{}); err != nil {
				t.Fatal(err)
			}
			if _, err := nd.Resync(ctx, tn.nodes[j].ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if tn.has(named.CID()) != 2 {
		t.Errorf("the peer-audience warning is on %d nodes, want 2 (issuer and named peer)", tn.has(named.CID()))
	}
	if ok, _ := tn.nodes[1].cfg.Store.Has(ctx, named.CID()); !ok {
		t.Error("the named peer did not get the peer-audience warning")
	}
	for i, a := range private {
		if n := tn.has(a.CID()); n != 1 {
			t.Errorf("private attestation %d is on %d nodes", i, n)
		}
	}
	for _, c := range canaries {
		if hits := tn.scan([]byte(hexOf(c))); len(hits) > 0 {
			t.Errorf("canary %x sent: %v", c, hits)
		}
		for i, nd := range tn.nodes {
			owner := -1
			for k, a := range private {
				if a.Reason == "canary:"+hexOf(c) {
					owner = k / 5
				}
			}
			if i != owner && storeHolds(t, nd.cfg.Store, []byte(hexOf(c))) {
				t.Errorf("node %d stores another node's canary", i)
			}
		}
	}
	t.Logf("%d canaries, %d bytes of outgoing traffic scanned", len(canaries), tn.tappedBytes())
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// A consent withdrawal reaches every node and takes the proof out of
// circulation; a replay of the old proof is ignored.
func TestWithdrawalPropagates(t *testing.T) {
	tn := newTestNet(t, 20, netOptions{degree: 4})
	tn.waitMeshes()
	ctx := context.Background()
	a, c := tn.proof(2, 9, "good trade")
	tn.waitFor(time.Minute, "the proof", func() bool { return tn.has(c.CID()) == len(tn.nodes) })
	// scored reports how many nodes count a in their owner's scoring: the
	// statements of its context that a store query returns by default,
	// which is what the owner's trust graph is built from (cli/query.go).
	scored := func() int {
		k := 0
		for _, nd := range tn.nodes {
			atts, err := nd.cfg.Store.Attestations(ctx, store.Query{Context: a.Context})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range atts {
				if b.CID().Equals(a.CID()) {
					k++
				}
			}
		}
		return k
	}
	if n := scored(); n != len(tn.nodes) {
		t.Fatalf("%d of %d nodes count the consented proof", n, len(tn.nodes))
	}
	w, err := tn.nodes[9].Withdraw(ctx, a.CID())
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the withdrawal", func() bool {
		for _, nd := range tn.nodes {
			if !nd.InPublicSet(w.CID()) || nd.InPublicSet(a.CID()) { // the set follows the store
				return false
			}
		}
		return tn.has(w.CID()) == len(tn.nodes)
	})
	for i, nd := range tn.nodes {
		if nd.InPublicSet(a.CID()) || nd.InPublicSet(c.CID()) {
			t.Errorf("node %d still offers the withdrawn proof", i)
		}
		if !nd.InPublicSet(w.CID()) {
			t.Errorf("node %d does not offer the withdrawal", i)
		}
	}
	// The withdrawal takes the statement out of every node's scoring, not
	// only out of circulation (issue 22, item 9).
	if n := scored(); n != 0 {
		t.Errorf("%d nodes still count the withdrawn statement in their scoring", n)
	}
	// A replay of the old proof is ignored by every node (not forwarded,
	// not stored), without penalising whoever relays it.
	for i, nd := range tn.nodes {
		if _, err := nd.checkGossip(ctx, encodeGossip(a, c), false); !errors.Is(err, errIgnore) {
			t.Fatalf("node %d: replayed withdrawn proof: %v, want ignored", i, err)
		}
	}
	reqs, err := tn.nodes[9].ConsentRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].State != ConsentWithdrawn {
		t.Fatalf("consent requests after withdrawal: %+v", reqs)
	}
	// Consent again: the new consent postdates the withdrawal and circulates.
	c2, err := tn.nodes[9].Approve(ctx, a.CID())
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the renewed consent", func() bool {
		for _, nd := range tn.nodes {
			if !nd.InPublicSet(a.CID()) {
				return false
			}
		}
		return tn.has(c2.CID()) == len(tn.nodes)
	})
	for i, nd := range tn.nodes {
		if !nd.InPublicSet(a.CID()) {
			t.Errorf("node %d: renewed proof not offered", i)
		}
	}
	if n := scored(); n != len(tn.nodes) {
		t.Errorf("%d of %d nodes count the renewed proof", n, len(tn.nodes))
	}
}

// A retraction reaches every node; the retracted proof is no longer offered.
func TestRetractionPropagates(t *testing.T) {
	tn := newTestNet(t, 12, netOptions{degree: 3})
	tn.waitMeshes()
	ctx := context.Background()
	a, c := tn.proof(1, 4, "reliable")
	tn.waitFor(time.Minute, "the proof", func() bool { return tn.has(c.CID()) == len(tn.nodes) })
	r := &wire.Retraction{Target: wire.LinkTo(a.CID()), Created: uint64(time.Now().Unix()), Reason: "changed my mind"}
	if err := r.Sign(tn.keys[1]); err != nil {
		t.Fatal(err)
	}
	if err := tn.nodes[1].Submit(ctx, r); err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the retraction", func() bool {
		for _, nd := range tn.nodes {
			if nd.InPublicSet(a.CID()) || !nd.InPublicSet(r.CID()) { // the set follows the store
				return false
			}
		}
		return tn.has(r.CID()) == len(tn.nodes)
	})
	for i, nd := range tn.nodes {
		if nd.InPublicSet(a.CID()) {
			t.Errorf("node %d still offers the retracted attestation", i)
		}
	}
	// A retraction signed by someone else is rejected outright.
	forged := &wire.Retraction{Target: wire.LinkTo(a.CID()), Created: uint64(time.Now().Unix())}
	if err := forged.Sign(tn.keys[7]); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.nodes[0].checkGossip(ctx, encodeGossip(forged), false); err == nil || !isReject(err) {
		t.Fatalf("forged retraction: %v, want a rejection", err)
	}
}

func isReject(err error) bool { return err != nil && !errorsIs(err, errIgnore) }

// Warnings are never broadcast: a public warning, even with its subject's
// consent, is rejected on the gossip topic, never offered for resync, and
// never sent by exchange to anyone but its issuer.
func TestWarningsNeverBroadcast(t *testing.T) {
	tn := newTestNet(t, 3, netOptions{})
	ctx := context.Background()
	w := attest(t, tn.keys[0], tn.keys[1].Public(), wire.Warn, wire.PublicAudience, "public slander")
	c := &wire.Consent{Target: wire.LinkTo(w.CID()), Created: w.Created}
	if err := c.Sign(tn.keys[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.nodes[2].checkGossip(ctx, encodeGossip(w, c), false); err == nil || errors.Is(err, errIgnore) {
		t.Fatalf("a consented public warning on the topic: %v, want a rejection", err)
	}
	if err := tn.nodes[0].Submit(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.nodes[0].ingest(ctx, []wire.Object{c}); err != nil {
		t.Fatal(err)
	}
	if tn.nodes[0].InPublicSet(w.CID()) {
		t.Fatal("a public warning is in the public set")
	}
	for _, i := range []int{1, 2} {
		if _, err := tn.nodes[i].Fetch(ctx, tn.nodes[0].ID(), "", "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := tn.nodes[i].cfg.Store.Has(ctx, w.CID()); ok {
			t.Fatalf("node %d fetched a public warning", i)
		}
	}
}
