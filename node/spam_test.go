package node

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// The control spam suite, test G2 of the reliability plan: a port of
// go-libp2p-pubsub's gossipsub_spam_test.go to our node, with our score
// parameters and our validator. A real node runs on loopback; the attacker
// is a plain libp2p host that speaks gossipsub by hand, writing raw
// control RPCs and reading what the node sends back, as pubsub's own mock
// peer does.

// The figures of G2.
const (
	planIWantCopies   = 4    // full copies of one message a peer gets, however often it asks (IWANT)
	planIHaveIDs      = 5000 // message IDs a node asks one peer for per heartbeat (IWANT after IHAVE)
	planIHaveMsgs     = 10   // IHAVE messages of one peer a node acts on per heartbeat
	planIDontWantMsgs = 1000 // IDONTWANT messages of one peer a node acts on per heartbeat
)

// spamProto is the gossipsub version the attacker speaks: v1.2, which has
// IDONTWANT and, unlike v1.3, no extensions handshake to play along with.
const spamProto = pubsub.GossipSubID_v12

// maxSpamRPC bounds what the attacker reads from the node in one RPC.
const maxSpamRPC = 4 << 20

// spamPeer is a node under test and a hand-driven gossipsub peer connected
// to it.
type spamPeer struct {
	t   *testing.T
	n   *Node
	h   host.Host
	out network.Stream // to the node
	in  chan *pb.RPC   // from the node, in order

	mu     sync.Mutex // guards closed
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup // stream handlers
}

// newSpamPeer starts a node on loopback and connects an attacker host to
// it. It returns once the node has opened its gossip stream to the
// attacker (and said hello with its subscription) and the attacker has
// opened one to the node; the attacker has not subscribed yet. Everything
// is closed when the test ends.
func newSpamPeer(ctx context.Context, t *testing.T) *spamPeer {
	t.Helper()
	n, err := Start(ctx, Config{Key: mustKey(t), Store: mem.New(), Listen: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true, NoDHT: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	addrs := n.Host().Addrs()
	for _, a := range addrs {
		if !manet.IsIPLoopback(a) {
			t.Fatalf("the node listens on %s, not loopback", a)
		}
	}
	// A kith identity, so that the node's application-specific score of
	// the attacker is 0 (the owner's trust), not the -1 of a peer whose
	// ID is no kith key: every score below comes from its behaviour.
	priv, _, err := Identity(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	sp := &spamPeer{t: t, n: n, h: h, in: make(chan *pb.RPC, 1024), done: make(chan struct{})}
	t.Cleanup(sp.close)
	h.SetStreamHandler(spamProto, sp.handle)
	if err := h.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: addrs}); err != nil {
		t.Fatal(err)
	}
	hello := sp.until(5*time.Second, func(r *pb.RPC) bool {
		for _, s := range r.GetSubscriptions() {
			if s.GetSubscribe() && s.GetTopicid() == TopicName {
				return true
			}
		}
		return false
	})
	if !hello {
		t.Fatalf("the node did not open a %s stream announcing %s", spamProto, TopicName)
	}
	if sp.out, err = h.NewStream(ctx, n.ID(), spamProto); err != nil {
		t.Fatal(err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = sp.out.SetDeadline(dl)
	}
	return sp
}

func (sp *spamPeer) close() {
	sp.mu.Lock()
	sp.closed = true
	sp.mu.Unlock()
	close(sp.done)
	if err := sp.h.Close(); err != nil {
		sp.t.Errorf("close attacker host: %v", err)
	}
	sp.wg.Wait()
}

// handle reads the RPCs of a stream the node opened: unsigned-varint
// length, then the protobuf, as pubsub frames them (comm.go).
func (sp *spamPeer) handle(s network.Stream) {
	sp.mu.Lock()
	if sp.closed {
		sp.mu.Unlock()
		s.Reset()
		return
	}
	sp.wg.Add(1)
	sp.mu.Unlock()
	defer sp.wg.Done()
	defer s.Reset()
	r := bufio.NewReader(s)
	for {
		size, err := binary.ReadUvarint(r)
		if err != nil || size > maxSpamRPC {
			return
		}
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		rpc := new(pb.RPC)
		if err := rpc.Unmarshal(b); err != nil {
			return
		}
		select {
		case sp.in <- rpc:
		case <-sp.done:
			return
		}
	}
}

// send writes RPCs to the node in one burst.
func (sp *spamPeer) send(rpcs ...*pb.RPC) {
	sp.t.Helper()
	var buf []byte
	for _, r := range rpcs {
		b, err := r.Marshal()
		if err != nil {
			sp.t.Fatal(err)
		}
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	if _, err := sp.out.Write(buf); err != nil {
		sp.t.Fatalf("writing %d RPCs (%d bytes) to the node: %v", len(rpcs), len(buf), err)
	}
}

// until hands the node's RPCs to f until f returns true (then until
// returns true) or timeout passes.
func (sp *spamPeer) until(timeout time.Duration, f func(*pb.RPC) bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case r := <-sp.in:
			if f(r) {
				return true
			}
		case <-timer.C:
			return false
		}
	}
}

// quiet hands the node's RPCs to f until none came for idle (or max
// passed).
func (sp *spamPeer) quiet(idle, max time.Duration, f func(*pb.RPC)) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	for {
		select {
		case r := <-sp.in:
			f(r)
		case <-time.After(idle):
			return
		case <-deadline.C:
			return
		}
	}
}

// window returns the RPCs the node sends before its next heartbeat, which
// the attacker sees as the node's IHAVE gossip: gossip is emitted only by
// the heartbeat, after it reset the per-peer IHAVE and IDONTWANT counters,
// and flushed before it ends, so an RPC carrying IHAVE starts a new
// heartbeat interval. The node gossips to the attacker only if the
// attacker is a topic peer outside its mesh and the node published or
// received a message in the last 3 heartbeats (pubsub's HistoryGossip).
//
// It also returns when the last of those RPCs arrived (the zero time if
// none did). A burst sent right after the heartbeat gossip and answered
// well within the heartbeat interval was handled within one heartbeat.
func (sp *spamPeer) window() (got []*pb.RPC, last time.Time) {
	sp.t.Helper()
	marked := sp.until(10*time.Second, func(r *pb.RPC) bool {
		if len(r.GetControl().GetIhave()) > 0 {
			return true
		}
		got = append(got, r)
		last = time.Now()
		return false
	})
	if !marked {
		sp.t.Fatal("no heartbeat gossip (IHAVE) from the node within 10 s")
	}
	return got, last
}

// join subscribes the attacker to the node's topic, with a control message
// in the same RPC, and waits until the node lists it as a topic peer.
func (sp *spamPeer) join(ctl *pb.ControlMessage) {
	sp.t.Helper()
	yes, topic := true, TopicName
	sp.send(&pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &yes, Topicid: &topic}}, Control: ctl})
	pollUntil(sp.t, 30*time.Second, "the node to list the attacker on its topic", func() bool {
		return slices.Contains(sp.n.topic.ListPeers(), sp.h.ID())
	})
}

// stayOut is the control message that keeps the attacker out of the
// node's mesh (a PRUNE asking for a 10-minute backoff), so that the node
// gossips IHAVE to it at every heartbeat (see window).
func stayOut() *pb.ControlMessage {
	topic, backoff := TopicName, uint64(600)
	return &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: &backoff}}}
}

// publishProof has the node publish a fresh valid proof (a public vouch
// and its subject's consent, through the node's validator) and returns
// its message ID.
func (sp *spamPeer) publishProof(ctx context.Context, reason string) string {
	sp.t.Helper()
	issuer, subject := mustKey(sp.t), mustKey(sp.t)
	a := attest(sp.t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, reason)
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	if err := c.Sign(subject); err != nil {
		sp.t.Fatal(err)
	}
	if err := sp.n.publish(ctx, a, c); err != nil {
		sp.t.Fatal(err)
	}
	return GossipID(&pb.Message{Data: encodeGossip(a, c)})
}

func iwantRPC(ids ...string) *pb.RPC {
	return &pb.RPC{Control: &pb.ControlMessage{Iwant: []*pb.ControlIWant{{MessageIDs: ids}}}}
}

func ihaveRPC(ids ...string) *pb.RPC {
	topic := TopicName
	return &pb.RPC{Control: &pb.ControlMessage{Ihave: []*pb.ControlIHave{{TopicID: &topic, MessageIDs: ids}}}}
}

func idontwantRPC(ids ...string) *pb.RPC {
	return &pb.RPC{Control: &pb.ControlMessage{Idontwant: []*pb.ControlIDontWant{{MessageIDs: ids}}}}
}

// fakeID is the i-th of 262144 made-up message IDs of 3 bytes: short
// enough that an IHAVE of 6000 of them fits the node's RPC size limit.
func fakeID(i int) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return string([]byte{digits[i>>12&63], digits[i>>6&63], digits[i&63]})
}

// served returns the IDs of the messages in rpcs.
func served(rpcs []*pb.RPC) map[string]int {
	m := map[string]int{}
	for _, r := range rpcs {
		for _, msg := range r.GetPublish() {
			m[GossipID(msg)]++
		}
	}
	return m
}

func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// freshScore returns the node's gossip score of p from a snapshot taken
// after the call. Pubsub hands the node a snapshot of its scores once a
// second (WithPeerScoreInspect), from a goroutine of its own, so the
// second snapshot to arrive is surely newer than the call.
func freshScore(t *testing.T, n *Node, p peer.ID) float64 {
	t.Helper()
	prev := n.board.get()
	for changes := 0; changes < 2; {
		pollUntil(t, 10*time.Second, "a peer score snapshot", func() bool {
			cur := n.board.get()
			if reflect.ValueOf(cur).Pointer() == reflect.ValueOf(prev).Pointer() {
				return false
			}
			prev = cur
			return true
		})
		changes++
	}
	s, ok := prev[p]
	if !ok {
		t.Fatalf("the node has no score for %s", p)
	}
	return s
}

// scoreWhen waits until the node's score of p satisfies cond and returns
// it, with how long that took.
func scoreWhen(t *testing.T, n *Node, p peer.ID, timeout time.Duration, what string, cond func(float64) bool) (float64, time.Duration) {
	t.Helper()
	var s float64
	took := pollUntil(t, timeout, what, func() bool {
		var ok bool
		s, ok = n.scores()[p]
		return ok && cond(s)
	})
	return s, took
}

// TestSpamIWant (port of TestGossipsubAttackSpamIWANT) checks G2's "IWANT
// answered <= 4x per ID": a peer that keeps asking for one message gets it
// at most 4 times in all, the copy the node published to it over the mesh
// plus GossipRetransmission (3) answers to IWANT, however many IWANTs it
// sends.
func TestSpamIWant(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	if got := 1 + pubsub.GossipSubGossipRetransmission; got != planIWantCopies {
		t.Fatalf("pubsub's default retransmission gives %d copies, the plan says %d", got, planIWantCopies)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sp := newSpamPeer(ctx, t)
	topic := TopicName
	sp.join(&pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}})

	id := sp.publishProof(ctx, "asked for again and again")
	copies := 0
	count := func(r *pb.RPC) { copies += served([]*pb.RPC{r})[id] }
	if !sp.until(5*time.Second, func(r *pb.RPC) bool { count(r); return copies > 0 }) {
		t.Fatal("the node did not publish the proof to its topic peer")
	}
	const asks = 20
	sp.send(slices.Repeat([]*pb.RPC{iwantRPC(id)}, asks)...)
	sp.quiet(time.Second, 5*time.Second, count)
	answered := copies - 1
	t.Logf("%d IWANTs for one message ID: %d answered; %d full copies in all (plan: <= %d)", asks, answered, copies, planIWantCopies)
	if copies > planIWantCopies {
		t.Errorf("the attacker got the message %d times, want at most %d", copies, planIWantCopies)
	}
	if answered < 1 {
		t.Error("the node never answered IWANT: the cap was not exercised")
	}
}

// TestSpamIHave (port of TestGossipsubAttackSpamIHAVE) checks G2's "<= 1
// IWANT per IHAVE heartbeat ... <= 5000 IHAVE IDs and <= 10 IHAVE msgs per
// heartbeat": in one heartbeat the node answers at most 10 IHAVE messages
// of a peer, each with one IWANT at most, and asks it for at most 5000
// message IDs in all, whatever the peer advertises; an ID advertised again
// and again is asked for at most 10 times a heartbeat; the caps reset at
// every heartbeat; and a peer that does not deliver what it advertised is
// penalised (P7) once the IWANT follow-up time has passed.
func TestSpamIHave(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	if pubsub.GossipSubMaxIHaveLength != planIHaveIDs || pubsub.GossipSubMaxIHaveMessages != planIHaveMsgs {
		t.Fatalf("pubsub's defaults are %d IDs and %d IHAVEs per heartbeat, the plan says %d and %d",
			pubsub.GossipSubMaxIHaveLength, pubsub.GossipSubMaxIHaveMessages, planIHaveIDs, planIHaveMsgs)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	sp := newSpamPeer(ctx, t)
	sp.join(stayOut())
	sp.publishProof(ctx, "heartbeat marker")
	sp.window() // up to the first heartbeat after the publication

	// tally counts the node's IWANT requests (one per IHAVE it acted on)
	// and the message IDs they ask for.
	tally := func(rpcs []*pb.RPC) (iwants, ids int) {
		for _, r := range rpcs {
			for _, w := range r.GetControl().GetIwant() {
				iwants++
				ids += len(w.GetMessageIDs())
			}
		}
		return iwants, ids
	}
	// Heartbeats are 1 s apart, and the node's IWANTs are promises the
	// attacker breaks: 3 s later (IWantFollowupTime) each costs a behaviour
	// penalty. The heartbeat that applies them may stop the node's gossip
	// to the attacker, which marks the heartbeats: so the burst with the
	// most promises comes second, and the test is done with heartbeats
	// before its promises expire.

	// Many IHAVEs of one and the same ID in one heartbeat. Pubsub does not
	// remember what it asked for in a heartbeat: it asks again at every
	// IHAVE it acts on, so the IHAVE cap is what bounds this. (These IWANTs
	// are one promise: pubsub tracks an ID once.)
	const perIHave, shared = 6000, 1 << 17
	var burst []*pb.RPC
	for range 3 * planIHaveMsgs {
		burst = append(burst, ihaveRPC(fakeID(shared)))
	}
	sp.publishProof(ctx, "heartbeat marker") // keeps the node gossiping
	sp.send(burst...)
	rpcs, _ := sp.window()
	iwants0, ids0 := tally(rpcs)
	t.Logf("%d IHAVEs of one same ID in one heartbeat: %d answered with IWANT, the ID asked for %d times", len(burst), iwants0, ids0)
	if iwants0 > planIHaveMsgs || ids0 > planIHaveMsgs {
		t.Errorf("the node answered %d IHAVEs of one ID in one heartbeat, asking %d times; want at most %d", iwants0, ids0, planIHaveMsgs)
	}

	// Next heartbeat: many IHAVEs, one unknown ID each.
	burst = burst[:0]
	for i := range 3 * planIHaveMsgs {
		burst = append(burst, ihaveRPC(fakeID(i)))
	}
	sp.publishProof(ctx, "heartbeat marker")
	start := time.Now()
	sp.send(burst...)
	rpcs, last1 := sp.window()
	iwants1, ids1 := tally(rpcs)
	t.Logf("%d IHAVEs of 1 ID in the next heartbeat: %d answered with IWANT, %d IDs asked, within %v (plan: <= %d IHAVEs per heartbeat, <= 1 IWANT per IHAVE)",
		len(burst), iwants1, ids1, last1.Sub(start).Round(time.Millisecond), planIHaveMsgs)
	if iwants1 > planIHaveMsgs {
		t.Errorf("the node answered %d IHAVEs in one heartbeat, want at most %d", iwants1, planIHaveMsgs)
	}
	if iwants1 < 1 {
		t.Error("the node answered no IHAVE: the cap was not exercised")
	}
	// Each IWANT answers one IHAVE (names one ID), and no IHAVE twice.
	asked := map[string]int{}
	for _, r := range rpcs {
		for _, w := range r.GetControl().GetIwant() {
			if len(w.GetMessageIDs()) != 1 {
				t.Errorf("an IWANT names %d IDs, each IHAVE advertised 1", len(w.GetMessageIDs()))
			}
			for _, id := range w.GetMessageIDs() {
				asked[id]++
			}
		}
	}
	for id, k := range asked {
		if k > 1 {
			t.Errorf("the node sent %d IWANTs for the IHAVE of %q in one heartbeat, want at most 1", k, id)
		}
	}

	// Next heartbeat: IHAVEs listing more IDs than the cap, unknown each.
	burst = burst[:0]
	for k := range planIHaveMsgs + 2 {
		ids := make([]string, perIHave)
		for i := range ids {
			ids[i] = fakeID(1000 + k*perIHave + i)
		}
		burst = append(burst, ihaveRPC(ids...))
	}
	sp.publishProof(ctx, "heartbeat marker")
	start = time.Now()
	sp.send(burst...)
	rpcs, last2 := sp.window()
	iwants2, ids2 := tally(rpcs)
	t.Logf("%d IHAVEs of %d IDs in the next heartbeat: %d answered with IWANT, %d IDs asked, within %v (plan: <= %d IDs per heartbeat)", len(burst), perIHave, iwants2, ids2, last2.Sub(start).Round(time.Millisecond), planIHaveIDs)
	if ids2 > planIHaveIDs {
		t.Errorf("the node asked for %d message IDs in one heartbeat, want at most %d", ids2, planIHaveIDs)
	}
	if iwants2 > planIHaveMsgs {
		t.Errorf("the node answered %d IHAVEs in one heartbeat, want at most %d", iwants2, planIHaveMsgs)
	}
	if ids2 < 1 {
		t.Error("the node asked for nothing after the heartbeat: the caps did not reset")
	}

	// The attacker delivers none of what it advertised: each promise
	// broken is one behaviour penalty. Above BehaviourPenaltyThreshold
	// the score falls.
	params, _ := scoreParams(func(peer.ID) float64 { return 0 })
	promises := min(iwants0, 1) + iwants1 + iwants2
	if float64(promises) <= params.BehaviourPenaltyThreshold {
		t.Logf("%d broken promises, not above the penalty threshold %.0f: score not checked", promises, params.BehaviourPenaltyThreshold)
		return
	}
	s, _ := scoreWhen(t, sp.n, sp.h.ID(), pubsub.GossipSubIWantFollowupTime+4*time.Second, "the attacker's score to fall for broken IWANT promises", func(s float64) bool { return s < 0 })
	t.Logf("%d IWANT promises broken: the attacker's score is %.1f, %v after the IWANTs of the second burst (follow-up time %v)", promises, s, time.Since(last1).Round(10*time.Millisecond), pubsub.GossipSubIWantFollowupTime)
}

// TestSpamGraftDuringBackoff (port of TestGossipsubAttackGRAFTDuringBackoff)
// checks G2's "GRAFT-in-backoff => P7 penalty": a peer that GRAFTs while
// the node backs off from it is refused with a PRUNE and penalised, 2
// behaviour penalties a GRAFT within GraftFloodThreshold (10 s) of the
// backoff. With our BehaviourPenaltyThreshold of 6 the first 3 such GRAFTs
// cost nothing; the 4th makes the score negative (about -40, below the
// gossip threshold), the 5th takes it below the graylist threshold (about
// -160), and from then on the node drops the peer's RPCs: no more PRUNE.
func TestSpamGraftDuringBackoff(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	params, _ := scoreParams(func(peer.ID) float64 { return 0 })
	sp := newSpamPeer(ctx, t)
	id := sp.h.ID()
	topic := TopicName
	graft := &pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}}
	sp.join(graft.Control)

	prunes := 0
	countPrunes := func(r *pb.RPC) { prunes += len(r.GetControl().GetPrune()) }
	sp.quiet(200*time.Millisecond, time.Second, countPrunes)
	if prunes != 0 {
		t.Fatalf("the node sent %d PRUNEs to a peer that grafted in good standing", prunes)
	}
	// The attacker leaves the mesh without asking for a backoff: the node
	// backs off from it for PruneBackoff (1 minute).
	sp.send(&pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic}}}})

	grafts := 0
	graftInBackoff := func() {
		t.Helper()
		grafts++
		before := prunes
		sp.send(graft)
		if !sp.until(2*time.Second, func(r *pb.RPC) bool { countPrunes(r); return prunes > before }) {
			t.Fatalf("GRAFT %d in backoff: no PRUNE", grafts)
		}
	}
	penalty := func() float64 { return 2 * float64(grafts) } // before decay

	free := int(params.BehaviourPenaltyThreshold) / 2
	for range free {
		graftInBackoff()
	}
	s := freshScore(t, sp.n, id)
	t.Logf("%d GRAFTs in backoff: %d PRUNEs, behaviour penalty %.0f (threshold %.0f), score %.2f", grafts, prunes, penalty(), params.BehaviourPenaltyThreshold, s)
	if s < 0 {
		t.Errorf("score %.2f after %d GRAFTs in backoff, want >= 0 (penalty %.0f not above the threshold %.0f)", s, grafts, penalty(), params.BehaviourPenaltyThreshold)
	}

	graftInBackoff()
	s, took := scoreWhen(t, sp.n, id, 10*time.Second, "the score to turn negative", func(s float64) bool { return s < 0 })
	most := params.BehaviourPenaltyWeight * (penalty() - params.BehaviourPenaltyThreshold) * (penalty() - params.BehaviourPenaltyThreshold)
	t.Logf("%d GRAFTs in backoff: %d PRUNEs, score %.2f within %v (P7 at most %.0f; gossip threshold %d)", grafts, prunes, s, took.Round(10*time.Millisecond), most, GossipThreshold)
	if s < most-0.5 {
		t.Errorf("score %.2f, below the P7 of a penalty of %.0f (%.0f): another penalty counted", s, penalty(), most)
	}

	graftInBackoff()
	s, took = scoreWhen(t, sp.n, id, 10*time.Second, "the score to fall below the graylist threshold", func(s float64) bool { return s < GraylistThreshold })
	t.Logf("%d GRAFTs in backoff: %d PRUNEs, score %.2f within %v (graylist threshold %d)", grafts, prunes, s, took.Round(10*time.Millisecond), GraylistThreshold)

	// Graylisted: the node drops the attacker's RPCs, GRAFT included.
	before := prunes
	sp.send(graft)
	sp.quiet(500*time.Millisecond, 2*time.Second, countPrunes)
	t.Logf("a GRAFT once graylisted: %d PRUNEs back", prunes-before)
	if prunes != before {
		t.Errorf("the node answered a graylisted peer's GRAFT with %d PRUNEs, want none", prunes-before)
	}
	if prunes != free+2 {
		t.Errorf("%d PRUNEs for %d GRAFTs in backoff", prunes, free+2)
	}
}

// TestSpamIDontWant (port of TestGossipsubAttackSpamIDONTWANT and
// TestGossipsubHandleIDontwantSpam) checks G2's "IDONTWANT capped at
// 1000": in one heartbeat the node acts on at most 1000 IDONTWANT messages
// of a peer (and on at most MaxIDontWantLength, 10, IDs of each), and
// stays healthy when flooded: it still serves the messages the caps left
// wanted, and honours IDONTWANT again at the next heartbeat.
//
// An IDONTWANT is observed through IWANT: the node does not answer an
// IWANT for a message its peer said it does not want. (Its other effect,
// not pushing the message to that peer over the mesh, is not observed:
// the attacker stays out of the node's mesh, so as to see its heartbeats,
// and the node, which does not flood-publish, sends it no message unasked.)
func TestSpamIDontWant(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	if pubsub.GossipSubMaxIDontWantMessages != planIDontWantMsgs {
		t.Fatalf("pubsub's default is %d IDONTWANTs per heartbeat, the plan says %d", pubsub.GossipSubMaxIDontWantMessages, planIDontWantMsgs)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sp := newSpamPeer(ctx, t)
	sp.join(stayOut())
	var (
		inList   = sp.publishProof(ctx, "first ID of a long IDONTWANT")
		pastList = sp.publishProof(ctx, "last ID of a long IDONTWANT")
		atCap    = sp.publishProof(ctx, "in the 1000th IDONTWANT")
		pastCap  = sp.publishProof(ctx, "in the 1001st IDONTWANT")
		nextBeat = sp.publishProof(ctx, "in an IDONTWANT at the next heartbeat")
	)
	sp.window() // up to the first heartbeat after the publications

	// One IDONTWANT of more than 1000 IDs, then IDONTWANTs of one ID up
	// to the 1000th, and a 1001st; then ask for the messages named.
	long := []string{inList}
	for i := range planIDontWantMsgs {
		long = append(long, fmt.Sprintf("unwanted-%04d", i))
	}
	long = append(long, pastList)
	burst := []*pb.RPC{idontwantRPC(long...)}
	for len(burst) < planIDontWantMsgs-1 {
		burst = append(burst, idontwantRPC(fmt.Sprintf("unwanted-alone-%04d", len(burst))))
	}
	burst = append(burst, idontwantRPC(atCap), idontwantRPC(pastCap), iwantRPC(inList, pastList, atCap, pastCap))
	start := time.Now()
	sp.send(burst...)
	rpcs, last := sp.window()
	got := served(rpcs)
	t.Logf("%d IDONTWANTs in one heartbeat (the first of %d IDs) and an IWANT, answered within %v; IWANT served: first ID of the long one %d, its last %d, the 1000th IDONTWANT's %d, the 1001st's %d",
		len(burst)-1, len(long), last.Sub(start).Round(time.Millisecond), got[inList], got[pastList], got[atCap], got[pastCap])
	if got[inList] != 0 {
		t.Error("the node served a message named first in an IDONTWANT: IDONTWANT not honoured")
	}
	if got[pastList] != 1 {
		t.Errorf("the node served the message named %d-th in one IDONTWANT %d times, want 1 (only the first %d IDs count)", len(long), got[pastList], pubsub.GossipSubMaxIDontWantLength)
	}
	if got[atCap] != 0 {
		t.Errorf("the node served the message of the %d-th IDONTWANT in a heartbeat: fewer than %d honoured", planIDontWantMsgs, planIDontWantMsgs)
	}
	if got[pastCap] != 1 {
		t.Errorf("the node served the message of the %d-th IDONTWANT in a heartbeat %d times, want 1 (cap %d)", planIDontWantMsgs+1, got[pastCap], planIDontWantMsgs)
	}

	// The next heartbeat reset the count: IDONTWANT is honoured again,
	// and the node still serves what is wanted.
	sp.send(idontwantRPC(nextBeat), iwantRPC(nextBeat, pastList))
	rpcs, _ = sp.window()
	got = served(rpcs)
	t.Logf("next heartbeat, IDONTWANT then IWANT: served %d of the unwanted message, %d of a wanted one", got[nextBeat], got[pastList])
	if got[nextBeat] != 0 {
		t.Error("IDONTWANT not honoured at the next heartbeat: the count did not reset")
	}
	if got[pastList] != 1 {
		t.Errorf("the node served a wanted message %d times after the flood, want 1", got[pastList])
	}
	if !slices.Contains(sp.n.topic.ListPeers(), sp.h.ID()) {
		t.Error("the attacker is no longer a topic peer")
	}
	if s := freshScore(t, sp.n, sp.h.ID()); s < 0 {
		t.Errorf("IDONTWANT cost the attacker a score of %.2f; the caps alone should not penalise", s)
	}
}
