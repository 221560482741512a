package protosim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/wire"
)

// eclipse is the eclipse attackers of a run: Sybil peers that join the
// proofs topic, connect to many honest nodes and never forward anything
// (every message is ignored by their validator, so it never enters their
// mesh traffic), nor answer the exchange and resync protocols, which they
// do not speak. They try to fill honest nodes' meshes so that proofs stop.
type eclipse struct {
	hosts   []host.Host
	closers []func() error
	cancel  context.CancelFunc
	conns   int // attacker-honest connections made
	// plan lists each attacker and the honest nodes it targets, for the
	// run's plan digest.
	plan []string
}

// startEclipse starts the attackers of every eclipse behaviour and
// connects each to Degree honest nodes chosen at random.
func (sm *sim) startEclipse(ctx context.Context) (*eclipse, error) {
	e := &eclipse{cancel: func() {}}
	size := eclipseSize(sm.s)
	if size == 0 {
		return e, nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	keyRand := rand.NewChaCha8(seed32(sm.s.Seed, "eclipse"))
	targets := sm.s.Rand("eclipse-targets")
	n := len(sm.nodes)
	idx := n
	type dial struct {
		h  host.Host
		to peer.AddrInfo
	}
	var dials []dial
	for _, b := range sm.s.Behaviours {
		if b.Kind != scenario.Eclipse {
			continue
		}
		for range b.Size {
			k, err := wire.GeneratePrivateKey(keyRand)
			if err != nil {
				return e, err
			}
			priv, _, err := node.Identity(k)
			if err != nil {
				return e, err
			}
			opts, closer := sm.net.hostOptions(idx)
			h, err := libp2p.New(append([]libp2p.Option{
				libp2p.Identity(priv),
				libp2p.NoTransports, libp2p.Transport(quic.NewTransport),
				libp2p.ListenAddrStrings(listenAddr(idx)),
			}, opts...)...)
			if err != nil {
				closer()
				return e, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			e.hosts = append(e.hosts, h)
			e.closers = append(e.closers, closer)
			ps, err := pubsub.NewGossipSub(runCtx, h,
				pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
				pubsub.WithMessageIdFn(node.GossipID))
			if err != nil {
				return e, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			ignore := func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
				return pubsub.ValidationIgnore
			}
			if err := ps.RegisterTopicValidator(node.TopicName, ignore); err != nil {
				return e, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			topic, err := ps.Join(node.TopicName)
			if err != nil {
				return e, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			if _, err := topic.Subscribe(); err != nil {
				return e, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			ts := targets.Perm(n)[:min(b.Degree, n)]
			for _, j := range ts {
				dials = append(dials, dial{h, peer.AddrInfo{ID: sm.nodes[j].ID(), Addrs: []ma.Multiaddr{ma.StringCast(listenAddr(j))}}})
			}
			e.plan = append(e.plan, fmt.Sprintf("eclipse attacker %d %s targets %v", idx-n, h.ID(), ts))
			idx++
		}
	}
	// Dial in parallel: thousands of QUIC handshakes over links with
	// latency take minutes one after another.
	work := make(chan dial)
	var wg sync.WaitGroup
	var mu sync.Mutex
	tried := 0
	for range 64 {
		wg.Add(1)
		go func() { // joined by wg.Wait below
			defer wg.Done()
			for d := range work {
				err := d.h.Connect(ctx, d.to)
				mu.Lock()
				if err == nil {
					e.conns++
				}
				tried++
				if sm.o.Starting != nil && (tried%100 == 0 || tried == len(dials)) {
					sm.o.Starting("attacker connections", tried, len(dials))
				}
				mu.Unlock()
			}
		}()
	}
	for _, d := range dials {
		work <- d
	}
	close(work)
	wg.Wait()
	sm.log.Info("eclipse attackers connected", "attackers", len(e.hosts), "connections", e.conns)
	return e, nil
}

func (e *eclipse) close() {
	e.cancel()
	var errs []error
	for i, h := range e.hosts {
		errs = append(errs, h.Close(), e.closers[i]())
	}
	_ = errors.Join(errs...)
}

func (e *eclipse) measure(res *Result) {
	res.AttackerConns = e.conns
}
