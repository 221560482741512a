package training

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/gen"
	"github.com/kith-net/kith/trust"
)

// Source is one body of training data: a signed network, public or
// synthetic.
type Source struct {
	Name  string
	Graph *trust.Graph
	// Synthetic sources are always trained on and never held out: they
	// are not evidence of how the engine does on real networks.
	Synthetic bool
}

// The kinds of judgement collected from a source: how much of a view the
// owner holds when the judgement is predicted.
const (
	KindWarm     = "warm"     // the owner's whole view, the judgement hidden
	KindSmall    = "small"    // a new owner's view: 1-20 own statements and the statements within two hops (eval.ColdView)
	KindNewcomer = "newcomer" // every statement of the owner's hidden: only the crowd is left
	KindFuture   = "future"   // the view at an earlier time, predicting a judgement made after it
)

// Kinds lists the kinds in a fixed order.
var Kinds = []string{KindWarm, KindSmall, KindNewcomer, KindFuture}

// kindShare is each kind's share of a source's total weight (renormalised
// over the kinds a source has: one without times has no future
// judgements).
var kindShare = map[string]float64{KindWarm: 0.35, KindSmall: 0.35, KindNewcomer: 0.1, KindFuture: 0.2}

// SourceExamples are the judgements collected from one source, by kind.
type SourceExamples struct {
	Name      string
	Synthetic bool
	Kinds     map[string][]trust.Example
}

// All returns the source's examples of every kind, weighted so that the
// source weighs one in all (each kind its kindShare).
func (s SourceExamples) All() []trust.Example {
	total := 0.0
	for _, k := range Kinds {
		if len(s.Kinds[k]) > 0 {
			total += kindShare[k]
		}
	}
	var out []trust.Example
	for _, k := range Kinds {
		ex := s.Kinds[k]
		for _, e := range ex {
			e.Weight = kindShare[k] / total / float64(len(ex))
			out = append(out, e)
		}
	}
	return out
}

// CollectOptions configure CollectSource.
type CollectOptions struct {
	Seed uint64
	// Raters is how many raters of the source give judgements (0: 300).
	Raters int
	// PerRater bounds the warm judgements of one rater (0: 12): a very
	// active rater would otherwise dominate.
	PerRater int
	// Workers bounds parallelism (0: GOMAXPROCS).
	Workers int
	// AskAtJudgement asks each judgement's question at the time it was
	// made (View.SetNow), not at the newest statement of the view: the
	// evidence a view holds from long before a judgement is then as old,
	// to the model, as it was to the person judging (an experiment; the
	// shipped model is trained without it).
	AskAtJudgement bool
	// Progress reports raters done of the total.
	Progress func(done, total int)
}

func (o CollectOptions) withDefaults() CollectOptions {
	if o.Raters == 0 {
		o.Raters = 300
	}
	if o.PerRater == 0 {
		o.PerRater = 12
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// futureCut is the share of a source's statements, in time order, that
// its future judgements' views hold.
const futureCut = 0.8

// CollectSource collects the judgements of a sample of the source's raters
// (those with at least two statements), of every kind. It is
// deterministic for the options' seed and the source's name, whatever
// the number of workers.
func CollectSource(ctx context.Context, src Source, o CollectOptions) (SourceExamples, error) {
	o = o.withDefaults()
	g := src.Graph
	rng := rand.New(rand.NewPCG(o.Seed, hashName("collect/"+src.Name)))
	var pool []trust.NodeID
	for u := range trust.NodeID(g.N()) {
		if to, _ := g.Out(u); len(to) >= 2 {
			pool = append(pool, u)
		}
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	qs := pool[:min(o.Raters, len(pool))]
	slices.Sort(qs)

	// The past of a source with times, for the future judgements.
	var past *trust.Graph
	var future map[trust.NodeID][]trust.Edge
	if hasTimes(g) {
		edges := g.Edges()
		slices.SortStableFunc(edges, func(a, b trust.Edge) int { return cmp.Compare(a.Time, b.Time) })
		cut := int(float64(len(edges)) * futureCut)
		var err error
		if past, err = trust.NewGraph(g.N(), edges[:cut]); err != nil {
			return SourceExamples{}, err
		}
		future = map[trust.NodeID][]trust.Edge{}
		for _, e := range edges[cut:] {
			future[e.From] = append(future[e.From], e)
		}
	}

	type perRater map[string][]trust.Example
	out := make([]perRater, len(qs))
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range o.Workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(qs) || ctx.Err() != nil {
					return
				}
				q := qs[i]
				r := rand.New(rand.NewPCG(o.Seed, hashName(fmt.Sprintf("%s/%d", src.Name, q))))
				ex, err := collectRater(ctx, g, past, future[q], q, o.PerRater, o.AskAtJudgement, r)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				out[i] = ex
				if o.Progress != nil {
					o.Progress(int(done.Add(1)), len(qs))
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return SourceExamples{}, fmt.Errorf("training: %s: %w", src.Name, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return SourceExamples{}, err
	}
	se := SourceExamples{Name: src.Name, Synthetic: src.Synthetic, Kinds: map[string][]trust.Example{}}
	for _, ex := range out {
		for _, k := range Kinds {
			se.Kinds[k] = append(se.Kinds[k], ex[k]...)
		}
	}
	return se, nil
}

// collectRater collects one rater's judgements of every kind.
func collectRater(ctx context.Context, g, past *trust.Graph, future []trust.Edge, q trust.NodeID, perRater int, atJudgement bool, rng *rand.Rand) (map[string][]trust.Example, error) {
	eng := &trust.Engine{}
	out := map[string][]trust.Example{}
	to, w := g.Out(q)
	ts := make([]int64, len(to)) // 0: ask at the view's newest statement
	if atJudgement {
		copy(ts, g.OutTimes(q))
	}
	order := rng.Perm(len(to))
	// Warm: up to perRater of q's statements, each hidden in q's whole view.
	v, err := eng.View(ctx, g, q)
	if err != nil {
		return nil, err
	}
	// With atJudgement, each judgement is predicted at the time it was
	// made (View.SetNow).
	for _, i := range order[:min(perRater, len(order))] {
		v.SetNow(ts[i])
		f, err := v.Crowd(ctx, to[i], nil)
		if err != nil {
			return nil, err
		}
		if ex, ok := example(f, float64(w[i])); ok {
			out[KindWarm] = append(out[KindWarm], ex)
		}
	}
	// Small: two statements, each predicted from a new owner's view.
	for _, i := range order[:min(2, len(order))] {
		h, err := eval.ColdView(g, q, to[i], 1+rng.IntN(eval.ColdMaxOwn), rng)
		if err != nil {
			return nil, err
		}
		hv, err := eng.View(ctx, h, q)
		if err != nil {
			return nil, err
		}
		hv.SetNow(ts[i])
		if ex, ok := example(hv.Features(to[i], nil), float64(w[i])); ok {
			out[KindSmall] = append(out[KindSmall], ex)
		}
	}
	// Newcomer: two statements with every statement of q's hidden (the
	// view is not used after this).
	if err := v.SetOut(ctx, q, nil); err != nil {
		return nil, err
	}
	for _, i := range order[:min(2, len(order))] {
		v.SetNow(ts[i])
		if ex, ok := example(v.Features(to[i], nil), float64(w[i])); ok {
			out[KindNewcomer] = append(out[KindNewcomer], ex)
		}
	}
	// Future: up to two of q's later statements, from q's view of the past.
	if past != nil && len(future) > 0 {
		pv, err := eng.View(ctx, past, q)
		if err != nil {
			return nil, err
		}
		for _, j := range rng.Perm(len(future))[:min(2, len(future))] {
			e := future[j]
			if atJudgement {
				pv.SetNow(e.Time)
			}
			f, err := pv.Crowd(ctx, e.To, nil)
			if err != nil {
				return nil, err
			}
			if ex, ok := example(f, e.Weight); ok {
				out[KindFuture] = append(out[KindFuture], ex)
			}
		}
	}
	return out, nil
}

// example makes a training example of crowd features, if the crowd has
// any evidence (a judgement without evidence teaches nothing).
func example(f trust.Features, w float64) (trust.Example, bool) {
	if !f.CrowdCovered() || w == 0 {
		return trust.Example{}, false
	}
	f.Direct, f.HasDirect = 0, false
	return trust.Example{Features: f, Vouch: w > 0, Level: w}, true
}

func hasTimes(g *trust.Graph) bool {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, e := range g.Edges() {
		lo, hi = min(lo, e.Time), max(hi, e.Time)
	}
	return g.M() > 0 && hi > lo
}

func hashName(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// PublicOptions configure Public.
type PublicOptions struct {
	Seed uint64
	// Sources are the public networks to learn from.
	Sources []Source
	// Markets is how many synthetic markets to add (0: 2), generated from
	// the seed as Default's are.
	Markets int
	// Collect configures the judgements collected from each source (its
	// Seed is Seed).
	Collect CollectOptions
	// Candidates to choose among (nil: DefaultCandidates).
	Candidates []Candidate
	// Progress reports each phase's progress.
	Progress func(done, total int, what string)
}

// PublicReport says how Public's models were made.
type PublicReport struct {
	// Level is the level head's selection: its penalty, chosen by leave
	// one network out on held-out mean squared error, and the Pearson
	// correlation of its predictions with the judgements' weights on each
	// network held out of its training.
	Level   LevelReport
	Sources []SourceSummary
	// Selection is every candidate's leave-one-network-out result on all
	// sources, from which Chosen was selected.
	Selection []CVResult
	Chosen    Candidate
	// Nested is nested validation of the whole procedure: each network
	// held out in turn, the choice made without it.
	Nested []OuterResult
}

// LevelReport says how the level head was chosen.
type LevelReport struct {
	L2      float64
	Results []LevelCV
}

// LevelCV is one penalty's leave-one-network-out result.
type LevelCV struct {
	L2      float64
	MeanMSE float64
	Held    map[string]float64 // Pearson correlation on each held-out network
}

// levelPenalties is the grid the level head's penalty is chosen from.
var levelPenalties = []float64{1e-4, 1e-3, 1e-2, 1e-1}

// chooseLevel chooses the level head's penalty by leave one network out
// (each real source held out in turn, the ranking model trained with the
// chosen candidate on the others) and returns the report.
func chooseLevel(ctx context.Context, all []SourceExamples, chosen Candidate) (LevelReport, error) {
	var rep LevelReport
	best := -1
	for _, l2 := range levelPenalties {
		r := LevelCV{L2: l2, Held: map[string]float64{}}
		n := 0
		for i, held := range all {
			if held.Synthetic {
				continue
			}
			if err := ctx.Err(); err != nil {
				return LevelReport{}, err
			}
			var train []trust.Example
			for j, s := range all {
				if j != i {
					train = append(train, s.All()...)
				}
			}
			m, err := chosen.Model(train, "level cv")
			if err != nil {
				return LevelReport{}, err
			}
			lm, err := trust.TrainLevel(train, m, l2, "level cv")
			if err != nil {
				return LevelReport{}, err
			}
			test := held.All()
			var ys, ps []float64
			mse, sw := 0.0, 0.0
			for k := range test {
				p := lm.Level(m.Logit(&test[k].Features), &test[k].Features)
				w := weight(&test[k])
				mse += w * (p - test[k].Level) * (p - test[k].Level)
				sw += w
				ys, ps = append(ys, test[k].Level), append(ps, p)
			}
			r.MeanMSE += mse / sw
			r.Held[held.Name] = eval.Pearson(ys, ps)
			n++
		}
		r.MeanMSE /= float64(n)
		rep.Results = append(rep.Results, r)
		if best < 0 || r.MeanMSE < rep.Results[best].MeanMSE {
			best = len(rep.Results) - 1
		}
	}
	rep.L2 = rep.Results[best].L2
	return rep, nil
}

// SourceSummary counts one source's judgements.
type SourceSummary struct {
	Name      string
	Synthetic bool
	Counts    map[string]int
	BaseRate  float64
}

// Public trains the model kith ships from public signed networks and
// synthetic markets: it collects judgements of every kind from each
// source, chooses the model class and its hyperparameters by leave one
// network out on all sources (among the candidates that can ship), trains
// the choice on everything, and runs nested validation to report how the
// procedure does on networks it has not seen. Deterministic for the seed.
func Public(ctx context.Context, o PublicOptions) (*trust.Model, *trust.LevelModel, PublicReport, error) {
	if len(o.Sources) == 0 {
		return nil, nil, PublicReport{}, fmt.Errorf("training: public: no source")
	}
	if o.Markets == 0 {
		o.Markets = 2
	}
	if o.Candidates == nil {
		o.Candidates = DefaultCandidates(o.Seed)
	}
	co := o.Collect
	co.Seed = o.Seed
	progress := func(what string) func(int, int) {
		return func(d, t int) {
			if o.Progress != nil {
				o.Progress(d, t, what)
			}
		}
	}
	sources := slices.Clone(o.Sources)
	rng := rand.New(rand.NewPCG(o.Seed, 0x7075626c6963)) // "public"
	for i, p := range marketParams(rng, o.Markets) {
		m, err := gen.NewMarket(p)
		if err != nil {
			return nil, nil, PublicReport{}, err
		}
		sources = append(sources, Source{Name: fmt.Sprintf("synthetic-%d", i+1), Graph: m.Graph, Synthetic: true})
	}
	var rep PublicReport
	var all []SourceExamples
	for _, src := range sources {
		c := co
		c.Progress = progress("collecting judgements of " + src.Name)
		se, err := CollectSource(ctx, src, c)
		if err != nil {
			return nil, nil, PublicReport{}, err
		}
		all = append(all, se)
		sum := SourceSummary{Name: se.Name, Synthetic: se.Synthetic, Counts: map[string]int{}}
		for _, k := range Kinds {
			sum.Counts[k] = len(se.Kinds[k])
		}
		sum.BaseRate = weightedRate(se.All())
		rep.Sources = append(rep.Sources, sum)
	}
	if o.Progress != nil {
		o.Progress(0, 1, "choosing the model class by leave one network out")
	}
	chosen, sel, err := Select(ctx, all, o.Candidates)
	if err != nil {
		return nil, nil, PublicReport{}, err
	}
	rep.Chosen, rep.Selection = chosen, sel
	if o.Progress != nil {
		o.Progress(0, 1, "nested validation")
	}
	if rep.Nested, err = Nested(ctx, all, o.Candidates); err != nil {
		return nil, nil, PublicReport{}, err
	}
	var train []trust.Example
	var names []string
	for _, s := range all {
		train = append(train, s.All()...)
		names = append(names, s.Name)
	}
	prov := fmt.Sprintf("kith model train --public --seed %d: %s, chosen by leave one network out among %d candidates, trained on %d judgements (warm, small-view, newcomer and future, each hidden from its own features) of %d raters each of %s",
		o.Seed, chosen, len(o.Candidates), len(train), co.withDefaults().Raters, strings.Join(names, ", "))
	if co.AskAtJudgement {
		prov += ", each asked at the time of its judgement (--ask-at-judgement)"
	}
	m, err := chosen.Model(train, prov)
	if err != nil {
		return nil, nil, PublicReport{}, err
	}
	m.Figures = map[string]float64{}
	for _, n := range rep.Nested {
		m.Figures["heldout_auc:"+n.Held] = round(n.Quality.All.AUC)
		m.Figures["heldout_ece:"+n.Held] = round(n.Quality.All.ECE)
	}
	if o.Progress != nil {
		o.Progress(0, 1, "choosing the level head's penalty by leave one network out")
	}
	if rep.Level, err = chooseLevel(ctx, all, chosen); err != nil {
		return nil, nil, PublicReport{}, err
	}
	lm, err := trust.TrainLevel(train, m, rep.Level.L2, fmt.Sprintf("kith model train --public --seed %d: ridge regression (l2 %g, chosen by leave one network out) on the weights of the same %d judgements", o.Seed, rep.Level.L2, len(train)))
	if err != nil {
		return nil, nil, PublicReport{}, err
	}
	return m, lm, rep, nil
}

// round keeps a figure to four decimals, so the model file does not change
// with the last bits of a sum.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// FormatPublic renders a report as Markdown.
func FormatPublic(r PublicReport) string {
	var b strings.Builder
	b.WriteString("## Judgements collected\n\n| source | warm | small | newcomer | future | share positive |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Sources {
		name := s.Name
		if s.Synthetic {
			name += " (synthetic)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.3f |\n", name, s.Counts[KindWarm], s.Counts[KindSmall], s.Counts[KindNewcomer], s.Counts[KindFuture], s.BaseRate)
	}
	b.WriteString("\n## Selection: leave one network out on all networks\n\n| candidate | ships | mean held-out log loss |")
	for _, h := range r.Selection[0].Held {
		fmt.Fprintf(&b, " %s AUC |", h.Source)
	}
	b.WriteString("\n|---|---|---:|" + strings.Repeat("---:|", len(r.Selection[0].Held)) + "\n")
	for _, c := range r.Selection {
		mark := ""
		if c.Candidate == r.Chosen {
			mark = " **chosen**"
		}
		fmt.Fprintf(&b, "| %s%s | %v | %.4f |", c.Candidate, mark, c.Candidate.Ships(), c.MeanLogLoss)
		for _, h := range c.Held {
			fmt.Fprintf(&b, " %.3f |", h.All.AUC)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Nested validation: each network held out, the choice made without it\n\n")
	b.WriteString(FormatNested(r.Nested))
	b.WriteString("\n## The level head (the strength of a judgement): leave one network out\n\n| l2 | mean held-out MSE |")
	names := slices.Sorted(maps.Keys(r.Level.Results[0].Held))
	for _, n := range names {
		fmt.Fprintf(&b, " %s PCC |", n)
	}
	b.WriteString("\n|---:|---:|" + strings.Repeat("---:|", len(names)) + "\n")
	for _, c := range r.Level.Results {
		mark := ""
		if c.L2 == r.Level.L2 {
			mark = " **chosen**"
		}
		fmt.Fprintf(&b, "| %g%s | %.4f |", c.L2, mark, c.MeanMSE)
		for _, n := range names {
			fmt.Fprintf(&b, " %.3f |", c.Held[n])
		}
		b.WriteString("\n")
	}
	return b.String()
}
