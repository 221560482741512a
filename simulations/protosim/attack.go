package protosim

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	lpnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/simulations/scenario"
)

// The active attackers speak gossipsub by hand, as the node's control
// spam suite (node/spam_test.go) does against one node: a plain libp2p
// host that negotiates gossipsub v1.2 (it offers nothing else), reads and
// drops what the honest node sends, and writes raw RPCs of its own. Each
// answers the honest node's stream by opening its own, subscribing to the
// proofs topic and asking to join the node's mesh (GRAFT), and forwards
// nothing. From its group's attack_at step on, once per second, it sends
// each target a burst of its attack:
//
//   - invalid: proofs that fail validation (random bytes: the validator
//     rejects them, and each rejection costs the sender
//     node.InvalidMessageWeight);
//   - ihave: IHAVE of message IDs it will never deliver, as many as a node
//     acts on per heartbeat, so the node's IWANTs go unanswered (broken
//     promises, a behaviour penalty);
//   - graft: GRAFT and PRUNE together, again and again: each GRAFT after
//     the first falls in the backoff its own PRUNE started (a behaviour
//     penalty, doubled inside the flood threshold).
//
// What they achieve is read from the honest nodes' own gossip scores of
// them (node.Node.Peers), sampled at the end of every step.

// The bursts of one attacker to one target, per second.
const (
	attackRPCs   = 10  // RPCs per burst: pubsub acts on 10 IHAVEs of a peer per heartbeat
	ihaveIDs     = 50  // message IDs per IHAVE
	invalidBytes = 256 // size of an invalid proof
)

// attackProto is the gossipsub version the active attackers speak: v1.2,
// which needs no extensions handshake.
const attackProto = pubsub.GossipSubID_v12

// maxAttackRPC bounds what an attacker reads from a node in one RPC.
const maxAttackRPC = 4 << 20

// raider is one active attacker.
type raider struct {
	h      host.Host
	mode   string
	rng    *rand.Rand // its burst contents; owned by its attack goroutine
	ctx    context.Context
	wg     *sync.WaitGroup // the stream handlers and the attack loop
	mu     sync.Mutex
	closed bool                     // stopping: no new handler may start
	outs   map[peer.ID]lpnet.Stream // streams to the honest nodes
}

// newRaider makes h an active attacker of the given mode. Its stream
// handlers run until stop, then the host's closing ends them; wg counts
// them.
func newRaider(ctx context.Context, wg *sync.WaitGroup, h host.Host, mode string, seed uint64) *raider {
	r := &raider{h: h, mode: mode, rng: rand.New(rand.NewPCG(seed, 0x72616964)), ctx: ctx, wg: wg, outs: map[peer.ID]lpnet.Stream{}}
	h.SetStreamHandler(attackProto, r.handle)
	return r
}

// stop refuses the streams still to come; closing the host then ends
// those open.
func (r *raider) stop() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// handle reads the RPCs of a stream an honest node opened and drops them;
// the node's first RPC (its hello) is the signal to open the attacker's
// own stream to it, as a gossipsub peer would.
func (r *raider) handle(s lpnet.Stream) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		s.Reset()
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	defer s.Reset()
	br := bufio.NewReader(s)
	hello := false
	for {
		size, err := binary.ReadUvarint(br)
		if err != nil || size > maxAttackRPC {
			return
		}
		if _, err := io.CopyN(io.Discard, br, int64(size)); err != nil {
			return
		}
		if !hello {
			hello = true
			r.open(s.Conn().RemotePeer())
		}
	}
}

// open opens the attacker's stream to p, subscribes and GRAFTs.
func (r *raider) open(p peer.ID) {
	r.mu.Lock()
	_, have := r.outs[p]
	r.mu.Unlock()
	if have {
		return
	}
	s, err := r.h.NewStream(r.ctx, p, attackProto)
	if err != nil {
		return
	}
	topic := node.TopicName
	hello := &pb.RPC{
		Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &[]bool{true}[0], Topicid: &topic}},
		Control:       &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}},
	}
	if err := write(s, hello); err != nil {
		s.Reset()
		return
	}
	r.mu.Lock()
	r.outs[p] = s
	r.mu.Unlock()
}

// attack sends a burst to every target once per second until ctx ends.
func (r *raider) attack(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		r.mu.Lock()
		outs := make([]lpnet.Stream, 0, len(r.outs))
		for _, s := range r.outs {
			outs = append(outs, s)
		}
		r.mu.Unlock()
		for _, s := range outs {
			// A node that stops reading (it may have graylisted the
			// attacker and closed the stream) must not hold the others up.
			_ = s.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if err := write(s, r.burst()...); err != nil {
				// Gone (the node restarted, or reset the stream): the
				// node's next hello opens a new one.
				r.mu.Lock()
				for p, o := range r.outs {
					if o == s {
						delete(r.outs, p)
					}
				}
				r.mu.Unlock()
				s.Reset()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// burst is one second's attack on one target.
func (r *raider) burst() []*pb.RPC {
	topic := node.TopicName
	rpcs := make([]*pb.RPC, attackRPCs)
	for i := range rpcs {
		switch r.mode {
		case scenario.AttackInvalid:
			data := make([]byte, invalidBytes)
			for j := range data {
				data[j] = byte(r.rng.Uint32())
			}
			rpcs[i] = &pb.RPC{Publish: []*pb.Message{{Data: data, Topic: &topic}}}
		case scenario.AttackIHave:
			ids := make([]string, ihaveIDs)
			for j := range ids {
				ids[j] = fmt.Sprintf("raid-%016x", r.rng.Uint64())
			}
			rpcs[i] = &pb.RPC{Control: &pb.ControlMessage{Ihave: []*pb.ControlIHave{{TopicID: &topic, MessageIDs: ids}}}}
		case scenario.AttackGraft:
			rpcs[i] = &pb.RPC{Control: &pb.ControlMessage{
				Graft: []*pb.ControlGraft{{TopicID: &topic}},
				Prune: []*pb.ControlPrune{{TopicID: &topic}},
			}}
		}
	}
	return rpcs
}

// write frames RPCs as pubsub does (unsigned-varint length, then the
// protobuf) and writes them in one go.
func write(s lpnet.Stream, rpcs ...*pb.RPC) error {
	var buf []byte
	for _, rpc := range rpcs {
		b, err := rpc.Marshal()
		if err != nil {
			return err
		}
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	_, err := s.Write(buf)
	return err
}
