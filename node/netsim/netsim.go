// Package netsim runs many real kith nodes (package node: gossip, exchange,
// consent, resync) in one process on libp2p's mock network, with link
// latency and partitions. Benchmarks and the protocol-level simulator use
// it. A Network is owned by one goroutine; its measurement methods are not
// safe for concurrent use.
package netsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// Options configure a Network.
type Options struct {
	// Nodes is the number of nodes (at least 2).
	Nodes int
	// Degree is how many random peers each node connects to (after a ring
	// that keeps the graph connected); 0 connects every pair.
	Degree int
	// Latency is the one-way delay of every link.
	Latency time.Duration
	// ResyncInterval is passed to every node (0 = the node's default).
	ResyncInterval time.Duration
	// Apart, if set, splits the nodes into groups that are not connected
	// to each other until Join: a partition from the start. (Cutting live
	// connections on libp2p's mock network can leave streams open across
	// the cut, so partitions are made this way.)
	Apart [][]int
	// Seed makes keys, topology and choices reproducible.
	Seed uint64
	// Logger receives the nodes' logs; nil discards them.
	Logger *slog.Logger
}

// Network is a set of running nodes on a mock network.
type Network struct {
	Nodes  []*node.Node
	Keys   []*wire.PrivateKey
	Stores []store.Store

	mn    mocknet.Mocknet
	rng   *rand.Rand
	apart map[int]int // node -> group+1 while apart

	mu        sync.Mutex
	changed   chan struct{}
	firstSeen map[string][]time.Time // object CID -> time each node stored it (zero = not yet)
	sent      map[string]int         // message ID -> gossip messages carrying it
	size      map[string]int         // message ID -> payload bytes
}

// New starts a network of o.Nodes nodes and connects them.
func New(ctx context.Context, o Options) (*Network, error) {
	if o.Nodes < 2 {
		return nil, fmt.Errorf("netsim: %d nodes, want at least 2", o.Nodes)
	}
	if o.Degree < 0 || o.Latency < 0 {
		return nil, errors.New("netsim: negative degree or latency")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	nw := &Network{
		mn: mocknet.New(), rng: rand.New(rand.NewPCG(o.Seed, 0x6e657473696d)),
		changed: make(chan struct{}), firstSeen: map[string][]time.Time{}, sent: map[string]int{}, size: map[string]int{},
	}
	nw.mn.SetLinkDefaults(mocknet.LinkOptions{Latency: o.Latency})
	if len(o.Apart) > 0 {
		nw.apart = map[int]int{}
		for g, members := range o.Apart {
			for _, m := range members {
				if m < 0 || m >= o.Nodes {
					return nil, fmt.Errorf("netsim: Apart names node %d of %d", m, o.Nodes)
				}
				nw.apart[m] = g + 1
			}
		}
	}
	keyRand := rand.NewChaCha8([32]byte{byte(o.Seed), byte(o.Seed >> 8), byte(o.Seed >> 16), byte(o.Seed >> 24), 'k', 'e', 'y'})
	for i := 0; i < o.Nodes; i++ {
		k, err := wire.GeneratePrivateKey(keyRand)
		if err != nil {
			return nil, err
		}
		priv, _, err := node.Identity(k)
		if err != nil {
			return nil, err
		}
		h, err := nw.mn.AddPeer(priv, ma.StringCast(fmt.Sprintf("/ip4/100.64.%d.%d/tcp/4001", i/250, i%250+1)))
		if err != nil {
			nw.Close()
			return nil, fmt.Errorf("netsim: %w", err)
		}
		idx := i
		st := mem.New()
		n, err := node.Start(ctx, node.Config{
			Key: k, Store: st, Host: h, Seed: o.Seed + uint64(i), ResyncInterval: o.ResyncInterval,
			Logger:    o.Logger.With("node", i),
			OnStored:  func(objs []wire.Object) { nw.stored(idx, objs) },
			RawTracer: &counter{nw: nw},
		})
		if err != nil {
			nw.Close()
			return nil, err
		}
		nw.Keys = append(nw.Keys, k)
		nw.Stores = append(nw.Stores, st)
		nw.Nodes = append(nw.Nodes, n)
	}
	if err := nw.mn.LinkAll(); err != nil {
		nw.Close()
		return nil, fmt.Errorf("netsim: %w", err)
	}
	if err := nw.connect(o.Degree); err != nil {
		nw.Close()
		return nil, err
	}
	return nw, nil
}

func (nw *Network) connect(degree int) error {
	pairs := topology(len(nw.Nodes), degree, nw.rng,
		func(i int) int { return nw.apart[i] },
		func(i, j int) bool { return len(nw.Nodes[i].Host().Network().ConnsToPeer(nw.Nodes[j].ID())) > 0 })
	for _, p := range pairs {
		if _, err := nw.mn.ConnectPeers(nw.Nodes[p[0]].ID(), nw.Nodes[p[1]].ID()); err != nil {
			return fmt.Errorf("netsim: connect %d-%d: %w", p[0], p[1], err)
		}
	}
	return nil
}

// topology chooses the pairs (i < j, sorted) to connect among n nodes: a
// ring through each group (the whole network when group gives every node
// the same value) keeps it connected, then random peers within the group
// up to degree each (0 = every pair). Pairs already linked are skipped.
func topology(n, degree int, rng *rand.Rand, group func(int) int, linked func(i, j int) bool) [][2]int {
	pairs := map[[2]int]bool{}
	deg := make([]int, n)
	add := func(i, j int) {
		if i == j || group(i) != group(j) {
			return
		}
		if i > j {
			i, j = j, i
		}
		if !pairs[[2]int{i, j}] && !linked(i, j) {
			pairs[[2]int{i, j}] = true
			deg[i]++
			deg[j]++
		}
	}
	groups := map[int][]int{}
	for i := 0; i < n; i++ {
		groups[group(i)] = append(groups[group(i)], i)
	}
	for g := 0; g <= len(groups); g++ {
		members := groups[g]
		for k, i := range members {
			add(i, members[(k+1)%len(members)])
		}
	}
	for i := 0; i < n; i++ {
		if degree == 0 {
			for j := i + 1; j < n; j++ {
				add(i, j)
			}
			continue
		}
		for tries := 0; deg[i] < degree && tries < 10*n; tries++ {
			add(i, rng.IntN(n))
		}
	}
	keys := make([][2]int, 0, len(pairs))
	for p := range pairs {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return keys
}

// Close stops every node and the mock network.
func (nw *Network) Close() error {
	var errs []error
	for _, n := range nw.Nodes {
		errs = append(errs, n.Close())
	}
	errs = append(errs, nw.mn.Close())
	return errors.Join(errs...)
}

func (nw *Network) stored(i int, objs []wire.Object) {
	now := time.Now()
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, o := range objs {
		k := o.CID().KeyString()
		ts := nw.firstSeen[k]
		if ts == nil {
			ts = make([]time.Time, len(nw.Nodes))
			nw.firstSeen[k] = ts
		}
		if i < len(ts) && ts[i].IsZero() {
			ts[i] = now
		}
	}
	close(nw.changed)
	nw.changed = make(chan struct{})
}

// Wait waits until cond holds, re-checking whenever a node stores
// something and every 50 ms.
func (nw *Network) Wait(ctx context.Context, cond func() bool) error {
	return waitChanged(ctx, &nw.mu, &nw.changed, cond)
}

// waitChanged waits until cond holds, re-checking whenever *changed
// (guarded by mu) is closed and every 50 ms.
func waitChanged(ctx context.Context, mu *sync.Mutex, changed *chan struct{}, cond func() bool) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		mu.Lock()
		ch := *changed
		mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-t.C:
		}
	}
}

// WaitMesh waits until every node has gossip mesh peers.
func (nw *Network) WaitMesh(ctx context.Context) error {
	return nw.Wait(ctx, func() bool {
		for _, n := range nw.Nodes {
			if n.Stats().MeshPeers == 0 {
				return false
			}
		}
		return true
	})
}

// Holders counts the nodes whose store holds the object c.
func (nw *Network) Holders(ctx context.Context, c cid.Cid) int {
	k := 0
	for _, st := range nw.Stores {
		if ok, _ := st.Has(ctx, c); ok {
			k++
		}
	}
	return k
}

// Request has node i vouch publicly for node j and waits until the
// consent request reached j. Nothing is gossiped until j approves.
func (nw *Network) Request(ctx context.Context, i, j int, reason string) (*wire.Attestation, error) {
	nonce := make([]byte, wire.NonceSize)
	for k := range nonce {
		nonce[k] = byte(nw.rng.Uint32())
	}
	a := &wire.Attestation{
		Subject: wire.KeySubject(nw.Keys[j].Public()), Kind: wire.Vouch, Context: "general",
		Strength: 50, Reason: reason, Created: uint64(time.Now().Unix()), Audience: wire.PublicAudience, Nonce: nonce,
	}
	if err := a.Sign(nw.Keys[i]); err != nil {
		return nil, err
	}
	if err := nw.Nodes[i].Submit(ctx, a); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := nw.Wait(wctx, func() bool { ok, _ := nw.Stores[j].Has(ctx, a.CID()); return ok }); err != nil {
		return nil, fmt.Errorf("netsim: consent request %d->%d: %w", i, j, err)
	}
	return a, nil
}

// Proof runs Request, then has j approve: the proof is gossiped. It
// returns the attestation, the consent and when the approval started.
func (nw *Network) Proof(ctx context.Context, i, j int, reason string) (*wire.Attestation, *wire.Consent, time.Time, error) {
	a, err := nw.Request(ctx, i, j, reason)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	at := time.Now()
	c, err := nw.Nodes[j].Approve(ctx, a.CID())
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return a, c, at, nil
}

// Propagation is what MeasurePropagation measured.
type Propagation struct {
	Proofs     int
	Latencies  []time.Duration // one per (proof, receiving node), sorted
	Messages   int             // gossip messages sent carrying the proofs
	CPU        time.Duration   // process CPU time (user + system) while measuring
	IdleCPU    time.Duration   // what the idle network spends in as long (measured before)
	Deliveries int             // (proof, node) pairs delivered
	Bytes      int             // mean gossip payload size of a proof
}

// Quantile returns the q-quantile of the latencies.
func (p Propagation) Quantile(q float64) time.Duration {
	if len(p.Latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(p.Latencies)-1))
	return p.Latencies[i]
}

// MeasurePropagation measures the gossip of proofs between random nodes.
// It first delivers every consent request (untimed: these open direct
// connections and trigger exchanges), lets the network settle, then has
// each subject approve in turn, one every interval, and measures the delay
// until every other node stored each proof, the gossip messages that
// carried them, and the process CPU spent until the last was delivered.
func (nw *Network) MeasurePropagation(ctx context.Context, proofs int, interval time.Duration) (Propagation, error) {
	var res Propagation
	n := len(nw.Nodes)
	type pending struct {
		a *wire.Attestation
		j int
	}
	var ps []pending
	for k := 0; k < proofs; k++ {
		i := nw.rng.IntN(n)
		j := (i + 1 + nw.rng.IntN(n-1)) % n
		a, err := nw.Request(ctx, i, j, fmt.Sprintf("measured %d", k))
		if err != nil {
			return res, err
		}
		ps = append(ps, pending{a, j})
	}
	// Let the exchanges that new connections started finish, then take
	// the idle network's own CPU rate.
	clk, err := startClock(ctx)
	if err != nil {
		return res, err
	}
	type sent struct {
		key string // the consent's CID
		id  string // the gossip message's ID
		j   int
		at  time.Time
	}
	var out []sent
	for _, p := range ps {
		at := time.Now()
		con, err := nw.Nodes[p.j].Approve(ctx, p.a.CID())
		if err != nil {
			return res, err
		}
		out = append(out, sent{con.CID().KeyString(), node.ProofID(p.a, con), p.j, at})
		if err := sleep(ctx, interval); err != nil { // a steady stream rather than a burst
			return res, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = nw.Wait(wctx, func() bool {
		for _, o := range out {
			if nw.reached(o.key, o.j) != n-1 {
				return false
			}
		}
		return true
	})
	cancel()
	if err != nil {
		return res, fmt.Errorf("netsim: proofs did not reach every node: %w", err)
	}
	nw.mu.Lock()
	for _, o := range out {
		for idx, t := range nw.firstSeen[o.key] {
			if idx != o.j && !t.IsZero() {
				res.Latencies = append(res.Latencies, t.Sub(o.at))
			}
		}
		res.Messages += nw.sent[o.id]
		res.Bytes += nw.size[o.id]
	}
	nw.mu.Unlock()
	res.Proofs = len(out)
	res.Bytes /= max(len(out), 1)
	clk.stop(&res)
	return res, nil
}

// clock measures process CPU for a Propagation, and what the idle network
// spends in as long.
type clock struct {
	cpu0     time.Duration
	start    time.Time
	idleRate float64 // CPU seconds per second while idle
}

// startClock lets the network settle for 2 s, measures its idle CPU rate
// (heartbeats, score decay, resync ticks) for 2 s, then starts the clock.
func startClock(ctx context.Context) (clock, error) {
	if err := sleep(ctx, 2*time.Second); err != nil {
		return clock{}, err
	}
	idle0, idleStart := cpuTime(), time.Now()
	if err := sleep(ctx, 2*time.Second); err != nil {
		return clock{}, err
	}
	rate := float64(cpuTime()-idle0) / float64(time.Since(idleStart))
	return clock{cpu0: cpuTime(), start: time.Now(), idleRate: rate}, nil
}

// stop fills in res's CPU, IdleCPU and Deliveries, and sorts its
// latencies.
func (c clock) stop(res *Propagation) {
	res.CPU = cpuTime() - c.cpu0
	res.IdleCPU = time.Duration(c.idleRate * float64(time.Since(c.start)))
	res.Deliveries = len(res.Latencies)
	slices.Sort(res.Latencies)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reached counts the nodes other than skip that reported storing the
// object with key.
func (nw *Network) reached(key string, skip int) int {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	k := 0
	for i, t := range nw.firstSeen[key] {
		if i != skip && !t.IsZero() {
			k++
		}
	}
	return k
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Join connects each node to degree random peers, across the groups of
// Options.Apart too (0 = every pair): the network is whole from then on.
func (nw *Network) Join(degree int) error {
	nw.apart = nil
	return nw.connect(degree)
}

// counter counts the gossip messages each node sends, by message ID.
type counter struct{ nw *Network }

func (c *counter) SendRPC(rpc *pubsub.RPC, _ peer.ID) {
	if len(rpc.Publish) == 0 {
		return
	}
	c.nw.mu.Lock()
	defer c.nw.mu.Unlock()
	for _, m := range rpc.Publish {
		id := node.GossipID(m)
		c.nw.sent[id]++
		c.nw.size[id] = len(m.Data)
	}
}
func (*counter) AddPeer(peer.ID, protocol.ID)          {}
func (*counter) RemovePeer(peer.ID)                    {}
func (*counter) Join(string)                           {}
func (*counter) Leave(string)                          {}
func (*counter) Graft(peer.ID, string)                 {}
func (*counter) Prune(peer.ID, string)                 {}
func (*counter) ValidateMessage(*pubsub.Message)       {}
func (*counter) DeliverMessage(*pubsub.Message)        {}
func (*counter) RejectMessage(*pubsub.Message, string) {}
func (*counter) DuplicateMessage(*pubsub.Message)      {}
func (*counter) ThrottlePeer(peer.ID)                  {}
func (*counter) RecvRPC(*pubsub.RPC)                   {}
func (*counter) DropRPC(*pubsub.RPC, peer.ID)          {}
func (*counter) UndeliverableMessage(*pubsub.Message)  {}

func sortDurations(d []time.Duration) { slices.Sort(d) }
