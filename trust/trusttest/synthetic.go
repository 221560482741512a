package trusttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/kith-net/kith/trust"
)

// SyntheticParams shape a synthetic graph.
type SyntheticParams struct {
	Nodes, Edges int     // exact counts; Edges <= Nodes*(Nodes-1)
	Skew         float64 // Zipf exponent of the degree weights, in [0, 1.5]; default 0.8
	Reciprocity  float64 // chance that an edge is answered by the reverse edge, in [0, 1]; default 0.3
	Negative     float64 // share of negative edges, in [0, 1]; default 0.1
	Seed         uint64
}

// Synthetic returns a seeded random signed graph with exactly n nodes and m
// distinct edges, heavy-tailed degrees (Chung-Lu style: endpoints drawn in
// proportion to Zipf weights (rank+1)^-0.8, out- and in-weights from
// independent rank orders), 30% reciprocated edges and 10% negative
// weights; positive weights are mostly small, like Bitcoin OTC's ratings.
// Edge times increase with creation order. The same arguments always give
// the same graph. It panics on impossible counts.
func Synthetic(n, m int, seed uint64) *trust.Graph {
	g, err := SyntheticWith(SyntheticParams{Nodes: n, Edges: m, Seed: seed})
	if err != nil {
		panic(err)
	}
	return g
}

// SyntheticWith is Synthetic with every parameter; zero Skew, Reciprocity
// and Negative take the defaults (use a tiny positive value for "none").
func SyntheticWith(p SyntheticParams) (*trust.Graph, error) {
	n, m := p.Nodes, p.Edges
	if n < 0 || m < 0 || (n < 2 && m > 0) || float64(m) > float64(n)*float64(n-1)/2 {
		return nil, fmt.Errorf("trusttest: synthetic graph of %d nodes cannot have %d edges (at most half of n(n-1))", n, m)
	}
	if p.Skew == 0 {
		p.Skew = 0.8
	}
	if p.Reciprocity == 0 {
		p.Reciprocity = 0.3
	}
	if p.Negative == 0 {
		p.Negative = 0.1
	}
	if !(p.Skew >= 0 && p.Skew <= 1.5) || !(p.Reciprocity >= 0 && p.Reciprocity <= 1) || !(p.Negative >= 0 && p.Negative <= 1) {
		return nil, fmt.Errorf("trusttest: synthetic parameters out of range: %+v", p)
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x6b697468))
	outCum := zipfCum(n, p.Skew)
	inCum := zipfCum(n, p.Skew)
	outRank := rng.Perm(n)
	inRank := rng.Perm(n)
	pick := func(cum []float64, rank []int) trust.NodeID {
		r := rng.Float64() * cum[len(cum)-1]
		i := sort.SearchFloat64s(cum, r)
		if i >= n {
			i = n - 1
		}
		return trust.NodeID(rank[i])
	}
	weight := func() float64 {
		w := math.Ceil(10*math.Pow(rng.Float64(), 3)) / 10 // mostly 0.1..0.3, up to 1
		w = max(w, 0.1)
		if rng.Float64() < p.Negative {
			return -w
		}
		return w
	}
	seen := make(map[uint64]struct{}, m)
	edges := make([]trust.Edge, 0, m)
	add := func(u, v trust.NodeID) bool {
		if u == v || len(edges) >= m {
			return false
		}
		k := uint64(u)<<32 | uint64(uint32(v))
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
		edges = append(edges, trust.Edge{From: u, To: v, Weight: weight(), Time: int64(len(edges))})
		return true
	}
	for tries := 0; len(edges) < m; tries++ {
		var u, v trust.NodeID
		if tries < 20*m {
			u, v = pick(outCum, outRank), pick(inCum, inRank)
		} else { // dense corner: fall back to uniform pairs
			u, v = trust.NodeID(rng.IntN(n)), trust.NodeID(rng.IntN(n))
		}
		if add(u, v) && rng.Float64() < p.Reciprocity {
			add(v, u)
		}
	}
	return trust.NewGraph(n, edges)
}

func zipfCum(n int, s float64) []float64 {
	c := make([]float64, n)
	t := 0.0
	for i := range n {
		t += math.Pow(float64(i+1), -s)
		c[i] = t
	}
	return c
}
