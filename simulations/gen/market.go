package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/kith-net/kith/trust"
)

// MarketParams describe a synthetic rating marketplace: people trade with
// each other and rate the trade, honest people rate by how the other
// behaved, and a minority of bad actors cheat, collude and retaliate.
type MarketParams struct {
	Nodes int    // people
	Edges int    // ratings (distinct rater→target pairs; fewer if the graph saturates)
	Seed  uint64 // the whole graph follows from it
	// BadShare is the share of bad actors (0..1).
	BadShare float64
	// Activity is the Pareto shape of how active people are: lower is
	// more skewed (a few very active traders). > 1.
	Activity float64
	// Noise is the chance an honest rating has the "wrong" sign.
	Noise float64
	// Collusion is the chance a bad actor's rating goes to another bad
	// actor (always positive).
	Collusion float64
	// Retaliation is the chance a bad actor rates an honest trading partner
	// negatively, and the chance anyone answers a warning with a warning.
	Retaliation float64
	// Reciprocity is the chance a rated partner rates back.
	Reciprocity float64
	// CollusionBoost is how much colluders inflate each other's ratings:
	// 0 rates them like anyone else, 1 always at full strength.
	CollusionBoost float64
	// StrongComplaint is the chance a warning has the full strength (people
	// who complain tend to complain loudly); Praise is the mean strength of
	// a vouch above the minimum, as a share (most vouches are weak).
	StrongComplaint, Praise float64
	// Span is the time the ratings cover, in seconds, starting at Start.
	Start, Span int64
}

// DefaultMarket is a marketplace of the size and shape of a small
// over-the-counter trading community.
var DefaultMarket = MarketParams{
	Nodes: 6000, Edges: 36000, Seed: 1, BadShare: 0.12, Activity: 1.6,
	Noise: 0.04, Collusion: 0.4, Retaliation: 0.3, Reciprocity: 0.6, StrongComplaint: 0.6, Praise: 0.1, CollusionBoost: 0.5,
	Start: 1500000000, Span: 5 * 365 * 86400,
}

// Validate rejects NaN, infinities and out-of-range values.
func (p MarketParams) Validate() error {
	switch {
	case p.Nodes < 2 || p.Nodes > math.MaxInt32:
		return fmt.Errorf("gen: market: nodes %d", p.Nodes)
	case p.Edges < 0:
		return fmt.Errorf("gen: market: edges %d", p.Edges)
	case !(p.BadShare >= 0 && p.BadShare <= 1):
		return fmt.Errorf("gen: market: bad share %v", p.BadShare)
	case !(p.Activity > 1) || math.IsInf(p.Activity, 0):
		return fmt.Errorf("gen: market: activity %v", p.Activity)
	case !(p.Noise >= 0 && p.Noise <= 1), !(p.Collusion >= 0 && p.Collusion <= 1), !(p.Retaliation >= 0 && p.Retaliation <= 1),
		!(p.Reciprocity >= 0 && p.Reciprocity <= 1), !(p.StrongComplaint >= 0 && p.StrongComplaint <= 1), !(p.Praise >= 0 && p.Praise <= 1),
		!(p.CollusionBoost >= 0 && p.CollusionBoost <= 1):
		return fmt.Errorf("gen: market: probabilities must be in [0, 1]")
	case p.Span < 0:
		return fmt.Errorf("gen: market: span %d", p.Span)
	}
	return nil
}

// Market is a generated marketplace.
type Market struct {
	Graph *trust.Graph
	// Bad[v] is true for the bad actors.
	Bad []bool
}

// NewMarket generates a marketplace.
func NewMarket(p MarketParams) (*Market, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x6b697468))
	n := p.Nodes
	bad := make([]bool, n)
	weight := make([]float64, n)
	for v := range n {
		bad[v] = rng.Float64() < p.BadShare
		// Pareto(1, shape) activity.
		weight[v] = math.Pow(1-rng.Float64(), -1/p.Activity)
	}
	cum := make([]float64, n)
	s := 0.0
	for v, w := range weight {
		s += w
		cum[v] = s
	}
	pick := func() trust.NodeID {
		i, _ := slices.BinarySearch(cum, rng.Float64()*s)
		return trust.NodeID(min(i, n-1))
	}
	var badIDs []trust.NodeID
	for v, b := range bad {
		if b {
			badIDs = append(badIDs, trust.NodeID(v))
		}
	}
	seen := make(map[[2]trust.NodeID]bool, p.Edges)
	edges := make([]trust.Edge, 0, p.Edges)
	now := func() int64 {
		return p.Start + int64(float64(p.Span)*float64(len(edges))/float64(max(p.Edges, 1)))
	}
	// strength draws a vouch's or a warning's strength in 0.1 steps.
	strength := func(positive bool) float64 {
		if !positive {
			if rng.Float64() < p.StrongComplaint {
				return 1
			}
			return 0.1 * float64(1+rng.IntN(5))
		}
		s := 0.1 * float64(1+int(rng.ExpFloat64()*p.Praise*10))
		return math.Min(s, 1)
	}
	// rate decides how u rates v after a trade; answer says whether it is
	// a rating back to someone who rated u with weight prev.
	rate := func(u, v trust.NodeID, answer bool, prev float64) float64 {
		positive := !bad[v]
		switch {
		case bad[u] && bad[v]:
			return math.Max(strength(true), p.CollusionBoost) // colluders inflate each other
		case answer && prev < 0 && rng.Float64() < p.Retaliation:
			positive = false
		case bad[u]:
			positive = rng.Float64() >= p.Retaliation
		default:
			if rng.Float64() < p.Noise {
				positive = !positive
			}
		}
		if positive {
			return strength(true)
		}
		return -strength(false)
	}
	add := func(u, v trust.NodeID, w float64) bool {
		if u == v || seen[[2]trust.NodeID{u, v}] || len(edges) >= p.Edges {
			return false
		}
		seen[[2]trust.NodeID{u, v}] = true
		edges = append(edges, trust.Edge{From: u, To: v, Weight: w, Time: now()})
		return true
	}
	for tries := 0; len(edges) < p.Edges && tries < 20*p.Edges; tries++ {
		u := pick()
		var v trust.NodeID
		if bad[u] && len(badIDs) > 1 && rng.Float64() < p.Collusion {
			v = badIDs[rng.IntN(len(badIDs))]
		} else {
			v = pick()
		}
		w := rate(u, v, false, 0)
		if !add(u, v, w) {
			continue
		}
		if rng.Float64() < p.Reciprocity {
			add(v, u, rate(v, u, true, w))
		}
	}
	g, err := trust.NewGraph(n, edges)
	if err != nil {
		return nil, err
	}
	return &Market{Graph: g, Bad: bad}, nil
}
