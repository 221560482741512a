package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/kith-net/kith/trust"
)

// ColdMaxOwn is the most statements of its own a cold-start viewpoint
// holds (SplitCold).
const ColdMaxOwn = 20

// ColdView returns the view of a new owner q in g, for predicting q's
// statement about t: k of q's statements other than the one about t
// (drawn with rng; all of them when q has fewer), and every statement
// issued by someone within two hops of q along positive statements, the
// first hop taken from the kept statements only. The statement q->t is
// never in it, nor q's other statements.
func ColdView(g *trust.Graph, q, t trust.NodeID, k int, rng *rand.Rand) (*trust.Graph, error) {
	to, w := g.Out(q)
	ts := g.OutTimes(q)
	var own []int
	for i, v := range to {
		if v != t {
			own = append(own, i)
		}
	}
	rng.Shuffle(len(own), func(i, j int) { own[i], own[j] = own[j], own[i] })
	own = own[:min(k, len(own))]
	slices.Sort(own)
	var edges []trust.Edge
	seen := map[trust.NodeID]bool{q: true}
	var layer []trust.NodeID
	for _, i := range own {
		edges = append(edges, trust.Edge{From: q, To: to[i], Weight: float64(w[i]), Time: ts[i]})
		if w[i] > 0 && !seen[to[i]] {
			seen[to[i]] = true
			layer = append(layer, to[i])
		}
	}
	for hop := 1; hop <= 2 && len(layer) > 0; hop++ {
		var next []trust.NodeID
		for _, u := range layer {
			uto, uw := g.Out(u)
			uts := g.OutTimes(u)
			for i, v := range uto {
				edges = append(edges, trust.Edge{From: u, To: v, Weight: float64(uw[i]), Time: uts[i]})
				if hop < 2 && uw[i] > 0 && !seen[v] {
					seen[v] = true
					next = append(next, v)
				}
			}
		}
		layer = next
	}
	h, err := trust.NewGraph(g.N(), edges)
	if err != nil {
		return nil, fmt.Errorf("eval: cold view: %w", err)
	}
	return h, nil
}

// ShuffleWeights returns g with its edge weights (sign and strength
// together) permuted at random across its edges: the same graph, with
// ratings that no longer belong to their edges.
func ShuffleWeights(g *trust.Graph, rng *rand.Rand) (*trust.Graph, error) {
	edges := g.Edges()
	perm := rng.Perm(len(edges))
	out := make([]trust.Edge, len(edges))
	for i, e := range edges {
		e.Weight = edges[perm[i]].Weight
		out[i] = e
	}
	h, err := trust.NewGraph(g.N(), out)
	if err != nil {
		return nil, fmt.Errorf("eval: shuffle: %w", err)
	}
	return h, nil
}
