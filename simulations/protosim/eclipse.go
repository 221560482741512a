package protosim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

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

// eclipse is the eclipse attackers of a run. Withholding attackers (the
// default) are real gossipsub peers that join the proofs topic, connect
// to many honest nodes and never forward anything (every message is
// ignored by their validator, so it never enters their mesh traffic), nor
// answer the exchange and resync protocols, which they do not speak. They
// try to fill honest nodes' meshes so that proofs stop. Active attackers
// (raiders, attack.go) speak gossipsub by hand and add an attack.
type eclipse struct {
	hosts   []host.Host
	closers []func() error
	cancel  context.CancelFunc
	runCtx  context.Context
	wg      sync.WaitGroup // the raiders' stream handlers and attack loops
	conns   int            // attacker-honest connections made
	// plan lists each attacker and the honest nodes it targets, for the
	// run's plan digest.
	plan []string

	groups []*raidGroup
	raider map[peer.ID]*raidGroup // active attacker -> its group
	// The graylist measure, by (honest node, active attacker) pair seen
	// connected after the group began: when its score first fell below
	// node.GraylistThreshold (after the attack began), or absent.
	pairs  map[scorePair]bool
	black  map[scorePair]time.Duration
	honest map[scorePair]bool // (honest node, honest peer) pairs below the threshold
}

// raidGroup is the active attackers of one behaviour.
type raidGroup struct {
	at      int // the step they start
	raiders []*raider
	began   time.Time // zero until they start
}

type scorePair struct {
	node int
	peer peer.ID
}

// attackDial is a connection an attacker makes to honest node `to`.
type attackDial struct {
	h  host.Host
	to int
}

// startEclipse starts the attackers of every eclipse behaviour, each with
// Degree honest targets among the n chosen at random, and returns the
// connections to make: those of attackers joining at boot (by target,
// made as the target starts: startAll) and the others (made once every
// honest node has started: connect).
func (sm *sim) startEclipse(n int) (e *eclipse, boot map[int][]attackDial, after []attackDial, err error) {
	e = &eclipse{cancel: func() {}, raider: map[peer.ID]*raidGroup{},
		pairs: map[scorePair]bool{}, black: map[scorePair]time.Duration{}, honest: map[scorePair]bool{}}
	boot = map[int][]attackDial{}
	size := eclipseSize(sm.s)
	if size == 0 {
		return e, boot, nil, nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel, e.runCtx = cancel, runCtx
	keyRand := rand.NewChaCha8(seed32(sm.s.Seed, "eclipse"))
	targets := sm.s.Rand("eclipse-targets")
	idx := n
	for _, b := range sm.s.Behaviours {
		if b.Kind != scenario.Eclipse {
			continue
		}
		var g *raidGroup
		if b.Attack != scenario.AttackWithhold {
			g = &raidGroup{at: b.AttackAt}
			e.groups = append(e.groups, g)
		}
		for range b.Size {
			k, err := wire.GeneratePrivateKey(keyRand)
			if err != nil {
				return e, boot, after, err
			}
			priv, _, err := node.Identity(k)
			if err != nil {
				return e, boot, after, err
			}
			opts, closer := sm.net.hostOptions(idx)
			h, err := libp2p.New(append([]libp2p.Option{
				libp2p.Identity(priv),
				libp2p.NoTransports, libp2p.Transport(quic.NewTransport),
				libp2p.ListenAddrStrings(listenAddr(idx)),
			}, opts...)...)
			if err != nil {
				closer()
				return e, boot, after, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			e.hosts = append(e.hosts, h)
			e.closers = append(e.closers, closer)
			ts := targets.Perm(n)[:min(b.Degree, n)]
			for _, j := range ts {
				if b.Join == scenario.JoinBoot {
					boot[j] = append(boot[j], attackDial{h, j})
				} else {
					after = append(after, attackDial{h, j})
				}
			}
			if g != nil {
				r := newRaider(runCtx, &e.wg, h, b.Attack, sm.s.Seed+uint64(idx))
				g.raiders = append(g.raiders, r)
				e.raider[h.ID()] = g
				e.plan = append(e.plan, fmt.Sprintf("eclipse attacker %d %s join %s attack %s at step %d targets %v", idx-n, h.ID(), b.Join, b.Attack, b.AttackAt, ts))
				idx++
				continue
			}
			ps, err := pubsub.NewGossipSub(runCtx, h,
				pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
				pubsub.WithMessageIdFn(node.GossipID))
			if err != nil {
				return e, boot, after, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			ignore := func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
				return pubsub.ValidationIgnore
			}
			if err := ps.RegisterTopicValidator(node.TopicName, ignore); err != nil {
				return e, boot, after, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			topic, err := ps.Join(node.TopicName)
			if err != nil {
				return e, boot, after, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			if _, err := topic.Subscribe(); err != nil {
				return e, boot, after, fmt.Errorf("protosim: eclipse attacker: %w", err)
			}
			if b.Join == scenario.JoinBoot {
				e.plan = append(e.plan, fmt.Sprintf("eclipse attacker %d %s join boot targets %v", idx-n, h.ID(), ts))
			} else {
				e.plan = append(e.plan, fmt.Sprintf("eclipse attacker %d %s targets %v", idx-n, h.ID(), ts))
			}
			idx++
		}
	}
	return e, boot, after, nil
}

// connect makes the attackers' connections to honest nodes, in parallel:
// thousands of QUIC handshakes over links with latency take minutes one
// after another. Progress says how far it got (nil: nothing to report).
func (sm *sim) connect(ctx context.Context, e *eclipse, dials []attackDial, progress func(done, total int)) {
	work := make(chan attackDial)
	var wg sync.WaitGroup
	var mu sync.Mutex
	tried := 0
	for range 64 {
		wg.Add(1)
		go func() { // joined by wg.Wait below
			defer wg.Done()
			for d := range work {
				to := peer.AddrInfo{ID: sm.nodes[d.to].ID(), Addrs: []ma.Multiaddr{ma.StringCast(listenAddr(d.to))}}
				err := d.h.Connect(ctx, to)
				mu.Lock()
				if err == nil {
					e.conns++
				}
				tried++
				if progress != nil && (tried%100 == 0 || tried == len(dials)) {
					progress(tried, len(dials))
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
}

// step starts the groups whose attack begins at this step.
func (e *eclipse) step(step int, now time.Time) {
	for _, g := range e.groups {
		if g.at != step {
			continue
		}
		g.began = now
		for _, r := range g.raiders {
			e.wg.Add(1)
			go r.attack(e.runCtx) // joined by close's wg.Wait
		}
	}
}

// attackFrom is the first step of an active attack, or -1 without one.
func (e *eclipse) attackFrom() int {
	from := -1
	for _, g := range e.groups {
		if from < 0 || g.at < from {
			from = g.at
		}
	}
	return from
}

// sample reads every honest node's scores of its peers at the end of a
// step.
func (e *eclipse) sample(nodes []*node.Node, honest map[peer.ID]bool, now time.Time) {
	for i, nd := range nodes {
		if nd == nil {
			continue
		}
		for _, p := range nd.Peers() {
			if !p.Connected {
				continue
			}
			k := scorePair{i, p.ID}
			low := p.Score < node.GraylistThreshold
			if honest[p.ID] {
				if low {
					e.honest[k] = true
				}
				continue
			}
			g := e.raider[p.ID]
			if g == nil || g.began.IsZero() {
				continue
			}
			e.pairs[k] = true
			if _, ok := e.black[k]; !ok && low {
				e.black[k] = now.Sub(g.began)
			}
		}
	}
}

func (e *eclipse) close() {
	for _, g := range e.groups {
		for _, r := range g.raiders {
			r.stop()
		}
	}
	e.cancel()
	var errs []error
	for i, h := range e.hosts {
		errs = append(errs, h.Close(), e.closers[i]())
	}
	e.wg.Wait()
	_ = errors.Join(errs...)
}

func (e *eclipse) measure(res *Result) {
	res.AttackerConns = e.conns
	res.GraylistPairs, res.HonestGraylisted = len(e.pairs), len(e.honest)
	if len(e.pairs) == 0 {
		return
	}
	var d []time.Duration
	for _, t := range e.black {
		d = append(d, t)
	}
	res.Graylisted = float64(len(d)) / float64(len(e.pairs))
	if len(d) > 0 {
		slices.Sort(d)
		res.GraylistP50, res.GraylistMax = quantile(d, 0.5), d[len(d)-1]
	}
}
