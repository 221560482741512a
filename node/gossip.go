package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Gossip peer-score parameters. An invalid message costs
// InvalidMessageWeight × count² (so one forged proof takes a peer below
// GraylistThreshold at once); the owner's trust in a peer adds up to
// ±AppWeight.
const (
	InvalidMessageWeight = -100
	AppWeight            = 10
	GossipThreshold      = -10
	PublishThreshold     = -50
	GraylistThreshold    = -80
)

func scoreParams(appScore func(peer.ID) float64) (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	_, lo4, _ := net.ParseCIDR("127.0.0.0/8")
	_, lo6, _ := net.ParseCIDR("::1/128")
	return &pubsub.PeerScoreParams{
			Topics: map[string]*pubsub.TopicScoreParams{
				TopicName: {
					TopicWeight:                    1,
					TimeInMeshWeight:               0.01,
					TimeInMeshQuantum:              time.Second,
					TimeInMeshCap:                  100,
					FirstMessageDeliveriesWeight:   1,
					FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
					FirstMessageDeliveriesCap:      20,
					InvalidMessageDeliveriesWeight: InvalidMessageWeight,
					InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
				},
			},
			TopicScoreCap:               50,
			AppSpecificScore:            appScore,
			AppSpecificWeight:           AppWeight,
			IPColocationFactorWeight:    -5,
			IPColocationFactorThreshold: 8,
			IPColocationFactorWhitelist: []*net.IPNet{lo4, lo6},
			BehaviourPenaltyWeight:      -10,
			BehaviourPenaltyThreshold:   6,
			BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
			DecayInterval:               time.Second,
			DecayToZero:                 0.01,
			RetainScore:                 10 * time.Minute,
		}, &pubsub.PeerScoreThresholds{
			GossipThreshold:             GossipThreshold,
			PublishThreshold:            PublishThreshold,
			GraylistThreshold:           GraylistThreshold,
			AcceptPXThreshold:           5,
			OpportunisticGraftThreshold: 2,
		}
}

// scoreBoard keeps the latest snapshot of gossip peer scores, written by
// pubsub's inspector and read by Peers.
type scoreBoard struct {
	mu sync.Mutex
	m  map[peer.ID]float64
}

func (b *scoreBoard) set(m map[peer.ID]float64) {
	b.mu.Lock()
	b.m = m
	b.mu.Unlock()
}

func (b *scoreBoard) get() map[peer.ID]float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m
}

func (n *Node) scores() map[peer.ID]float64 { return n.board.get() }

func (n *Node) startGossip() error {
	// pubsub asks for a peer's score on every message: keep the peer's key
	// rather than extract it each time (forgotten past 4096 peers).
	var mu sync.Mutex
	keys := map[peer.ID]wire.PublicKey{}
	appScore := func(p peer.ID) float64 {
		mu.Lock()
		k, ok := keys[p]
		mu.Unlock()
		if !ok {
			var err error
			if k, err = PeerKey(p); err != nil {
				return -1
			}
			mu.Lock()
			if len(keys) >= 4096 {
				clear(keys)
			}
			keys[p] = k
			mu.Unlock()
		}
		t := n.cfg.PeerTrust(k)
		if t != t || t > 1 {
			t = 1
		} else if t < -1 {
			t = -1
		}
		return t
	}
	params, thresholds := scoreParams(appScore)
	opts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(GossipID),
		pubsub.WithMaxMessageSize(MaxGossipSize + 1024),
		pubsub.WithPeerScore(params, thresholds),
		pubsub.WithPeerScoreInspect(n.board.set, time.Second),
		pubsub.WithPeerGater(pubsub.NewPeerGaterParams(0.33, pubsub.ScoreParameterDecay(2*time.Minute), pubsub.ScoreParameterDecay(10*time.Minute))),
		pubsub.WithLogger(n.log.With("component", "pubsub")),
		// The node's own proofs go to every topic peer above the publish
		// threshold, not only to its mesh: go-libp2p-pubsub's default sends
		// them to the mesh alone, and a proof approved before the first
		// heartbeat has built the mesh then reaches nobody until the
		// others resync (a proof a fresh node approved at once took 10-30 s
		// to spread in protosim). A node publishes little of its own, so
		// the extra copies are few.
		pubsub.WithFloodPublish(true),
	}
	opts = append(opts, pubsub.WithRawTracer(&meshTracer{n: n}))
	if n.cfg.RawTracer != nil {
		opts = append(opts, pubsub.WithRawTracer(n.cfg.RawTracer))
	}
	ps, err := pubsub.NewGossipSub(n.runCtx, n.host, opts...)
	if err != nil {
		return fmt.Errorf("node: gossipsub: %w", err)
	}
	n.ps = ps
	if err := ps.RegisterTopicValidator(TopicName, n.validate); err != nil {
		return fmt.Errorf("node: gossip validator: %w", err)
	}
	if n.topic, err = ps.Join(TopicName); err != nil {
		return fmt.Errorf("node: join %s: %w", TopicName, err)
	}
	// pubsub drops a message for this node's own subscriber when the
	// subscriber's buffer is full (the node's store stalled): the
	// message is still forwarded, and resync brings it back later, but a
	// buffer that absorbs a few seconds of a busy topic keeps that rare.
	if n.sub, err = n.topic.Subscribe(pubsub.WithBufferSize(subscriptionBuffer)); err != nil {
		return fmt.Errorf("node: subscribe %s: %w", TopicName, err)
	}
	return nil
}

// GossipID is the message ID of a gossip message: the bytes of the CID
// (CIDv1, dag-cbor, sha2-256) of the whole message data, whatever it holds.
// pubsub marks an ID seen before the message is validated, so the ID must
// commit to every byte: were it to cover only part of the message, a peer
// could send a forgery sharing that part ahead of the honest message, and
// the honest one would be dropped as a duplicate (and its relays penalised
// for delivering a duplicate of an invalid message).
func GossipID(m *pb.Message) string {
	return string(wire.CIDOf(m.GetData()).Bytes())
}

// ProofID returns the message ID of the gossip message that carries the
// proof [a, consents...], as a node publishes it (Approve).
func ProofID(a *wire.Attestation, consents ...*wire.Consent) string {
	objs := []wire.Object{a}
	for _, c := range consents {
		objs = append(objs, c)
	}
	return GossipID(&pb.Message{Data: encodeGossip(objs...)})
}

// validate is the topic validator: accept, reject (the sender is
// penalised) or ignore.
func (n *Node) validate(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if hold := n.cfg.holdValidate; hold != nil && from != n.host.ID() {
		select {
		case <-hold:
		case <-ctx.Done():
			return pubsub.ValidationIgnore
		}
	}
	if from != n.host.ID() && !n.lim.gossip.allow(from, 1) {
		n.ignored.Add(1)
		return pubsub.ValidationIgnore
	}
	objs, err := n.checkGossip(ctx, m.GetData(), from == n.host.ID())
	if errors.Is(err, errUnknownTarget) && from != n.host.ID() {
		n.keepTombstone(ctx, from, objs[0])
	}
	switch {
	case err == nil:
		m.ValidatorData = objs
		return pubsub.ValidationAccept
	case errors.Is(err, errIgnore):
		n.ignored.Add(1)
		n.log.Debug("gossip ignored", "from", from, "err", err)
		return pubsub.ValidationIgnore
	default:
		n.rejected.Add(1)
		n.log.Debug("gossip rejected", "from", from, "err", err)
		return pubsub.ValidationReject
	}
}

// errIgnore marks a message that is not the sender's fault (a duplicate, a
// statement retracted or withdrawn since, a clock difference): it is
// dropped without penalty.
var errIgnore = errors.New("ignored")

// errUnknownTarget: a withdrawal or retraction whose attestation the node
// does not hold (yet; see keepTombstone).
var errUnknownTarget = errors.New("target unknown")

// keepTombstone stores a verified withdrawal or retraction whose target
// the node does not hold, within the object budget of the peer that sent
// it: gossip keeps no order, and a node that joined after a retraction
// never sees the retracted proof, so the tombstone must be there when (if)
// the proof comes (spec/node-v1.md §3.2). Its signer cannot be checked
// until then; a forged one cancels nothing (store.Status counts only the
// issuer's retractions and the subject's withdrawals), and it is not in
// the public set, so it goes no further than this node.
func (n *Node) keepTombstone(ctx context.Context, from peer.ID, o wire.Object) {
	if have, err := n.cfg.Store.Has(ctx, o.CID()); err != nil || have {
		return
	}
	if !n.lim.objects.allow(from, 1) || !n.lim.bytes.allow(from, len(o.Raw())) {
		n.overBudget.Add(1)
		return
	}
	if _, err := n.cfg.Store.Put(ctx, o); err != nil && n.runCtx.Err() == nil {
		n.storeFailed("storing a tombstone failed", err)
	}
}

// checkGossip decodes, verifies and checks a gossip payload against the
// rules of spec/node-v1.md and what the store knows. local marks the
// node's own messages, stored before they are published. With
// errUnknownTarget, it also returns the verified withdrawal or retraction.
func (n *Node) checkGossip(ctx context.Context, data []byte, local bool) ([]wire.Object, error) {
	raws, err := decodeGossip(data)
	if err != nil {
		return nil, err
	}
	objs, err := n.open(raws, true)
	if err != nil {
		return nil, err
	}
	switch first := objs[0].(type) {
	case *wire.Attestation:
		if first.Audience.Scope != wire.Public {
			return nil, fmt.Errorf("%w: %s attestation on the gossip topic", ErrProtocol, first.Audience.Scope)
		}
		if first.Kind != wire.Vouch {
			return nil, fmt.Errorf("%w: a %s on the gossip topic (warnings are never broadcast)", ErrProtocol, first.Kind)
		}
		if len(objs) < 2 {
			return nil, fmt.Errorf("%w: attestation without consent", ErrProtocol)
		}
		fresh := false
		for _, o := range objs[1:] {
			c, ok := o.(*wire.Consent)
			if !ok || !c.Covers(first, nil) {
				return nil, fmt.Errorf("%w: proof object %s is not a consent for its attestation", ErrProtocol, o.Type())
			}
			have, err := n.cfg.Store.Has(ctx, c.CID())
			if err != nil {
				return nil, fmt.Errorf("%w: store: %w", errIgnore, err)
			}
			fresh = fresh || !have
		}
		have, err := n.cfg.Store.Has(ctx, first.CID())
		if err != nil {
			return nil, fmt.Errorf("%w: store: %w", errIgnore, err)
		}
		// What the store holds about the attestation, held or not (a
		// tombstone may have come first).
		st, err := n.cfg.Store.StatusOf(ctx, first)
		if err != nil {
			return nil, fmt.Errorf("%w: store: %w", errIgnore, err)
		}
		if st.Retracted != nil {
			return nil, fmt.Errorf("%w: retracted", errIgnore)
		}
		for _, w := range st.Withdrawn {
			for _, o := range objs[1:] {
				if w.Created >= o.(*wire.Consent).Created {
					return nil, fmt.Errorf("%w: consent withdrawn", errIgnore)
				}
			}
		}
		if have && !fresh && !local && !n.recent.has(objs[len(objs)-1].CID()) {
			return nil, fmt.Errorf("%w: already stored", errIgnore)
		}
		if !have && !local && first.Issuer != n.me && !n.lim.issuers.allow(first.Issuer, 1) {
			n.overBudget.Add(1)
			return nil, fmt.Errorf("%w: %w: new attestations by %s", errIgnore, errOverBudget, first.Issuer)
		}
	case *wire.Retraction, *wire.ConsentWithdrawal:
		if len(objs) != 1 {
			return nil, fmt.Errorf("%w: %s with other objects", ErrProtocol, first.Type())
		}
		if err := n.checkAbout(ctx, first); err != nil {
			if errors.Is(err, errUnknownTarget) {
				return objs, err
			}
			return nil, err
		}
		have, err := n.cfg.Store.Has(ctx, first.CID())
		if err != nil {
			return nil, fmt.Errorf("%w: store: %w", errIgnore, err)
		}
		if have && !local && !n.recent.has(first.CID()) {
			return nil, fmt.Errorf("%w: already stored", errIgnore)
		}
	default:
		return nil, fmt.Errorf("%w: %s on the gossip topic", ErrProtocol, first.Type())
	}
	return objs, nil
}

// checkAbout checks a retraction or consent withdrawal against the
// attestation it targets: that attestation must be known and public, and
// the object signed by its issuer (retraction) or subject (withdrawal).
func (n *Node) checkAbout(ctx context.Context, o wire.Object) error {
	var target wire.Link
	switch v := o.(type) {
	case *wire.Retraction:
		target = v.Target
	case *wire.ConsentWithdrawal:
		target = v.Target
	}
	t, err := n.cfg.Store.Get(ctx, target.CID())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w %s", errIgnore, errUnknownTarget, target)
	}
	if err != nil {
		return fmt.Errorf("%w: target %s: %w", errIgnore, target, err)
	}
	a, ok := t.(*wire.Attestation)
	if !ok {
		return fmt.Errorf("%w: target of %s is a %s", ErrProtocol, o.Type(), t.Type())
	}
	switch v := o.(type) {
	case *wire.Retraction:
		if v.Issuer != a.Issuer {
			return fmt.Errorf("%w: retraction not signed by the attestation's issuer", ErrProtocol)
		}
	case *wire.ConsentWithdrawal:
		if a.Subject.Key == nil {
			return fmt.Errorf("%w: withdrawal for an account subject", errIgnore)
		}
		if v.Subject != *a.Subject.Key {
			return fmt.Errorf("%w: withdrawal not signed by the attestation's subject", ErrProtocol)
		}
	}
	return nil
}

// gossipGrace is how far past wire's time rules (expiry, MaxClockSkew) a
// gossip object may be and only be ignored, as a clock difference between
// honest nodes: a relay validates what it forwards, so an object expired
// (or dated in the future) by more than that is the relay's fault, and
// rejected.
const gossipGrace = 10 * time.Minute

// objectTimes returns an object's creation and expiry times (0: none).
func objectTimes(o wire.Object) (created, expires uint64) {
	switch v := o.(type) {
	case *wire.Attestation:
		return v.Created, v.Expires
	case *wire.Consent:
		return v.Created, v.Expires
	case *wire.IdentityLink:
		return v.Created, v.Expires
	case *wire.Retraction:
		return v.Created, 0
	case *wire.ConsentWithdrawal:
		return v.Created, 0
	}
	return 0, 0
}

// checkTimes applies wire's time rules to o at now, before its signature
// is checked, so that an expired or future object costs no signature
// check: the error wraps errIgnore, or, with gossip and beyond
// gossipGrace, ErrProtocol.
func checkTimes(o wire.Object, now time.Time, gossip bool) error {
	created, expires := objectTimes(o)
	t := uint64(max(now.Unix(), 0))
	skew, grace := uint64(wire.MaxClockSkew/time.Second), uint64(gossipGrace/time.Second)
	switch {
	case created > t+skew:
		if gossip && created > t+skew+grace {
			return fmt.Errorf("%w: created %d s ahead of this node's clock", ErrProtocol, created-t)
		}
		return fmt.Errorf("%w: %w", errIgnore, wire.ErrFromFuture)
	case expires != 0 && t >= expires:
		if gossip && t >= expires+grace {
			return fmt.Errorf("%w: expired %d s ago", ErrProtocol, t-expires)
		}
		return fmt.Errorf("%w: %w", errIgnore, wire.ErrExpired)
	}
	return nil
}

// open decodes and verifies signed object encodings, in one batch. gossip
// marks objects from the gossip topic (see checkTimes).
func (n *Node) open(raws [][]byte, gossip bool) ([]wire.Object, error) {
	objs := make([]wire.Object, len(raws))
	for i, r := range raws {
		o, err := wire.Decode(r)
		if err != nil {
			return nil, fmt.Errorf("%w: object %d: %w", ErrProtocol, i, err)
		}
		if o.Type() == wire.TypeBundle {
			return nil, fmt.Errorf("%w: object %d is a bundle", ErrProtocol, i)
		}
		objs[i] = o
	}
	now := n.cfg.Now()
	for i, o := range objs {
		if err := checkTimes(o, now, gossip); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	n.sigChecks.Add(int64(len(objs)))
	var errs []error
	if n.verifier != nil {
		var ok bool
		if errs, ok = n.verifier.verify(objs, n.runCtx.Done()); !ok {
			return nil, fmt.Errorf("%w: node stopping", errIgnore)
		}
	} else {
		errs = wire.VerifyBatch(objs, n.cfg.Now(), nil)
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, wire.ErrExpired) || errors.Is(err, wire.ErrFromFuture) {
			return nil, fmt.Errorf("%w: object %d: %w", errIgnore, i, err)
		}
		return nil, fmt.Errorf("%w: object %d: %w", ErrProtocol, i, err)
	}
	return objs, nil
}

// storeFailed logs a failure to store what the network sent. A store that
// cannot be written (store.ErrUnwritable: a full disk, its directory gone)
// is logged once, at Error; the store logs it too, and refuses every write
// meanwhile.
func (n *Node) storeFailed(msg string, err error) {
	if errors.Is(err, store.ErrUnwritable) {
		if n.unwritable.CompareAndSwap(false, true) {
			n.log.Error(msg+"; the store cannot be written, so nothing more from the network is stored", "err", err)
		} else {
			n.log.Debug(msg, "err", err)
		}
		return
	}
	n.log.Warn(msg, "err", err)
}

// subscriptionBuffer is how many gossip messages wait for readLoop before
// pubsub drops them for this node (Stats.Undelivered): about five seconds
// of a topic carrying 200 messages a second.
const subscriptionBuffer = 1024

// readLoop stores what the gossip delivers.
func (n *Node) readLoop() {
	for {
		m, err := n.sub.Next(n.runCtx)
		if err != nil {
			return
		}
		objs, ok := m.ValidatorData.([]wire.Object)
		if !ok {
			continue
		}
		added, err := n.ingest(n.runCtx, objs)
		n.gossiped.Add(int64(added))
		if err != nil && n.runCtx.Err() == nil {
			n.storeFailed("storing gossip failed", err)
		}
	}
}

// ingest stores checked objects and brings the public set up to date.
func (n *Node) ingest(ctx context.Context, objs []wire.Object) (int, error) {
	if len(objs) == 0 {
		return 0, nil
	}
	added, err := n.cfg.Store.Put(ctx, objs...)
	if err != nil {
		return added, fmt.Errorf("node: store: %w", err)
	}
	groups := map[string]bool{}
	for _, o := range objs {
		n.recent.add(o.CID())
		if t, ok := targetOf(o); ok {
			groups[string(t.Bytes())] = true
		}
	}
	for g := range groups {
		if err := n.refreshGroup(ctx, g); err != nil {
			return added, err
		}
	}
	if added > 0 {
		n.stored.Add(int64(added))
		if n.cfg.OnStored != nil {
			n.cfg.OnStored(objs)
		}
	}
	return added, nil
}

// recentWindow is how long a stored object still counts as news: a gossip
// message carrying it is forwarded even if the object arrived first by
// another path (resync, exchange), since peers may still lack it. After
// that, a message with objects already stored is a replay and is ignored.
const recentWindow = 2 * time.Minute

// recentMax caps the recent set: a full window at about 550 objects a
// second, some 15 MiB at the 230 bytes an entry the soak's heap profiles
// show. Past it the oldest are forgotten early, and a message carrying
// only those is treated as a replay.
const recentMax = 1 << 16

// recentSet remembers when objects were stored, for recentWindow, at most
// recentMax of them. Entries leave in the order they came (a queue), so
// each add costs O(1) amortised however many objects arrive in the window.
type recentSet struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]time.Time
	q   []recentEntry // in order of arrival
}

type recentEntry struct {
	key string
	at  time.Time
}

func (r *recentSet) add(c cid.Cid) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.m == nil {
		r.m = map[string]time.Time{}
	}
	i := 0
	for ; i < len(r.q) && (now.Sub(r.q[i].at) > recentWindow || len(r.q)-i >= recentMax); i++ {
		if e := r.q[i]; r.m[e.key].Equal(e.at) {
			delete(r.m, e.key)
		}
	}
	r.q = r.q[i:]
	k := c.KeyString()
	if _, ok := r.m[k]; !ok {
		r.m[k] = now
		r.q = append(r.q, recentEntry{k, now})
	}
}

func (r *recentSet) has(c cid.Cid) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.m[c.KeyString()]
	return ok && r.now().Sub(t) <= recentWindow
}

// publish sends a gossip message made of objs, already stored.
func (n *Node) publish(ctx context.Context, objs ...wire.Object) error {
	if err := n.topic.Publish(ctx, encodeGossip(objs...)); err != nil {
		return fmt.Errorf("node: publish: %w", err)
	}
	n.published.Add(1)
	return nil
}

// meshTracer counts the node's mesh peers and its validation load, and
// hands every outgoing gossip RPC to the test tap, if any.
type meshTracer struct {
	n *Node
}

func (t *meshTracer) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	if t.n.cfg.tap == nil {
		return
	}
	if b, err := rpc.Marshal(); err == nil {
		t.n.cfg.tap("gossip", p, b)
	}
}
func (t *meshTracer) Graft(peer.ID, string)           { t.n.mesh.Add(1) }
func (t *meshTracer) Prune(peer.ID, string)           { t.n.mesh.Add(-1) }
func (*meshTracer) AddPeer(peer.ID, protocol.ID)      {}
func (*meshTracer) RemovePeer(peer.ID)                {}
func (*meshTracer) Join(string)                       {}
func (*meshTracer) Leave(string)                      {}
func (t *meshTracer) ValidateMessage(*pubsub.Message) { t.n.validated.Add(1) }
func (*meshTracer) DeliverMessage(*pubsub.Message)    {}
func (t *meshTracer) RejectMessage(_ *pubsub.Message, reason string) {
	if reason == pubsub.RejectValidationThrottled || reason == pubsub.RejectValidationQueueFull {
		t.n.throttled.Add(1)
	}
}
func (*meshTracer) DuplicateMessage(*pubsub.Message)       {}
func (t *meshTracer) ThrottlePeer(peer.ID)                 { t.n.gated.Add(1) }
func (*meshTracer) RecvRPC(*pubsub.RPC)                    {}
func (t *meshTracer) DropRPC(*pubsub.RPC, peer.ID)         { t.n.droppedRPCs.Add(1) }
func (t *meshTracer) UndeliverableMessage(*pubsub.Message) { t.n.undelivered.Add(1) }
