package graphsim

import (
	"context"
	"math"
	"slices"
	"sync"

	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// metricKey names one row of results within a (cell, engine).
type metricKey struct {
	label        string
	size, attack int
	metric       string
}

type metric struct {
	key   metricKey
	value float64 // NaN: undefined for this viewpoint
}

// metrics are one viewpoint's values, in a fixed order.
type metrics []metric

func (ms *metrics) add(label string, b scenario.Behaviour, name string, v float64) {
	*ms = append(*ms, metric{metricKey{label, b.Size, b.AttackEdges, name}, v})
}

// view is one engine's scores from one viewpoint: x the scores (NaN: no
// evidence), mass the querier's trust over the nodes (kith's propagation
// mass; for other engines their positive scores).
type view struct {
	x, mass []float64
}

// score computes scorer s's view of g from q.
func (r *runner) score(ctx context.Context, s trust.Scorer, g *trust.Graph, q trust.NodeID) (view, error) {
	x := make([]float64, g.N())
	switch en := s.(type) {
	case *trust.Engine:
		v, err := en.View(ctx, g, q)
		if err != nil {
			return view{}, err
		}
		mass := slices.Clone(v.Masses())
		if err := en.ScoreView(ctx, v, x); err != nil {
			return view{}, err
		}
		return view{x, mass}, nil
	}
	if gs, ok := s.(eval.GlobalScorer); ok && gs.Global() && r.cacheable[g] {
		k := globalKey{g, s}
		r.globalMu.Lock()
		c := r.globals[k]
		if c == nil {
			c = &globalScores{}
			r.globals[k] = c
		}
		r.globalMu.Unlock()
		c.once.Do(func() {
			c.x = make([]float64, g.N())
			c.err = s.Score(context.WithoutCancel(ctx), g, q, c.x)
		})
		if c.err != nil {
			return view{}, c.err
		}
		return view{c.x, c.x}, nil
	}
	if err := s.Score(ctx, g, q, x); err != nil {
		return view{}, err
	}
	if tm, ok := s.(eval.TrustMasser); ok {
		mass := make([]float64, g.N())
		if err := tm.TrustMass(ctx, g, q, mass); err != nil {
			return view{}, err
		}
		return view{x, mass}, nil
	}
	return view{x, x}, nil
}

// ranker places scores among the honest members' scores from one
// viewpoint: those of the run's honest sample (up to aucSample members,
// the querier excluded); no evidence ranks lowest.
type ranker struct{ sorted []float64 }

func low(x float64) float64 {
	if math.IsNaN(x) {
		return math.Inf(-1)
	}
	return x
}

func (r *runner) ranker(x []float64, q trust.NodeID) *ranker {
	s := make([]float64, 0, len(r.honestSmp))
	for _, v := range r.honestSmp {
		if v != q {
			s = append(s, low(x[v]))
		}
	}
	slices.Sort(s)
	return &ranker{s}
}

// percentile is the share of honest members scored below x, ties counting
// half, in percent.
func (r *ranker) percentile(x float64) float64 {
	x = low(x)
	lo, _ := slices.BinarySearch(r.sorted, x)
	hi := lo
	for hi < len(r.sorted) && r.sorted[hi] == x {
		hi++
	}
	return 100 * (float64(lo) + float64(hi-lo)/2) / float64(len(r.sorted))
}

func (r *ranker) median() float64 { return r.sorted[len(r.sorted)/2] }

// captured is the share of the querier's positive trust, itself excluded,
// that lands on ids.
func captured(mass []float64, q trust.NodeID, ids []trust.NodeID) float64 {
	total := 0.0
	for v, m := range mass {
		if trust.NodeID(v) != q && m > 0 {
			total += m
		}
	}
	if total == 0 {
		return math.NaN()
	}
	on := 0.0
	for _, v := range ids {
		if v != q && mass[v] > 0 {
			on += mass[v]
		}
	}
	return on / total
}

// accuracy is the AUC of the scores separating behaving from misbehaving
// members of the sample (the querier excluded; no evidence lowest).
func (r *runner) accuracy(x []float64, q trust.NodeID) float64 {
	var s []float64
	var pos []bool
	for i, v := range r.accNodes {
		if v != q {
			s = append(s, low(x[v]))
			pos = append(pos, r.accGood[i])
		}
	}
	return eval.AUC(s, pos)
}

// honestVsAttacker is the AUC of honest members (sample) against the
// attacker identities ids (at most aucSample of them, evenly spaced).
func (r *runner) honestVsAttacker(x []float64, q trust.NodeID, ids []trust.NodeID) float64 {
	var s []float64
	var pos []bool
	for _, v := range r.honestSmp {
		if v != q {
			s = append(s, low(x[v]))
			pos = append(pos, true)
		}
	}
	step := max(1, len(ids)/aucSample)
	for i := 0; i < len(ids); i += step {
		s = append(s, low(x[ids[i]]))
		pos = append(pos, false)
	}
	return eval.AUC(s, pos)
}

// model is the ranking model kith's engine e scores with from v: the
// shipped one, or for a personalising engine the one refined on the
// querier's judgements in v (trained once per viewpoint on its view of the
// honest graph, as a node refines its model from time to time rather than
// on every attestation it receives; see perScorer.model).
func model(ctx context.Context, e *trust.Engine, v *trust.View) (*trust.Model, error) {
	if e.Personalize {
		return e.Personalized(ctx, v)
	}
	if e.Model != nil {
		return e.Model, nil
	}
	return trust.DefaultModel(), nil
}

// buffers lends the score arrays of one cell of one viewpoint and takes
// them back when it is measured: on a graph of a million nodes, a fresh
// array per view is most of what a viewpoint allocates.
type buffers struct{ lent []*[]float64 }

var scorePool sync.Pool // of *[]float64

func (b *buffers) get(n int) []float64 {
	x, _ := scorePool.Get().(*[]float64)
	if x == nil || cap(*x) < n {
		s := make([]float64, n)
		x = &s
	}
	*x = (*x)[:n]
	b.lent = append(b.lent, x)
	return *x
}

func (b *buffers) release() {
	for _, x := range b.lent {
		scorePool.Put(x)
	}
	b.lent = b.lent[:0]
}

// kithScores scores the nodes of need in v as trust.Engine.ScoreView
// does (NoEvidence, NaN, for uncovered nodes; the querier's own
// statements setting the side of the subjects they are about) into a lent
// array whose other entries are left as they were: the metrics read only
// the nodes of need. With mass it also returns the view's trust mass,
// which stays valid until the view changes (measure reads it first).
func kithScores(ctx context.Context, b *buffers, e *trust.Engine, v *trust.View, m *trust.Model, need []trust.NodeID, mass bool) (view, error) {
	x := b.get(v.N())
	if err := e.ScoreViewNodes(ctx, v, m, nil, need, x); err != nil {
		return view{}, err
	}
	out := view{x: x}
	if mass {
		out.mass = v.Masses()
	}
	return out, nil
}

// editor applies new edges to a view incrementally (trust.View.SetOut),
// keeping each changed node's out-edges with their times.
type editor struct {
	v    *trust.View
	rows map[trust.NodeID][]trust.Edit
}

func (ed *editor) add(ctx context.Context, edges []trust.Edge) error {
	var order []trust.NodeID
	added := map[trust.NodeID][]trust.Edit{}
	for _, e := range edges {
		if _, ok := added[e.From]; !ok {
			order = append(order, e.From)
		}
		added[e.From] = append(added[e.From], trust.Edit{To: e.To, Weight: e.Weight, Time: e.Time})
	}
	g := ed.v.Graph()
	for _, u := range order {
		row, ok := ed.rows[u]
		if !ok {
			to, w := g.Out(u)
			ts := g.OutTimes(u)
			for i := range to {
				row = append(row, trust.Edit{To: to[i], Weight: float64(w[i]), Time: ts[i]})
			}
		}
		row = append(row, added[u]...) // SetOut: the later edit of a pair wins
		ed.rows[u] = row
		if err := ed.v.SetOut(ctx, u, row); err != nil {
			return err
		}
	}
	return nil
}

// perScorer is what a viewpoint computes once per scorer and reuses
// across the cells that share it.
type perScorer struct {
	m       *trust.Model
	honestV *trust.View // kith's view of the honest graph, when needed
	honestX *view       // another engine's scores of the honest graph
	// models refined on the honest graph a node holds under consent, by
	// graph (it differs between cells only with the consent).
	models map[*trust.Graph]*trust.Model
}

// model returns the model engine e scores cell graphs cg with from q. A
// personalising engine refines it on the querier's view of the honest
// graph: the population's (computed once per viewpoint), or under consent
// the honest graph its node holds. The model of a cell then depends on
// the cell alone, never on the sweep's other cells.
func (ps *perScorer) model(ctx context.Context, e *trust.Engine, h *trust.Graph, cg *cellGraphs, q trust.NodeID) (*trust.Model, error) {
	if !e.Personalize {
		if ps.m == nil {
			var err error
			if ps.m, err = model(ctx, e, nil); err != nil {
				return nil, err
			}
		}
		return ps.m, nil
	}
	if cg.honest != nil {
		if m := ps.models[cg.honest]; m != nil {
			return m, nil
		}
		v, err := e.View(ctx, cg.honest, q)
		if err != nil {
			return nil, err
		}
		m, err := model(ctx, e, v)
		if err != nil {
			return nil, err
		}
		if ps.models == nil {
			ps.models = map[*trust.Graph]*trust.Model{}
		}
		ps.models[cg.honest] = m
		return m, nil
	}
	if ps.m == nil {
		if ps.honestV == nil {
			var err error
			if ps.honestV, err = e.View(ctx, h, q); err != nil {
				return nil, err
			}
		}
		var err error
		if ps.m, err = model(ctx, e, ps.honestV); err != nil {
			return nil, err
		}
	}
	return ps.m, nil
}

// viewpoint measures every cell of the batch for every engine from q.
func (r *runner) viewpoint(ctx context.Context, q trust.NodeID) ([][]metrics, error) {
	out := make([][]metrics, len(r.cellSc))
	for c := range out {
		out[c] = make([]metrics, len(r.engines))
	}
	h := r.w.pop.Graph
	// Graphs of this viewpoint, one per cell that needs its own.
	own := make([]*cellGraphs, len(r.cellSc))
	for e := range r.engines {
		cache := map[trust.Scorer]*perScorer{}
		for c, cs := range r.cellSc {
			sc := r.scorers[c][e]
			ke, isKith := sc.(*trust.Engine)
			isKith = isKith && !r.scoreWhole
			ps := cache[sc]
			if ps == nil {
				ps = &perScorer{}
				cache[sc] = ps
			}
			cg := r.shared[c]
			if cg == nil {
				if own[c] == nil {
					var err error
					if own[c], err = r.w.build(cs, r.cellOf[c], q, cs.Rand, r.wholeGraphs); err != nil {
						return nil, err
					}
				}
				cg = own[c]
			}
			need := r.need(cg)
			var bufs buffers
			var ref, att view
			var next func() (view, error) // the view after one more step of treason
			if isKith {
				v, err := ke.View(ctx, cg.base, q)
				if err != nil {
					return nil, err
				}
				m, err := ps.model(ctx, ke, h, cg, q)
				if err != nil {
					return nil, err
				}
				if cg.separable {
					// Only the accuracy reads the reference here (slander,
					// whose victims need it too, is never separable).
					if ref, err = kithScores(ctx, &bufs, ke, v, m, r.accNodes, false); err != nil {
						return nil, err
					}
				} else if cg.honest != nil {
					hv, err := ke.View(ctx, cg.honest, q)
					if err != nil {
						return nil, err
					}
					if ref, err = kithScores(ctx, &bufs, ke, hv, m, honest(need, h.N()), false); err != nil {
						return nil, err
					}
				} else {
					if ps.honestV == nil {
						if ps.honestV, err = ke.View(ctx, h, q); err != nil {
							return nil, err
						}
					}
					if ref, err = kithScores(ctx, &bufs, ke, ps.honestV, m, honest(need, h.N()), false); err != nil {
						return nil, err
					}
				}
				j := 0
				if cg.incremental {
					ed := &editor{v: v, rows: map[trust.NodeID][]trust.Edit{}}
					if err := ed.add(ctx, cg.attack); err != nil {
						return nil, err
					}
					if att, err = kithScores(ctx, &bufs, ke, v, m, need, true); err != nil {
						return nil, err
					}
					next = func() (view, error) {
						if err := ed.add(ctx, cg.treason[j]); err != nil {
							return view{}, err
						}
						j++
						return kithScores(ctx, &bufs, ke, v, m, need, false)
					}
				} else {
					va, err := ke.View(ctx, cg.final, q)
					if err != nil {
						return nil, err
					}
					if att, err = kithScores(ctx, &bufs, ke, va, m, need, true); err != nil {
						return nil, err
					}
					next = func() (view, error) {
						vs, err := ke.View(ctx, cg.steps[j], q)
						if err != nil {
							return view{}, err
						}
						j++
						return kithScores(ctx, &bufs, ke, vs, m, need, false)
					}
				}
			} else {
				var err error
				if cg.separable {
					ref, err = r.score(ctx, sc, cg.base, q)
				} else if cg.honest != nil {
					ref, err = r.score(ctx, sc, cg.honest, q)
				} else {
					if ps.honestX == nil {
						x, err := r.score(ctx, sc, h, q)
						if err != nil {
							return nil, err
						}
						ps.honestX = &x
					}
					ref = *ps.honestX
				}
				if err != nil {
					return nil, err
				}
				if att, err = r.score(ctx, sc, cg.final, q); err != nil {
					return nil, err
				}
				j := 0
				next = func() (view, error) {
					g := cg.steps[j]
					j++
					return r.score(ctx, sc, g, q)
				}
			}
			err := r.measure(ctx, &out[c][e], cg, cs, r.cellOf[c], q, ref, att, next)
			bufs.release()
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// need lists the nodes whose scores the metrics read in a cell: the
// samples and the behaviours' identities and subjects.
func (r *runner) need(cg *cellGraphs) []trust.NodeID {
	out := slices.Concat(r.accNodes, r.honestSmp)
	for _, gr := range cg.groups {
		out = append(out, gr.ids...)
		out = append(out, gr.subjects...)
		out = append(out, gr.fresh...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// honest keeps the nodes of need below n.
func honest(need []trust.NodeID, n int) []trust.NodeID {
	i, _ := slices.BinarySearch(need, trust.NodeID(n))
	return need[:i]
}

// measure computes one cell's metrics from the reference view (no attack
// edges) and the attacked view.
func (r *runner) measure(ctx context.Context, ms *metrics, cg *cellGraphs, cs *scenario.Scenario, cell scenario.Cell, q trust.NodeID, ref, att view, next func() (view, error)) error {
	rank := r.ranker(att.x, q)
	// Honest rows carry the first behaviour's s and g, for plots.
	hb := scenario.Behaviour{Size: cell.Int(scenario.FieldSize), AttackEdges: cell.Int(scenario.FieldAttackEdges)}
	if len(cg.groups) > 0 {
		hb = cg.groups[0].b
	}
	acc := r.accuracy(att.x, q)
	ms.add("honest", hb, MetricAccuracy, acc)
	covered, all := 0, 0
	for _, v := range r.honestSmp {
		if v != q {
			all++
			if !math.IsNaN(att.x[v]) {
				covered++
			}
		}
	}
	ms.add("honest", hb, MetricHonestCoverage, ratio(float64(covered), all))
	ms.add("honest", hb, MetricAccuracyCost, r.accuracy(ref.x, q)-acc)
	var refRank *ranker
	for _, gr := range cg.groups {
		b := gr.b
		switch b.Kind {
		case scenario.Sybil, scenario.Collusion:
			ms.add(gr.label, b, MetricCaptured, captured(att.mass, q, gr.ids))
			med := rank.median()
			accepted := 0
			for _, v := range gr.ids {
				if !math.IsNaN(att.x[v]) && att.x[v] > med {
					accepted++
				}
			}
			per := math.NaN()
			if gr.attack > 0 {
				per = float64(accepted) / float64(gr.attack)
			}
			ms.add(gr.label, b, MetricAcceptedPerEdge, per)
			// accepted_per_attack_edge is capped at s/g: every identity
			// accepted.
			ms.add(gr.label, b, MetricAcceptedShare, ratio(float64(accepted), len(gr.ids)))
			capped := 0.0
			if accepted == len(gr.ids) {
				capped = 1
			}
			ms.add(gr.label, b, MetricAcceptedCapped, capped)
			ms.add(gr.label, b, MetricAUC, r.honestVsAttacker(att.x, q, gr.ids))
		case scenario.Slander:
			if refRank == nil {
				refRank = r.ranker(ref.x, q)
			}
			ms.add(gr.label, b, MetricCaptured, captured(att.mass, q, gr.ids))
			drop, pushed, k := 0.0, 0, 0
			for _, v := range gr.subjects {
				if v == q {
					continue
				}
				before, after := refRank.percentile(ref.x[v]), rank.percentile(att.x[v])
				drop += before - after
				if before >= 50 && after < 50 {
					pushed++
				}
				k++
			}
			ms.add(gr.label, b, MetricRankDrop, ratio(drop, k))
			ms.add(gr.label, b, MetricPushedBelow, ratio(float64(pushed), k))
		case scenario.SelfPromotion:
			ms.add(gr.label, b, MetricCaptured, captured(att.mass, q, gr.ids))
			ms.add(gr.label, b, MetricPromoted, rank.percentile(att.x[gr.subjects[0]]))
		case scenario.Whitewash:
			benefit, newP, oldP, k := 0.0, 0.0, 0.0, 0
			for i, old := range gr.subjects {
				if old == q {
					continue
				}
				po, pn := rank.percentile(att.x[old]), rank.percentile(att.x[gr.fresh[i]])
				benefit += pn - po
				newP += pn
				oldP += po
				k++
			}
			ms.add(gr.label, b, MetricWhitewashBenefit, ratio(benefit, k))
			ms.add(gr.label, b, MetricNewIdentity, ratio(newP, k))
			ms.add(gr.label, b, MetricOldIdentity, ratio(oldP, k))
		}
	}
	return r.treason(ctx, ms, cg, cs.Steps, q, rank, att.x, next)
}

func ratio(x float64, k int) float64 {
	if k == 0 {
		return math.NaN()
	}
	return x / float64(k)
}

// treason follows the traitors step by step from the turn until the
// querier ranks every one of them below its group's threshold percentile.
func (r *runner) treason(ctx context.Context, ms *metrics, cg *cellGraphs, steps int, q trust.NodeID, rank *ranker, before []float64, next func() (view, error)) error {
	type traitor struct {
		gr       int
		v        trust.NodeID
		detected int // steps of treason until detected; 0: not yet
	}
	var ts []traitor
	for gi, gr := range cg.groups {
		if gr.b.Kind != scenario.Traitor {
			continue
		}
		pre, k := 0.0, 0
		for _, v := range gr.subjects {
			if v != q {
				ts = append(ts, traitor{gr: gi, v: v})
				pre += rank.percentile(before[v])
				k++
			}
		}
		ms.add(gr.label, gr.b, MetricBeforeTurn, ratio(pre, k))
	}
	if len(ts) == 0 {
		return nil
	}
	left := len(ts)
	for k := cg.turn; k < steps && left > 0; k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := next()
		if err != nil {
			return err
		}
		rk := r.ranker(v.x, q)
		for i := range ts {
			b := cg.groups[ts[i].gr].b
			if ts[i].detected == 0 && k >= b.TurnAt && rk.percentile(v.x[ts[i].v]) < b.Threshold {
				ts[i].detected = k - b.TurnAt + 1
				left--
			}
		}
	}
	for gi, gr := range cg.groups {
		if gr.b.Kind != scenario.Traitor {
			continue
		}
		delay, found, all := 0.0, 0, 0
		for _, t := range ts {
			if t.gr != gi {
				continue
			}
			all++
			if t.detected > 0 {
				delay += float64(t.detected)
				found++
			}
		}
		ms.add(gr.label, gr.b, MetricDetectionDelay, ratio(delay, found))
		ms.add(gr.label, gr.b, MetricBadBeforeDetected, ratio(delay*float64(gr.b.BadPerStep), found))
		ms.add(gr.label, gr.b, MetricUndetected, ratio(float64(all-found), all))
	}
	return nil
}
