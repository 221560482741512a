package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/wire"
)

// A peer flooding forged and malformed messages is rejected, its score
// drops below the graylist threshold, nothing it sends is stored, and an
// honest proof published during the flood still reaches every node.
func TestFloodRejected(t *testing.T) {
	tn := newTestNet(t, 20, netOptions{degree: 4})
	ctx := context.Background()

	// The attacker: a plain gossipsub host on the same topic, without our
	// validator, connected to five honest nodes.
	evilKey, err := wire.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	victims := tn.nodes[:5]
	h, et, evilCtx := tn.attacker(evilKey, victims...)
	tn.waitMeshes()

	// Forgeries: proofs whose signatures do not verify, proofs for
	// attestations with a consent by the wrong key, private attestations,
	// and garbage.
	honestKey := tn.keys[10]
	var forged [][]byte
	for i := 0; i < 300; i++ {
		a := attest(t, evilKey, tn.keys[i%20].Public(), wire.Warn, wire.PublicAudience, fmt.Sprintf("slander %d", i))
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(evilKey); err != nil { // signed by the wrong key: not the subject
			t.Fatal(err)
		}
		switch i % 4 {
		case 0:
			forged = append(forged, encodeGossip(a, c))
		case 1:
			raw := append([]byte(nil), a.Raw()...)
			raw[len(raw)-3] ^= 0x40 // breaks the signature
			m := gossipMessage{V: protoVersion, Objs: [][]byte{raw, c.Raw()}}
			b, _ := msgEnc.Marshal(m)
			forged = append(forged, b)
		case 2:
			p := attest(t, honestKey, tn.keys[(i+1)%20].Public(), wire.Vouch, wire.PrivateAudience, "private")
			forged = append(forged, encodeGossip(p))
		case 3:
			junk := make([]byte, 100+i)
			rand.Read(junk)
			forged = append(forged, junk)
		}
	}
	floodStart := time.Now()
	// Watch the victims' scores from the start of the flood: the honest
	// proof below needs a consent exchange, which can take seconds on a
	// loaded machine, and must not count as graylisting delay.
	graylistedAt := make(chan time.Duration, 1)
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() { // joined through watchDone
		defer close(watchDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			all := true
			for _, v := range victims {
				if s, ok := v.scores()[h]; !ok || s >= GraylistThreshold {
					all = false
					break
				}
			}
			if all {
				graylistedAt <- time.Since(floodStart)
				return
			}
			select {
			case <-stopWatch:
				return
			case <-tick.C:
			}
		}
	}()
	done := make(chan struct{})
	go func() { // the attacker; joined through done
		defer close(done)
		for _, b := range forged {
			if err := et.Publish(evilCtx, b); err != nil {
				return
			}
		}
	}()
	// An honest proof during the flood.
	a, c := tn.proof(12, 15, "honest")
	took := tn.waitFor(time.Minute, "the honest proof", func() bool { return tn.has(c.CID()) == len(tn.nodes) && tn.has(a.CID()) == len(tn.nodes) })
	<-done
	t.Logf("honest proof reached %d nodes in %v during the flood", len(tn.nodes), took)

	// Every victim rejected the attacker and scores it below the graylist.
	// Scores are sampled once a second (WithPeerScoreInspect), so the
	// delay measured is an upper bound of the real one.
	var graylisted time.Duration
	select {
	case graylisted = <-graylistedAt:
	case <-time.After(time.Minute):
		close(stopWatch)
		<-watchDone
		t.Fatalf("attacker not below the graylist threshold on every victim %v after the flood began", time.Since(floodStart).Round(time.Millisecond))
	}
	<-watchDone
	t.Logf("attacker below the graylist threshold on all %d victims %v after the flood began", len(victims), graylisted.Round(time.Millisecond))
	rejected := int64(0)
	for i, nd := range tn.nodes {
		rejected += nd.rejected.Load()
		if n, _ := nd.cfg.Store.Count(ctx); n > 4 {
			t.Errorf("node %d stores %d objects; the flood got in", i, n)
		}
	}
	for _, v := range victims {
		t.Logf("victim %s scores the attacker %.0f", v.ID().ShortString(), v.scores()[h])
	}
	if rejected == 0 {
		t.Fatal("nothing was rejected")
	}
	t.Logf("%d messages rejected in all", rejected)
}

// attacker adds a plain gossipsub host with key to the network, without
// our validator, joined to the topic and connected to victims. It returns
// the host's ID, its topic handle and a context cancelled when the test
// ends.
func (tn *testNet) attacker(key *wire.PrivateKey, victims ...*Node) (peer.ID, *pubsub.Topic, context.Context) {
	ga := tn.gossipAttacker(key, victims...)
	return ga.id, ga.topic, ga.ctx
}

// gossipAttacker is a plain gossipsub peer on the topic: no validator, so
// it relays and publishes whatever it likes.
type gossipAttacker struct {
	id    peer.ID
	topic *pubsub.Topic
	sub   *pubsub.Subscription // what the attacker receives
	ctx   context.Context      // cancelled when the test ends
}

// addHost adds a plain host with key to the network, on an address of its
// own, connected to victims.
func (tn *testNet) addHost(key *wire.PrivateKey, victims ...*Node) host.Host {
	t := tn.t
	t.Helper()
	priv, _, err := Identity(key)
	if err != nil {
		t.Fatal(err)
	}
	tn.mu.Lock()
	tn.attackers++
	addr := ma.StringCast(fmt.Sprintf("/ip4/100.65.%d.%d/tcp/4001", tn.attackers/250, tn.attackers%250+1))
	tn.mu.Unlock()
	h, err := tn.mn.AddPeer(priv, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	for _, v := range victims {
		if _, err := tn.mn.ConnectPeers(h.ID(), v.ID()); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// gossipAttacker adds such a peer with key to the network, on an address
// of its own, connected to victims.
func (tn *testNet) gossipAttacker(key *wire.PrivateKey, victims ...*Node) *gossipAttacker {
	t := tn.t
	t.Helper()
	h := tn.addHost(key, victims...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	eps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor(), pubsub.WithMessageIdFn(GossipID))
	if err != nil {
		t.Fatal(err)
	}
	et, err := eps.Join(TopicName)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := et.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	return &gossipAttacker{id: h.ID(), topic: et, sub: sub, ctx: ctx}
}

// stale returns a validly signed proof by a fresh issuer about a fresh
// subject that expired at expired.
func staleProof(t *testing.T, expired time.Time) []byte {
	t.Helper()
	issuer, subject := mustKey(t), mustKey(t)
	a := &wire.Attestation{
		Subject: wire.KeySubject(subject.Public()), Kind: wire.Vouch, Context: "general", Strength: 80, Audience: wire.PublicAudience,
		Created: uint64(expired.Add(-time.Hour).Unix()), Expires: uint64(expired.Unix()), Nonce: make([]byte, wire.NonceSize),
	}
	if err := a.Sign(issuer); err != nil {
		t.Fatal(err)
	}
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	if err := c.Sign(subject); err != nil {
		t.Fatal(err)
	}
	return encodeGossip(a, c)
}

// Issue 24, item 8: validly signed proofs that expired, from many
// identities, cost the victim no signature check; those expired just now
// (a clock difference) are ignored without penalty, those expired long ago
// (which the relay validated, so knew) are rejected: one takes the sender
// below the graylist threshold.
func TestStaleProofsPenalised(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	tn := newTestNet(t, 2, netOptions{})
	victim := tn.nodes[0]
	ea := tn.gossipAttacker(mustKey(t), victim)
	tn.waitMeshes()
	waitTopicPeer(t, victim, ea.id)
	ctx := context.Background()

	// One at a time, each once the victim has taken the one before (the
	// attacker's own queue to the victim would drop a burst), until the
	// victim has validated n; one it never takes (dropped on the way, on a
	// loaded machine) is replaced by another.
	publish := func(n int, expired time.Time) {
		for taken := 0; taken < n; {
			seen := victim.Stats().Validated
			if err := ea.topic.Publish(ea.ctx, staleProof(t, expired)); err != nil {
				t.Fatal(err)
			}
			for wait := time.Now(); time.Since(wait) < 5*time.Second; time.Sleep(5 * time.Millisecond) {
				if victim.Stats().Validated > seen {
					taken++
					break
				}
			}
		}
	}
	// verdicts waits until the validator has decided on every message
	// pubsub handed it (pubsub counts a message validated before the
	// validator runs).
	verdicts := func(since Stats) Stats {
		var st Stats
		pollUntil(t, time.Minute, "the victim's verdicts", func() bool {
			st = victim.Stats()
			return st.Ignored+st.Rejected-since.Ignored-since.Rejected == st.Validated-since.Validated
		})
		return st
	}
	checks := victim.sigChecks.Load()
	before := victim.Stats()
	publish(100, time.Now().Add(-time.Minute)) // within the grace: ignored
	mid := verdicts(before)
	if ignored, validated := mid.Ignored-before.Ignored, mid.Validated-before.Validated; ignored != validated || validated < 100 || mid.Rejected != before.Rejected {
		t.Errorf("the victim validated %d proofs that expired a minute ago, ignored %d, rejected %d; want all ignored", validated, ignored, mid.Rejected-before.Rejected)
	}
	s := freshScore(t, victim, ea.id)
	t.Logf("100 proofs expired a minute ago: ignored, score %.1f", s)
	if s < 0 {
		t.Errorf("the victim penalised proofs expired within the grace (score %.1f)", s)
	}
	publish(1, time.Now().Add(-time.Hour)) // long expired: rejected
	if got := verdicts(mid).Rejected - mid.Rejected; got != 1 {
		t.Errorf("the victim rejected %d proofs that expired an hour ago, want 1", got)
	}
	s, _ = scoreWhen(t, victim, ea.id, time.Minute, "the sender below the graylist threshold", func(s float64) bool { return s < GraylistThreshold })
	after := victim.Stats()
	t.Logf("a proof expired an hour ago: %d rejected, score %.1f; signature checks for all 101: %d", after.Rejected-before.Rejected, s, victim.sigChecks.Load()-checks)
	if got := victim.sigChecks.Load() - checks; got != 0 {
		t.Errorf("the victim checked %d signatures of expired proofs", got)
	}
	if n, _ := victim.cfg.Store.Count(ctx); n != 0 {
		t.Errorf("the victim stored %d objects of expired proofs", n)
	}
}
