package trust

import (
	"math"
	"slices"
)

// ContactRetain is the share of the trust a rater owes to the owner's
// single most important contact that still counts when the rater's
// statements are weighed (View.RaterTrust): a rater's trust is
//
//	τ(u) − (1 − ContactRetain) · τ_max(u)
//
// where τ_max(u) is the part of τ(u) that reached u through one contact
// of the owner, the one that brought the most ("sum minus max",
// discounted). The owner's own contacts are exempt: the owner's own vouch
// for them is the owner's word.
//
// Why: an attacker who fools one of the owner's contacts into vouching for
// one Sybil reaches a whole region through that one contact, and within
// it the Sybils near the attack edge are weighed like honest people the
// owner reaches through one contact. Honest members of a network are
// usually reached through several of the owner's contacts; a region behind
// one fooled contact never is. Each attack edge from a different contact
// makes its own neighbourhood of the region dependent on that contact, so
// the bound holds per attack edge.
//
// Variants measured (Bitcoin OTC, task C near, s = 1,000, 20 queriers,
// the model trained without OTC on the old features): attributing a
// walk's trust to the first contact it left the owner through cut the
// Sybils accepted per attack edge from 20.2 to 7.3 (g = 1) and 25.2 to
// 8.6 (g = 10); attributing it to the last contact it passed, as here,
// to 1.0 and 6.7, because a fooled contact is also reached through the
// owner's other contacts. Honest coverage fell from 0.79 to 0.69 and 0.68.
// With ten attack edges from ten contacts the region mixes their trust,
// so removing the largest part leaves most of it: the near-querier goal
// (5 per edge) is met at g = 1 and missed at g = 10.
//
// On Bitcoin Alpha (kith-lab eval --task C --victims near,random --sybils
// 1000 --attack-edges 1,10 --queriers 20 --engine kith-shared, the model
// and level head trained without Alpha, against main at 29411a6 with its
// own model trained without Alpha): Sybils accepted per near-querier
// attack edge 5.5 → 1.0 (g = 1) and 12.7 → 1.7 (g = 10); random victims
// 0 and 0.035 → 0.005; honest nodes seen 0.856 → 0.743. Task A's cost
// (kith-lab eval --task A --samples 500, sign AUC / coverage): loo 0.909 /
// 0.904 → 0.899 / 0.870, holdout 0.928 / 0.912 → 0.926 / 0.858, temporal
// 0.585 / 0.662 → 0.625 / 0.598, cold 0.925 / 0.834 → 0.933 / 0.724.
//
// Why 0, chosen by validation: the rule is the largest retain among 0,
// 0.25 and 0.5 that keeps near-querier Sybils at ≤ 5 accepted per attack
// edge (g = 1) on every network measured, since a defence that holds on
// one network and not on the next is no bound; honest coverage is what
// a larger retain buys. With the shipped model retrained at each value
// (kith-lab model train --public --seed 1, the lab built with that
// constant) and the same task C and task A commands on the networks it
// trains on, accepted per edge at g = 1 / g = 10:
//
//	retain  Bitcoin OTC    Bitcoin Alpha  task A coverage, cold split (OTC / Alpha)
//	0       1.0 / 6.7      1.0 / 1.6      0.680 / 0.724
//	0.25    16.0 / 11.9    3.5 / 4.2      0.754 / 0.820
//	0.5     16.5 / 17.2    5.0 / 8.9      0.778 / 0.828
//
// Only 0 meets the rule on both. Chosen on Alpha alone, the rule would
// take 0.25, which on OTC lets 16 Sybils in per edge: a retain tuned on
// one network does not carry to another, and 0, which removes the most
// important contact's part whole, is the one value whose bound does not
// depend on the network. Task A's AUC moves by at most 0.03 across the
// three values on either network; the loss is coverage (3 to 11 points).
//
// It is monotone (a rater's weight only falls when more of its trust comes
// through one contact) and computed in the subject cut like the rest of
// the rater's trust (subjectCut), so the features stay exactly monotone in
// the evidence about the subject.
const ContactRetain = 0.0

// contactSplit decomposes the owner's propagation by the last of the
// owner's contacts each walk passed through: for u ≠ q not a contact,
//
//	mass(u) = Σ_c mass(c)/α · φ_c(u)
//
// where φ_c is the propagation of a unit of trust from c in the chain
// where walks stop when they arrive at the owner or at any contact (c
// included: mass(c)/α counts every arrival at c). A walk's first step
// from the owner is to a contact, so every walk that reaches u passed one.
// Attributing to the last contact rather than the first step matters: a
// fooled contact c is also reached through the owner's other contacts
// who vouch for c, and what c passes on into a Sybil region is still c's.
type contactSplit struct {
	rows    int      // View.rows it was computed at
	contact []NodeID // the contacts, by index
	weight  []float64
	index   map[NodeID]int32
	// at[u] lists φ_c(u) > 0 for every contact index c: a CSR array.
	start []int32
	ci    []int32
	phi   []float64
}

// phiThreshold is the push threshold of φ_c at y, in φ's units, for a
// contact of weight w: the subject cut's threshold in mass units
// (seed_c·φ_c is a mass, and seed_c is about w/max(1, S_q)). S_q is taken
// from the owner's row in the base graph, which does not change with the
// view, so that φ_c is the same whatever the order of updates.
func (v *View) phiThreshold(y NodeID, w float64) float64 {
	pr := &v.prop
	return pr.p.cutEpsilon() * max(pr.outSum[y], 1) * max(v.g.positiveOutSum(v.q), 1) / max(w, 1e-6)
}

// split returns the contact decomposition of v in its current state,
// computed again when the other rows or the owner's vouches changed.
//
// It depends on nothing else, so the one computed before is kept too: the
// owner's statement hidden from the crowd's features and restored
// (View.Crowd) goes back to it instead of computing it again.
func (v *View) split() *contactSplit {
	to, w := v.Out(v.q)
	if v.contacts != nil && v.contacts.current(v, to, w) {
		return v.contacts
	}
	if v.contactsPrev != nil && v.contactsPrev.current(v, to, w) {
		v.contacts, v.contactsPrev = v.contactsPrev, v.contacts
		return v.contacts
	}
	v.contactsPrev = v.contacts
	s := &contactSplit{rows: v.rows, index: map[NodeID]int32{}}
	v.contacts = s
	for i, c := range to {
		if w[i] > 0 {
			s.index[c] = int32(len(s.contact))
			s.contact = append(s.contact, c)
			s.weight = append(s.weight, float64(w[i]))
		}
	}
	type entry struct {
		u   NodeID
		ci  int32
		phi float64
	}
	var all []entry
	pr := &v.prop
	n := v.N()
	// Dense scratch, all zero between uses (every entry set is in
	// touched, cleared after each contact): the cut's residuals, free
	// here, and the view's own.
	resid, _ := v.cutResid()
	if len(v.splitMass) != n {
		v.splitMass, v.splitQueued = make([]float64, n), make([]bool, n)
	}
	mass, queued := v.splitMass, v.splitQueued
	var touched []NodeID
	alpha := pr.p.Restart
	for ci, c := range s.contact {
		wc := s.weight[ci]
		touched = touched[:0]
		queue := []NodeID{c}
		resid[c], queued[c] = 1, true
		touched = append(touched, c)
		for head := 0; head < len(queue); head++ {
			y := queue[head]
			queued[y] = false
			r := resid[y]
			if math.Abs(r) <= v.phiThreshold(y, wc) {
				continue
			}
			resid[y] = 0
			mass[y] += alpha * r
			if y == v.q || !pr.passes(y) {
				continue
			}
			x := (1 - alpha) * r / max(pr.outSum[y], 1)
			ts, ws := v.Out(y)
			for k, z := range ts {
				if _, contact := s.index[z]; ws[k] <= 0 || z == v.q || contact {
					continue // walks stop at the owner and at the contacts
				}
				if resid[z] == 0 && mass[z] == 0 {
					touched = append(touched, z)
				}
				resid[z] += x * float64(ws[k])
				if !queued[z] && math.Abs(resid[z]) > v.phiThreshold(z, wc) {
					queued[z] = true
					queue = append(queue, z)
				}
			}
		}
		for _, u := range touched {
			if mass[u] > 0 {
				all = append(all, entry{u, int32(ci), mass[u]})
			}
			mass[u], resid[u], queued[u] = 0, 0, false
		}
	}
	slices.SortFunc(all, func(a, b entry) int {
		if a.u != b.u {
			return int(a.u) - int(b.u)
		}
		return int(a.ci) - int(b.ci)
	})
	s.start = make([]int32, n+1)
	s.ci = make([]int32, len(all))
	s.phi = make([]float64, len(all))
	for i, e := range all {
		s.start[e.u+1]++
		s.ci[i], s.phi[i] = e.ci, e.phi
	}
	for u := range n {
		s.start[u+1] += s.start[u]
	}
	return s
}

// current reports whether s is the decomposition of v as it is, the
// owner's positive out-edges being to and w.
func (s *contactSplit) current(v *View, to []NodeID, w []float32) bool {
	if s.rows != v.rows {
		return false
	}
	k := 0
	for i, c := range to {
		if w[i] <= 0 {
			continue
		}
		if k >= len(s.contact) || s.contact[k] != c || s.weight[k] != float64(w[i]) {
			return false
		}
		k++
	}
	return k == len(s.contact)
}

// at returns the contact indices and φ values at u.
func (s *contactSplit) at(u NodeID) ([]int32, []float64) {
	if s.start == nil {
		return nil, nil
	}
	a, b := s.start[u], s.start[u+1]
	return s.ci[a:b], s.phi[a:b]
}

// cutSplit is the contact decomposition in a subject cut: φ'_c = φ_c + Δ_c,
// the corrections of the rows the cut changes pushed locally in the chain
// where the owner absorbs.
type cutSplit struct {
	s     *contactSplit
	delta map[pairKey]float64
	// seed'_c / φ scale: the seeds in the cut, by contact index (0 for the
	// subject, whom no walk reaches in the cut).
	seed []float64
	// with lists, by node, the contact indices with a correction there.
	with map[NodeID][]int32
}

type pairKey struct {
	u  NodeID
	ci int32
}

// contactCut computes the contact decomposition of the cut at t.
func (c subjectCut) contactCut() cutSplit {
	v, t := c.v, c.t
	pr := &v.prop
	s := v.split()
	cs := cutSplit{s: s, seed: make([]float64, len(s.contact))}
	alpha := pr.p.Restart
	for j, x := range s.contact {
		if x != t {
			cs.seed[j] = c.mass(x) / alpha
		}
	}
	if t == v.q {
		return cs
	}
	f := (1 - alpha) / alpha
	resid := map[pairKey]float64{}
	var queue []pairKey
	add := func(k pairKey, r float64) {
		if _, contact := s.index[k.u]; k.u == v.q || contact {
			return // walks stop at the owner and at the contacts
		}
		old := resid[k]
		resid[k] = old + r
		thr := v.phiThreshold(k.u, s.weight[k.ci])
		if math.Abs(old) <= thr && math.Abs(old+r) > thr {
			queue = append(queue, k)
		}
	}
	// The rows that change, as in cutAt: t passes nothing; each passing
	// voucher u of t drops its vouch for t and renormalises.
	if pr.passes(t) {
		cis, phis := s.at(t)
		to, w := v.Out(t)
		norm := max(pr.outSum[t], 1)
		for j, ci := range cis {
			for i, z := range to {
				if w[i] > 0 {
					add(pairKey{z, ci}, -f*phis[j]*float64(w[i])/norm)
				}
			}
		}
	}
	type row struct {
		u             NodeID
		wt, norm, new float64
	}
	var rows []row
	newNorm := map[NodeID]float64{}
	v.EachIn(t, func(u NodeID, w float32, _ int64) {
		if w > 0 && u != v.q && pr.passes(u) {
			s := pr.outSum[u]
			rows = append(rows, row{u, float64(w), max(s, 1), max(s-float64(w), 1)})
			newNorm[u] = max(s-float64(w), 1)
		}
	})
	slices.SortFunc(rows, func(a, b row) int { return int(a.u) - int(b.u) })
	for _, r := range rows {
		cis, phis := s.at(r.u)
		to, w := v.Out(r.u)
		for j, ci := range cis {
			for i, z := range to {
				if w[i] <= 0 {
					continue
				}
				if z == t {
					add(pairKey{z, ci}, -f*phis[j]*r.wt/r.norm)
				} else if d := float64(w[i])/r.new - float64(w[i])/r.norm; d != 0 {
					add(pairKey{z, ci}, f*phis[j]*d)
				}
			}
		}
	}
	cs.delta = map[pairKey]float64{}
	cs.with = map[NodeID][]int32{}
	for head := 0; head < len(queue); head++ {
		k := queue[head]
		r := resid[k]
		if math.Abs(r) <= v.phiThreshold(k.u, s.weight[k.ci]) {
			continue
		}
		resid[k] = 0
		if _, ok := cs.delta[k]; !ok {
			cs.with[k.u] = append(cs.with[k.u], k.ci)
		}
		cs.delta[k] += alpha * r
		y := k.u
		if y == t || !pr.passes(y) {
			continue
		}
		norm := max(pr.outSum[y], 1)
		if nn, ok := newNorm[y]; ok {
			norm = nn
		}
		to, w := v.Out(y)
		x := (1 - alpha) * r / norm
		for i, z := range to {
			if w[i] > 0 && z != t {
				add(pairKey{z, k.ci}, x*float64(w[i]))
			}
		}
		if head >= 1<<12 && head >= len(queue)/2 {
			queue = append(queue[:0], queue[head+1:]...)
			head = -1
		}
	}
	return cs
}

// dominant returns, for u ≠ q, the contact that brings u the most of its
// trust in the cut and that contact's share of it (0 and −1 when no
// contact brings any).
func (cs *cutSplit) dominant(u NodeID) (share float64, contact int32) {
	cis, phis := cs.s.at(u)
	total, best := 0.0, 0.0
	contact = -1
	seen := cs.with[u]
	for j, ci := range cis {
		x := phis[j]
		if cs.delta != nil {
			x += cs.delta[pairKey{u, ci}]
		}
		x = max(0, x) * cs.seed[ci]
		total += x
		if x > best {
			best, contact = x, ci
		}
	}
	for _, ci := range seen {
		if _, found := slices.BinarySearch(cis, ci); found {
			continue // counted above
		}
		x := max(0, cs.delta[pairKey{u, ci}]) * cs.seed[ci]
		total += x
		if x > best {
			best, contact = x, ci
		}
	}
	if total <= 0 {
		return 0, -1
	}
	return best / total, contact
}

// value returns contact ci's part of u's mass in the cut.
func (cs *cutSplit) value(u NodeID, ci int32) float64 {
	cis, phis := cs.s.at(u)
	x := 0.0
	if _, found := slices.BinarySearch(cis, ci); found {
		i, _ := slices.BinarySearch(cis, ci)
		x = phis[i]
	}
	x += cs.delta[pairKey{u, ci}]
	return x * cs.seed[ci]
}

// EffectiveMasses returns the mass of every node as the evidence weighs
// its author's statements: the propagation's mass, less the part of it
// that came through the contact that brought the most, but ContactRetain
// of it (the owner and the owner's contacts keep theirs). It is the trust
// a Sybil region behind one fooled contact can capture.
func (v *View) EffectiveMasses() []float64 {
	s := v.split()
	cs := cutSplit{s: s, seed: make([]float64, len(s.contact))}
	for j, c := range s.contact {
		cs.seed[j] = v.prop.mass[c] / v.prop.p.Restart
	}
	out := make([]float64, v.N())
	for u := range NodeID(v.N()) {
		m := v.prop.mass[u]
		if _, contact := s.index[u]; u != v.q && !contact && m != 0 {
			share, _ := cs.dominant(u)
			m *= 1 - (1-ContactRetain)*share
		}
		out[u] = m
	}
	return out
}

// Through returns the owner's contact through whom most of the trust in
// t's raters came, and its share of that trust weighed by the raters'
// statements (Σ |w|·τ_c over the raters, the owner's own contacts and the
// owner excluded, over Σ |w|·τ), when that share is above one half;
// otherwise -1 and the largest share. It is computed in the subject cut,
// as the evidence is weighed, in the view as it is.
func (v *View) Through(t NodeID) (NodeID, float64) {
	if t == v.q {
		return -1, 0
	}
	cut := v.cutAt(t)
	by := map[NodeID]float64{}
	total := 0.0
	v.EachIn(t, func(u NodeID, w float32, _ int64) {
		if u == v.q || w == 0 {
			return
		}
		if x, ok := v.Weight(v.q, u); ok && x > 0 {
			return // the owner's own contact: the owner's word
		}
		tau := cut.trust(u) * math.Abs(float64(w))
		if tau == 0 {
			return
		}
		total += tau
		if share, c := cut.dominant(u); c >= 0 {
			by[c] += tau * share
		}
	})
	best, share := NodeID(-1), 0.0
	for c, x := range by {
		if x/total > share || (x/total == share && c < best) {
			best, share = c, x/total
		}
	}
	if share <= 0.5 {
		return -1, share
	}
	return best, share
}
