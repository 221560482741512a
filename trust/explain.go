package trust

import (
	"cmp"
	"slices"
)

// Paths returns up to k of the strongest chains of vouches from the querier
// to t, each at most maxLen edges, strongest first. It searches backward
// from t along the edges that carry trust, so it costs about k·maxLen times
// the in-degree of the nodes on the paths, whatever the size of the graph.
//
// Each path is found greedily: from t, step to the in-neighbour u that sent
// the most trust over the edge (mass(u)·w(u,x)/out-weight(u)), avoiding
// nodes already on the path; the i-th path starts from t's i-th strongest
// voucher. A path that cannot reach the querier is dropped.
func (v *View) Paths(t NodeID, k, maxLen int) []Path {
	if t == v.q {
		return nil
	}
	type cand struct {
		u    NodeID
		flow float64
	}
	flowInto := func(x NodeID, on map[NodeID]bool) []cand {
		var cs []cand
		v.EachIn(x, func(u NodeID, w float32, _ int64) {
			if w <= 0 || on[u] || (u != v.q && v.prop.blocked[u]) {
				return
			}
			if s := v.prop.outSum[u]; s > 0 && v.Mass(u) > 0 {
				cs = append(cs, cand{u, v.Mass(u) * float64(w) / max(s, 1)})
			}
		})
		slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(b.flow, a.flow), cmp.Compare(a.u, b.u)) })
		return cs
	}
	share := func(u, x NodeID) float64 {
		w, _ := v.Weight(u, x)
		return w / max(v.prop.outSum[u], 1)
	}
	var out []Path
	for _, first := range flowInto(t, map[NodeID]bool{t: true}) {
		if len(out) == k {
			break
		}
		nodes := []NodeID{t, first.u}
		on := map[NodeID]bool{t: true, first.u: true}
		for nodes[len(nodes)-1] != v.q && len(nodes) <= maxLen {
			cs := flowInto(nodes[len(nodes)-1], on)
			if len(cs) == 0 {
				break
			}
			// Prefer the querier itself when it is a direct source.
			next := cs[0].u
			for _, c := range cs {
				if c.u == v.q {
					next = c.u
					break
				}
			}
			nodes = append(nodes, next)
			on[next] = true
		}
		if nodes[len(nodes)-1] != v.q {
			continue
		}
		slices.Reverse(nodes)
		p := Path{Nodes: nodes, Strength: 1}
		for i := 1; i < len(nodes); i++ {
			p.Strength *= share(nodes[i-1], nodes[i])
			if i > 1 {
				p.Strength *= 1 - v.prop.p.Restart // trust passed on decays at every step
			}
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Path) int { return cmp.Compare(b.Strength, a.Strength) })
	return out
}
