package trust

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// View is one querier's view of a graph: the propagation of the querier's
// trust over it, kept current as edges change, and the per-target evidence
// the ranking model reads. Changes (SetOut) are local overlays on the
// immutable base graph, so an update costs work near the change, not a
// rebuild.
//
// A View is not safe for concurrent use; make one per querier and
// goroutine.
type View struct {
	g *Graph
	q NodeID
	// over replaces the out-edges of some nodes; inAdd holds the edges
	// those overlays add, by target, for In.
	over  map[NodeID]outList
	inAdd map[NodeID][]inEdge
	prop  propagation
	// newest is the time of the newest edge in the view, the "now" of
	// evidence ages unless now is set (SetNow).
	newest int64
	now    int64
	// rows counts the changes of rows other than the owner's (and of the
	// owner's blocked set); contacts is the contact decomposition, valid
	// while rows is what it was computed at.
	rows     int
	contacts *contactSplit
	// contactsPrev is the decomposition computed before contacts.
	contactsPrev *contactSplit
	// cutScratch and cutTouched are subjectCut's dense residuals, kept
	// zero between cuts; splitMass and splitQueued the contact
	// decomposition's, kept zero too.
	cutScratch  []float64
	cutTouched  []NodeID
	splitMass   []float64
	splitQueued []bool
}

type outList struct {
	to []NodeID
	w  []float32
	t  []int64
}

type inEdge struct {
	from NodeID
	w    float32
	t    int64
}

// SetNow sets the time the view's questions are asked at (Unix seconds):
// the "now" the ages of statements are taken at (member_age, recent_vouch,
// recent_warn). 0, the default, takes the time
// of the newest statement in the view. A node asks at its clock's time;
// the evaluation and the training ask each question at the time its
// judgement was made, so that evidence the view holds from long before a
// judgement is as old, to the model, as it was to the person judging.
func (v *View) SetNow(unix int64) { v.now = unix }

// askedAt is the time questions are asked at (SetNow).
func (v *View) askedAt() int64 {
	if v.now > 0 {
		return v.now
	}
	return v.newest
}

// NewView computes q's view of g.
func NewView(ctx context.Context, g *Graph, q NodeID, p PropagationParams) (*View, error) {
	v := &View{g: g, q: q}
	if int(q) < 0 || int(q) >= g.N() {
		return nil, fmt.Errorf("trust: view: querier %d outside 0..%d", q, g.N()-1)
	}
	// The nodes the querier warned about receive trust but pass none on.
	blocked := make([]bool, g.N())
	to, w := g.Out(q)
	for i, t := range to {
		if w[i] < 0 {
			blocked[t] = true
		}
	}
	if err := v.prop.init(v, q, p, blocked); err != nil {
		return nil, err
	}
	v.newest = g.newest
	if err := v.prop.run(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// N implements adjacency.
func (v *View) N() int { return v.g.N() }

// Querier returns the node whose view this is.
func (v *View) Querier() NodeID { return v.q }

// Graph returns the base graph (without the overlays).
func (v *View) Graph() *Graph { return v.g }

// Out returns u's out-edges in this view.
func (v *View) Out(u NodeID) ([]NodeID, []float32) {
	if o, ok := v.over[u]; ok {
		return o.to, o.w
	}
	return v.g.Out(u)
}

// outTimes returns the times of u's out-edges, aligned with Out.
func (v *View) outTimes(u NodeID) []int64 {
	if o, ok := v.over[u]; ok {
		return o.t
	}
	return v.g.OutTimes(u)
}

// EachIn calls fn for every edge entering t in this view.
func (v *View) EachIn(t NodeID, fn func(from NodeID, w float32, time int64)) {
	from, w := v.g.In(t)
	ts := v.g.InTimes(t)
	for i, u := range from {
		if v.over != nil {
			if _, ok := v.over[u]; ok {
				continue
			}
		}
		fn(u, w[i], ts[i])
	}
	for _, e := range v.inAdd[t] {
		fn(e.from, e.w, e.t)
	}
}

// Weight returns the weight of u->t in this view.
func (v *View) Weight(u, t NodeID) (float64, bool) {
	to, w := v.Out(u)
	if i, ok := slices.BinarySearch(to, t); ok {
		return float64(w[i]), true
	}
	return 0, false
}

// Mass returns the share of the querier's trust that settles on t.
func (v *View) Mass(t NodeID) float64 { return v.prop.mass[t] }

// Masses returns the mass of every node. The caller must not modify it; it
// changes with the view.
func (v *View) Masses() []float64 { return v.prop.mass }

// Pushes returns the push operations of the last computation or update.
func (v *View) Pushes() int { return v.prop.pushes }

// Edit is a new out-edge of a node in SetOut.
type Edit struct {
	To     NodeID
	Weight float64
	Time   int64
}

// SetOut replaces u's out-edges with edges and updates the view
// incrementally: only the residuals the change touches are pushed again.
func (v *View) SetOut(ctx context.Context, u NodeID, edges []Edit) error {
	if int(u) < 0 || int(u) >= v.g.N() {
		return fmt.Errorf("trust: set out: node %d outside 0..%d", u, v.g.N()-1)
	}
	es := slices.Clone(edges)
	slices.SortStableFunc(es, func(a, b Edit) int { return cmp.Compare(a.To, b.To) })
	var o outList
	for i, e := range es {
		if int(e.To) < 0 || int(e.To) >= v.g.N() || e.To == u || !(e.Weight >= -1 && e.Weight <= 1) {
			return fmt.Errorf("trust: set out: bad edge %d->%d weight %v", u, e.To, e.Weight)
		}
		if i+1 < len(es) && es[i+1].To == e.To {
			continue // the later edit of a pair wins
		}
		o.to = append(o.to, e.To)
		o.w = append(o.w, float32(e.Weight))
		o.t = append(o.t, e.Time)
	}
	changes := []rowChange{v.prop.beforeChange(u)}
	if u != v.q {
		v.rows++
	}
	// Drop the in-index entries of u's previous overlay.
	if old, ok := v.over[u]; ok {
		for _, t := range old.to {
			v.inAdd[t] = slices.DeleteFunc(v.inAdd[t], func(e inEdge) bool { return e.from == u })
		}
	}
	if v.over == nil {
		v.over = map[NodeID]outList{}
		v.inAdd = map[NodeID][]inEdge{}
	}
	// Nodes whose blocked state changes (only when the querier's own edges
	// change) change rows too: capture them before applying.
	var blockedNow map[NodeID]bool
	if u == v.q {
		blockedNow = map[NodeID]bool{}
		for i, t := range o.to {
			if o.w[i] < 0 {
				blockedNow[t] = true
			}
		}
		for t, b := range v.prop.blocked {
			if b != blockedNow[NodeID(t)] {
				changes = append(changes, v.prop.beforeChange(NodeID(t)))
			}
		}
	}
	v.over[u] = o
	for i, t := range o.to {
		v.inAdd[t] = append(v.inAdd[t], inEdge{from: u, w: o.w[i], t: o.t[i]})
		v.newest = max(v.newest, o.t[i])
	}
	if len(changes) > 1 {
		v.rows++ // the blocked set changed
	}
	if blockedNow != nil {
		for t := range v.prop.blocked {
			v.prop.blocked[t] = blockedNow[NodeID(t)]
		}
	}
	v.prop.pushes = 0
	for _, c := range changes {
		v.prop.afterChange(c)
	}
	return v.prop.drain(ctx)
}

// Recompute recomputes the propagation from scratch (for tests and
// benchmarks comparing with SetOut).
func (v *View) Recompute(ctx context.Context) error {
	v.rows++
	for u := range v.prop.outSum {
		v.prop.setOutSum(NodeID(u), positiveSum(v.Out(NodeID(u))))
	}
	return v.prop.run(ctx)
}
