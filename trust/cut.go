package trust

import "math"

// subjectCut is the owner's propagation as it would be if one subject t
// passed nothing on: every walk that reaches t stops there. It is what
// the evidence about t is weighed with, so that nothing t says, and
// nothing that only t's vouches bring into trust, counts for t (a subject
// cannot vouch its own supporters into the owner's trust), and so that a
// new vouch for t can only take trust away from t's other raters (the
// walks it diverts stop at t), never give them more.
//
// Computed by a local forward push (the residual correction of a row
// change, as in View.SetOut) on a sparse map, from the view as it is,
// without changing it: the work is about (1−α)/α · mass(t) / Epsilon
// pushes, nothing for a subject with no mass.
type subjectCut struct {
	v *View
	t NodeID
	// delta is the change of mass at the nodes the correction reached;
	// the cut mass of u is (mass(u) + delta[u]) / (1 − c), where c is the
	// residual the correction left at the querier (walks that reach the
	// querier by someone's vouch for it, fewer in the cut): pushed, it
	// would spread like the whole cut propagation, which the division
	// accounts for without pushing it.
	delta map[NodeID]float64
	c     float64
}

// cutAt computes the cut of v at t.
func (v *View) cutAt(t NodeID) subjectCut {
	pr := &v.prop
	cut := subjectCut{v: v, t: t}
	alpha := pr.p.Restart
	x := (1 - alpha) / alpha * pr.mass[t] // the walks leaving t, in residual units
	if x == 0 || t == v.q {
		return cut
	}
	cut.delta = map[NodeID]float64{}
	scale := pr.p.cutEpsilon() / pr.p.Epsilon // the cut's threshold, relative to the propagation's
	resid := map[NodeID]float64{}
	var queue []NodeID
	add := func(y NodeID, r float64) {
		if y == v.q {
			cut.c += r
			return
		}
		old := resid[y]
		resid[y] = old + r
		if math.Abs(old) <= scale*pr.thr[y] && math.Abs(old+r) > scale*pr.thr[y] {
			queue = append(queue, y)
		}
	}
	// spread adds r times y's transition row (as the propagation walks)
	// to the residuals; t's row is empty in the cut chain.
	spread := func(y NodeID, r float64) {
		if !pr.passes(y) {
			return // the walk stops
		}
		to, w := v.Out(y)
		norm := max(pr.outSum[y], 1)
		for i, z := range to {
			if w[i] > 0 {
				add(z, r*float64(w[i])/norm)
			}
		}
	}
	// The correction of t's row: its old row, times −x.
	spread(t, -x)
	for head := 0; head < len(queue); head++ {
		y := queue[head]
		r := resid[y]
		if math.Abs(r) <= scale*pr.thr[y] {
			continue
		}
		resid[y] = 0
		cut.delta[y] += alpha * r
		if y != t {
			spread(y, (1-alpha)*r)
		}
		if head >= 1<<12 && head >= len(queue)/2 {
			queue = append(queue[:0], queue[head+1:]...)
			head = -1
		}
	}
	return cut
}

// mass returns u's mass in the cut propagation.
func (c subjectCut) mass(u NodeID) float64 {
	m := c.v.prop.mass[u]
	if c.delta == nil {
		return m
	}
	return max(0, (m+c.delta[u])/(1-c.c))
}

// trust returns the owner's trust in u in the cut propagation (View.Trust).
func (c subjectCut) trust(u NodeID) float64 {
	if u == c.v.q {
		return 1
	}
	return c.v.trustOf(c.mass(u))
}
