package protosim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/simulations/graphsim"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// Limits of the protocol level: every node is a real libp2p host in this
// process, running in real time.
const (
	MaxNodes = 2000
	MaxStep  = 10 * time.Second
)

// MaxBehind is how far behind its clock a run may fall (the largest lag of
// a step's end, over the simulated time) before its figures are marked:
// beyond it, the latencies measured include this machine's queueing.
const MaxBehind = 0.10

// DefaultBandwidth is each node's link speed, each way, when the scenario
// does not say (bits per second).
const DefaultBandwidth = 100_000_000

// ErrScenario is wrapped by errors about a scenario the protocol level
// cannot run.
var ErrScenario = errors.New("protosim: scenario")

// Options configure Run.
type Options struct {
	// Logger receives the simulator's progress and, at debug level, the
	// nodes' logs; nil discards them.
	Logger *slog.Logger
	// Progress, if set, is called after each step (done, total steps).
	Progress func(done, total int)
	// Starting, if set, is called while the network starts: as honest
	// nodes start (done, total nodes), then as eclipse attackers connect
	// (done, total connections).
	Starting func(what string, done, total int)
	// Drain is how long after the last step the run waits for the last
	// proofs and withdrawals to arrive everywhere (default 30 s).
	Drain time.Duration
	// Dir holds the nodes' data directories (peer books, consent
	// decisions); "" uses a temporary directory removed at the end.
	Dir string
	// Virtual says that Run is called inside a testing/synctest bubble,
	// where the clock moves only when every goroutine waits: time is
	// virtual, and the latencies measured are the protocol's on the
	// simulated links whatever this machine's load (see TestVirtual). It
	// labels the result (Result.Clock) and lifts the step limit of real
	// time. Run cannot tell by itself.
	Virtual bool
}

// Clocks a run is measured on (Result.Clock).
const (
	ClockReal    = "real"
	ClockVirtual = "virtual"
)

// CheckScenario reports whether the protocol level can run s.
func CheckScenario(s *scenario.Scenario) error { return check(s, false) }

// check is CheckScenario; in virtual time steps may be of any length.
func check(s *scenario.Scenario, virtual bool) error {
	if s.Step.Duration > MaxStep && !virtual {
		return fmt.Errorf("%w: step %s: the protocol level runs in real time; use a step of at most %s", ErrScenario, s.Step, MaxStep)
	}
	n := s.Graph.Nodes
	for _, b := range s.Behaviours {
		if b.Kind == scenario.Eclipse {
			n += b.Size
		}
	}
	if s.Graph.Kind == scenario.GraphDataset {
		return fmt.Errorf("%w: the protocol level runs generated graphs (barabasi-albert, watts-strogatz, market), not datasets", ErrScenario)
	}
	if n > MaxNodes {
		return fmt.Errorf("%w: %d nodes (honest and eclipse attackers): the protocol level runs at most %d", ErrScenario, n, MaxNodes)
	}
	return nil
}

// Ignored lists what s describes that the protocol level does not
// simulate (the graph level measures the reputation attacks).
func Ignored(s *scenario.Scenario) []string {
	var out []string
	for i, b := range s.Behaviours {
		if b.Kind != scenario.Eclipse {
			out = append(out, fmt.Sprintf("behaviour[%d] (%s: graph level)", i, b.Kind))
		}
	}
	if s.Consent != nil && s.Consent.Hops != 0 {
		out = append(out, "consent.hops (proofs travel the whole network)")
	}
	if len(s.Params) > 0 {
		out = append(out, "params (engine parameters: graph level)")
	}
	return out
}

// sim is one run in progress. Its fields are owned by the goroutine in
// Run, except those under mu, which the nodes' OnStored callbacks write.
type sim struct {
	s     *scenario.Scenario
	o     Options
	log   *slog.Logger
	net   *network
	dir   string
	keys  []*wire.PrivateKey
	idx   map[wire.PublicKey]int
	st    []store.Store
	nodes []*node.Node // nil while down
	boot  [][]string
	start time.Time

	mu        sync.Mutex
	firstSeen map[cid.Cid][]time.Time // object -> when each node stored it
	requests  [][]*wire.Attestation   // per subject: consent requests received, not decided
	asked     map[cid.Cid]bool        // consent requests seen (a node may receive one again)
}

// proof is a consented public statement the run follows.
type proof struct {
	att      *wire.Attestation
	consent  cid.Cid
	subject  int
	approved time.Time
	// withdrawal, if the subject withdrew consent.
	withdrawal cid.Cid
	withdrawn  time.Time
}

// Run simulates s at the protocol level: one real node (package node:
// gossip, exchange, consent, resync) per member of the honest graph on a
// simulated network, in real time (or virtual time: Options.Virtual). Members publish the graph's ratings
// over the steps (vouches public with chance consent.public, warnings
// and the rest private), subjects grant or decline consent, withdraw it,
// nodes restart (churn), the network splits and heals, and eclipse
// attackers try to cut honest nodes off. It measures delivery, latency,
// bandwidth and privacy leaks.
func Run(ctx context.Context, s *scenario.Scenario, o Options) (*Result, error) {
	if err := check(s, o.Virtual); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Drain == 0 {
		o.Drain = 30 * time.Second
	}
	pop, err := graphsim.NewPopulation(s)
	if err != nil {
		return nil, err
	}
	n := pop.Graph.N()
	if n < 2 {
		return nil, fmt.Errorf("%w: %d members; want at least 2", ErrScenario, n)
	}
	netw := s.Network
	if netw == nil {
		netw = &scenario.Network{}
	}
	consent := s.Consent
	if consent == nil {
		consent = &scenario.Consent{Public: 0.5, Grant: 1}
	}
	bw := DefaultBandwidth
	if netw.Bandwidth > 0 {
		bw = int(netw.Bandwidth * 1e6)
	}
	sm := &sim{
		s: s, o: o, log: o.Logger,
		net:       newNetwork(n+eclipseSize(s), netw.Latency.Duration, netw.Jitter, netw.Loss, bw, s.Seed),
		idx:       map[wire.PublicKey]int{},
		firstSeen: map[cid.Cid][]time.Time{},
		asked:     map[cid.Cid]bool{},
		requests:  make([][]*wire.Attestation, n),
	}
	sm.net.sim.Logger = o.Logger
	sm.net.sim.Start()
	defer sm.net.sim.Close()
	if sm.dir = o.Dir; sm.dir == "" {
		if sm.dir, err = os.MkdirTemp("", "kith-protosim-"); err != nil {
			return nil, fmt.Errorf("protosim: %w", err)
		}
		defer os.RemoveAll(sm.dir)
	}
	defer sm.stopAll()
	if err := sm.startAll(ctx, n); err != nil {
		return nil, err
	}
	atk, err := sm.startEclipse(ctx)
	if err != nil {
		return nil, err
	}
	defer atk.close()
	return sm.run(ctx, pop, consent, netw, atk)
}

func eclipseSize(s *scenario.Scenario) int {
	k := 0
	for _, b := range s.Behaviours {
		if b.Kind == scenario.Eclipse {
			k += b.Size
		}
	}
	return k
}

// startAll starts the honest nodes; each bootstraps from a few of the
// nodes started before it, and finds the rest through them.
func (sm *sim) startAll(ctx context.Context, n int) error {
	keyRand := rand.NewChaCha8(seed32(sm.s.Seed, "keys"))
	rng := sm.s.Rand("bootstrap")
	sm.nodes = make([]*node.Node, n)
	sm.boot = make([][]string, n)
	for i := 0; i < n; i++ {
		k, err := wire.GeneratePrivateKey(keyRand)
		if err != nil {
			return err
		}
		sm.keys = append(sm.keys, k)
		sm.idx[k.Public()] = i
		sm.st = append(sm.st, mem.New())
		if i > 0 {
			picks := []int{i - 1}
			for range min(i-1, 4) {
				picks = append(picks, rng.IntN(i))
			}
			for _, j := range slices.Compact(slices.Sorted(slices.Values(picks))) {
				sm.boot[i] = append(sm.boot[i], fmt.Sprintf("%s/p2p/%s", listenAddr(j), sm.nodes[j].ID()))
			}
		}
		if err := sm.startNode(ctx, i); err != nil {
			return err
		}
		if sm.o.Starting != nil {
			sm.o.Starting("nodes", i+1, n)
		}
	}
	return nil
}

func (sm *sim) startNode(ctx context.Context, i int) error {
	dir := filepath.Join(sm.dir, fmt.Sprintf("node-%d", i))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("protosim: %w", err)
	}
	nd, err := node.Start(ctx, node.Config{
		Key: sm.keys[i], Store: sm.st[i], DataDir: dir, SetInMemory: true,
		Listen: []string{listenAddr(i)}, QUICOptions: sm.net.quicOptions(i), NoMDNS: true,
		Bootstrap: sm.boot[i], Seed: sm.s.Seed + uint64(i),
		Logger:   sm.log.With("node", i),
		OnStored: func(objs []wire.Object) { sm.stored(i, objs) },
	})
	if err != nil {
		return fmt.Errorf("protosim: node %d: %w", i, err)
	}
	sm.nodes[i] = nd
	return nil
}

func (sm *sim) stopNode(i int) error {
	if sm.nodes[i] == nil {
		return nil
	}
	err := sm.nodes[i].Close()
	sm.nodes[i] = nil
	return err
}

func (sm *sim) stopAll() {
	for i := range sm.nodes {
		if err := sm.stopNode(i); err != nil {
			sm.log.Debug("stopping a node", "node", i, "err", err)
		}
	}
}

// stored records what node i received, and the consent requests among it.
func (sm *sim) stored(i int, objs []wire.Object) {
	now := time.Now()
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for _, o := range objs {
		ts := sm.firstSeen[o.CID()]
		if ts == nil {
			ts = make([]time.Time, len(sm.nodes))
			sm.firstSeen[o.CID()] = ts
		}
		if ts[i].IsZero() {
			ts[i] = now
		}
		if a, ok := o.(*wire.Attestation); ok && a.Audience.Scope == wire.Public && a.Subject.Key != nil && *a.Subject.Key == sm.keys[i].Public() && !sm.asked[a.CID()] {
			sm.asked[a.CID()] = true
			sm.requests[i] = append(sm.requests[i], a)
		}
	}
}

// reached reports whether node i holds object c, and since when it was
// told of it (zero if the object is in its store by a path that does not
// report, such as its own making).
func (sm *sim) reached(c cid.Cid, i int) (time.Time, bool) {
	sm.mu.Lock()
	ts := sm.firstSeen[c]
	sm.mu.Unlock()
	if ts != nil && !ts[i].IsZero() {
		return ts[i], true
	}
	ok, err := sm.st[i].Has(context.Background(), c)
	return time.Time{}, ok && err == nil
}

func seed32(seed uint64, label string) [32]byte {
	var b [32]byte
	for k := range 8 {
		b[k] = byte(seed >> (8 * k))
	}
	copy(b[8:], label)
	return b
}

// rating is one edge of the honest graph to publish.
type rating struct {
	from, to int
	vouch    bool
}

func (sm *sim) run(ctx context.Context, pop *graphsim.Population, consent *scenario.Consent, netw *scenario.Network, atk *eclipse) (*Result, error) {
	s := sm.s
	n := len(sm.nodes)
	var ratings []rating
	for _, e := range pop.Graph.Edges() {
		ratings = append(ratings, rating{int(e.From), int(e.To), e.Weight > 0})
	}
	s.Rand("order").Shuffle(len(ratings), func(i, j int) { ratings[i], ratings[j] = ratings[j], ratings[i] })
	// Every choice below that does not wait on the network comes from its
	// own stream or is a Draw keyed by what it decides, so that the
	// workload follows from the seed alone; the plan digest records it.
	partRand, churnRand, attRand := s.Rand("partitions"), s.Rand("churn"), s.Rand("attestations")
	plan := sha256.New()
	fmt.Fprintf(plan, "nodes %d steps %d step %s\n", n, s.Steps, s.Step)
	for _, l := range atk.plan {
		fmt.Fprintln(plan, l)
	}
	res := &Result{
		Scenario: s.Name, Seed: s.Seed, Nodes: n, Attackers: eclipseSize(s), Steps: s.Steps, Step: s.Step.Duration,
		Latency: netw.Latency.Duration, Jitter: netw.Jitter, Loss: netw.Loss, BandwidthMbit: float64(sm.net.bandwidth) / 1e6,
		Ignored: Ignored(s), Clock: ClockReal,
	}
	if sm.o.Virtual {
		res.Clock = ClockVirtual
	}
	downUntil := make([]int, n) // step at which a stopped node restarts
	var proofs []*proof
	private := map[cid.Cid]int{}     // private attestation -> issuer
	unconsented := map[cid.Cid]int{} // declined public attestation -> issuer
	var requested []cid.Cid          // public attestations: consent requests sent
	var partitionAt, healAt time.Time
	sm.start = time.Now()
	for step := 0; step < s.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		stepStart := sm.start.Add(time.Duration(step) * s.Step.Duration)
		// The network: partitions start and heal.
		for _, p := range netw.Partitions {
			if p.At == step {
				groups := make([]int, n+res.Attackers)
				perm := partRand.Perm(len(groups))
				for k, i := range perm {
					groups[i] = k * p.Groups / len(groups)
				}
				fmt.Fprintf(plan, "%d partition %v\n", step, groups)
				sm.net.partition(groups)
				partitionAt = time.Now()
				sm.log.Info("partition", "step", step, "groups", p.Groups)
			}
			if p.Heal == step {
				sm.net.partition(nil)
				healAt = time.Now()
				sm.log.Info("healed", "step", step)
			}
		}
		// Churn: restart the nodes whose downtime is over, stop others.
		for i := range n {
			if sm.nodes[i] == nil && downUntil[i] <= step {
				if err := sm.startNode(ctx, i); err != nil {
					return nil, err
				}
				res.Restarts++
			}
		}
		if s.Churn != nil && s.Churn.Rate > 0 {
			for i := range n {
				if sm.nodes[i] != nil && churnRand.Float64() < s.Churn.Rate {
					fmt.Fprintf(plan, "%d stop %d\n", step, i)
					if err := sm.stopNode(i); err != nil {
						sm.log.Debug("stopping a node", "node", i, "err", err)
					}
					downUntil[i] = step + max(s.Churn.Downtime, 1)
				}
			}
		}
		// Consent: subjects decide the requests that reached them.
		for i := range n {
			if sm.nodes[i] == nil {
				continue
			}
			sm.mu.Lock()
			reqs := sm.requests[i]
			sm.requests[i] = nil
			sm.mu.Unlock()
			for _, a := range reqs {
				if s.Draw("grant", a.Nonce) < consent.Grant {
					c, err := sm.nodes[i].Approve(ctx, a.CID())
					if err != nil {
						return nil, fmt.Errorf("protosim: node %d approving: %w", i, err)
					}
					proofs = append(proofs, &proof{att: a, consent: c.CID(), subject: i, approved: time.Now()})
					res.Granted++
				} else {
					if err := sm.nodes[i].Decline(ctx, a.CID()); err != nil {
						return nil, fmt.Errorf("protosim: node %d declining: %w", i, err)
					}
					unconsented[a.CID()] = sm.idx[a.Issuer]
					res.Declined++
				}
			}
		}
		// Withdrawals.
		if consent.Revoke > 0 {
			for _, p := range proofs {
				if p.withdrawal.Defined() || sm.nodes[p.subject] == nil || s.Draw("revoke", fmt.Appendf(nil, "%x/%d", p.att.Nonce, step)) >= consent.Revoke {
					continue
				}
				w, err := sm.nodes[p.subject].Withdraw(ctx, p.att.CID())
				if err != nil {
					return nil, fmt.Errorf("protosim: node %d withdrawing: %w", p.subject, err)
				}
				p.withdrawal, p.withdrawn = w.CID(), time.Now()
				res.Withdrawn++
			}
		}
		// Publishing: this step's share of the ratings.
		lo, hi := step*len(ratings)/s.Steps, (step+1)*len(ratings)/s.Steps
		for _, r := range ratings[lo:hi] {
			if sm.nodes[r.from] == nil {
				res.SkippedDown++
				continue
			}
			a, err := sm.attest(attRand, r, consent.Public, stepStart)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(plan, "%d attest %d %d %s %s %x %q", step, r.from, r.to, a.Kind, a.Audience.Scope, a.Nonce, a.Reason)
			if a.Audience.Scope == wire.Public {
				fmt.Fprintf(plan, " grant=%v", s.Draw("grant", a.Nonce) < consent.Grant)
			}
			plan.Write([]byte{'\n'})
			if err := sm.nodes[r.from].Submit(ctx, a); err != nil {
				return nil, fmt.Errorf("protosim: node %d publishing: %w", r.from, err)
			}
			res.Attestations++
			if a.Audience.Scope == wire.Public {
				res.Requested++
				requested = append(requested, a.CID())
			} else {
				private[a.CID()] = r.from
			}
		}
		tk := sm.tick(step, proofs, partitionAt, healAt)
		// How late this step ends against the clock: its work did not fit
		// in its time (in real time, the machine fell behind).
		lag := max(0, time.Since(stepStart.Add(s.Step.Duration)))
		tk.BehindS = lag.Seconds()
		res.MaxLag = max(res.MaxLag, lag)
		res.Timeline = append(res.Timeline, tk)
		if sm.o.Progress != nil {
			sm.o.Progress(step+1, s.Steps)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Until(stepStart.Add(s.Step.Duration))):
		}
	}
	simulated := time.Duration(s.Steps) * s.Step.Duration
	res.ClockBehind = res.MaxLag.Seconds() / simulated.Seconds()
	res.FellBehind = res.ClockBehind > MaxBehind
	// Drain: wait for the last proofs and withdrawals.
	end := time.Now()
	deadline := time.NewTimer(sm.o.Drain)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
drain:
	for !sm.complete(proofs) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			break drain
		case <-poll.C:
		}
	}
	res.Drained = time.Since(end)
	final := sm.tick(s.Steps, proofs, partitionAt, healAt)
	final.Drain = true
	res.Timeline = append(res.Timeline, final)
	res.Plan = fmt.Sprintf("sha256:%x", plan.Sum(nil))
	sm.mu.Lock()
	for _, c := range requested {
		if !sm.asked[c] {
			res.RequestsLost++
		}
	}
	sm.mu.Unlock()
	res.Duration = time.Since(sm.start)
	sm.measure(ctx, res, proofs, healAt)
	if err := sm.privacy(ctx, res, private, unconsented); err != nil {
		return nil, err
	}
	atk.measure(res)
	return res, nil
}

// attest makes node r.from's attestation about r.to, dated at the start of
// its step: a vouch is public with chance public (so it asks the subject's
// consent); warnings and the other vouches are private, with a canary in
// the reason that must never appear on another node.
func (sm *sim) attest(rng *rand.Rand, r rating, public float64, at time.Time) (*wire.Attestation, error) {
	nonce := make([]byte, wire.NonceSize)
	for k := range nonce {
		nonce[k] = byte(rng.Uint32())
	}
	a := &wire.Attestation{
		Subject: wire.KeySubject(sm.keys[r.to].Public()), Kind: wire.Warn, Context: "general",
		Strength: 50, Created: uint64(at.Unix()), Audience: wire.PrivateAudience, Nonce: nonce,
	}
	if r.vouch {
		a.Kind = wire.Vouch
		if rng.Float64() < public {
			a.Audience = wire.PublicAudience
		}
	}
	if a.Audience.Scope != wire.Public {
		a.Reason = fmt.Sprintf("%s%016x%016x", canaryPrefix, rng.Uint64(), rng.Uint64())
	}
	if err := a.Sign(sm.keys[r.from]); err != nil {
		return nil, fmt.Errorf("protosim: %w", err)
	}
	return a, nil
}

// canaryPrefix marks the reason of every private attestation.
const canaryPrefix = "private-canary-"

// entitled lists the nodes a proof should reach: every honest node up now,
// except its subject (who made the consent).
func (sm *sim) entitled(p *proof) []int {
	var out []int
	for i, nd := range sm.nodes {
		if nd != nil && i != p.subject {
			out = append(out, i)
		}
	}
	return out
}

// complete reports whether every live proof reached every node up now,
// and every withdrawal every such node that holds the proof.
func (sm *sim) complete(proofs []*proof) bool {
	for _, p := range proofs {
		if p.withdrawal.Defined() {
			if sm.stale(p) > 0 {
				return false
			}
			continue
		}
		if sm.stranded(p) {
			continue
		}
		for _, i := range sm.entitled(p) {
			if _, ok := sm.reached(p.consent, i); !ok {
				return false
			}
		}
	}
	return true
}

// stranded reports whether a proof never left its subject's node, which
// is down: it approved and stopped before the proof went out. The proof
// goes out when the node is back; meanwhile no other node can have it.
func (sm *sim) stranded(p *proof) bool {
	if sm.nodes[p.subject] != nil {
		return false
	}
	for i := range sm.nodes {
		if i != p.subject {
			if _, ok := sm.reached(p.consent, i); ok {
				return false
			}
		}
	}
	return true
}

// stale counts the nodes up now that hold a withdrawn proof's consent but
// not its withdrawal: nodes that would still take the proof as live. A node
// that never received the proof needs no withdrawal.
func (sm *sim) stale(p *proof) int {
	k := 0
	for _, i := range sm.entitled(p) {
		if _, ok := sm.reached(p.consent, i); !ok {
			continue
		}
		if _, ok := sm.reached(p.withdrawal, i); !ok {
			k++
		}
	}
	return k
}

func (sm *sim) tick(step int, proofs []*proof, partitionAt, healAt time.Time) Tick {
	t := Tick{Step: step, Seconds: time.Since(sm.start).Seconds(), Partitioned: !partitionAt.IsZero() && healAt.Before(partitionAt)}
	peers := 0
	for _, nd := range sm.nodes {
		if nd != nil {
			t.Up++
			peers += len(nd.Host().Network().Peers())
		}
	}
	if t.Up > 0 {
		t.Peers = float64(peers) / float64(t.Up)
	}
	var want, got int
	for _, p := range proofs {
		if p.withdrawal.Defined() {
			continue
		}
		t.Proofs++
		for _, i := range sm.entitled(p) {
			want++
			if _, ok := sm.reached(p.consent, i); ok {
				got++
			}
		}
	}
	if want > 0 {
		t.Delivered = float64(got) / float64(want)
	}
	var bytes int64
	for i := range sm.net.sent[:len(sm.nodes)] {
		bytes += sm.net.sent[i].Load()
	}
	t.BytesSent = bytes
	return t
}

// measure fills the delivery, latency and bandwidth figures.
func (sm *sim) measure(_ context.Context, res *Result, proofs []*proof, healAt time.Time) {
	var lat []time.Duration
	var afterHeal time.Duration
	converged := true
	for _, p := range proofs {
		if p.withdrawal.Defined() {
			res.WithdrawalsExpected++
			if k := sm.stale(p); k == 0 {
				res.WithdrawalsDelivered++
			} else {
				res.StaleHolders += k
			}
			continue
		}
		if sm.stranded(p) {
			res.Stranded++
			continue
		}
		res.Proofs++
		var last time.Time
		for _, i := range sm.entitled(p) {
			res.Expected++
			at, ok := sm.reached(p.consent, i)
			if !ok {
				converged = false
				continue
			}
			res.Delivered++
			if !at.IsZero() {
				lat = append(lat, at.Sub(p.approved))
			}
			if at.After(last) {
				last = at
			}
		}
		if !healAt.IsZero() && p.approved.Before(healAt) && last.Sub(healAt) > afterHeal {
			afterHeal = last.Sub(healAt)
		}
	}
	if res.Expected > 0 {
		res.Delivery = float64(res.Delivered) / float64(res.Expected)
	}
	slices.Sort(lat)
	res.LatencyP50, res.LatencyP99, res.LatencyMax = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)
	if !healAt.IsZero() {
		res.HealConvergence = afterHeal
		res.Converged = converged
	}
	var bytes int64
	for i := range sm.net.sent[:len(sm.nodes)] {
		bytes += sm.net.sent[i].Load()
	}
	res.BytesSent = bytes
	secs := res.Duration.Seconds()
	if secs > 0 {
		res.BytesPerNodeSecond = float64(bytes) / float64(len(sm.nodes)) / secs
	}
	if res.Delivered > 0 {
		res.BytesPerDelivery = float64(bytes) / float64(res.Delivered)
	}
	if p := sm.net.packets.Load(); p > 0 {
		res.PacketsLost = float64(sm.net.dropped.Load()) / float64(p)
	}
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(q*float64(len(d)-1))]
}

// privacy looks through every node's store for what it was not entitled
// to: another node's private attestation (or its canary anywhere), or a
// public statement whose subject declined, held by a third node.
func (sm *sim) privacy(ctx context.Context, res *Result, private, unconsented map[cid.Cid]int) error {
	for i, st := range sm.st {
		err := st.All(ctx, func(o wire.Object) error {
			a, ok := o.(*wire.Attestation)
			if !ok {
				return nil
			}
			issuer, subject := sm.idx[a.Issuer], -1
			if a.Subject.Key != nil {
				if j, ok := sm.idx[*a.Subject.Key]; ok {
					subject = j
				}
			}
			if issuer == i {
				return nil
			}
			if _, ok := private[a.CID()]; ok || strings.Contains(a.Reason, canaryPrefix) {
				res.PrivateLeaks++
			}
			if _, ok := unconsented[a.CID()]; ok && subject != i {
				res.UnconsentedLeaks++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("protosim: reading node %d's store: %w", i, err)
		}
	}
	res.Private = len(private)
	return nil
}
