package trust

import (
	"math"
	"slices"
)

// subjectCut is the owner's propagation as it would be if one subject t
// did not exist: no walk reaches t, and every vouch for t is gone from
// its author's vouches (which share the author's trust among the rest).
// The evidence about t is weighed with it (View.RaterTrust): nothing said
// by or about t changes how far the owner trusts t's raters, so a subject
// cannot vouch its own supporters into the owner's trust, and a new
// statement about t only adds its own term to t's evidence, which makes
// every feature exactly monotone in the evidence.
//
// Computed by a local forward push (the residual correction of row
// changes, as in View.SetOut) in the view's dense residual scratch
// (cleared after), from the view as it is, without changing it: the work
// is about (1−α)/α · (mass(t) + the mass t's vouchers send it) /
// CutEpsilon pushes, nothing for a subject no trust reaches.
type subjectCut struct {
	v *View
	t NodeID
	// delta is the change of mass at the nodes the correction reached;
	// the cut mass of u is (mass(u) + delta[u]) / (1 − c), where c is the
	// residual the correction left at the querier (walks that reach the
	// querier by someone's vouch for it): pushed, it would spread like the
	// whole cut propagation, which the division accounts for without
	// pushing it.
	delta map[NodeID]float64
	c     float64
	// normQ is the querier's normalisation in the cut view.
	normQ float64
	// split is the contact decomposition of the cut, computed on first
	// use (raterTrust).
	split *cutSplit
}

// cutAt computes the cut of v at t.
func (v *View) cutAt(t NodeID) subjectCut {
	pr := &v.prop
	q := v.q
	cut := subjectCut{v: v, t: t, normQ: max(pr.outSum[q], 1)}
	if t == q {
		return cut
	}
	alpha := pr.p.Restart
	f := (1 - alpha) / alpha
	// The rows that change: every passing voucher of t loses its vouch
	// for t; t itself passes nothing (no walk reaches it any more).
	type changed struct {
		mass, norm, newNorm, wt float64
	}
	rows := map[NodeID]changed{}
	v.EachIn(t, func(u NodeID, w float32, _ int64) {
		if w > 0 && pr.passes(u) && pr.mass[u] != 0 {
			s := pr.outSum[u]
			rows[u] = changed{mass: pr.mass[u], norm: max(s, 1), newNorm: max(s-float64(w), 1), wt: float64(w)}
		}
	})
	if len(rows) == 0 && pr.mass[t] == 0 {
		return cut
	}
	if c, ok := rows[q]; ok {
		cut.normQ = c.newNorm
	}
	cut.delta = map[NodeID]float64{}
	// The residuals, dense: most corrections touch a node once, far below
	// its threshold, where a map's insertions would cost most of the cut.
	// The entries touched are cleared before returning.
	resid, touched := v.cutResid()
	defer v.releaseCutResid(resid, touched)
	var queue []NodeID
	eps := pr.p.cutEpsilon() // thr(y) >= eps, since max(S_y, 1) >= 1
	thr := func(y NodeID) float64 { return pr.p.cutEpsilon() * max(pr.outSum[y], 1) }
	add := func(y NodeID, r float64) {
		if y == q {
			cut.c += r
			return
		}
		old := resid[y]
		if old == 0 {
			*touched = append(*touched, y)
		}
		resid[y] = old + r
		if math.Abs(old+r) > eps && math.Abs(old) <= thr(y) && math.Abs(old+r) > thr(y) {
			queue = append(queue, y)
		}
	}
	// spread adds r times y's row in the cut chain to the residuals.
	spread := func(y NodeID, r float64) {
		if y == t || !pr.passes(y) {
			return // the walk stops
		}
		norm := max(pr.outSum[y], 1)
		if c, ok := rows[y]; ok {
			norm = c.newNorm
		}
		to, w := v.Out(y)
		for i, z := range to {
			if w[i] > 0 && z != t {
				add(z, r*float64(w[i])/norm)
			}
		}
	}
	// The corrections: (1−α)/α · mass(u) · (new row − old row).
	if m := pr.mass[t]; m != 0 && pr.passes(t) {
		to, w := v.Out(t)
		norm := max(pr.outSum[t], 1)
		for i, z := range to {
			if w[i] > 0 {
				add(z, -f*m*float64(w[i])/norm)
			}
		}
	}
	order := make([]NodeID, 0, len(rows))
	for u := range rows {
		order = append(order, u)
	}
	slices.Sort(order) // a fixed order of corrections: results do not depend on map iteration
	for _, u := range order {
		c := rows[u]
		to, w := v.Out(u)
		for i, z := range to {
			if w[i] <= 0 {
				continue
			}
			if z == t {
				add(z, -f*c.mass*c.wt/c.norm)
			} else if d := float64(w[i])/c.newNorm - float64(w[i])/c.norm; d != 0 {
				add(z, f*c.mass*d)
			}
		}
	}
	for head := 0; head < len(queue); head++ {
		y := queue[head]
		r := resid[y]
		if math.Abs(r) <= thr(y) {
			continue
		}
		resid[y] = 0
		cut.delta[y] += alpha * r
		spread(y, (1-alpha)*r)
		if head >= 1<<12 && head >= len(queue)/2 {
			queue = append(queue[:0], queue[head+1:]...)
			head = -1
		}
	}
	return cut
}

// cutResid lends the view's dense residual array for one cut (all zero)
// and the list of the entries it touches; releaseCutResid clears them.
func (v *View) cutResid() ([]float64, *[]NodeID) {
	if len(v.cutScratch) != v.N() {
		v.cutScratch = make([]float64, v.N())
	}
	return v.cutScratch, &v.cutTouched // cuts never nest
}

func (v *View) releaseCutResid(r []float64, touched *[]NodeID) {
	for _, y := range *touched {
		r[y] = 0
	}
	*touched = (*touched)[:0]
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
	if c.v.prop.outSum[c.v.q] <= 0 {
		return 0
	}
	a := c.v.prop.p.Restart
	return min(1, max(0, c.mass(u))*c.normQ/(a*(1-a)))
}

// subjectTrust returns the owner's trust reaching t through other people's
// vouches, weighed as the cut weighs t's raters: Σ τ(u)·(1−α)·w(u,t) /
// max(1, S_u) over t's vouchers u, the owner's trust that t's vouchers
// pass on to t, capped at 1.
func (c *subjectCut) subjectTrust() float64 {
	v, t := c.v, c.t
	if t == v.q {
		return 0
	}
	a := v.prop.p.Restart
	sum := 0.0
	v.EachIn(t, func(u NodeID, w float32, _ int64) {
		switch {
		case w <= 0 || !v.prop.passes(u):
		case u == v.q:
			sum += float64(w) // the owner's own vouch counts at its strength
		default:
			sum += c.raterTrust(u) * (1 - a) * float64(w) / max(v.prop.outSum[u], 1)
		}
	})
	return min(1, sum)
}

// raterTrust returns the owner's trust in rater u as the evidence about
// the cut's subject weighs it: the cut trust, less the part of it that
// came through the owner's most important contact for u but
// ContactRetain of it (see ContactRetain). The owner's own contacts, and
// the owner, keep their trust.
func (c *subjectCut) raterTrust(u NodeID) float64 {
	tau := c.trust(u)
	v := c.v
	if tau == 0 || u == v.q || ContactRetain >= 1 {
		return tau
	}
	if w, ok := v.Weight(v.q, u); ok && w > 0 {
		return tau // the owner's own contact
	}
	share, _ := c.dominant(u)
	return tau * (1 - (1-ContactRetain)*share)
}

// dominant returns the share of u's cut trust that came through one
// contact of the owner, the one that brought the most, and that contact
// (-1 if none).
func (c *subjectCut) dominant(u NodeID) (float64, NodeID) {
	if c.split == nil {
		cs := c.contactCut()
		c.split = &cs
	}
	share, ci := c.split.dominant(u)
	if ci < 0 {
		return 0, -1
	}
	return share, c.split.s.contact[ci]
}
