package graphsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// ErrProtocolLevel is returned for a scenario that has nothing to measure
// at the graph level: only the protocol level (the real node on a
// simulated network) can run it.
var ErrProtocolLevel = errors.New("needs the protocol level")

// Engines returns every engine the simulator can compare: kith's own
// ("kith", refining its model on the querier's own judgements;
// "kith-shared", the shipped model only), then the baselines of
// simulations/eval, with the same names as `kith eval`.
func Engines() []eval.Engine {
	return append([]eval.Engine{
		{Name: "kith", New: func() trust.Scorer { return &trust.Engine{Personalize: true} }},
		{Name: "kith-shared", New: func() trust.Scorer { return &trust.Engine{} }},
	}, eval.Baselines()...)
}

// EngineNames lists the names Engines knows, in order.
func EngineNames() []string {
	var out []string
	for _, e := range Engines() {
		out = append(out, e.Name)
	}
	return out
}

// Options tune a run without changing its scenario.
type Options struct {
	// Engines replaces the scenario's engines when not empty (the
	// comparison mode runs one scenario across several).
	Engines []string
	// Viewpoints replaces the scenario's number of viewpoints when > 0.
	Viewpoints int
	// Workers is the number of viewpoints measured at once: 0 means
	// GOMAXPROCS. Results do not depend on it.
	Workers int
	// Progress, if set, is called after each viewpoint with the number
	// done; calls come from the workers, one at a time, done increasing.
	Progress func(done, total int)

	// scoreWhole makes kith's engines score whole attacked graphs like the
	// other engines instead of updating their views (tests compare both).
	scoreWhole bool
}

// Result is the outcome of a graph-level run.
type Result struct {
	Scenario   string   `json:"scenario"`
	Level      string   `json:"level"` // "graph"
	Seed       uint64   `json:"seed"`
	Nodes      int      `json:"nodes"` // honest members
	Edges      int      `json:"edges"` // honest ratings
	Viewpoints int      `json:"viewpoints"`
	Engines    []string `json:"engines"`
	// Ignored lists the protocol-level parts of the scenario this run did
	// not simulate.
	Ignored []string `json:"ignored,omitempty"`
	Rows    []Row    `json:"rows"`
}

// Row is one metric of one behaviour, for one engine and one sweep cell,
// over the viewpoints: each viewpoint gives one value (the mean over the
// behaviour's subjects where it has several), Mean and StdErr summarise
// them, N counts the viewpoints where the metric was defined. Mean and
// StdErr are NaN when N is 0 (empty in CSV, null in JSON).
type Row struct {
	Scenario    string
	Behaviour   string // the behaviour's kind ("sybil#2" for a second sybil group), or "honest"
	Engine      string
	Seed        uint64
	Size        int // s
	AttackEdges int // g
	Metric      string
	Mean        float64
	StdErr      float64
	N           int
}

// Metric names (see the package documentation for their definitions).
const (
	MetricAccuracy          = "accuracy"
	MetricAccuracyCost      = "accuracy_cost"
	MetricHonestCoverage    = "honest_coverage"
	MetricCaptured          = "captured_trust"
	MetricAcceptedPerEdge   = "accepted_per_attack_edge"
	MetricAUC               = "auc_honest_vs_attacker"
	MetricRankDrop          = "victim_rank_drop"
	MetricPushedBelow       = "victims_pushed_below_median"
	MetricPromoted          = "promoted_percentile"
	MetricWhitewashBenefit  = "whitewash_benefit"
	MetricNewIdentity       = "new_identity_percentile"
	MetricOldIdentity       = "old_identity_percentile"
	MetricBeforeTurn        = "traitor_percentile_before_turn"
	MetricDetectionDelay    = "detection_delay"
	MetricBadBeforeDetected = "bad_trades_before_detection"
	MetricUndetected        = "undetected_share"
)

// sample sizes of the AUCs: honest members (per class for accuracy) and
// attacker identities drawn once per run.
const (
	accuracySample = 2000
	aucSample      = 10000
)

type runner struct {
	s         *scenario.Scenario
	w         *world
	engines   []eval.Engine
	scorers   []trust.Scorer
	queriers  []trust.NodeID
	cells     []scenario.Cell
	shared    []*cellGraphs // nil where each viewpoint needs its own graph
	accNodes  []trust.NodeID
	accGood   []bool
	honestSmp []trust.NodeID

	// wholeGraphs: some engine needs the attacked graphs built whole
	// (kith's engine applies the attack to its view instead).
	wholeGraphs bool
	scoreWhole  bool
	// cacheable are the graphs shared by all viewpoints, whose global
	// scores are computed once.
	cacheable map[*trust.Graph]bool
	globalMu  sync.Mutex
	globals   map[globalKey]*globalScores
}

type globalKey struct {
	g *trust.Graph
	e int
}

type globalScores struct {
	once sync.Once
	x    []float64
	err  error
}

// rng returns a generator for one named purpose, derived from the seed,
// so that adding a behaviour or an engine does not shift the others'
// randomness.
func (r *runner) rng(purpose string) *rand.Rand { return r.s.Rand(purpose) }

// Run simulates s at the graph level: every viewpoint's subjective view of
// the attacked graph, with every engine, for every sweep cell. It honours
// ctx; goroutines are joined before it returns. The same scenario and
// options give the same rows, whatever the number of workers.
func Run(ctx context.Context, s *scenario.Scenario, o Options) (*Result, error) {
	if !s.GraphLevel() {
		what := strings.Join(s.ProtocolOnly(), ", ")
		if what == "" {
			what = "no behaviour at all"
		}
		return nil, fmt.Errorf("graphsim: scenario %s %w: it has no graph-level behaviour (it simulates %s), and the protocol level (the real node on a simulated network) is not built yet", s.Name, ErrProtocolLevel, what)
	}
	r := &runner{s: s, globals: map[globalKey]*globalScores{}}
	names := s.Engines
	if len(o.Engines) > 0 {
		names = o.Engines
	}
	all := Engines()
	for _, name := range names {
		e, err := eval.EngineByName(all, name)
		if err != nil {
			return nil, fmt.Errorf("graphsim: scenario %s: unknown engine %q (known: %s)", s.Name, name, strings.Join(EngineNames(), ", "))
		}
		if slices.ContainsFunc(r.engines, func(x eval.Engine) bool { return x.Name == name }) {
			return nil, fmt.Errorf("graphsim: engine %q given twice", name)
		}
		r.engines = append(r.engines, e)
		r.scorers = append(r.scorers, e.New())
	}
	pop, err := NewPopulation(s)
	if err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: %w", s.Name, err)
	}
	r.w = newWorld(pop)
	n := pop.Graph.N()

	// Viewpoints: members in good standing who vouch for someone.
	var pool []trust.NodeID
	for _, u := range r.w.vouchers {
		if pop.Truth[u] >= 0 {
			pool = append(pool, u)
		}
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("graphsim: scenario %s: no member vouches for anyone: no viewpoint", s.Name)
	}
	nv := s.Viewpoints
	if o.Viewpoints > 0 {
		nv = o.Viewpoints
	}
	for _, p := range r.rng("viewpoints").Perm(len(pool))[:min(nv, len(pool))] {
		r.queriers = append(r.queriers, pool[p])
	}
	slices.Sort(r.queriers)

	// Samples for the AUCs.
	var good, badm []trust.NodeID
	for v := range trust.NodeID(n) {
		switch pop.Truth[v] {
		case 1:
			good = append(good, v)
		case -1:
			badm = append(badm, v)
		}
	}
	arng := r.rng("accuracy")
	for _, cls := range []struct {
		nodes []trust.NodeID
		good  bool
	}{{good, true}, {badm, false}} {
		for _, p := range arng.Perm(len(cls.nodes))[:min(accuracySample, len(cls.nodes))] {
			r.accNodes = append(r.accNodes, cls.nodes[p])
			r.accGood = append(r.accGood, cls.good)
		}
	}
	for _, p := range r.rng("honest-sample").Perm(n)[:min(aucSample, n)] {
		r.honestSmp = append(r.honestSmp, trust.NodeID(p))
	}
	slices.Sort(r.honestSmp)

	r.scoreWhole = o.scoreWhole
	for _, sc := range r.scorers {
		if _, ok := sc.(*trust.Engine); !ok || o.scoreWhole {
			r.wholeGraphs = true
		}
	}
	r.cells = s.Cells()
	r.shared = make([]*cellGraphs, len(r.cells))
	perViewpoint := s.Consent != nil || slices.ContainsFunc(s.Behaviours, func(b scenario.Behaviour) bool {
		return b.Kind != scenario.Eclipse && b.Victims == scenario.VictimsNear
	})
	if !perViewpoint {
		for c, cell := range r.cells {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if r.shared[c], err = r.w.build(s, cell, -1, r.rng, r.wholeGraphs); err != nil {
				return nil, fmt.Errorf("graphsim: scenario %s: %w", s.Name, err)
			}
		}
	}

	r.cacheable = map[*trust.Graph]bool{pop.Graph: true}
	for _, cg := range r.shared {
		if cg != nil {
			r.cacheable[cg.base] = true
			if cg.final != nil {
				r.cacheable[cg.final] = true
			}
			for _, g := range cg.steps {
				r.cacheable[g] = true
			}
		}
	}
	// vals[v][c][e] are viewpoint v's metrics in cell c for engine e.
	vals := make([][][]metrics, len(r.queriers))
	err = parallel(ctx, o.Workers, len(r.queriers), o.Progress, func(ctx context.Context, i int) error {
		var err error
		vals[i], err = r.viewpoint(ctx, r.queriers[i])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: %w", s.Name, err)
	}
	res := &Result{Scenario: s.Name, Level: "graph", Seed: s.Seed, Nodes: n, Edges: pop.Graph.M(), Viewpoints: len(r.queriers), Ignored: s.ProtocolOnly()}
	for _, e := range r.engines {
		res.Engines = append(res.Engines, e.Name)
	}
	for c := range r.cells {
		for e := range r.engines {
			var keys []metricKey
			seen := map[metricKey]bool{}
			for v := range vals {
				for _, m := range vals[v][c][e] {
					if !seen[m.key] {
						seen[m.key] = true
						keys = append(keys, m.key)
					}
				}
			}
			for _, k := range keys {
				var xs []float64
				for v := range vals {
					for _, m := range vals[v][c][e] {
						if m.key == k && !math.IsNaN(m.value) {
							xs = append(xs, m.value)
						}
					}
				}
				mean, se := meanStdErr(xs)
				res.Rows = append(res.Rows, Row{
					Scenario: s.Name, Behaviour: k.label, Engine: r.engines[e].Name, Seed: s.Seed,
					Size: k.size, AttackEdges: k.attack, Metric: k.metric, Mean: mean, StdErr: se, N: len(xs),
				})
			}
		}
	}
	return res, nil
}

func meanStdErr(xs []float64) (mean, se float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
}

// parallel runs job(i) for i in [0, n) on workers goroutines (0:
// GOMAXPROCS). The first error cancels the others; all are joined before
// it returns.
func parallel(ctx context.Context, workers, n int, progress func(done, total int), job func(ctx context.Context, i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		done     int
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := job(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				mu.Lock()
				done++
				if progress != nil {
					progress(done, n)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
