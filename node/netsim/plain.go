package netsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"
)

// PlainOptions configure MeasurePlain.
type PlainOptions struct {
	Nodes  int    // hosts (at least 2)
	Degree int    // random peers per host, as Options.Degree
	Size   int    // payload bytes per message (at least 8)
	Seed   uint64 // keys, topology and publishers
}

// plainTopic is the topic of the reference network.
const plainTopic = "netsim-plain"

// MeasurePlain is the reference MeasurePropagation is judged against:
// the same number of hosts on the same mock network and topology, running
// go-libp2p-pubsub's gossipsub with its defaults (every message signed with
// its publisher's host key and verified by every receiver), with no kith
// validator and no store. It publishes msgs payloads of o.Size bytes from
// random hosts, one every interval, and measures what MeasurePropagation
// measures: the delay until each other host received each message, the
// gossip messages that carried them, and the process CPU until the last
// was delivered (the idle network's rate, measured first, in IdleCPU).
func MeasurePlain(ctx context.Context, o PlainOptions, msgs int, interval time.Duration) (res Propagation, err error) {
	if o.Nodes < 2 || o.Size < 8 || o.Degree < 0 || msgs < 1 {
		return res, fmt.Errorf("netsim: plain network of %d hosts, degree %d, %d-byte messages, %d messages: want ≥ 2 hosts, degree ≥ 0, ≥ 8 bytes, ≥ 1 message", o.Nodes, o.Degree, o.Size, msgs)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x706c61696e))
	pn := &plainNet{changed: make(chan struct{}), seen: make([][]time.Time, msgs), sent: make([]int, msgs)}
	for k := range pn.seen {
		pn.seen[k] = make([]time.Time, o.Nodes)
	}
	mn := mocknet.New()
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait() // the readers
		err = errors.Join(err, mn.Close())
	}()
	keyRand := rand.NewChaCha8([32]byte{byte(o.Seed), byte(o.Seed >> 8), 'p', 'l', 'a', 'i', 'n'})
	hosts := make([]host.Host, o.Nodes)
	for i := range hosts {
		priv, _, err := crypto.GenerateEd25519Key(keyRand)
		if err != nil {
			return res, err
		}
		if hosts[i], err = mn.AddPeer(priv, ma.StringCast(fmt.Sprintf("/ip4/100.64.%d.%d/tcp/4001", i/250, i%250+1))); err != nil {
			return res, fmt.Errorf("netsim: %w", err)
		}
	}
	if err := mn.LinkAll(); err != nil {
		return res, fmt.Errorf("netsim: %w", err)
	}
	topics := make([]*pubsub.Topic, o.Nodes)
	meshes := make([]atomic.Int32, o.Nodes)
	for i, h := range hosts {
		ps, err := pubsub.NewGossipSub(runCtx, h, pubsub.WithFloodPublish(true), pubsub.WithRawTracer(&plainTracer{pn: pn, mesh: &meshes[i]}))
		if err != nil {
			return res, fmt.Errorf("netsim: gossipsub: %w", err)
		}
		if topics[i], err = ps.Join(plainTopic); err != nil {
			return res, fmt.Errorf("netsim: join: %w", err)
		}
		sub, err := topics[i].Subscribe()
		if err != nil {
			return res, fmt.Errorf("netsim: subscribe: %w", err)
		}
		wg.Add(1)
		go pn.read(runCtx, &wg, i, h.ID(), sub)
	}
	for _, p := range topology(o.Nodes, o.Degree, rng, func(int) int { return 0 }, func(int, int) bool { return false }) {
		if _, err := mn.ConnectPeers(hosts[p[0]].ID(), hosts[p[1]].ID()); err != nil {
			return res, fmt.Errorf("netsim: connect %d-%d: %w", p[0], p[1], err)
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = pn.wait(wctx, func() bool {
		for i := range meshes {
			if meshes[i].Load() <= 0 {
				return false
			}
		}
		return true
	})
	wcancel()
	if err != nil {
		return res, fmt.Errorf("netsim: plain gossip mesh: %w", err)
	}
	clk, err := startClock(ctx)
	if err != nil {
		return res, err
	}
	from := make([]int, msgs)
	at := make([]time.Time, msgs)
	for k := range msgs {
		data := make([]byte, o.Size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		binary.BigEndian.PutUint64(data, uint64(k))
		from[k], at[k] = rng.IntN(o.Nodes), time.Now()
		if err := topics[from[k]].Publish(ctx, data); err != nil {
			return res, fmt.Errorf("netsim: publish: %w", err)
		}
		if err := sleep(ctx, interval); err != nil {
			return res, err
		}
	}
	wctx, wcancel = context.WithTimeout(ctx, 60*time.Second)
	err = pn.wait(wctx, func() bool {
		for k := range msgs {
			if pn.reached(k, from[k]) != o.Nodes-1 {
				return false
			}
		}
		return true
	})
	wcancel()
	if err != nil {
		return res, fmt.Errorf("netsim: plain messages did not reach every host: %w", err)
	}
	pn.mu.Lock()
	for k := range msgs {
		for i, t := range pn.seen[k] {
			if i != from[k] && !t.IsZero() {
				res.Latencies = append(res.Latencies, t.Sub(at[k]))
			}
		}
		res.Messages += pn.sent[k]
	}
	pn.mu.Unlock()
	res.Proofs = msgs
	res.Bytes = o.Size
	clk.stop(&res)
	return res, nil
}

// plainNet records when each host received each message (numbered by
// the first 8 bytes of its payload) and the copies sent of each.
type plainNet struct {
	mu      sync.Mutex
	changed chan struct{}
	seen    [][]time.Time // message -> host -> first received (zero = not yet)
	sent    []int         // message -> gossip messages carrying it
}

// number is the message number a payload carries, or -1.
func (pn *plainNet) number(data []byte) int {
	if len(data) < 8 {
		return -1
	}
	k := binary.BigEndian.Uint64(data)
	if k >= uint64(len(pn.seen)) {
		return -1
	}
	return int(k)
}

// read records host i's deliveries until ctx ends; it calls wg.Done.
func (pn *plainNet) read(ctx context.Context, wg *sync.WaitGroup, i int, self peer.ID, sub *pubsub.Subscription) {
	defer wg.Done()
	defer sub.Cancel()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		k := pn.number(m.Data)
		if m.ReceivedFrom == self || k < 0 {
			continue
		}
		now := time.Now()
		pn.mu.Lock()
		if pn.seen[k][i].IsZero() {
			pn.seen[k][i] = now
		}
		close(pn.changed)
		pn.changed = make(chan struct{})
		pn.mu.Unlock()
	}
}

func (pn *plainNet) reached(k, skip int) int {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	c := 0
	for i, t := range pn.seen[k] {
		if i != skip && !t.IsZero() {
			c++
		}
	}
	return c
}

// wait waits until cond holds, re-checking on every delivery and every
// 50 ms.
func (pn *plainNet) wait(ctx context.Context, cond func() bool) error {
	return waitChanged(ctx, &pn.mu, &pn.changed, cond)
}

// plainTracer counts one host's mesh peers and the message copies it
// sends.
type plainTracer struct {
	pn   *plainNet
	mesh *atomic.Int32
}

func (t *plainTracer) SendRPC(rpc *pubsub.RPC, _ peer.ID) {
	if len(rpc.Publish) == 0 {
		return
	}
	t.pn.mu.Lock()
	defer t.pn.mu.Unlock()
	for _, m := range rpc.Publish {
		if k := t.pn.number(m.Data); k >= 0 {
			t.pn.sent[k]++
		}
	}
}
func (t *plainTracer) Graft(peer.ID, string)               { t.mesh.Add(1) }
func (t *plainTracer) Prune(peer.ID, string)               { t.mesh.Add(-1) }
func (*plainTracer) AddPeer(peer.ID, protocol.ID)          {}
func (*plainTracer) RemovePeer(peer.ID)                    {}
func (*plainTracer) Join(string)                           {}
func (*plainTracer) Leave(string)                          {}
func (*plainTracer) ValidateMessage(*pubsub.Message)       {}
func (*plainTracer) DeliverMessage(*pubsub.Message)        {}
func (*plainTracer) RejectMessage(*pubsub.Message, string) {}
func (*plainTracer) DuplicateMessage(*pubsub.Message)      {}
func (*plainTracer) ThrottlePeer(peer.ID)                  {}
func (*plainTracer) RecvRPC(*pubsub.RPC)                   {}
func (*plainTracer) DropRPC(*pubsub.RPC, peer.ID)          {}
func (*plainTracer) UndeliverableMessage(*pubsub.Message)  {}
