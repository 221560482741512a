package trust

import "slices"

// WithoutEdge returns a copy of g without the edge u->v, or g itself if
// there is no such edge. Unlike Without it does not sort: it costs one copy
// of the adjacency arrays, which makes leave-one-out evaluation cheap.
func (g *Graph) WithoutEdge(u, v NodeID) *Graph {
	if u < 0 || int(u) >= g.n || v < 0 || int(v) >= g.n {
		return g
	}
	to, _ := g.Out(u)
	i, ok := slices.BinarySearch(to, v)
	if !ok {
		return g
	}
	oi := int(g.outStart[u]) + i
	from, _ := g.In(v)
	j, _ := slices.BinarySearch(from, u) // present: in-lists mirror out-lists
	ii := int(g.inStart[v]) + j

	h := &Graph{
		n:        g.n,
		outStart: slices.Clone(g.outStart),
		outTo:    slices.Delete(slices.Clone(g.outTo), oi, oi+1),
		outW:     slices.Delete(slices.Clone(g.outW), oi, oi+1),
		outT:     slices.Delete(slices.Clone(g.outT), oi, oi+1),
		inStart:  slices.Clone(g.inStart),
		inFrom:   slices.Delete(slices.Clone(g.inFrom), ii, ii+1),
		inW:      slices.Delete(slices.Clone(g.inW), ii, ii+1),
		inT:      slices.Delete(slices.Clone(g.inT), ii, ii+1),
		newest:   g.newest, // an upper bound still: ages stay comparable
	}
	for k := int(u) + 1; k <= g.n; k++ {
		h.outStart[k]--
	}
	for k := int(v) + 1; k <= g.n; k++ {
		h.inStart[k]--
	}
	return h
}
