package eval

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/kith-net/kith/trust"
	"gonum.org/v1/gonum/mat"
)

// edgeTask runs Task A or D on one split.
func (r *runner) edgeTask(ctx context.Context, task, split string) ([]Row, error) {
	g := r.cfg.Dataset.Graph
	edges := g.Edges()
	if len(edges) == 0 {
		return nil, fmt.Errorf("eval: task %s: the graph has no edges", task)
	}
	deg := outDegrees(g)
	samples := r.cfg.Samples
	if samples == 0 {
		samples = 2000
	}
	calibN := r.cfg.Calibration
	if calibN == 0 {
		calibN = 500
	}
	rng := r.rng(task + "/" + split)
	pick := func(pool []trust.Edge, k int) []trust.Edge {
		keys := make([]int, len(pool))
		for i, e := range pool {
			keys[i] = 2 * bucketOf(deg[e.From])
			if e.Weight < 0 {
				keys[i]++
			}
		}
		idx := sample(rng, keys, k)
		out := make([]trust.Edge, len(idx))
		for i, j := range idx {
			out[i] = pool[j]
		}
		return out
	}

	var (
		test, calib   []trust.Edge
		testGraph     = g // the graph test edges are scored on
		testLOO       bool
		trainGraph    *trust.Graph // calibration edges are scored on it, each left out
		crossFit      bool
		what          = task + "/" + split
		errNoTraining = fmt.Errorf("eval: task %s, split %s: no training edges", task, split)
	)
	var cold bool // each test edge on its own cold-start view
	switch split {
	case SplitLOO:
		test, testLOO, crossFit = pick(edges, samples), true, true
	case SplitCold:
		var pool []trust.Edge
		for _, e := range edges {
			if deg[e.From] >= 2 {
				pool = append(pool, e)
			}
		}
		if len(pool) == 0 {
			return nil, fmt.Errorf("eval: task %s, split cold: no rater with two statements", task)
		}
		test, cold, crossFit = pick(pool, samples), true, true
	case SplitInSample:
		test, crossFit = pick(edges, samples), true
	case SplitHoldout, SplitTemporal:
		var trainEdges, testEdges []trust.Edge
		if split == SplitHoldout {
			perm := rng.Perm(len(edges))
			h := (len(edges) + 5) / 10
			for i, p := range perm {
				if i < h {
					testEdges = append(testEdges, edges[p])
				} else {
					trainEdges = append(trainEdges, edges[p])
				}
			}
			byKey := func(a, b trust.Edge) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) }
			slices.SortFunc(testEdges, byKey)
			slices.SortFunc(trainEdges, byKey)
		} else {
			sorted := slices.Clone(edges) // (From, To) order breaks ties in time
			slices.SortStableFunc(sorted, func(a, b trust.Edge) int { return cmp.Compare(a.Time, b.Time) })
			cut := len(sorted) * 8 / 10
			trainEdges, testEdges = sorted[:cut], sorted[cut:]
		}
		if len(trainEdges) == 0 || len(testEdges) == 0 {
			return nil, errNoTraining
		}
		tg, err := trust.NewGraph(g.N(), trainEdges)
		if err != nil {
			return nil, fmt.Errorf("eval: %s: %w", what, err)
		}
		testGraph, trainGraph = tg, tg
		test = pick(testEdges, samples)
		calib = pick(trainEdges, calibN)
	default:
		return nil, fmt.Errorf("eval: unknown split %q (want loo, holdout, temporal, cold or insample)", split)
	}

	var testScores [][]float64
	var err error
	if cold {
		testScores, err = r.scoreCold(ctx, what+"/test", g, test)
	} else {
		testScores, err = r.scoreEdges(ctx, what+"/test", testGraph, test, testLOO)
	}
	if err != nil {
		return nil, err
	}
	if r.cfg.DriftCalibrate {
		base := testGraph
		if cold {
			base = g
		}
		if err := r.driftCalibrate(ctx, what, base, calibN, test, testScores); err != nil {
			return nil, err
		}
	}
	var calibScores [][]float64
	if !crossFit {
		calibScores, err = r.scoreEdges(ctx, what+"/calibration", trainGraph, calib, true)
		if err != nil {
			return nil, err
		}
	}

	// Cross-fitting folds for the splits without a separate training set.
	fold := make([]int, len(test))
	if crossFit {
		for i, p := range rng.Perm(len(test)) {
			fold[p] = i % 2
		}
	}

	var rows []Row
	for ei, s := range r.scorers {
		direct := isPredictor(s)
		pred := make([]float64, len(test)) // predicted weight, NaN if uncovered
		thr := make([]float64, len(test))  // sign threshold on the score
		fill := make([]float64, len(test)) // weight predicted without evidence: the training mean
		_, level := s.(LevelPredictor)
		if crossFit {
			for f := range 2 {
				var ts, tw []float64
				for i, e := range test {
					if fold[i] != f {
						ts = append(ts, testScores[ei][i])
						tw = append(tw, e.Weight)
					}
				}
				cal, t, m := fit(ts, tw, direct)
				for i := range test {
					if fold[i] == f {
						pred[i], thr[i], fill[i] = cal(testScores[ei][i]), t, m
					}
				}
			}
		} else {
			cw := make([]float64, len(calib))
			for i, e := range calib {
				cw[i] = e.Weight
			}
			cal, t, m := fit(calibScores[ei], cw, direct)
			for i := range test {
				pred[i], thr[i], fill[i] = cal(testScores[ei][i]), t, m
			}
		}
		if level {
			// The engine's own level head gives the weights; the score
			// still ranks and sets the sign threshold.
			for i := range test {
				pred[i] = testScores[len(r.scorers)+ei][i]
			}
		}
		for b := -1; b < len(outBuckets); b++ {
			var sel []int
			for i, e := range test {
				if b < 0 || bucketOf(deg[e.From]) == b {
					sel = append(sel, i)
				}
			}
			row := r.row(task, split, s.Name())
			if b >= 0 {
				row.Bucket = outBuckets[b].name
			}
			row.Prediction = "calibrated"
			if direct {
				row.Prediction = "direct"
			} else if level {
				row.Prediction = "level"
			}
			edgeMetrics(&row, test, testScores[ei], pred, thr, fill, sel)
			if isProbabilistic(s) {
				var ps []float64
				var ys []bool
				for _, i := range sel {
					if x := testScores[ei][i]; !math.IsNaN(x) {
						ps = append(ps, x)
						ys = append(ys, test[i].Weight > 0)
					}
				}
				row.ECE, row.Reliability = ExpectedCalibration(ps, ys)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// fit returns what is learnt from training (score, weight) pairs: the
// score-to-weight map, the sign threshold on the score, and the mean
// weight (the prediction for items without evidence in the filled
// metrics). Direct predictors keep their prediction (clamped to [-1, 1]).
func fit(scores, weights []float64, direct bool) (func(float64) float64, float64, float64) {
	neg := make([]bool, len(weights))
	mean := 0.0
	for i, w := range weights {
		neg[i] = w < 0
		mean += w
	}
	if len(weights) > 0 {
		mean /= float64(len(weights))
	}
	thr := BestThreshold(scores, neg)
	if direct {
		return func(s float64) float64 {
			if math.IsNaN(s) {
				return s
			}
			return min(1, max(-1, s))
		}, thr, mean
	}
	return FitCalibration(scores, weights).Apply, thr, mean
}

// edgeMetrics fills the metrics of row from the test items in sel.
func edgeMetrics(row *Row, test []trust.Edge, scores, pred, thr, fill []float64, sel []int) {
	row.N = len(sel)
	var (
		cs, fs       []float64 // scores (negated: negatives are the positive class), covered and filled
		cneg, fneg   []bool
		cpl, fpl     []bool // predicted negative
		cw, cp       []float64
		fw, fp       []float64
		hasNeg, hasP bool
	)
	for _, i := range sel {
		e := test[i]
		isNeg := e.Weight < 0
		hasNeg = hasNeg || isNeg
		hasP = hasP || !isNeg
		s, p := scores[i], pred[i]
		covered := !math.IsNaN(s)
		if covered {
			row.Covered++
			if isNeg {
				row.Negatives++
			}
			cs = append(cs, -s)
			cneg = append(cneg, isNeg)
			cpl = append(cpl, s < thr[i])
			if !math.IsNaN(p) {
				cw = append(cw, e.Weight)
				cp = append(cp, p)
			}
		} else {
			s = 0
		}
		if math.IsNaN(p) {
			p = fill[i] // no evidence, or no calibration (no training data)
		}
		fs = append(fs, -s)
		fneg = append(fneg, isNeg)
		fpl = append(fpl, s < thr[i])
		fw = append(fw, e.Weight)
		fp = append(fp, p)
	}
	row.Coverage = math.NaN()
	if row.N > 0 {
		row.Coverage = float64(row.Covered) / float64(row.N)
	}
	row.AUC, row.AUCFilled = AUC(cs, cneg), AUC(fs, fneg)
	row.MacroF1, row.MacroF1Filled = math.NaN(), math.NaN()
	if hasNeg && hasP {
		row.MacroF1, row.MacroF1Filled = macroF1Pred(cpl, cneg), macroF1Pred(fpl, fneg)
	}
	row.RMSE, row.PCC, row.MAE = RMSE(cw, cp), Pearson(cw, cp), MAE(cw, cp)
	row.RMSEFilled, row.PCCFilled, row.MAEFilled = RMSE(fw, fp), Pearson(fw, fp), MAE(fw, fp)
}

// macroF1Pred is MacroF1 from predicted labels.
func macroF1Pred(pred, truth []bool) float64 {
	if len(pred) == 0 {
		return math.NaN()
	}
	var tp, fp, fn, tn float64
	for i := range pred {
		switch {
		case pred[i] && truth[i]:
			tp++
		case pred[i] && !truth[i]:
			fp++
		case !pred[i] && truth[i]:
			fn++
		default:
			tn++
		}
	}
	return (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2
}

func isPredictor(s trust.Scorer) bool {
	if _, ok := s.(BatchWeightPredictor); ok {
		return true
	}
	_, ok := s.(WeightPredictor)
	return ok
}

// newScores returns the score table of n items: one row per engine
// (scores), then one per engine (levels, for LevelPredictors), all NaN.
func (r *runner) newScores(n int) [][]float64 {
	out := make([][]float64, 2*len(r.scorers))
	for e := range out {
		out[e] = make([]float64, n)
		for i := range out[e] {
			out[e][i] = math.NaN()
		}
	}
	return out
}

// scoreEdges scores every item (rater From, target To) with every engine:
// out[engine][item] is the engine's score of To from From's view (or its
// predicted weight for weight predictors), NaN without evidence, and
// out[len(engines)+engine][item] its predicted level for LevelPredictors.
// With loo each item is scored on g without its own edge; otherwise on g.
func (r *runner) scoreEdges(ctx context.Context, what string, g *trust.Graph, items []trust.Edge, loo bool) ([][]float64, error) {
	out := r.newScores(len(items))
	if len(items) == 0 {
		return out, nil
	}
	var batch, global, personal []int
	for e, s := range r.scorers {
		switch {
		case isBatch(s):
			batch = append(batch, e)
		case !loo && isGlobal(s) && !isPredictor(s):
			global = append(global, e)
		default:
			personal = append(personal, e)
		}
	}
	var jobs []func(context.Context) error

	// Batch predictors: chunks of items, one call each.
	chunk := max(1, (len(items)+r.cfg.Workers-1)/r.cfg.Workers)
	for _, e := range batch {
		bp := r.scorers[e].(BatchWeightPredictor)
		for lo := 0; lo < len(items); lo += chunk {
			hi := min(len(items), lo+chunk)
			jobs = append(jobs, func(ctx context.Context) error {
				ok := make([]bool, hi-lo)
				dst := out[e][lo:hi]
				if err := bp.PredictWeights(ctx, g, items[lo:hi], loo, dst, ok); err != nil {
					return fmt.Errorf("%s: %w", r.scorers[e].Name(), err)
				}
				for i, k := range ok {
					if !k {
						dst[i] = math.NaN()
					}
				}
				return nil
			})
		}
	}
	// Global scorers on a fixed graph: one score vector each.
	for _, e := range global {
		jobs = append(jobs, func(ctx context.Context) error {
			dst := make([]float64, g.N())
			if err := r.scorers[e].Score(ctx, g, items[0].From, dst); err != nil {
				return err
			}
			for i, it := range items {
				out[e][i] = dst[it.To]
			}
			return nil
		})
	}
	if len(personal) > 0 {
		if loo {
			for i := range items {
				jobs = append(jobs, func(ctx context.Context) error {
					h := g.WithoutEdge(items[i].From, items[i].To)
					return r.scoreOn(ctx, h, personal, items, []int{i}, out)
				})
			}
		} else {
			byRater := make(map[trust.NodeID][]int)
			var raters []trust.NodeID
			for i, it := range items {
				if _, ok := byRater[it.From]; !ok {
					raters = append(raters, it.From)
				}
				byRater[it.From] = append(byRater[it.From], i)
			}
			for _, q := range raters {
				jobs = append(jobs, func(ctx context.Context) error {
					return r.scoreOn(ctx, g, personal, items, byRater[q], out)
				})
			}
		}
	}
	err := r.parallel(ctx, what, len(jobs), func(ctx context.Context, i int) error { return jobs[i](ctx) })
	return out, err
}

// scoreCold scores every item on its own cold-start view (ColdView), with
// every engine: each item draws its number of own statements, 1 to
// ColdMaxOwn, and which ones, from a generator of its own, so that results
// do not depend on scheduling.
func (r *runner) scoreCold(ctx context.Context, what string, g *trust.Graph, items []trust.Edge) ([][]float64, error) {
	out := r.newScores(len(items))
	all := make([]int, len(r.scorers))
	for e := range all {
		all[e] = e
	}
	err := r.parallel(ctx, what, len(items), func(ctx context.Context, i int) error {
		it := items[i]
		rng := r.rng(fmt.Sprintf("%s/%d/%d/%d", what, i, it.From, it.To))
		h, err := ColdView(g, it.From, it.To, 1+rng.IntN(ColdMaxOwn), rng)
		if err != nil {
			return err
		}
		return r.scoreOn(ctx, h, all, items, []int{i}, out)
	})
	return out, err
}

// scoreOn scores items idx (all with the same rater) on h with the given
// engines.
func (r *runner) scoreOn(ctx context.Context, h *trust.Graph, engines []int, items []trust.Edge, idx []int, out [][]float64) error {
	q := items[idx[0]].From
	var dst []float64
	for _, e := range engines {
		s := r.scorers[e]
		if wp, ok := s.(WeightPredictor); ok {
			for _, i := range idx {
				w, ok := wp.PredictWeight(ctx, h, q, items[i].To)
				if math.IsInf(w, 0) {
					return fmt.Errorf("%s: PredictWeight(%d, %d) = %v", s.Name(), q, items[i].To, w)
				}
				if ok {
					out[e][i] = w
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		if dst == nil {
			dst = make([]float64, h.N())
		}
		// The nodes asked about, and the times of their judgements.
		nodes := make([]trust.NodeID, len(idx))
		at := make([]int64, len(idx))
		for j, i := range idx {
			nodes[j], at[j] = items[i].To, items[i].Time
		}
		ts, timed := s.(TimedScorer)
		timed = timed && r.cfg.AskAtJudgement
		if ns, ok := s.(NodeScorer); ok || timed {
			var err error
			if timed {
				err = ts.ScoreNodesAt(ctx, h, q, nodes, at, dst)
			} else {
				err = ns.ScoreNodes(ctx, h, q, nodes, dst)
			}
			if err != nil {
				return err
			}
		} else if err := s.Score(ctx, h, q, dst); err != nil {
			return err
		}
		for _, i := range idx {
			x := dst[items[i].To]
			if math.IsInf(x, 0) {
				return fmt.Errorf("%s: score of %d from %d is %v", s.Name(), items[i].To, q, x)
			}
			out[e][i] = x
		}
		if lp, ok := s.(LevelPredictor); ok {
			var err error
			if timed {
				err = ts.LevelsAt(ctx, h, q, nodes, at, dst)
			} else {
				err = lp.Levels(ctx, h, q, nodes, dst)
			}
			if err != nil {
				return err
			}
			for _, i := range idx {
				out[len(r.scorers)+e][i] = dst[items[i].To]
			}
		}
	}
	return nil
}

func isBatch(s trust.Scorer) bool {
	_, ok := s.(BatchWeightPredictor)
	return ok
}

// driftCalibrate recalibrates the probabilistic engines' scores of a
// split to the drift of the graph they were scored on, learnt from that
// graph's own history: the graph's statements in time order are cut at
// 80 %; k of the later ones are predicted from the view of the earlier
// ones (evidence that has aged) and k of the earlier ones each left out
// of it (evidence as fresh as the judgement); a logistic map of each
// engine's log-odds x and the staleness s of the evidence at the
// question's time (staleness), σ(a·x + b + c·s + d·x·s), pulled toward
// the identity, is fitted to both and applied to the scores of test.
func (r *runner) driftCalibrate(ctx context.Context, what string, g *trust.Graph, k int, test []trust.Edge, scores [][]float64) error {
	var probs []int
	for e, s := range r.scorers {
		if isProbabilistic(s) {
			probs = append(probs, e)
		}
	}
	sorted := g.Edges()
	slices.SortStableFunc(sorted, func(a, b trust.Edge) int { return cmp.Compare(a.Time, b.Time) })
	cut := len(sorted) * 8 / 10
	if len(probs) == 0 || cut == 0 || cut == len(sorted) {
		return nil
	}
	inner, err := trust.NewGraph(g.N(), sorted[:cut])
	if err != nil {
		return fmt.Errorf("eval: %s: drift: %w", what, err)
	}
	// The test edges are never learnt from (the leave-one-out and cold
	// splits score them on a graph that holds them).
	isTest := make(map[[2]trust.NodeID]bool, len(test))
	for _, e := range test {
		isTest[[2]trust.NodeID{e.From, e.To}] = true
	}
	rng := r.rng(what + "/drift")
	draw := func(pool []trust.Edge) []trust.Edge {
		var out []trust.Edge
		for _, j := range rng.Perm(len(pool)) {
			if e := pool[j]; !isTest[[2]trust.NodeID{e.From, e.To}] {
				out = append(out, e)
				if len(out) == k {
					break
				}
			}
		}
		slices.SortFunc(out, func(a, b trust.Edge) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
		return out
	}
	items := draw(sorted[cut:])
	sc, err := r.scoreEdges(ctx, what+"/drift", inner, items, false)
	if err != nil {
		return err
	}
	fresh := draw(sorted[:cut])
	fsc, err := r.scoreEdges(ctx, what+"/drift-fresh", inner, fresh, true)
	if err != nil {
		return err
	}
	for _, e := range probs {
		var x, st []float64
		var y []bool
		add := func(its []trust.Edge, sc []float64) {
			for i, it := range its {
				if p := sc[i]; !math.IsNaN(p) {
					x = append(x, clampLogit(p))
					st = append(st, staleness(inner, it))
					y = append(y, it.Weight > 0)
				}
			}
		}
		add(items, sc[e])
		add(fresh, fsc[e])
		c := fitDrift(x, st, y)
		for i, p := range scores[e] {
			if !math.IsNaN(p) {
				scores[e][i] = c.apply(clampLogit(p), staleness(g, test[i]))
			}
		}
	}
	return nil
}

// staleness is log(1 + months from the newest statement about e.To in g
// by anyone but e.From to e's time): 0 when the evidence is as fresh as
// the judgement, or when nothing is known.
func staleness(g *trust.Graph, e trust.Edge) float64 {
	from, _ := g.In(e.To)
	ts := g.InTimes(e.To)
	newest := int64(0)
	for i, u := range from {
		if u != e.From {
			newest = max(newest, ts[i])
		}
	}
	if newest == 0 || e.Time <= newest {
		return 0
	}
	return math.Log1p(float64(e.Time-newest) / 86400 / 30)
}

func clampLogit(p float64) float64 {
	p = min(1-1e-6, max(1e-6, p))
	return math.Log(p / (1 - p))
}

// driftMap is σ(w0·x + w1 + w2·s + w3·x·s).
type driftMap [4]float64

func (m driftMap) apply(x, s float64) float64 {
	return trust.Sigmoid(m[0]*x + m[1] + m[2]*s + m[3]*x*s)
}

// fitDrift fits a driftMap by Newton's method, with a penalty pulling it
// toward the identity (1, 0, 0, 0).
func fitDrift(x, s []float64, y []bool) driftMap {
	m := driftMap{1, 0, 0, 0}
	const lambda = 1.0
	for range 50 {
		var g [4]float64
		var h [4][4]float64
		for j := range 4 {
			g[j] = lambda * (m[j] - [4]float64{1, 0, 0, 0}[j])
			h[j][j] = lambda
		}
		for i, xi := range x {
			z := [4]float64{xi, 1, s[i], xi * s[i]}
			p := m.apply(xi, s[i])
			t := 0.0
			if y[i] {
				t = 1
			}
			w := p * (1 - p)
			for j := range 4 {
				g[j] += (p - t) * z[j]
				for l := range 4 {
					h[j][l] += w * z[j] * z[l]
				}
			}
		}
		d, ok := solve4(h, g)
		if !ok {
			break
		}
		// Newton's step, halved until the penalised loss falls.
		before, step := driftLoss(m, x, s, y, lambda), 1.0
		for range 30 {
			next := m
			for j := range 4 {
				next[j] -= step * d[j]
			}
			if driftLoss(next, x, s, y, lambda) <= before {
				m = next
				break
			}
			step /= 2
		}
		moved := 0.0
		for j := range 4 {
			moved += math.Abs(step * d[j])
		}
		if moved < 1e-9 {
			break
		}
	}
	return m
}

// driftLoss is the penalised log loss fitDrift minimises.
func driftLoss(m driftMap, x, s []float64, y []bool, lambda float64) float64 {
	loss := 0.0
	for j, v := range m {
		d := v - [4]float64{1, 0, 0, 0}[j]
		loss += lambda / 2 * d * d
	}
	for i, xi := range x {
		z := m[0]*xi + m[1] + m[2]*s[i] + m[3]*xi*s[i]
		if y[i] {
			z = -z
		}
		loss += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) // log(1 + e^z)
	}
	return loss
}

// solve4 solves h·d = g for the symmetric positive definite h (the
// penalised Hessian) by Cholesky factorisation.
func solve4(h [4][4]float64, g [4]float64) ([4]float64, bool) {
	var d [4]float64
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(4, slices.Concat(h[0][:], h[1][:], h[2][:], h[3][:]))) {
		return d, false
	}
	if err := chol.SolveVecTo(mat.NewVecDense(4, d[:]), mat.NewVecDense(4, g[:])); err != nil {
		return d, false
	}
	return d, true
}
