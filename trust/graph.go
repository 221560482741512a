package trust

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
)

// NodeID is a dense index of a node in a Graph, 0..N-1.
type NodeID int32

// Edge is a signed, weighted statement of From about To: Weight in [-1, 1]
// (negative = distrust), at Time (Unix seconds; 0 if unknown).
type Edge struct {
	From, To NodeID
	Weight   float64
	Time     int64
}

// Graph is an immutable signed, weighted directed graph in compressed sparse
// row form, with both out- and in-adjacency. Edges are sorted by endpoint.
// A Graph is safe for concurrent use by any number of readers.
type Graph struct {
	n int
	// out-adjacency: the edges leaving u are outTo[outStart[u]:outStart[u+1]].
	outStart []int32
	outTo    []NodeID
	outW     []float32
	outT     []int64
	// in-adjacency: the edges entering v are inFrom[inStart[v]:inStart[v+1]].
	inStart []int32
	inFrom  []NodeID
	inW     []float32
	inT     []int64
	newest  int64 // the latest edge time

	// pos is the positive part of the out-adjacency with each weight
	// divided by its source's positive out-weight, or by 1 when that is
	// smaller: a walk's transition probabilities (the rest of a node whose
	// vouches weigh less than 1 in all goes back to the querier), which
	// propagation reads in its inner loop. Built on first use.
	posOnce  sync.Once
	posStart []int32
	posTo    []NodeID
	posShare []float32
	posSum   []float64 // positive out-weight of each node
}

// positiveOutSum returns u's positive out-weight.
func (g *Graph) positiveOutSum(u NodeID) float64 {
	g.posOnce.Do(g.buildTransitions)
	return g.posSum[u]
}

// transitions returns u's positive out-edges and their transition
// probabilities, w/max(1, positive out-weight).
func (g *Graph) transitions(u NodeID) ([]NodeID, []float32) {
	g.posOnce.Do(g.buildTransitions)
	s, e := g.posStart[u], g.posStart[u+1]
	return g.posTo[s:e], g.posShare[s:e]
}

// transitionArrays returns the whole transition table: u's positive
// out-edges are to[start[u]:start[u+1]], with their shares.
func (g *Graph) transitionArrays() (start []int32, to []NodeID, share []float32) {
	g.posOnce.Do(g.buildTransitions)
	return g.posStart, g.posTo, g.posShare
}

func (g *Graph) buildTransitions() {
	g.posStart = make([]int32, g.n+1)
	for u := range NodeID(g.n) {
		_, w := g.Out(u)
		c := int32(0)
		for _, x := range w {
			if x > 0 {
				c++
			}
		}
		g.posStart[u+1] = g.posStart[u] + c
	}
	g.posTo = make([]NodeID, g.posStart[g.n])
	g.posShare = make([]float32, g.posStart[g.n])
	g.posSum = make([]float64, g.n)
	for u := range NodeID(g.n) {
		to, w := g.Out(u)
		sum := 0.0
		for _, x := range w {
			if x > 0 {
				sum += float64(x)
			}
		}
		g.posSum[u] = sum
		norm := max(sum, 1)
		p := g.posStart[u]
		for i, x := range w {
			if x > 0 {
				g.posTo[p], g.posShare[p] = to[i], float32(float64(x)/norm)
				p++
			}
		}
	}
}

// NewGraph builds a graph of n nodes. Self-loops are dropped; when the same
// (From, To) pair appears more than once, the latest edge (by Time, then by
// position) wins. Weights must be finite and in [-1, 1].
func NewGraph(n int, edges []Edge) (*Graph, error) {
	if n < 0 || n > math.MaxInt32 {
		return nil, fmt.Errorf("trust: new graph: %d nodes", n)
	}
	if len(edges) > math.MaxInt32 {
		return nil, fmt.Errorf("trust: new graph: %d edges", len(edges))
	}
	type indexed struct {
		Edge
		i int
	}
	es := make([]indexed, 0, len(edges))
	for i, e := range edges {
		if e.From < 0 || int(e.From) >= n || e.To < 0 || int(e.To) >= n {
			return nil, fmt.Errorf("trust: new graph: edge %d (%d->%d) outside 0..%d", i, e.From, e.To, n-1)
		}
		if math.IsNaN(e.Weight) || e.Weight < -1 || e.Weight > 1 {
			return nil, fmt.Errorf("trust: new graph: edge %d (%d->%d) weight %v outside [-1, 1]", i, e.From, e.To, e.Weight)
		}
		if e.From != e.To {
			es = append(es, indexed{e, i})
		}
	}
	// The input position breaks ties, so "later position wins" holds.
	slices.SortFunc(es, func(a, b indexed) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Time, b.Time), cmp.Compare(a.i, b.i))
	})
	// Keep the last of each (From, To) run.
	w := 0
	for i := range es {
		if i+1 < len(es) && es[i+1].From == es[i].From && es[i+1].To == es[i].To {
			continue
		}
		es[w] = es[i]
		w++
	}
	es = es[:w]

	g := &Graph{
		n:        n,
		outStart: make([]int32, n+1),
		outTo:    make([]NodeID, len(es)),
		outW:     make([]float32, len(es)),
		outT:     make([]int64, len(es)),
		inStart:  make([]int32, n+1),
		inFrom:   make([]NodeID, len(es)),
		inW:      make([]float32, len(es)),
		inT:      make([]int64, len(es)),
	}
	for i, e := range es {
		g.outStart[e.From+1]++
		g.inStart[e.To+1]++
		g.outTo[i], g.outW[i], g.outT[i] = e.To, float32(e.Weight), e.Time
		g.newest = max(g.newest, e.Time)
	}
	for u := range n {
		g.outStart[u+1] += g.outStart[u]
		g.inStart[u+1] += g.inStart[u]
	}
	fill := slices.Clone(g.inStart[:n])
	for _, e := range es { // es is sorted by From, so each in-list is sorted by From too
		p := fill[e.To]
		g.inFrom[p], g.inW[p], g.inT[p] = e.From, float32(e.Weight), e.Time
		fill[e.To]++
	}
	return g, nil
}

// N returns the number of nodes.
func (g *Graph) N() int { return g.n }

// M returns the number of edges.
func (g *Graph) M() int { return len(g.outTo) }

// Out returns the targets and weights of the edges leaving u, sorted by
// target. The caller must not modify them.
func (g *Graph) Out(u NodeID) ([]NodeID, []float32) {
	s, e := g.outStart[u], g.outStart[u+1]
	return g.outTo[s:e], g.outW[s:e]
}

// OutTimes returns the times of the edges leaving u, aligned with Out.
func (g *Graph) OutTimes(u NodeID) []int64 {
	return g.outT[g.outStart[u]:g.outStart[u+1]]
}

// In returns the sources and weights of the edges entering v, sorted by
// source. The caller must not modify them.
func (g *Graph) In(v NodeID) ([]NodeID, []float32) {
	s, e := g.inStart[v], g.inStart[v+1]
	return g.inFrom[s:e], g.inW[s:e]
}

// InTimes returns the times of the edges entering v, aligned with In.
func (g *Graph) InTimes(v NodeID) []int64 {
	return g.inT[g.inStart[v]:g.inStart[v+1]]
}

// Weight returns the weight of the edge u->v and whether it exists.
func (g *Graph) Weight(u, v NodeID) (float64, bool) {
	to, w := g.Out(u)
	if i, ok := slices.BinarySearch(to, v); ok {
		return float64(w[i]), true
	}
	return 0, false
}

// Edges returns every edge, sorted by (From, To).
func (g *Graph) Edges() []Edge {
	out := make([]Edge, 0, g.M())
	for u := range NodeID(g.n) {
		to, w := g.Out(u)
		ts := g.OutTimes(u)
		for i := range to {
			out = append(out, Edge{From: u, To: to[i], Weight: float64(w[i]), Time: ts[i]})
		}
	}
	return out
}

// Without returns a copy of g without the edges for which drop returns
// true. It costs one pass over the edges.
func (g *Graph) Without(drop func(Edge) bool) *Graph {
	es := g.Edges()
	kept := es[:0]
	for _, e := range es {
		if !drop(e) {
			kept = append(kept, e)
		}
	}
	ng, err := NewGraph(g.n, kept)
	if err != nil {
		panic(err) // unreachable: the edges came from a valid graph
	}
	return ng
}
