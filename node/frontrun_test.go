package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/kith-net/kith/wire"
)

// Gossip front-running (issue 24, item 1): pubsub marks a message ID seen
// before it validates the message, so were the ID to cover only part of a
// message, an attacker who sees an honest proof [A, C] could race a forgery
// sharing that part ([junk, C]) to a node ahead of it: the node would drop
// the honest message as a duplicate and, when the forgery was rejected,
// penalise the honest relay that delivered it for "a duplicate of an invalid
// message".
//
// The network: publisher P, honest relay R and victim V in a line (P-R-V,
// the R-V link slow), and two attacker hosts around R: E1, connected to P,
// sees the honest proof first, and hands it to E2, connected to V, which
// sends the forgery to V at once, well before R's copy arrives. Resync is
// off, so the proof can reach V only by gossip.
func TestGossipFrontRunning(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	for _, v := range []struct {
		name string
		// forge builds the forgery from the honest proof.
		forge  func(t *testing.T, evil *wire.PrivateKey, a *wire.Attestation, c *wire.Consent) []byte
		reject bool // the victim rejects the forgery (rather than ignores it)
	}{
		{"junk-before-consent", func(t *testing.T, _ *wire.PrivateKey, _ *wire.Attestation, c *wire.Consent) []byte {
			return encodeRaw([][]byte{[]byte("junk that is no object"), c.Raw()})
		}, true},
		{"expired-before-consent", func(t *testing.T, evil *wire.PrivateKey, a *wire.Attestation, c *wire.Consent) []byte {
			// A validly signed vouch that expired a moment ago: ignored
			// (a clock difference is nobody's fault), not rejected.
			x := &wire.Attestation{
				Subject: a.Subject, Kind: wire.Vouch, Context: "general", Strength: 60,
				Reason: "expired a moment ago", Audience: wire.PublicAudience, Nonce: make([]byte, wire.NonceSize),
				Created: uint64(testNow().Add(-time.Hour).Unix()), Expires: uint64(testNow().Add(-10 * time.Second).Unix()),
			}
			if err := x.Sign(evil); err != nil {
				t.Fatal(err)
			}
			return encodeRaw([][]byte{x.Raw(), c.Raw()})
		}, false},
	} {
		t.Run(v.name, func(t *testing.T) {
			// Mostly waiting: for meshes over the slow link, for scores.
			t.Parallel()
			const latency = time.Second // of the R-V link
			order := &orderTracer{}
			tn := newTestNet(t, 3, netOptions{links: [][2]int{{0, 1}, {1, 2}}, resync: time.Hour, configure: func(i int, c *Config) {
				if i == 2 {
					c.RawTracer = order
				}
			}})
			p, r, victim := tn.nodes[0], tn.nodes[1], tn.nodes[2]
			for _, l := range tn.mn.LinksBetweenPeers(r.ID(), victim.ID()) {
				l.SetOptions(mocknet.LinkOptions{Latency: latency})
			}
			evil1, evil2 := mustKey(t), mustKey(t)
			e1 := tn.gossipAttacker(evil1, p)
			e2 := tn.gossipAttacker(evil2, victim)
			order.watch(r.ID(), e2.id)
			tn.waitMeshes()
			waitTopicPeer(t, p, e1.id)
			waitTopicPeer(t, victim, e2.id)
			// The victim's resync with the relay on connecting is over, so
			// that only gossip can bring the proof.
			pollUntil(t, time.Minute, "the victim's first resync", func() bool { return victim.Stats().Resyncs >= 1 })

			issuer, subject := mustKey(t), mustKey(t)
			a := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "front-run me")
			c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
			if err := c.Sign(subject); err != nil {
				t.Fatal(err)
			}
			honest := encodeGossip(a, c)
			forged := v.forge(t, evil2, a, c)

			// E1 watches, E2 strikes.
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // joined below
				defer wg.Done()
				for {
					m, err := e1.sub.Next(e1.ctx)
					if err != nil {
						return
					}
					if string(m.GetData()) == string(honest) {
						_ = e2.topic.Publish(e2.ctx, forged)
						return
					}
				}
			}()
			ctx := context.Background()
			if _, err := p.ingest(ctx, []wire.Object{a, c}); err != nil {
				t.Fatal(err)
			}
			if err := p.publish(ctx, a, c); err != nil {
				t.Fatal(err)
			}
			took := tn.waitFor(time.Minute, "the honest proof at the victim, by gossip", func() bool {
				ok, _ := victim.cfg.Store.Has(ctx, c.CID())
				return ok
			})
			wg.Wait()
			t.Logf("honest proof at the victim %v after publication (R-V link latency %v)", took.Round(time.Millisecond), latency)

			// The forgery did come first, and was judged on its own.
			first := order.first()
			if first.from != e2.id {
				t.Fatalf("the victim received %v first, not the forgery: the attack did not run", first)
			}
			if v.reject {
				if first.verdict != "reject" {
					t.Errorf("the victim's verdict on the forgery: %s, want reject", first.verdict)
				}
			} else if first.verdict != "ignore" {
				t.Errorf("the victim's verdict on the forgery: %s, want ignore", first.verdict)
			}
			if got := order.verdictFrom(r.ID()); got != "deliver" {
				t.Errorf("the victim's verdict on the relay's honest copy: %q, want deliver", got)
			}
			// The honest relay is not penalised; a rejected forger is.
			sr := freshScore(t, victim, r.ID())
			se := freshScore(t, victim, e2.id)
			t.Logf("the victim scores the honest relay %.1f, the forger %.1f", sr, se)
			if sr < 0 {
				t.Errorf("the victim scores the honest relay %.1f: penalised for the forgery", sr)
			}
			if v.reject && se >= 0 {
				t.Errorf("the victim scores the forger %.1f, want a penalty", se)
			}
		})
	}
}

// waitTopicPeer waits until n lists p as a peer on the topic.
func waitTopicPeer(t *testing.T, n *Node, p peer.ID) {
	t.Helper()
	pollUntil(t, time.Minute, fmt.Sprintf("%s on the topic of %s", p.ShortString(), n.ID().ShortString()), func() bool {
		for _, q := range n.TopicPeers() {
			if q == p {
				return true
			}
		}
		return false
	})
}

// orderTracer records, in order, pubsub's verdicts on the messages a node
// receives from the peers it watches.
type orderTracer struct {
	mu      sync.Mutex
	watched map[peer.ID]bool
	events  []verdict
}

type verdict struct {
	from    peer.ID
	verdict string // deliver, reject, ignore, duplicate
}

func (o *orderTracer) watch(ps ...peer.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.watched = map[peer.ID]bool{}
	for _, p := range ps {
		o.watched[p] = true
	}
}

func (o *orderTracer) add(m *pubsub.Message, what string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.watched[m.ReceivedFrom] {
		o.events = append(o.events, verdict{m.ReceivedFrom, what})
	}
}

func (o *orderTracer) first() verdict {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.events) == 0 {
		return verdict{}
	}
	return o.events[0]
}

func (o *orderTracer) verdictFrom(p peer.ID) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if e.from == p {
			return e.verdict
		}
	}
	return ""
}

func (o *orderTracer) DeliverMessage(m *pubsub.Message) { o.add(m, "deliver") }
func (o *orderTracer) RejectMessage(m *pubsub.Message, reason string) {
	if reason == pubsub.RejectValidationIgnored {
		o.add(m, "ignore")
		return
	}
	o.add(m, "reject")
}
func (o *orderTracer) DuplicateMessage(m *pubsub.Message)   { o.add(m, "duplicate") }
func (*orderTracer) AddPeer(peer.ID, protocol.ID)           {}
func (*orderTracer) RemovePeer(peer.ID)                     {}
func (*orderTracer) Join(string)                            {}
func (*orderTracer) Leave(string)                           {}
func (*orderTracer) Graft(peer.ID, string)                  {}
func (*orderTracer) Prune(peer.ID, string)                  {}
func (*orderTracer) ValidateMessage(*pubsub.Message)        {}
func (*orderTracer) ThrottlePeer(peer.ID)                   {}
func (*orderTracer) RecvRPC(*pubsub.RPC)                    {}
func (*orderTracer) SendRPC(*pubsub.RPC, peer.ID)           {}
func (*orderTracer) DropRPC(*pubsub.RPC, peer.ID)           {}
func (*orderTracer) UndeliverableMessage(m *pubsub.Message) {}
