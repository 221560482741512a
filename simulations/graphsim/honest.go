package graphsim

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/simulations/gen"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// epoch is the "now" of generated graphs: their ratings fall in the year
// before it, and step k of a run happens at epoch + k·step.
const epoch = 1_700_000_000

// Population is the honest graph of a scenario and its ground truth.
type Population struct {
	Graph *trust.Graph
	// Truth is +1 for members who behave, -1 for those who misbehave (the
	// others warn about them), 0 where unknown (an unlabelled dataset
	// node).
	Truth []int8
	// Now is the time of step 0: the time of the newest rating. The
	// behaviours' statements are made then, so that they do not change
	// how old the honest evidence looks (the engine's evidence_age).
	Now int64
}

// NewPopulation builds the honest graph a scenario describes.
func NewPopulation(s *scenario.Scenario) (*Population, error) {
	g := s.Graph
	rng := rand.New(rand.NewPCG(s.Seed, 0x6772617068)) // "graph"
	switch g.Kind {
	case scenario.GraphBarabasiAlbert, scenario.GraphWattsStrogatz:
		truth := make([]int8, g.Nodes)
		for v := range truth {
			truth[v] = 1
			if rng.Float64() < g.BadShare {
				truth[v] = -1
			}
		}
		r := rater{rng: rng, truth: truth, noise: g.Noise}
		var edges []trust.Edge
		if g.Kind == scenario.GraphBarabasiAlbert {
			edges = barabasiAlbert(rng, g.Nodes, g.Degree, g.Reciprocity, &r)
		} else {
			edges = wattsStrogatz(rng, g.Nodes, g.Degree, g.Rewire, g.Reciprocity, &r)
		}
		for i := range edges { // creation order over the year before epoch
			edges[i].Time = epoch - 365*86400 + int64(i)*365*86400/int64(len(edges))
		}
		tg, err := trust.NewGraph(g.Nodes, edges)
		if err != nil {
			return nil, err
		}
		return &Population{Graph: tg, Truth: truth, Now: newest(edges)}, nil
	case scenario.GraphMarket:
		p := gen.DefaultMarket
		p.Nodes, p.Edges, p.Seed, p.BadShare, p.Noise, p.Reciprocity = g.Nodes, g.Edges, s.Seed, g.BadShare, g.Noise, g.Reciprocity
		p.Start, p.Span = epoch-365*86400, 365*86400
		m, err := gen.NewMarket(p)
		if err != nil {
			return nil, err
		}
		truth := make([]int8, g.Nodes)
		for v, b := range m.Bad {
			truth[v] = 1
			if b {
				truth[v] = -1
			}
		}
		return &Population{Graph: m.Graph, Truth: truth, Now: newest(m.Graph.Edges())}, nil
	case scenario.GraphDataset:
		path := s.Resolve(g.Path)
		if g.Format == scenario.FormatGraphFile || g.Format == "auto" && sniffGraphFile(path) {
			if g.Labels != "" {
				return nil, fmt.Errorf("graphsim: %s: a graph file holds its ground truth: no labels file", path)
			}
			return LoadGraph(path)
		}
		d, err := dataset.Load(path, dataset.Format(g.Format))
		if err != nil {
			return nil, err
		}
		truth := make([]int8, d.Graph.N())
		if g.Labels != "" {
			labels, err := dataset.LoadLabels(s.Resolve(g.Labels), d)
			if err != nil {
				return nil, err
			}
			for v, l := range labels {
				truth[v] = int8(l)
			}
		} else {
			// Without labels: members whose received ratings sum below
			// zero count as misbehaving, the others with ratings as
			// behaving (a proxy, documented in the package).
			for v := range trust.NodeID(d.Graph.N()) {
				_, w := d.Graph.In(v)
				if len(w) == 0 {
					continue
				}
				sum := 0.0
				for _, x := range w {
					sum += float64(x)
				}
				truth[v] = 1
				if sum < 0 {
					truth[v] = -1
				}
			}
		}
		return &Population{Graph: d.Graph, Truth: truth, Now: newest(d.Edges)}, nil
	}
	return nil, fmt.Errorf("graphsim: graph kind %q", g.Kind)
}

// sniffGraphFile reports whether the file at path starts like a graph
// file.
func sniffGraphFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(graphMagic))
	_, err = io.ReadFull(f, b)
	return err == nil && IsGraphFile(b)
}

func newest(edges []trust.Edge) int64 {
	t := int64(0)
	for _, e := range edges {
		t = max(t, e.Time)
	}
	return t
}

// rater decides how one member rates another: a vouch for a member who
// behaves, a warning about one who does not, the wrong sign with chance
// noise.
type rater struct {
	rng   *rand.Rand
	truth []int8
	noise float64
}

func (r *rater) rate(u, v trust.NodeID) trust.Edge {
	positive := r.truth[v] >= 0
	if r.rng.Float64() < r.noise {
		positive = !positive
	}
	var w float64
	if positive {
		// Mostly weak vouches (0.1-0.3), sometimes strong, as on Bitcoin OTC.
		w = max(0.1, math.Ceil(10*math.Pow(r.rng.Float64(), 3))/10)
	} else if r.rng.Float64() < 0.6 {
		w = -1 // people who complain tend to complain loudly
	} else {
		w = -0.1 * float64(1+r.rng.IntN(5))
	}
	return trust.Edge{From: u, To: v, Weight: w}
}

// barabasiAlbert grows a directed preferential-attachment graph: each
// newcomer rates m distinct earlier members chosen in proportion to their
// degree (plus one), and each rated member answers with chance recip. The
// first m+1 members rate every earlier one.
func barabasiAlbert(rng *rand.Rand, n, m int, recip float64, r *rater) []trust.Edge {
	edges := make([]trust.Edge, 0, int(float64(n*m)*(1+recip)))
	// ends holds every edge endpoint once per incident edge, plus every
	// member once: a uniform pick from it is a pick by degree + 1.
	ends := make([]trust.NodeID, 0, 2*n*m+n)
	add := func(u, v trust.NodeID) {
		edges = append(edges, r.rate(u, v))
		ends = append(ends, u, v)
		if rng.Float64() < recip {
			edges = append(edges, r.rate(v, u))
			ends = append(ends, v, u)
		}
	}
	chosen := make(map[trust.NodeID]bool, m)
	picked := make([]trust.NodeID, 0, m)
	for v := range trust.NodeID(n) {
		ends = append(ends, v)
		if int(v) <= m {
			for u := range v {
				add(v, u)
			}
			continue
		}
		clear(chosen)
		picked = picked[:0]
		for len(picked) < m {
			u := ends[rng.IntN(len(ends))]
			if u == v || chosen[u] {
				continue
			}
			chosen[u] = true
			picked = append(picked, u)
		}
		for _, u := range picked {
			add(v, u)
		}
	}
	return edges
}

// wattsStrogatz builds a small world: every member rates its k/2 nearest
// neighbours on each side of a ring; each rating goes instead to a uniform
// random member with chance beta, and a rewired rating is answered with
// chance recip.
func wattsStrogatz(rng *rand.Rand, n, k int, beta, recip float64, r *rater) []trust.Edge {
	edges := make([]trust.Edge, 0, n*k)
	has := make(map[uint64]bool, n*k)
	key := func(u, v trust.NodeID) uint64 { return uint64(u)<<32 | uint64(uint32(v)) }
	for u := range n {
		for d := 1; d <= k/2; d++ {
			has[key(trust.NodeID(u), trust.NodeID((u+d)%n))] = true
			has[key(trust.NodeID(u), trust.NodeID((u-d+n)%n))] = true
		}
	}
	for u := range trust.NodeID(n) {
		for d := 1; d <= k/2; d++ {
			for _, v := range []trust.NodeID{trust.NodeID((int(u) + d) % n), trust.NodeID((int(u) - d + n) % n)} {
				if rng.Float64() >= beta {
					edges = append(edges, r.rate(u, v))
					continue
				}
				w := trust.NodeID(rng.IntN(n))
				for tries := 0; (w == u || has[key(u, w)]) && tries < 32; tries++ {
					w = trust.NodeID(rng.IntN(n))
				}
				if w == u || has[key(u, w)] {
					edges = append(edges, r.rate(u, v))
					continue
				}
				has[key(u, w)] = true
				edges = append(edges, r.rate(u, w))
				if rng.Float64() < recip && !has[key(w, u)] {
					has[key(w, u)] = true
					edges = append(edges, r.rate(w, u))
				}
			}
		}
	}
	return edges
}
