package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// DefaultListen are the addresses a node listens on when Config.Listen is
// empty: every interface, TCP and QUIC, ports chosen by the system.
var DefaultListen = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip6/::/tcp/0",
	"/ip6/::/udp/0/quic-v1",
}

// Defaults of the Config fields left zero.
const (
	DefaultResyncInterval = 10 * time.Second
	DefaultRateLimit      = 250  // gossip messages per second per peer (honest load: about 120)
	DefaultRateBurst      = 2500 // gossip messages in a burst per peer
	DefaultConnLow        = 64
	DefaultConnHigh       = 192
	DefaultMinPeers       = 8
	// DefaultPeerCheckInterval is how often a node tops up its peers.
	DefaultPeerCheckInterval = 10 * time.Second
	// MDNSServiceName is the mDNS service kith nodes announce.
	MDNSServiceName = "_kith._udp"
)

// Config configures a Node. The zero value plus Key and Store is a working
// node with the documented defaults.
type Config struct {
	// Key is the node's identity; its public key is the peer ID. Required.
	Key *wire.PrivateKey
	// Store holds the node's objects. Required; the node never closes it.
	Store store.Store
	// DataDir keeps the peer book and the owner's consent decisions. ""
	// keeps them in memory.
	DataDir string
	// PublicSetKeys, if set, keeps the public set's keys outside memory (the
	// daemon passes a badger key set, store/badger.OpenKeySet, under its
	// home). The node rebuilds the set from Store at every start, so it
	// must be empty then; the node never closes it. nil keeps the keys in
	// memory: about 85 bytes a key (two keys a proof), where badger's key
	// set costs a fixed 16 goroutines and about 6 MB of heap, and memory
	// then grows with the public objects held.
	PublicSetKeys recon.KeyStore
	// SetInMemory has no effect (the set is in memory unless PublicSetKeys
	// is set); it remains for the callers that set it before.
	SetInMemory bool
	// Listen lists multiaddrs to listen on; empty means DefaultListen.
	Listen []string
	// Bootstrap lists peers (multiaddrs ending in /p2p/<id>) to connect to
	// at start, and again whenever the node has no peers.
	Bootstrap []string
	// NoMDNS turns off discovery on the local network (on by default).
	NoMDNS bool
	// NoDHT turns off the Kademlia DHT (on by default), which the node
	// uses to find the address of a subject's node it is not connected
	// to, to deliver a consent request. Without it, a request reaches only
	// subjects the node can already dial, and the others fetch it when
	// they connect to this node.
	NoDHT bool
	// Host, if set, is used instead of a host the node builds (tests run
	// nodes on mocknet this way). Listen is then ignored, and Close leaves
	// the host open.
	Host host.Host
	// PeerTrust returns the owner's trust in a peer, in [-1, 1]; it feeds
	// the gossip peer score (application-specific part). nil means 0.
	PeerTrust func(wire.PublicKey) float64
	// ResyncInterval is how often the node reconciles its public set with
	// a random peer; 0 means DefaultResyncInterval.
	ResyncInterval time.Duration
	// RateLimit and RateBurst bound the gossip messages accepted from one
	// peer (per second, and in a burst); excess is ignored. 0 means the
	// defaults.
	RateLimit float64
	RateBurst int
	// Budget bounds what one peer may make the node store and serve, per
	// minute (spec/node-v1.md §7); zero fields take DefaultBudget's.
	Budget Budget
	// ConnLow and ConnHigh are the connection manager's watermarks; 0
	// means the defaults.
	ConnLow, ConnHigh int
	// MinPeers is how many peers the node keeps: below it, it dials
	// remembered and bootstrap peers every PeerCheckInterval, so that a
	// node whose links to the rest of the network died (a partition, a
	// restart of its peers) finds them again. 0 means DefaultMinPeers.
	MinPeers int
	// PeerCheckInterval is how often the node checks MinPeers and saves
	// its peer book; 0 means DefaultPeerCheckInterval.
	PeerCheckInterval time.Duration
	// QUICOptions are appended to the options of the QUIC connection
	// manager of the host the node builds (ignored with Host). The
	// protocol-level simulator uses them to run QUIC over a simulated
	// network; Listen must then name addresses on it.
	QUICOptions []quicreuse.Option
	// Now is the clock for validity checks; nil means time.Now.
	Now func() time.Time
	// Seed seeds the node's random choices (which peer to resync with).
	Seed uint64
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// OnStored, if set, is called after objects received from the network
	// are stored (from one goroutine at a time).
	OnStored func([]wire.Object)

	// RawTracer, if set, also receives pubsub's raw trace events
	// (measurement; see node/netsim).
	RawTracer pubsub.RawTracer

	// tap, if set, sees every byte the node writes on its own streams
	// (tests use it to look for private canaries).
	tap func(proto string, to peer.ID, b []byte)
	// holdValidate, if set, holds the validation of every gossip message
	// from another peer until it is closed (tests use it to saturate
	// validation).
	holdValidate chan struct{}
}

// ErrClosed is returned by calls on a closed (or never started) Node.
var ErrClosed = errors.New("node: closed")

// Node is a running kith peer: a libp2p host, the gossip of public
// consented proofs, the exchange and consent protocols and the resync of
// the public set. Methods are safe for concurrent use.
type Node struct {
	cfg    Config
	log    *slog.Logger
	me     wire.PublicKey
	host   host.Host
	ps     *pubsub.PubSub
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
	set    *recon.Set
	lim    limits
	book   *peerBook
	inbox  *Decisions
	mdns   mdns.Service
	runCtx context.Context
	cancel context.CancelFunc
	kick   chan peer.ID // peers to resync with now
	board  scoreBoard
	recent recentSet
	// verifier batches the gossip validator's signature checks.
	verifier *verifier
	dht      *dht.IpfsDHT // nil with NoDHT
	outbox   outbox       // consent requests not delivered yet
	expiring expiring     // public-set groups that expire

	groupMu sync.Mutex // serialises refreshGroup (public-set updates)

	mu      sync.Mutex // guards closed, rng and the goroutine count below
	closed  bool
	rng     *rand.Rand
	wg      sync.WaitGroup
	started time.Time

	stored, rejected, ignored, published atomic.Int64
	// validated, throttled and gated count gossip at pubsub's level: see
	// Stats.
	validated, throttled, gated atomic.Int64
	undelivered, droppedRPCs    atomic.Int64
	mesh                        atomic.Int64 // peers in the topic mesh
	resyncs                     atomic.Int64 // resyncs run (ended, with or without error)
	gossiped                    atomic.Int64 // objects stored from gossip messages
	fetched                     atomic.Int64 // objects received in exchange responses
	sigChecks                   atomic.Int64 // objects whose signatures open verified
	overBudget                  atomic.Int64 // requests and objects refused over a peer's budget
	unwritable                  atomic.Bool  // a write failure of the store was logged
}

// Start builds the host (unless Config.Host is set), joins the gossip topic,
// registers the protocols and starts the background work. ctx bounds the
// start-up only; the node runs until Close.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Key == nil || cfg.Store == nil {
		return nil, errors.New("node: Config.Key and Config.Store are required")
	}
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.ConnLow == 0 {
		cfg.ConnLow = DefaultConnLow
	}
	if cfg.ConnHigh == 0 {
		cfg.ConnHigh = DefaultConnHigh
	}
	if cfg.MinPeers == 0 {
		cfg.MinPeers = DefaultMinPeers
	}
	if cfg.PeerCheckInterval == 0 {
		cfg.PeerCheckInterval = DefaultPeerCheckInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PeerTrust == nil {
		cfg.PeerTrust = func(wire.PublicKey) float64 { return 0 }
	}
	cfg.Budget = cfg.Budget.withDefaults()
	if cfg.ResyncInterval < 0 || cfg.RateLimit < 0 || cfg.RateBurst < 0 || cfg.ConnLow < 0 || cfg.ConnHigh < cfg.ConnLow || cfg.MinPeers < 0 || cfg.PeerCheckInterval < 0 || !cfg.Budget.valid() {
		return nil, errors.New("node: negative interval or limit, or ConnHigh below ConnLow")
	}
	n := &Node{
		cfg:    cfg,
		log:    cfg.Logger,
		me:     cfg.Key.Public(),
		set:    new(recon.Set),
		kick:   make(chan peer.ID, 64),
		recent: recentSet{now: cfg.Now},
		rng:    rand.New(rand.NewPCG(cfg.Seed, uint64(cfg.Key.Public()[0])<<8|uint64(cfg.Key.Public()[1]))),
	}
	n.lim = newLimits(cfg)
	var err error
	if n.book, err = openPeerBook(cfg.DataDir); err != nil {
		return nil, err
	}
	if n.inbox, err = OpenDecisions(cfg.DataDir); err != nil {
		return nil, err
	}
	if cfg.PublicSetKeys != nil {
		if n.set, err = recon.NewStoreSet(cfg.PublicSetKeys); err != nil {
			return nil, fmt.Errorf("node: public set: %w", err)
		}
		if n.set.Len() != 0 {
			return nil, fmt.Errorf("node: public set: Config.PublicSetKeys holds %d keys, want an empty key store", n.set.Len())
		}
	}
	if err := n.loadSet(ctx); err != nil {
		return nil, err
	}
	if cfg.Host != nil {
		n.host = cfg.Host
		if n.host.ID() != mustPeerID(cfg.Key) {
			return nil, fmt.Errorf("node: Config.Host is %s, not this node's key %s", n.host.ID(), n.me)
		}
	} else if n.host, err = buildHost(cfg); err != nil {
		return nil, err
	}
	n.runCtx, n.cancel = context.WithCancel(context.Background())
	n.verifier = newVerifier(cfg.Now)
	for range n.verifier.workers() {
		n.spawn(func() { n.verifier.run(n.runCtx.Done()) })
	}
	if err := n.startGossip(); err != nil {
		n.abort()
		return nil, err
	}
	if err := n.startDHT(ctx); err != nil {
		n.abort()
		return nil, err
	}
	if err := n.loadOutbox(ctx); err != nil {
		n.abort()
		return nil, err
	}
	n.host.SetStreamHandler(protocol.ID(ExchangeProtocol), n.tracked(n.handleExchange))
	n.host.SetStreamHandler(protocol.ID(ExchangeProtocol11), n.tracked(n.handleExchange))
	n.host.SetStreamHandler(protocol.ID(SyncProtocol), n.tracked(n.handleSync))
	n.host.SetStreamHandler(protocol.ID(ConsentProtocol), n.tracked(n.handleConsent))
	sub, err := n.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		n.abort()
		return nil, fmt.Errorf("node: event bus: %w", err)
	}
	n.started = cfg.Now()
	n.spawn(func() { n.readLoop() })
	n.spawn(func() { n.connectLoop(sub) })
	n.spawn(func() { n.resyncLoop() })
	n.spawn(func() { n.bootstrapLoop() })
	n.spawn(func() { n.outboxLoop() })
	if !cfg.NoMDNS && cfg.Host == nil {
		n.mdns = mdns.NewMdnsService(n.host, MDNSServiceName, mdnsNotifee{n})
		if err := n.mdns.Start(); err != nil {
			n.log.Warn("mDNS discovery unavailable", "err", err)
			n.mdns = nil
		}
	}
	n.log.Info("node started", "peer_id", n.host.ID(), "addrs", n.Addrs(), "public_set", n.set.Len())
	return n, nil
}

func mustPeerID(k *wire.PrivateKey) peer.ID {
	_, id, err := Identity(k)
	if err != nil {
		return ""
	}
	return id
}

// abort undoes a failed Start.
func (n *Node) abort() {
	if n.cancel != nil {
		n.cancel()
	}
	if n.dht != nil {
		n.dht.Close()
	}
	if n.cfg.Host == nil && n.host != nil {
		n.host.Close()
	}
}

// spawn runs f in a goroutine the node owns: Close waits for it.
func (n *Node) spawn(f func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
	return true
}

// tracked wraps a stream handler so that Close waits for it, and refuses
// streams once closing.
func (n *Node) tracked(h func(network.Stream)) network.StreamHandler {
	return func(s network.Stream) {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			s.Reset()
			return
		}
		n.wg.Add(1)
		n.mu.Unlock()
		defer n.wg.Done()
		// Close must not wait for a peer that stopped answering.
		defer context.AfterFunc(n.runCtx, func() { s.Reset() })()
		h(s)
	}
}

// openStream opens a stream to p with ctx's deadline, reset when ctx ends
// or the node closes (a stream does not watch a context by itself, and
// Close must not wait for a peer that stopped answering). Of several
// protocols, the first p speaks is chosen (s.Protocol says which). The
// caller calls release when done with the stream, before closing it.
func (n *Node) openStream(ctx context.Context, p peer.ID, protos ...string) (s network.Stream, release func(), err error) {
	ids := make([]protocol.ID, len(protos))
	for i, pr := range protos {
		ids[i] = protocol.ID(pr)
	}
	s, err = n.host.NewStream(ctx, p, ids...)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	stop1 := context.AfterFunc(ctx, func() { s.Reset() })
	stop2 := context.AfterFunc(n.runCtx, func() { s.Reset() })
	return s, func() { stop1(); stop2() }, nil
}

// Close stops the node: it leaves the topic, stops discovery, waits for
// every goroutine it started, saves the peer book and closes the host it
// built. The store stays open. A second Close returns nil.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	var errs []error
	if n.mdns != nil {
		errs = append(errs, n.mdns.Close())
	}
	for _, p := range []string{ExchangeProtocol, ExchangeProtocol11, SyncProtocol, ConsentProtocol} {
		n.host.RemoveStreamHandler(protocol.ID(p))
	}
	n.saveBook()
	n.cancel()
	if n.sub != nil {
		n.sub.Cancel()
	}
	n.wg.Wait()
	if n.topic != nil {
		if err := n.topic.Close(); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Debug("topic close", "err", err)
		}
	}
	if n.dht != nil {
		errs = append(errs, n.dht.Close())
	}
	if n.cfg.Host == nil {
		errs = append(errs, n.host.Close())
	}
	n.log.Info("node stopped")
	return errors.Join(errs...)
}

// ID returns the node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Key returns the node's public key.
func (n *Node) Key() wire.PublicKey { return n.me }

// Host returns the node's libp2p host.
func (n *Node) Host() host.Host { return n.host }

// Addrs returns the node's listen addresses as full multiaddrs ending in
// /p2p/<peer id>.
func (n *Node) Addrs() []string {
	p2p, err := ma.NewComponent("p2p", n.host.ID().String())
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range n.host.Addrs() {
		out = append(out, a.Encapsulate(p2p.Multiaddr()).String())
	}
	return out
}

// Connect dials a peer given as a multiaddr ending in /p2p/<id>.
func (n *Node) Connect(ctx context.Context, addr string) error {
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return fmt.Errorf("node: connect %q: %w", addr, err)
	}
	if err := n.host.Connect(ctx, *ai); err != nil {
		return fmt.Errorf("node: connect %s: %w", ai.ID, err)
	}
	return nil
}

// PeerInfo describes a connected or remembered peer.
type PeerInfo struct {
	ID        peer.ID
	Addrs     []string
	Connected bool
	Score     float64 // gossip score (0 if unknown)
}

// Peers lists the connected peers and the peer book's others.
func (n *Node) Peers() []PeerInfo {
	scores := n.scores()
	seen := map[peer.ID]bool{}
	var out []PeerInfo
	for _, id := range n.host.Network().Peers() {
		seen[id] = true
		pi := PeerInfo{ID: id, Connected: true, Score: scores[id]}
		for _, a := range n.host.Peerstore().Addrs(id) {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		out = append(out, pi)
	}
	for _, e := range n.book.entries() {
		if !seen[e.ID] {
			out = append(out, PeerInfo{ID: e.ID, Addrs: e.Addrs})
		}
	}
	return out
}

// Stats are the node's counters.
type Stats struct {
	Started   time.Time
	Peers     int
	PublicSet int
	Stored    int64 // objects stored from the network
	Gossiped  int64 // of those, objects stored from gossip messages
	Fetched   int64 // objects received in exchange responses (fetch, resync), new or not
	Rejected  int64 // gossip messages rejected (sender penalised)
	Ignored   int64 // gossip messages ignored
	Published int64 // gossip messages published by this node
	// Validated counts gossip messages that entered validation; Throttled
	// those dropped unvalidated because the validation queue or its
	// concurrency limit was full; Gated the RPCs whose messages the peer
	// gater dropped (from peers with poor goodput, while validation is
	// saturated). Honest load should leave Throttled at 0.
	Validated, Throttled, Gated int64
	// Undelivered counts gossip messages pubsub dropped before this node
	// could store them (its subscription buffer was full); DroppedRPCs,
	// RPCs to peers dropped because their outbound queue was full. Both
	// are repaired by resync, from any peer that stored the message.
	Undelivered, DroppedRPCs int64
	MeshPeers                int // peers in the gossip mesh
	// Resyncs counts the reconciliations this node ran with its peers
	// (Resync calls that ended, with or without an error).
	Resyncs int64
	// OverBudget counts what the node refused because a peer (or an
	// issuer) was over its budget (spec/node-v1.md §7): requests and
	// sessions refused, object groups not stored, proofs ignored.
	OverBudget           int64
	PendingConsent       int
	HostStreamsOpen      int
	HostConnectionsTotal int
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	conns := n.host.Network().Conns()
	streams := 0
	for _, c := range conns {
		streams += len(c.GetStreams())
	}
	return Stats{
		Started: n.started, Peers: len(n.host.Network().Peers()), PublicSet: n.set.Len(),
		Stored: n.stored.Load(), Gossiped: n.gossiped.Load(), Fetched: n.fetched.Load(), Rejected: n.rejected.Load(), Ignored: n.ignored.Load(),
		Published: n.published.Load(), Validated: n.validated.Load(), Throttled: n.throttled.Load(), Gated: n.gated.Load(),
		Undelivered: n.undelivered.Load(), DroppedRPCs: n.droppedRPCs.Load(),
		MeshPeers: int(n.mesh.Load()), Resyncs: n.resyncs.Load(), OverBudget: n.overBudget.Load(), HostStreamsOpen: streams, HostConnectionsTotal: len(conns),
	}
}

func (n *Node) randIntN(k int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.IntN(k)
}

type mdnsNotifee struct{ n *Node }

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.host.ID() {
		return
	}
	m.n.spawn(func() {
		ctx, cancel := context.WithTimeout(m.n.runCtx, 10*time.Second)
		defer cancel()
		if err := m.n.host.Connect(ctx, ai); err != nil {
			m.n.log.Debug("mDNS peer unreachable", "peer", ai.ID, "err", err)
		}
	})
}

// DefaultMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// of a process that runs one node, as kith run sets it when neither its
// --memory-limit flag nor GOMEMLIMIT says otherwise: the budget measured for
// one node under sustained gossip, with room to spare (README, "Memory").
// It is a goal for the garbage collector, not a cap: a node that needs more
// gets it, at the cost of more collection.
const DefaultMemoryLimit = 192 << 20
