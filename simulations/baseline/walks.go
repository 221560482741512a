package baseline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/kith-net/kith/trust"
)

// WalkParams are the parameters of the random-walk methods (PPRMonteCarlo,
// MeritRank).
type WalkParams struct {
	// Walks is the number of walks started at the querier, >= 1. Default
	// 10000.
	Walks int
	// Damping is the probability of taking one more step, in [0, 1).
	// Default 0.85 (mean walk length 1/(1-Damping) = 6.7 steps).
	Damping float64
	// Seed seeds the PCG source; the source of one Score call is seeded
	// with (Seed, querier), so results depend only on (Seed, graph,
	// querier), never on call order or concurrency.
	Seed uint64
}

// DefaultWalkParams returns 10000 walks, damping 0.85, seed 1.
func DefaultWalkParams() WalkParams { return WalkParams{Walks: 10000, Damping: 0.85, Seed: 1} }

// Validate rejects NaN, infinite and out-of-range values.
func (p WalkParams) Validate() error {
	if err := atLeast("Walks", p.Walks, 1); err != nil {
		return err
	}
	return inRange("Damping", p.Damping, 0, 1, false, true)
}

// walker samples steps along positive edges in proportion to their weight.
// Cumulative weights are built lazily for the nodes walks visit, so a
// Score call costs time in the walks, not in the graph.
type walker struct {
	g   *trust.Graph
	cum map[trust.NodeID][]float64
	rng *rand.Rand
}

func newWalker(g *trust.Graph, seed uint64, q trust.NodeID) *walker {
	return &walker{
		g:   g,
		cum: make(map[trust.NodeID][]float64),
		rng: rand.New(rand.NewPCG(seed, uint64(q)^0x9e3779b97f4a7c15)),
	}
}

// step returns a random positive out-neighbour of u, or false if u has
// none.
func (w *walker) step(u trust.NodeID) (trust.NodeID, bool) {
	c, ok := w.cum[u]
	if !ok {
		_, ws := w.g.Out(u)
		c = make([]float64, len(ws))
		s := 0.0
		for i, x := range ws {
			if x > 0 {
				s += float64(x)
			}
			c[i] = s
		}
		if s == 0 {
			c = nil
		}
		w.cum[u] = c
	}
	if c == nil {
		return 0, false
	}
	// The first cumulative weight above r belongs to an edge of positive
	// weight (a zero-weight edge repeats the previous cumulative value).
	r := w.rng.Float64() * c[len(c)-1]
	i := sort.Search(len(c), func(i int) bool { return c[i] > r })
	if i == len(c) { // r rounded up to the total: take the last positive edge
		i--
		for i > 0 && c[i] == c[i-1] {
			i--
		}
	}
	to, _ := w.g.Out(u)
	return to[i], true
}

// PPRMonteCarlo estimates personalised PageRank (the quantity PPR computes)
// by random walks (Fogaras, Rácz, Csalogány and Sarlós, "Towards scaling
// fully personalized PageRank", Internet Mathematics 2005; Avrachenkov,
// Litvak, Nemirovsky and Osipova, SIAM J. Numer. Anal. 2007): Walks walks
// start at the querier; each step follows a positive out-edge chosen in
// proportion to its weight with probability Damping, and a walk ends
// otherwise or at a node without positive out-edges (where PPR restarts).
// A node's score is its share of all visits (the start included), an
// unbiased ratio estimate of its PPR score.
//
// Nodes no walk visited get NoEvidence. Randomness comes only from a PCG
// source seeded with (Seed, querier).
type PPRMonteCarlo struct{ p WalkParams }

// NewPPRMonteCarlo validates p and returns the scorer.
func NewPPRMonteCarlo(p WalkParams) (*PPRMonteCarlo, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("ppr-mc: %w", err)
	}
	return &PPRMonteCarlo{p: p}, nil
}

// Name returns "ppr-mc".
func (*PPRMonteCarlo) Name() string { return "ppr-mc" }

// Score fills dst with q's estimated personalised PageRank.
func (s *PPRMonteCarlo) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	w := newWalker(g, s.p.Seed, q)
	visits := make(map[trust.NodeID]int)
	total := 0
	for i := range s.p.Walks {
		if i%1024 == 0 {
			if err := ctxErr(ctx, s.Name()); err != nil {
				return err
			}
		}
		u := q
		visits[u]++
		total++
		for w.rng.Float64() < s.p.Damping {
			v, ok := w.step(u)
			if !ok {
				break
			}
			u = v
			visits[u]++
			total++
		}
	}
	for i := range dst {
		dst[i] = trust.NoEvidence
	}
	for v, c := range visits {
		dst[v] = float64(c) / float64(total)
	}
	return nil
}

// MeritRankParams are MeritRank's parameters.
type MeritRankParams struct {
	WalkParams
	// ConnectivityDecay is the share of a node's score removed when it is
	// connected to the querier through a single bridge node, in [0, 1].
	// Default 0.5.
	ConnectivityDecay float64
	// BridgeShare is the share of the walks reaching a node that must pass
	// through one other node (neither the querier nor the node itself) for
	// that node to count as a bridge, in (0, 1]. Default 0.95.
	BridgeShare float64
}

// DefaultMeritRankParams returns the walk defaults, connectivity decay
// 0.5 and bridge share 0.95.
func DefaultMeritRankParams() MeritRankParams {
	return MeritRankParams{WalkParams: DefaultWalkParams(), ConnectivityDecay: 0.5, BridgeShare: 0.95}
}

// Validate rejects NaN, infinite and out-of-range values.
func (p MeritRankParams) Validate() error {
	if err := p.WalkParams.Validate(); err != nil {
		return err
	}
	if err := inRange("ConnectivityDecay", p.ConnectivityDecay, 0, 1, false, false); err != nil {
		return err
	}
	return inRange("BridgeShare", p.BridgeShare, 0, 1, true, false)
}

// MeritRank is a MeritRank-style scorer (Nasrulin, Ishmaev and Pouwelse,
// "MeritRank: Sybil tolerant reputation for merit-based tokenomics", BRAINS
// 2022): personalised random walks from the querier over positive edges
// (as PPRMonteCarlo) with the paper's two Sybil-tolerance decays:
//
//   - transitivity decay: each further hop is taken only with probability
//     Damping, so trust decays geometrically with distance;
//   - connectivity decay: when at least BridgeShare of the walks that
//     reach v went through one single other node first (v hangs off the
//     querier's graph through a bridge, as a Sybil region behind an attack
//     edge does), v's score is multiplied by 1 - ConnectivityDecay.
//
// The paper's third decay (epoch decay) needs time epochs and is left
// out; so are negative edges (the paper aggregates positive feedback). A
// node's score is its share of the visits (the querier excluded), after
// decay; nodes no walk reached get NoEvidence and the querier gets 0.
type MeritRank struct{ p MeritRankParams }

// NewMeritRank validates p and returns the scorer.
func NewMeritRank(p MeritRankParams) (*MeritRank, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("meritrank: %w", err)
	}
	return &MeritRank{p: p}, nil
}

// Name returns "meritrank".
func (*MeritRank) Name() string { return "meritrank" }

// Score fills dst with q's MeritRank scores.
func (s *MeritRank) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	w := newWalker(g, s.p.Seed, q)
	type stat struct {
		visits, reached int
		cand            []trust.NodeID // bridge candidates: the nodes before v on the first walk reaching v
		candHits        []int          // walks reaching v that passed through cand[i] first
	}
	stats := make(map[trust.NodeID]*stat)
	seenIn := make(map[trust.NodeID]int) // node -> last walk index that visited it, plus 1
	var path []trust.NodeID              // distinct nodes of the current walk, querier excluded
	total := 0
	for i := range s.p.Walks {
		if i%1024 == 0 {
			if err := ctxErr(ctx, s.Name()); err != nil {
				return err
			}
		}
		path = path[:0]
		u := q
		for w.rng.Float64() < s.p.Damping {
			v, ok := w.step(u)
			if !ok {
				break
			}
			u = v
			if u == q {
				continue
			}
			total++
			st := stats[u]
			if st == nil {
				st = &stat{}
				stats[u] = st
			}
			st.visits++
			if seenIn[u] == i+1 {
				continue // only the first visit of a walk counts for bridges
			}
			seenIn[u] = i + 1
			st.reached++
			if st.cand == nil && st.reached == 1 {
				st.cand = slices.Clone(path)
				st.candHits = make([]int, len(path))
				for j := range st.candHits {
					st.candHits[j] = 1
				}
			} else {
				for j, x := range st.cand {
					if seenIn[x] == i+1 {
						st.candHits[j]++
					}
				}
			}
			path = append(path, u)
		}
	}
	for i := range dst {
		dst[i] = trust.NoEvidence
	}
	dst[q] = 0
	for v, st := range stats {
		score := float64(st.visits) / float64(total)
		for _, h := range st.candHits {
			if float64(h) >= s.p.BridgeShare*float64(st.reached) {
				score *= 1 - s.p.ConnectivityDecay
				break
			}
		}
		dst[v] = score
	}
	return nil
}
