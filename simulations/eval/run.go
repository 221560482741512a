package eval

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/trust"
)

// The tasks.
const (
	TaskEdge     = "A" // subjective edge sign and weight prediction
	TaskFraud    = "B" // fraud detection on labels, leaking ratings masked
	TaskSybil    = "C" // Sybil region injection
	TaskAdvogato = "D" // certification level prediction (weight, MAE)
)

// The splits of Tasks A and D.
const (
	SplitLOO      = "loo"      // leave one out, stratified sample
	SplitHoldout  = "holdout"  // 10% random hold-out
	SplitTemporal = "temporal" // first 80% in time train, last 20% test
	// SplitInSample scores each test edge on the full graph, the edge
	// itself included. It is leaky by design and exists only to reproduce
	// the published Fairness/Goodness figures, whose code computed the
	// scores once on the whole graph (see the package documentation).
	SplitInSample = "insample"
	// SplitCold is the cold start of a new owner: each test edge q->t is
	// scored on a small view of q's own, holding 1 to 20 of q's other
	// statements (drawn at random) and the statements of the people within
	// two hops of q along those vouches (see ColdView).
	SplitCold = "cold"
)

// Config is one evaluation run.
type Config struct {
	Dataset *dataset.Dataset
	// Labels are +1 (benign) / -1 (fraud) node labels for Task B.
	Labels dataset.Labels
	// Tasks to run, among "A", "B", "C", "D". Empty: A, C, and B when
	// Labels are given.
	Tasks []string
	// Engines to evaluate; empty: Baselines().
	Engines []Engine
	// Seed makes the run reproducible: the same Config gives the same rows.
	Seed uint64
	// Samples is the number of test edges per split of Tasks A and D:
	// 0 means 2000, a negative value every candidate edge.
	Samples int
	// Calibration is the number of training edges used, per split with a
	// training graph (hold-out, temporal), to fit each engine's
	// score-to-weight calibration and sign threshold: 0 means 500. The
	// leave-one-out and in-sample splits cross-fit on the test edges
	// instead (see the package documentation).
	Calibration int
	// Splits of Tasks A and D; empty: loo, holdout, temporal, cold for A
	// and loo for D.
	Splits []string
	// Queriers is the number of viewpoints of Tasks B and C: 0 means 50
	// for B and 20 for C.
	Queriers int
	// MaskLabellers is the number of most active labellers whose ratings
	// Task B removes: 0 means 5; negative means none.
	MaskLabellers int
	// Sybil region sizes, attack edge counts and victim choices of Task C;
	// empty: {100, 1000}, {1, 10, 100}, {random, targeted, near}.
	Sybils      []int
	AttackEdges []int
	Victims     []string
	// SybilDegree is how many other Sybils each Sybil vouches for (weight
	// 1): 0 means 10.
	SybilDegree int
	// AttackWeight is the weight of each attack edge, in (0, 1]: 0 means
	// the median positive weight of the graph (an ordinary vouch: 0.1 on
	// Bitcoin OTC).
	AttackWeight float64
	// Hops, when > 0, gives each viewpoint of Task C only what gossip
	// would bring it within that many hops: the ratings issued by nodes
	// fewer than Hops steps from the querier along positive ratings (the
	// querier's own at 1). 0 scores the whole graph.
	Hops int
	// ShuffleSigns permutes the weights (signs with their strengths)
	// across the dataset's edges before anything else, keeping the graph:
	// the leakage check, under which every engine's sign AUC must fall to
	// 0.5.
	ShuffleSigns bool
	// AskAtJudgement asks kith's engines each question of task A at the
	// time of the judgement it predicts (TimedScorer), not at the time of
	// the newest statement of the graph scored: evidence from long before
	// a later judgement then looks as old as it was. Models should be
	// trained the same way (training.CollectOptions.AskAtJudgement).
	AskAtJudgement bool
	// DriftCalibrate recalibrates the probabilistic engines' answers on
	// each split to the drift of the graph scored, learnt from its own
	// history (an experiment: see driftCalibrate).
	DriftCalibrate bool
	// Workers is the number of goroutines scoring viewpoints in parallel:
	// 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is told how far each phase got: done of total work
	// units of the phase named by what (e.g. "A/loo"). It is called from
	// the worker goroutines, one call at a time, with done increasing
	// within a phase.
	Progress func(done, total int, what string)
}

// Row is one line of results: a (dataset, task, split, engine, seed,
// bucket) cell, or for Task C a (sybils, attack edges) cell. Metrics that do
// not apply are NaN (empty in CSV).
type Row struct {
	Dataset string
	Task    string
	Split   string // A/D: loo, holdout, temporal, insample; B: masked, unmasked; C: the victim choice
	Engine  string
	Seed    uint64
	Bucket  string // "all", or the rater out-degree bucket ("1-4", "5-19", "20+")
	// Prediction says how weights were obtained: "direct" (the engine
	// predicts weights), "calibrated" (monotone map fitted on training
	// edges), or "" where no weight is predicted.
	Prediction string

	N       int // test items (A/D: edges; B, C: viewpoints)
	Covered int // A/D: test edges the engine had evidence for
	// Negatives is the number of covered test edges that are warnings
	// (A/D): with Covered, what an AUC's sampling error depends on.
	Negatives int
	Coverage  float64 // A/D: Covered/N; B: mean share of labelled nodes with evidence; C: mean share of honest nodes with evidence

	// Over covered items only.
	AUC, MacroF1, RMSE, PCC, MAE float64
	// With uncovered items at the neutral default: raw score 0 and, for
	// the weight metrics, the mean training weight.
	AUCFilled, MacroF1Filled, RMSEFilled, PCCFilled, MAEFilled float64

	// ECE is the expected calibration error of the engine's probability
	// of a positive judgement (engines whose score is one: Probabilistic),
	// over covered items, with Reliability its bins; NaN otherwise.
	ECE         float64
	Reliability []Bin

	// Task C.
	Sybils, AttackEdges int
	CapturedMass        float64 // mean share of the querier's positive score on Sybils
	AcceptedPerEdge     float64 // mean Sybils ranked above the median honest node, per attack edge
	SybilCoverage       float64 // mean share of Sybils the engine had evidence about
	// AccuracyCost is the mean drop, from the attack, of the querier's
	// honest accuracy: the AUC of its scores separating good from bad
	// honest nodes (see the package documentation).
	AccuracyCost float64
	Hops         int // Task C: the viewpoints' horizon (0: the whole graph)
}

// Run evaluates every engine on every task of cfg and returns the rows, in
// a deterministic order. It honours ctx; on error it returns the error
// and no rows.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	if cfg.Dataset == nil || cfg.Dataset.Graph == nil {
		return nil, errors.New("eval: no dataset")
	}
	r := &runner{cfg: cfg}
	if cfg.ShuffleSigns {
		ds := *cfg.Dataset
		g, err := ShuffleWeights(ds.Graph, r.rng("shuffle-signs"))
		if err != nil {
			return nil, err
		}
		ds.Graph, ds.Name = g, ds.Name+" (signs shuffled)"
		r.cfg.Dataset = &ds
	}
	if len(r.cfg.Engines) == 0 {
		r.cfg.Engines = Baselines()
	}
	if r.cfg.Workers <= 0 {
		r.cfg.Workers = runtime.GOMAXPROCS(0)
	}
	tasks := cfg.Tasks
	if len(tasks) == 0 {
		tasks = []string{TaskEdge, TaskSybil}
		if cfg.Labels != nil {
			tasks = []string{TaskEdge, TaskFraud, TaskSybil}
		}
	}
	seen := make(map[string]bool)
	for _, e := range r.cfg.Engines {
		if e.Name == "" || e.New == nil || seen[e.Name] {
			return nil, fmt.Errorf("eval: engine %q: empty, duplicate or without a constructor", e.Name)
		}
		seen[e.Name] = true
		s := e.New()
		if s == nil {
			return nil, fmt.Errorf("eval: engine %q: New returned nil", e.Name)
		}
		r.scorers = append(r.scorers, s)
	}
	var rows []Row
	for _, task := range tasks {
		var (
			rs  []Row
			err error
		)
		switch task {
		case TaskEdge, TaskAdvogato:
			splits := cfg.Splits
			if len(splits) == 0 {
				splits = []string{SplitLOO, SplitHoldout, SplitTemporal, SplitCold}
				if task == TaskAdvogato {
					splits = []string{SplitLOO}
				}
			}
			for _, sp := range splits {
				var part []Row
				part, err = r.edgeTask(ctx, task, sp)
				if err != nil {
					break
				}
				rs = append(rs, part...)
			}
		case TaskFraud:
			rs, err = r.fraudTask(ctx)
		case TaskSybil:
			rs, err = r.sybilTask(ctx)
		default:
			err = fmt.Errorf("eval: unknown task %q (want A, B, C or D)", task)
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

type runner struct {
	cfg     Config
	scorers []trust.Scorer

	progressMu sync.Mutex
	progressN  int
}

// rng returns a generator for one named purpose, derived from the seed, so
// that adding a task or an engine does not shift the others' randomness.
func (r *runner) rng(purpose string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	return rand.New(rand.NewPCG(r.cfg.Seed, h.Sum64()))
}

// row returns a row with every metric NaN (not applicable).
func (r *runner) row(task, split, engine string) Row {
	nan := math.NaN()
	return Row{
		Dataset: r.cfg.Dataset.Name, Task: task, Split: split, Engine: engine, Seed: r.cfg.Seed, Bucket: "all",
		Coverage: nan, AUC: nan, MacroF1: nan, RMSE: nan, PCC: nan, MAE: nan,
		AUCFilled: nan, MacroF1Filled: nan, RMSEFilled: nan, PCCFilled: nan, MAEFilled: nan,
		CapturedMass: nan, AcceptedPerEdge: nan, SybilCoverage: nan, AccuracyCost: nan, ECE: nan,
	}
}

// parallel runs job(i) for i in [0, n) on the configured number of
// workers, reporting progress under the phase name what. The first error
// stops the others; goroutines are joined before it returns.
func (r *runner) parallel(ctx context.Context, what string, n int, job func(ctx context.Context, i int) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("eval: %s: %w", what, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.progressMu.Lock()
	r.progressN = 0
	r.progressMu.Unlock()
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	workers := min(r.cfg.Workers, n)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := ctx.Err(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				if err := job(ctx, i); err != nil {
					mu.Lock()
					if first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled) {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				}
				if r.cfg.Progress != nil {
					r.progressMu.Lock()
					r.progressN++
					r.cfg.Progress(r.progressN, n, what)
					r.progressMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("eval: %s: %w", what, first)
	}
	return nil
}

// outBuckets are the rater out-degree buckets of the breakdowns.
var outBuckets = []struct {
	name   string
	lo, hi int // inclusive
}{{"1-4", 1, 4}, {"5-19", 5, 19}, {"20+", 20, 1 << 30}}

// bucketOf returns the index in outBuckets of a node with out-degree d (0
// for d < 1, which a rater cannot have).
func bucketOf(d int) int {
	for i, b := range outBuckets {
		if d >= b.lo && d <= b.hi {
			return i
		}
	}
	return 0
}

// sample draws k of the n indices whose key is given, allocating k across
// keys in proportion to their sizes (largest remainders, ties to the lower
// key) and drawing uniformly within each key. k >= n, or k < 0, returns
// every index. The result is sorted.
func sample(rng *rand.Rand, keys []int, k int) []int {
	n := len(keys)
	if k < 0 || k >= n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	byKey := make(map[int][]int)
	var ks []int
	for i, key := range keys {
		if _, ok := byKey[key]; !ok {
			ks = append(ks, key)
		}
		byKey[key] = append(byKey[key], i)
	}
	slices.Sort(ks)
	quota := make(map[int]int)
	type rem struct {
		key  int
		frac float64
	}
	var rems []rem
	given := 0
	for _, key := range ks {
		exact := float64(k) * float64(len(byKey[key])) / float64(n)
		q := int(exact)
		quota[key] = q
		given += q
		rems = append(rems, rem{key, exact - float64(q)})
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.frac > b.frac:
			return -1
		case a.frac < b.frac:
			return 1
		}
		return 0
	})
	for i := 0; given < k; i++ {
		quota[rems[i%len(rems)].key]++
		given++
	}
	var out []int
	for _, key := range ks {
		idx := byKey[key]
		perm := rng.Perm(len(idx))
		for _, p := range perm[:min(quota[key], len(idx))] {
			out = append(out, idx[p])
		}
	}
	slices.Sort(out)
	return out
}

// outDegrees returns every node's out-degree in g.
func outDegrees(g *trust.Graph) []int {
	d := make([]int, g.N())
	for u := range trust.NodeID(g.N()) {
		to, _ := g.Out(u)
		d[u] = len(to)
	}
	return d
}
