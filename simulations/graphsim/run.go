package graphsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// ErrProtocolLevel is returned for a scenario that has nothing to measure
// at the graph level: only the protocol level (the real node on a
// simulated network) can run it.
var ErrProtocolLevel = errors.New("needs the protocol level")

// Options tune a run without changing its results (Engines and
// Viewpoints change the effective scenario: see Effective).
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
	// The total is the viewpoints of this run (of its shard).
	Progress func(done, total int)

	// scoreWhole makes kith's engines score whole attacked graphs like the
	// other engines instead of updating their views (tests compare both).
	scoreWhole bool
}

// Effective returns the scenario a run with these options measures: s
// with the engines and viewpoints the options override. Its encoding
// (scenario.Scenario.Encode) reproduces the run.
func Effective(s *scenario.Scenario, o Options) *scenario.Scenario {
	e := *s
	if len(o.Engines) > 0 {
		e.Engines = slices.Clone(o.Engines)
	}
	if o.Viewpoints > 0 {
		e.Viewpoints = o.Viewpoints
	}
	return &e
}

// Row is one metric of one behaviour, for one engine and one sweep cell,
// over the viewpoints: each viewpoint gives one value (the mean over the
// behaviour's subjects where it has several), Mean and StdErr summarise
// them, Low and High are the 95 % confidence interval of the mean
// (Student's t), N counts the viewpoints where the metric was defined.
// Mean, StdErr, Low and High are NaN when N is 0 (empty in CSV, null in
// JSON); with N = 1 the interval is NaN.
type Row struct {
	Scenario    string
	Behaviour   string // the behaviour's kind ("sybil#2" for a second sybil group), or "honest"
	Engine      string
	Seed        uint64
	Size        int // s
	AttackEdges int // g
	// Cell holds the values of the swept fields of Result.Axes, in order.
	Cell   []string
	Metric string
	Mean   float64
	StdErr float64
	Low    float64
	High   float64
	N      int

	cell int // index of the sweep cell
}

// Metric names (see the package documentation for their definitions).
const (
	MetricAccuracy          = "accuracy"
	MetricAccuracyCost      = "accuracy_cost"
	MetricHonestCoverage    = "honest_coverage"
	MetricCaptured          = "captured_trust"
	MetricAcceptedPerEdge   = "accepted_per_attack_edge"
	MetricAcceptedShare     = "accepted_share"
	MetricAcceptedCapped    = "accepted_capped"
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

// Metrics lists every graph-level metric, and the honest ones.
var (
	Metrics = []string{MetricAccuracy, MetricAccuracyCost, MetricHonestCoverage, MetricCaptured, MetricAcceptedPerEdge,
		MetricAcceptedShare, MetricAcceptedCapped, MetricAUC, MetricRankDrop, MetricPushedBelow, MetricPromoted,
		MetricWhitewashBenefit, MetricNewIdentity, MetricOldIdentity, MetricBeforeTurn, MetricDetectionDelay,
		MetricBadBeforeDetected, MetricUndetected}
	honestMetrics = []string{MetricAccuracy, MetricAccuracyCost, MetricHonestCoverage}
)

// sample sizes of the AUCs: honest members (per class for accuracy) and
// attacker identities drawn once per run.
const (
	accuracySample = 2000
	aucSample      = 10000
)

// plan is what a run measures, known before any graph is built: the
// cells of the sweep, each a scenario of its own, grouped into batches
// that share a population and its viewpoints (the same graph, seed and
// number of viewpoints). Work is split into units: one viewpoint of one
// batch, numbered batch after batch.
type plan struct {
	s       *scenario.Scenario // effective
	enc     []byte             // its encoding
	engines []string
	cells   []scenario.Cell
	cellSc  []*scenario.Scenario
	batchOf []int // cell -> batch
	batches []planBatch
	axes    []string // swept fields shown as columns (not size, attack_edges, seed)
	params  []EngineParams
	units   int
}

type planBatch struct {
	cells  []int // cell indexes, in order
	nv     int   // viewpoints asked for
	offset int   // its first unit
}

// newPlan plans a run of s; params are its engines' parameters when known
// (a merge), nil to build the engines and find them.
func newPlan(s *scenario.Scenario, params []EngineParams) (*plan, error) {
	if !s.GraphLevel() {
		what := strings.Join(s.ProtocolOnly(), ", ")
		if what == "" {
			what = "no behaviour at all"
		}
		return nil, fmt.Errorf("graphsim: scenario %s %w: it has no graph-level behaviour (it simulates %s)", s.Name, ErrProtocolLevel, what)
	}
	enc, err := s.Encode()
	if err != nil {
		return nil, err
	}
	// A merge reads the scenario back from its encoding: it must parse
	// (a scenario changed after parsing may not).
	if _, err := scenario.Parse(enc, s.File); err != nil {
		return nil, fmt.Errorf("graphsim: the scenario as changed does not validate: %w", err)
	}
	p := &plan{s: s, enc: enc, engines: s.Engines, cells: s.Cells()}
	for i, name := range p.engines {
		if slices.Contains(p.engines[:i], name) {
			return nil, fmt.Errorf("graphsim: engine %q given twice", name)
		}
		if params != nil {
			continue
		}
		_, info, err := newEngine(name, s)
		if err != nil {
			return nil, fmt.Errorf("graphsim: scenario %s: %w", s.Name, err)
		}
		p.params = append(p.params, info)
	}
	if params != nil {
		if len(params) != len(p.engines) {
			return nil, fmt.Errorf("graphsim: %d engines' parameters for %d engines", len(params), len(p.engines))
		}
		p.params = params
	}
	for name := range s.Params {
		if !slices.Contains(p.engines, name) {
			if _, ok := engineDefByName(name); !ok {
				return nil, fmt.Errorf("graphsim: scenario %s: params.%s: unknown engine (known: %s)", s.Name, name, strings.Join(EngineNames(), ", "))
			}
		}
	}
	if p.cellSc, err = s.CellScenarios(); err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: %w", s.Name, err)
	}
	for _, a := range s.Sweep.Axes {
		switch a.Field {
		case scenario.FieldSize, scenario.FieldAttackEdges, scenario.FieldSeed:
		default:
			p.axes = append(p.axes, a.Field)
		}
	}
	keys := map[string]int{}
	for c, cs := range p.cellSc {
		if !cs.GraphLevel() {
			return nil, fmt.Errorf("graphsim: scenario %s: cell %s has no graph-level behaviour", s.Name, p.cells[c].Label())
		}
		k := fmt.Sprintf("%+v|%s|%s|%d|%d", cs.Graph, cs.Resolve(cs.Graph.Path), cs.Resolve(cs.Graph.Labels), cs.Seed, cs.Viewpoints)
		b, ok := keys[k]
		if !ok {
			b = len(p.batches)
			keys[k] = b
			p.batches = append(p.batches, planBatch{nv: cs.Viewpoints, offset: p.units})
			p.units += cs.Viewpoints
		}
		p.batches[b].cells = append(p.batches[b].cells, c)
		p.batchOf = append(p.batchOf, b)
	}
	if err := p.checkGoals(); err != nil {
		return nil, fmt.Errorf("graphsim: scenario %s: %w", s.Name, err)
	}
	return p, nil
}

// runner measures the viewpoints of one batch.
type runner struct {
	s         *scenario.Scenario // the batch's first cell (population, seed)
	w         *world
	engines   []string
	cellSc    []*scenario.Scenario // the batch's cells
	cellOf    []scenario.Cell      // and their sweep cells
	scorers   [][]trust.Scorer     // [cell][engine]
	queriers  []trust.NodeID       // sorted
	shared    []*cellGraphs        // nil where each viewpoint needs its own graph
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
	s trust.Scorer
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

// newRunner builds batch b: the population, its viewpoints and samples,
// every cell's engines and the attacked graphs the viewpoints share.
func (p *plan) newRunner(ctx context.Context, b int, o Options) (*runner, BatchInfo, error) {
	pb := p.batches[b]
	r := &runner{s: p.cellSc[pb.cells[0]], engines: p.engines, globals: map[globalKey]*globalScores{}, scoreWhole: o.scoreWhole}
	s := r.s
	// One scorer per distinct set of parameters: cells that share them
	// share its caches.
	byParams := map[string]trust.Scorer{}
	for _, c := range pb.cells {
		cs := p.cellSc[c]
		r.cellSc = append(r.cellSc, cs)
		r.cellOf = append(r.cellOf, p.cells[c])
		var row []trust.Scorer
		for _, name := range p.engines {
			sc, info, err := newEngine(name, cs)
			if err != nil {
				return nil, BatchInfo{}, fmt.Errorf("graphsim: scenario %s: cell %s: %w", p.s.Name, p.cells[c].Label(), err)
			}
			k := fmt.Sprintf("%s %v", name, info.Params)
			if prev, ok := byParams[k]; ok {
				sc = prev
			} else {
				byParams[k] = sc
			}
			row = append(row, sc)
			if _, ok := sc.(*trust.Engine); !ok || o.scoreWhole {
				r.wholeGraphs = true
			}
		}
		r.scorers = append(r.scorers, row)
	}
	pop, err := NewPopulation(s)
	if err != nil {
		return nil, BatchInfo{}, fmt.Errorf("graphsim: scenario %s: %w", p.s.Name, err)
	}
	r.w = newWorld(pop)
	n := pop.Graph.N()
	info := BatchInfo{Index: b, Seed: s.Seed, Nodes: n, Edges: pop.Graph.M()}
	if info.Graph, err = GraphDigest(pop); err != nil {
		return nil, info, err
	}

	// Viewpoints: members in good standing who vouch for someone.
	var pool []trust.NodeID
	for _, u := range r.w.vouchers {
		if pop.Truth[u] >= 0 {
			pool = append(pool, u)
		}
	}
	if len(pool) == 0 {
		return nil, info, fmt.Errorf("graphsim: scenario %s: no member vouches for anyone: no viewpoint", p.s.Name)
	}
	for _, q := range r.rng("viewpoints").Perm(len(pool))[:min(pb.nv, len(pool))] {
		r.queriers = append(r.queriers, pool[q])
	}
	slices.Sort(r.queriers)
	info.Viewpoints = len(r.queriers)

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
		for _, i := range arng.Perm(len(cls.nodes))[:min(accuracySample, len(cls.nodes))] {
			r.accNodes = append(r.accNodes, cls.nodes[i])
			r.accGood = append(r.accGood, cls.good)
		}
	}
	for _, i := range r.rng("honest-sample").Perm(n)[:min(aucSample, n)] {
		r.honestSmp = append(r.honestSmp, trust.NodeID(i))
	}
	slices.Sort(r.honestSmp)

	r.shared = make([]*cellGraphs, len(r.cellSc))
	r.cacheable = map[*trust.Graph]bool{pop.Graph: true}
	for c, cs := range r.cellSc {
		if perViewpoint(cs) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, info, err
		}
		cg, err := r.w.build(cs, r.cellOf[c], -1, cs.Rand, r.wholeGraphs)
		if err != nil {
			return nil, info, fmt.Errorf("graphsim: scenario %s: %w", p.s.Name, err)
		}
		r.shared[c] = cg
		r.cacheable[cg.base] = true
		if cg.final != nil {
			r.cacheable[cg.final] = true
		}
		for _, g := range cg.steps {
			r.cacheable[g] = true
		}
	}
	return r, info, nil
}

// perViewpoint reports whether each viewpoint needs its own attacked
// graphs: with consent (each node holds its own part) or victims near the
// querier.
func perViewpoint(s *scenario.Scenario) bool {
	return s.Consent != nil || slices.ContainsFunc(s.Behaviours, func(b scenario.Behaviour) bool {
		return b.Kind != scenario.Eclipse && b.Victims == scenario.VictimsNear
	})
}

// Run simulates s at the graph level: every viewpoint's subjective view of
// the attacked graph, with every engine, for every sweep cell. It honours
// ctx; goroutines are joined before it returns. The same scenario and
// options give the same rows, whatever the number of workers; a run split
// into shards (RunShard) and merged (Merge) gives the same result.
func Run(ctx context.Context, s *scenario.Scenario, o Options) (*Result, error) {
	part, err := RunShard(ctx, s, o, Shard{I: 0, N: 1})
	if err != nil {
		return nil, err
	}
	return Merge([]*Partial{part})
}

// Shard is part I of N of a run (0 <= I < N): the units (viewpoints of a
// batch) whose number is I modulo N.
type Shard struct {
	I int `json:"i"`
	N int `json:"n"`
}

func (sh Shard) String() string { return fmt.Sprintf("%d/%d", sh.I, sh.N) }

// Validate checks 0 <= I < N.
func (sh Shard) Validate() error {
	if sh.N < 1 || sh.I < 0 || sh.I >= sh.N {
		return fmt.Errorf("graphsim: shard %d/%d: want 0 <= i < n", sh.I, sh.N)
	}
	return nil
}

// RunShard measures the viewpoints of one shard and returns their values,
// which Merge joins with the other shards' into the run's result. Every
// shard rebuilds, from the scenario and seed alone, the populations and
// graphs of the batches it has viewpoints in.
func RunShard(ctx context.Context, s *scenario.Scenario, o Options, sh Shard) (*Partial, error) {
	if err := sh.Validate(); err != nil {
		return nil, err
	}
	p, err := newPlan(Effective(s, o), nil)
	if err != nil {
		return nil, err
	}
	d, err := ScenarioDigest(p.s)
	if err != nil {
		return nil, err
	}
	part := &Partial{Format: PartialFormat, Level: "graph", Scenario: string(p.enc), Digest: d, Shard: sh, Software: Build(), Engines: p.params}
	keys := map[metricKey]int{}
	mine := 0
	for u := range p.units {
		if u%sh.N == sh.I {
			mine++
		}
	}
	doneBefore := 0
	for b, pb := range p.batches {
		var ks []int
		for k := range pb.nv {
			if (pb.offset+k)%sh.N == sh.I {
				ks = append(ks, k)
			}
		}
		if len(ks) == 0 {
			continue
		}
		r, info, err := p.newRunner(ctx, b, o)
		if err != nil {
			return nil, err
		}
		part.Batches = append(part.Batches, info)
		ks = slices.DeleteFunc(ks, func(k int) bool { return k >= len(r.queriers) })
		vals := make([][][]metrics, len(ks))
		base := doneBefore
		progress := o.Progress
		if progress != nil {
			progress = func(done, _ int) { o.Progress(base+done, mine) }
		}
		err = parallel(ctx, o.Workers, len(ks), progress, func(ctx context.Context, i int) error {
			var err error
			vals[i], err = r.viewpoint(ctx, r.queriers[ks[i]])
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("graphsim: scenario %s: %w", p.s.Name, err)
		}
		doneBefore += len(ks)
		for i, k := range ks {
			part.Units = append(part.Units, encodeUnit(pb.offset+k, b, r.queriers[k], vals[i], keys, &part.Keys))
		}
	}
	if o.Progress != nil && doneBefore < mine {
		o.Progress(mine, mine) // viewpoints beyond a small population's pool
	}
	return part, nil
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
