package eval

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/kith-net/kith/trust"
)

// The victim choices of Task C: which honest nodes give the attack edges.
const (
	VictimsRandom   = "random"   // uniform among honest nodes that vouch for someone
	VictimsTargeted = "targeted" // the honest nodes with the most positive ratings received
	VictimsNear     = "near"     // the querier's closest contacts (positive edges), breadth first
)

// SybilAttack describes an injected Sybil region.
type SybilAttack struct {
	Sybils      int            // nodes in the region, numbered after the honest nodes
	Degree      int            // vouches each Sybil gives to other Sybils
	Victims     []trust.NodeID // honest nodes, one attack edge each
	AttackValue float64        // weight of the attack edges (vouches), in (0, 1]
}

// Inject returns g with the Sybil region added: nodes g.N() ..
// g.N()+Sybils-1, each vouching (weight 1) for Degree distinct random other
// Sybils, and one vouch of weight AttackValue from each victim to a random
// Sybil. The same rng state gives the same region.
func Inject(g *trust.Graph, a SybilAttack, rng *rand.Rand) (*trust.Graph, error) {
	n := g.N()
	if a.Sybils < 1 || a.AttackValue <= 0 || a.AttackValue > 1 {
		return nil, fmt.Errorf("eval: sybil attack: %d sybils, attack weight %v", a.Sybils, a.AttackValue)
	}
	edges := g.Edges()
	deg := min(a.Degree, a.Sybils-1)
	for i := range a.Sybils {
		// deg distinct others: a partial Fisher-Yates over the others.
		others := rng.Perm(a.Sybils - 1)
		for _, j := range others[:deg] {
			if j >= i {
				j++
			}
			edges = append(edges, trust.Edge{From: trust.NodeID(n + i), To: trust.NodeID(n + j), Weight: 1})
		}
	}
	for _, v := range a.Victims {
		if v < 0 || int(v) >= n {
			return nil, fmt.Errorf("eval: sybil attack: victim %d is not an honest node", v)
		}
		edges = append(edges, trust.Edge{From: v, To: trust.NodeID(n + rng.IntN(a.Sybils)), Weight: a.AttackValue})
	}
	return trust.NewGraph(n+a.Sybils, edges)
}

// sybilTask runs Task C.
func (r *runner) sybilTask(ctx context.Context) ([]Row, error) {
	g := r.cfg.Dataset.Graph
	n := g.N()
	sizes := r.cfg.Sybils
	if len(sizes) == 0 {
		sizes = []int{100, 1000}
	}
	attacks := r.cfg.AttackEdges
	if len(attacks) == 0 {
		attacks = []int{1, 10, 100}
	}
	victims := r.cfg.Victims
	if len(victims) == 0 {
		victims = []string{VictimsRandom, VictimsTargeted, VictimsNear}
	}
	degree := r.cfg.SybilDegree
	if degree == 0 {
		degree = 10
	}
	nq := r.cfg.Queriers
	if nq == 0 {
		nq = 20
	}
	attackW := r.cfg.AttackWeight
	if attackW == 0 {
		attackW = medianPositive(g)
	}
	if !(attackW > 0 && attackW <= 1) {
		return nil, fmt.Errorf("eval: task C: attack weight %v outside (0, 1]", attackW)
	}
	hops := r.cfg.Hops
	if hops < 0 {
		return nil, fmt.Errorf("eval: task C: %d hops", hops)
	}
	// view is what q's node holds of graph h: all of it, or its horizon.
	view := func(h *trust.Graph, q trust.NodeID) (*trust.Graph, error) {
		if hops == 0 {
			return h, nil
		}
		return Horizon(h, q, hops)
	}
	class := honestClasses(g, r.cfg.Labels)
	// Queriers: established honest users, with at least 5 positive ratings given.
	posOut := make([]int, n)
	posIn := make([]int, n)
	var voucher []trust.NodeID
	for u := range trust.NodeID(n) {
		to, w := g.Out(u)
		for i, x := range w {
			if x > 0 {
				posOut[u]++
				posIn[to[i]]++
			}
		}
		if posOut[u] > 0 {
			voucher = append(voucher, u)
		}
	}
	var qpool []trust.NodeID
	for u := range trust.NodeID(n) {
		if posOut[u] >= 5 {
			qpool = append(qpool, u)
		}
	}
	if len(qpool) == 0 {
		return nil, fmt.Errorf("eval: task C: no node with 5 positive ratings to be a querier")
	}
	qrng := r.rng("C/queriers")
	var queriers []trust.NodeID
	for _, p := range qrng.Perm(len(qpool))[:min(nq, len(qpool))] {
		queriers = append(queriers, qpool[p])
	}
	slices.Sort(queriers)
	byTrust := make([]trust.NodeID, n)
	for i := range byTrust {
		byTrust[i] = trust.NodeID(i)
	}
	slices.SortStableFunc(byTrust, func(a, b trust.NodeID) int { return cmp.Compare(posIn[b], posIn[a]) })

	type cell struct {
		s, gEdges int
		victims   string
	}
	type result struct{ mass, accepted, auc, aucFilled, coverage, sybilCov, accuracy float64 }
	var cells []cell
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("eval: task C: %d sybils", s)
		}
		for _, ge := range attacks {
			if ge < 1 {
				return nil, fmt.Errorf("eval: task C: %d attack edges", ge)
			}
			for _, v := range victims {
				if v != VictimsRandom && v != VictimsTargeted && v != VictimsNear {
					return nil, fmt.Errorf("eval: task C: unknown victim choice %q", v)
				}
				cells = append(cells, cell{s, ge, v})
			}
		}
	}
	// res[cell][engine][querier]
	res := make([][][]result, len(cells))
	for c := range res {
		res[c] = make([][]result, len(r.scorers))
		for e := range res[c] {
			res[c][e] = make([]result, len(queriers))
		}
	}
	attackGraph := func(c cell, q trust.NodeID) (*trust.Graph, int, error) {
		// The region depends on its size only, the victims on the victim
		// choice (and the querier for "near") and not on s or g: cells that
		// differ in s are attacked from the same victims, and a larger g
		// adds victims to a smaller one's (common random numbers), so that
		// comparisons across s and g are paired.
		var vs []trust.NodeID
		vrng := r.rng(fmt.Sprintf("C/victims/%s/%d", c.victims, q))
		switch c.victims {
		case VictimsRandom:
			for _, p := range vrng.Perm(len(voucher))[:min(c.gEdges, len(voucher))] {
				vs = append(vs, voucher[p])
			}
		case VictimsTargeted:
			vs = slices.Clone(byTrust[:min(c.gEdges, n)])
		case VictimsNear:
			vs = Nearest(g, q, c.gEdges, vrng)
		}
		if len(vs) == 0 {
			return nil, 0, nil
		}
		a := SybilAttack{Sybils: c.s, Degree: degree, Victims: vs, AttackValue: attackW}
		h, err := Inject(g, a, r.rng(fmt.Sprintf("C/region/%d", c.s)))
		return h, len(vs), err
	}
	// The honest accuracy of every viewpoint without the attack, the
	// reference of the cost to honest accuracy.
	ref := make([][]float64, len(r.scorers))
	for e := range ref {
		ref[e] = make([]float64, len(queriers))
	}
	err := r.parallel(ctx, "C/reference", len(queriers), func(ctx context.Context, i int) error {
		q := queriers[i]
		h, err := view(g, q)
		if err != nil {
			return err
		}
		x := make([]float64, n)
		for e, s := range r.scorers {
			if err := s.Score(ctx, h, q, x); err != nil {
				return err
			}
			ref[e][i] = honestAccuracy(x, q, class)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var jobs []func(context.Context) error
	for ci, c := range cells {
		shared := c.victims != VictimsNear
		var (
			sharedGraph *trust.Graph
			sharedEdges int
		)
		if shared {
			var err error
			sharedGraph, sharedEdges, err = attackGraph(c, -1)
			if err != nil {
				return nil, err
			}
			for e, s := range r.scorers {
				if !isGlobal(s) || hops > 0 {
					continue
				}
				jobs = append(jobs, func(ctx context.Context) error {
					x := make([]float64, sharedGraph.N())
					if err := s.Score(ctx, sharedGraph, queriers[0], x); err != nil {
						return err
					}
					for i, q := range queriers {
						m, a, u, uf, cv, sc := sybilMetrics(x, q, n, sharedEdges)
						res[ci][e][i] = result{m, a, u, uf, cv, sc, honestAccuracy(x, q, class)}
					}
					return nil
				})
			}
		}
		for i, q := range queriers {
			jobs = append(jobs, func(ctx context.Context) error {
				h, ge := sharedGraph, sharedEdges
				if c.victims == VictimsNear {
					var err error
					if h, ge, err = attackGraph(c, q); err != nil {
						return err
					}
				}
				if h == nil {
					for e := range r.scorers {
						nan := math.NaN()
						res[ci][e][i] = result{nan, nan, nan, nan, nan, nan, nan}
					}
					return nil
				}
				h, err := view(h, q)
				if err != nil {
					return err
				}
				x := make([]float64, h.N())
				for e, s := range r.scorers {
					if shared && hops == 0 && isGlobal(s) {
						continue
					}
					if err := s.Score(ctx, h, q, x); err != nil {
						return err
					}
					m, a, u, uf, cv, sc := sybilMetrics(x, q, n, ge)
					if tm, ok := s.(TrustMasser); ok {
						y := make([]float64, h.N())
						if err := tm.TrustMass(ctx, h, q, y); err != nil {
							return err
						}
						m = capturedMass(y, q, n)
					}
					res[ci][e][i] = result{m, a, u, uf, cv, sc, honestAccuracy(x, q, class)}
				}
				return nil
			})
		}
	}
	if err := r.parallel(ctx, "C", len(jobs), func(ctx context.Context, i int) error { return jobs[i](ctx) }); err != nil {
		return nil, err
	}
	var rows []Row
	for ci, c := range cells {
		for e, s := range r.scorers {
			row := r.row(TaskSybil, c.victims, s.Name())
			row.N, row.Sybils, row.AttackEdges, row.Hops = len(queriers), c.s, c.gEdges, hops
			var m, a, u, uf, cv, sc, cost []float64
			for i, x := range res[ci][e] {
				m, a, u, uf = append(m, x.mass), append(a, x.accepted), append(u, x.auc), append(uf, x.aucFilled)
				cv, sc = append(cv, x.coverage), append(sc, x.sybilCov)
				cost = append(cost, ref[e][i]-x.accuracy)
			}
			row.CapturedMass, row.AcceptedPerEdge = meanDefined(m), meanDefined(a)
			row.AUC, row.AUCFilled = meanDefined(u), meanDefined(uf)
			row.Coverage, row.SybilCoverage = meanDefined(cv), meanDefined(sc)
			row.AccuracyCost = meanDefined(cost)
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// Nearest returns up to k nodes closest to q over positive edges (q
// excluded), breadth first, in ascending order; within the last layer
// needed the choice is random. Task C and the simulator pick near-querier
// victims with it.
func Nearest(g *trust.Graph, q trust.NodeID, k int, rng *rand.Rand) []trust.NodeID {
	seen := make([]bool, g.N())
	seen[q] = true
	layer := []trust.NodeID{q}
	var out []trust.NodeID
	for len(layer) > 0 && len(out) < k {
		var next []trust.NodeID
		for _, u := range layer {
			to, w := g.Out(u)
			for i, v := range to {
				if w[i] > 0 && !seen[v] {
					seen[v] = true
					next = append(next, v)
				}
			}
		}
		if len(out)+len(next) <= k {
			out = append(out, next...)
		} else {
			for _, p := range rng.Perm(len(next))[:k-len(out)] {
				out = append(out, next[p])
			}
		}
		layer = next
	}
	slices.Sort(out)
	return out
}

// sybilMetrics measures one viewpoint: x are q's scores on the attacked
// graph, nodes [0, honest) honest and [honest, len(x)) Sybil; attack is
// the number of attack edges. It returns the captured trust mass (share of
// q's positive score, q excluded, on Sybils; NaN if q gives no positive
// score), the Sybils accepted per attack edge (Sybils with evidence scored
// strictly above the median honest node, honest nodes without evidence
// counting as the lowest), the honest-vs-Sybil AUC over nodes with
// evidence and with NoEvidence at 0, and the shares of honest nodes and of
// Sybils with evidence.
func sybilMetrics(x []float64, q trust.NodeID, honest, attack int) (mass, accepted, auc, aucFilled, coverage, sybilCov float64) {
	var posH, posS float64
	var hs []float64
	var cs, fs []float64
	var cl, fl []bool
	coveredH, coveredS := 0, 0
	for v, s := range x {
		if trust.NodeID(v) == q {
			continue
		}
		isHonest := v < honest
		if !math.IsNaN(s) {
			if isHonest {
				coveredH++
				posH += max(s, 0)
			} else {
				coveredS++
				posS += max(s, 0)
			}
			cs = append(cs, s)
			cl = append(cl, isHonest)
		}
		f := s
		if math.IsNaN(f) {
			f = 0
		}
		fs = append(fs, f)
		fl = append(fl, isHonest)
		if isHonest {
			if math.IsNaN(s) {
				s = math.Inf(-1)
			}
			hs = append(hs, s)
		}
	}
	mass = math.NaN()
	if posH+posS > 0 {
		mass = posS / (posH + posS)
	}
	slices.Sort(hs)
	median := math.Inf(-1)
	if len(hs) > 0 {
		median = hs[len(hs)/2]
	}
	acc := 0
	for _, s := range x[honest:] {
		if !math.IsNaN(s) && s > median {
			acc++
		}
	}
	accepted = float64(acc) / float64(attack)
	nh := max(len(hs), 1)
	return mass, accepted, AUC(cs, cl), AUC(fs, fl), float64(coveredH) / float64(nh), float64(coveredS) / float64(max(len(x)-honest, 1))
}

// capturedMass is the share of q's trust mass y, q excluded, that lands on
// the Sybils (nodes from honest on); NaN if there is none.
func capturedMass(y []float64, q trust.NodeID, honest int) float64 {
	var h, sy float64
	for v, x := range y {
		if trust.NodeID(v) == q || math.IsNaN(x) || x <= 0 {
			continue
		}
		if v < honest {
			h += x
		} else {
			sy += x
		}
	}
	if h+sy == 0 {
		return math.NaN()
	}
	return sy / (h + sy)
}

// medianPositive is the median positive edge weight of g (1 if none).
func medianPositive(g *trust.Graph) float64 {
	var ws []float64
	for u := range trust.NodeID(g.N()) {
		_, w := g.Out(u)
		for _, x := range w {
			if x > 0 {
				ws = append(ws, float64(x))
			}
		}
	}
	if len(ws) == 0 {
		return 1
	}
	slices.Sort(ws)
	return ws[len(ws)/2]
}

// Horizon returns what q's node holds of g when gossip reaches it within
// hops hops: the edges issued by nodes fewer than hops steps from q along
// positive edges (q's own edges at hops = 1), on g's nodes.
func Horizon(g *trust.Graph, q trust.NodeID, hops int) (*trust.Graph, error) {
	if hops < 1 {
		return nil, fmt.Errorf("eval: horizon of %d hops", hops)
	}
	seen := map[trust.NodeID]bool{q: true}
	layer := []trust.NodeID{q}
	var edges []trust.Edge
	for d := 1; len(layer) > 0; d++ {
		var next []trust.NodeID
		for _, u := range layer {
			to, w := g.Out(u)
			ts := g.OutTimes(u)
			for i, v := range to {
				edges = append(edges, trust.Edge{From: u, To: v, Weight: float64(w[i]), Time: ts[i]})
				if w[i] > 0 && d < hops && !seen[v] {
					seen[v] = true
					next = append(next, v)
				}
			}
		}
		layer = next
	}
	return trust.NewGraph(g.N(), edges)
}

// honestClasses labels the honest nodes of g for the honest accuracy:
// with labels, +1 benign and -1 fraud as labelled; without, by the sign of
// the mean rating received from at least three raters (0: unknown).
func honestClasses(g *trust.Graph, labels map[trust.NodeID]int) []int8 {
	c := make([]int8, g.N())
	if len(labels) > 0 {
		for v, l := range labels {
			if int(v) < len(c) && l != 0 {
				c[v] = int8(max(-1, min(1, l)))
			}
		}
		return c
	}
	for v := range trust.NodeID(g.N()) {
		_, w := g.In(v)
		if len(w) < 3 {
			continue
		}
		sum := 0.0
		for _, x := range w {
			sum += float64(x)
		}
		switch {
		case sum > 0:
			c[v] = 1
		case sum < 0:
			c[v] = -1
		}
	}
	return c
}

// honestAccuracy is the AUC of q's scores x (NaN: no evidence, ranked
// lowest) separating the good honest nodes from the bad, q excluded; NaN
// without both classes.
func honestAccuracy(x []float64, q trust.NodeID, class []int8) float64 {
	var s []float64
	var good []bool
	for v, c := range class {
		if c == 0 || trust.NodeID(v) == q {
			continue
		}
		y := x[v]
		if math.IsNaN(y) {
			y = math.Inf(-1)
		}
		s = append(s, y)
		good = append(good, c > 0)
	}
	return AUC(s, good)
}
