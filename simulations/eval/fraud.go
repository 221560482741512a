package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/kith-net/kith/trust"
)

// Labellers returns the k nodes that rated the most labelled nodes (ties
// to the lower NodeID), skipping nodes that rated none. These stand in for
// the labellers of REV2-style ground truth, whose identities the label file
// does not give: REV2's labels come from the ratings of the platform's
// founder and the users he trusts most, so the nodes that rated the most
// labelled nodes are the ones whose ratings leak the labels.
func Labellers(g *trust.Graph, labels map[trust.NodeID]int, k int) []trust.NodeID {
	type c struct {
		u trust.NodeID
		n int
	}
	var cs []c
	for u := range trust.NodeID(g.N()) {
		to, _ := g.Out(u)
		n := 0
		for _, v := range to {
			if _, ok := labels[v]; ok {
				n++
			}
		}
		if n > 0 {
			cs = append(cs, c{u, n})
		}
	}
	slices.SortFunc(cs, func(a, b c) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.u, b.u)) })
	var out []trust.NodeID
	for _, x := range cs[:min(k, len(cs))] {
		out = append(out, x.u)
	}
	return out
}

// Mask returns g without every rating made by the given nodes.
func Mask(g *trust.Graph, raters []trust.NodeID) *trust.Graph {
	drop := make(map[trust.NodeID]bool, len(raters))
	for _, u := range raters {
		drop[u] = true
	}
	return g.Without(func(e trust.Edge) bool { return drop[e.From] })
}

// fraudTask runs Task B: from each querier's view, how well do the scores
// separate fraudulent from benign labelled nodes, on the graph with the
// labellers' ratings masked (and, for reference, unmasked).
func (r *runner) fraudTask(ctx context.Context) ([]Row, error) {
	labels := r.cfg.Labels
	if len(labels) == 0 {
		return nil, errors.New("eval: task B needs labels")
	}
	g := r.cfg.Dataset.Graph
	for v := range labels {
		if v < 0 || int(v) >= g.N() {
			return nil, fmt.Errorf("eval: task B: labelled node %d outside the graph", v)
		}
	}
	k := r.cfg.MaskLabellers
	if k == 0 {
		k = 5
	}
	var masked []trust.NodeID
	if k > 0 {
		masked = Labellers(g, labels, k)
	}
	gm := Mask(g, masked)
	nq := r.cfg.Queriers
	if nq == 0 {
		nq = 50
	}
	queriers := fraudQueriers(gm, labels, masked, nq, r.rng("B/queriers"))
	if len(queriers) == 0 {
		return nil, errors.New("eval: task B: no querier candidates")
	}
	var labelled []trust.NodeID
	for v := range labels {
		labelled = append(labelled, v)
	}
	slices.Sort(labelled)

	var rows []Row
	for _, split := range []struct {
		name string
		g    *trust.Graph
	}{{"masked", gm}, {"unmasked", g}} {
		// res[engine][querier] = per-viewpoint metrics.
		type view struct{ auc, aucFilled, coverage float64 }
		res := make([][]view, len(r.scorers))
		for e := range res {
			res[e] = make([]view, len(queriers))
		}
		evalView := func(x []float64, q trust.NodeID) view {
			var cs, fs []float64
			var cf, ff []bool
			covered, total := 0, 0
			for _, v := range labelled {
				if v == q {
					continue
				}
				total++
				fraud := labels[v] < 0
				s := x[v]
				if !math.IsNaN(s) {
					covered++
					cs = append(cs, -s)
					cf = append(cf, fraud)
				} else {
					s = 0
				}
				fs = append(fs, -s)
				ff = append(ff, fraud)
			}
			return view{AUC(cs, cf), AUC(fs, ff), float64(covered) / float64(max(total, 1))}
		}
		var jobs []func(context.Context) error
		var personal []int
		for e, s := range r.scorers {
			if isGlobal(s) {
				jobs = append(jobs, func(ctx context.Context) error {
					x := make([]float64, split.g.N())
					if err := s.Score(ctx, split.g, queriers[0], x); err != nil {
						return err
					}
					for i, q := range queriers {
						res[e][i] = evalView(x, q)
					}
					return nil
				})
			} else {
				personal = append(personal, e)
			}
		}
		for i, q := range queriers {
			jobs = append(jobs, func(ctx context.Context) error {
				x := make([]float64, split.g.N())
				for _, e := range personal {
					if err := r.scorers[e].Score(ctx, split.g, q, x); err != nil {
						return err
					}
					res[e][i] = evalView(x, q)
				}
				return nil
			})
		}
		if err := r.parallel(ctx, "B/"+split.name, len(jobs), func(ctx context.Context, i int) error { return jobs[i](ctx) }); err != nil {
			return nil, err
		}
		for e, s := range r.scorers {
			row := r.row(TaskFraud, split.name, s.Name())
			row.N = len(queriers)
			var a, af, c []float64
			for _, v := range res[e] {
				a = append(a, v.auc)
				af = append(af, v.aucFilled)
				c = append(c, v.coverage)
			}
			row.AUC, row.AUCFilled, row.Coverage = meanDefined(a), meanDefined(af), meanDefined(c)
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// fraudQueriers samples up to n viewpoints for Task B among the nodes a
// real user asking about fraud would be: benign-labelled nodes and the 100
// most active raters, minus fraud-labelled nodes and the masked labellers,
// keeping only those with at least one positive rating left in g (a
// querier who trusts nobody has no view).
func fraudQueriers(g *trust.Graph, labels map[trust.NodeID]int, masked []trust.NodeID, n int, rng interface{ Perm(int) []int }) []trust.NodeID {
	active := make([]trust.NodeID, g.N())
	for i := range active {
		active[i] = trust.NodeID(i)
	}
	deg := outDegrees(g)
	slices.SortStableFunc(active, func(a, b trust.NodeID) int { return cmp.Compare(deg[b], deg[a]) })
	cand := make(map[trust.NodeID]bool)
	for v, l := range labels {
		if l > 0 {
			cand[v] = true
		}
	}
	for _, v := range active[:min(100, len(active))] {
		cand[v] = true
	}
	for _, v := range masked {
		delete(cand, v)
	}
	var pool []trust.NodeID
	for v := range cand {
		if labels[v] < 0 {
			continue
		}
		_, w := g.Out(v)
		if slices.ContainsFunc(w, func(x float32) bool { return x > 0 }) {
			pool = append(pool, v)
		}
	}
	slices.Sort(pool)
	perm := rng.Perm(len(pool))
	var out []trust.NodeID
	for _, p := range perm[:min(n, len(pool))] {
		out = append(out, pool[p])
	}
	slices.Sort(out)
	return out
}

// meanDefined is the mean of the non-NaN values, NaN if none.
func meanDefined(xs []float64) float64 {
	s, n := 0.0, 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
