package baseline

import (
	"context"
	"fmt"
	"math"

	"github.com/kith-net/kith/trust"
)

// PowerParams are the parameters of the power-iteration methods (PageRank,
// PPR, EigenTrust).
type PowerParams struct {
	// Damping is the probability of following an edge rather than jumping
	// to the teleport distribution, in [0, 1). Default 0.85.
	Damping float64
	// Tol stops the iteration when the L1 change of the score vector falls
	// below it, in (0, 1). Default 1e-9.
	Tol float64
	// MaxIter bounds the number of iterations, >= 1. Default 200.
	MaxIter int
}

// DefaultPowerParams returns damping 0.85, tolerance 1e-9, 200 iterations.
func DefaultPowerParams() PowerParams { return PowerParams{Damping: 0.85, Tol: 1e-9, MaxIter: 200} }

// Validate rejects NaN, infinite and out-of-range values.
func (p PowerParams) Validate() error {
	if err := inRange("Damping", p.Damping, 0, 1, false, true); err != nil {
		return err
	}
	if err := inRange("Tol", p.Tol, 0, 1, true, true); err != nil {
		return err
	}
	return atLeast("MaxIter", p.MaxIter, 1)
}

// powerIterate computes the stationary distribution x of the walk that, from
// u, follows an out-edge with probability d (choosing u->v in proportion to
// tw(weight of u->v), edges with tw <= 0 never taken) and otherwise jumps to
// the teleport distribution tele; a node without takeable edges jumps to
// tele with probability 1. x sums to 1.
//
// active, if not nil, lists the nodes that can carry mass (a set closed
// under takeable edges that contains tele's support); the iteration then
// costs time in the edges of those nodes only, and x is 0 elsewhere.
func powerIterate(ctx context.Context, name string, g *trust.Graph, p PowerParams, active []trust.NodeID, tele []float64, tw func(float32) float64) ([]float64, error) {
	n := g.N()
	if active == nil {
		active = make([]trust.NodeID, n)
		for i := range active {
			active[i] = trust.NodeID(i)
		}
	}
	outSum := make([]float64, n)
	for _, u := range active {
		_, w := g.Out(u)
		for _, x := range w {
			if t := tw(x); t > 0 {
				outSum[u] += t
			}
		}
	}
	// The transition probabilities of the takeable in-edges of the active
	// nodes, in pull order: node active[k] pulls from src[start[k]:start[k+1]].
	start := make([]int32, len(active)+1)
	m := 0
	for _, v := range active {
		from, _ := g.In(v)
		m += len(from)
	}
	src := make([]trust.NodeID, 0, m)
	prob := make([]float64, 0, m)
	for k, v := range active {
		from, w := g.In(v)
		for i, u := range from {
			if t := tw(w[i]); t > 0 && outSum[u] > 0 {
				src = append(src, u)
				prob = append(prob, p.Damping*t/outSum[u])
			}
		}
		start[k+1] = int32(len(src))
	}
	var dangling []trust.NodeID
	for _, u := range active {
		if outSum[u] == 0 {
			dangling = append(dangling, u)
		}
	}
	x := make([]float64, n)
	copy(x, tele)
	next := make([]float64, n)
	for range p.MaxIter {
		if err := ctxErr(ctx, name); err != nil {
			return nil, err
		}
		// next[v] = d * sum_{u->v} x[u] tw(u,v)/outSum[u] + (d*dangling + 1-d) tele[v].
		dm := 0.0
		for _, u := range dangling {
			dm += x[u]
		}
		base := p.Damping*dm + (1 - p.Damping)
		sum := 0.0
		for k, v := range active {
			s := 0.0
			for i := start[k]; i < start[k+1]; i++ {
				s += x[src[i]] * prob[i]
			}
			next[v] = s + base*tele[v]
			sum += next[v]
		}
		diff := 0.0
		for _, v := range active {
			next[v] /= sum // renormalise against rounding drift
			diff += math.Abs(next[v] - x[v])
		}
		x, next = next, x
		if diff < p.Tol {
			break
		}
	}
	return x, nil
}

func unweightedPositive(w float32) float64 {
	if w > 0 {
		return 1
	}
	return 0
}

func weightedPositive(w float32) float64 {
	if w > 0 {
		return float64(w)
	}
	return 0
}

// PageRank is global PageRank (Page, Brin, Motwani and Winograd, "The
// PageRank citation ranking", Stanford 1999) on the positive edges of the
// graph, each positive edge counting once whatever its weight (as a
// who-vouches-for-whom link graph), negative edges ignored; dangling nodes
// and the teleport step jump uniformly.
//
// It is global: the querier is ignored, and it exists only as a baseline.
// Scores are the stationary probabilities (they sum to 1, all > 0); it never
// returns NoEvidence.
type PageRank struct{ p PowerParams }

// NewPageRank validates p and returns the scorer.
func NewPageRank(p PowerParams) (*PageRank, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("pagerank: %w", err)
	}
	return &PageRank{p: p}, nil
}

// Name returns "pagerank".
func (*PageRank) Name() string { return "pagerank" }

// Global reports that PageRank ignores the querier.
func (*PageRank) Global() bool { return true }

// Score fills dst with the PageRank of every node.
func (s *PageRank) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	n := g.N()
	tele := make([]float64, n)
	for i := range tele {
		tele[i] = 1 / float64(n)
	}
	x, err := powerIterate(ctx, s.Name(), g, s.p, nil, tele, unweightedPositive)
	if err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

// PPR is personalised PageRank (Haveliwala, "Topic-sensitive PageRank", WWW
// 2002; Jeh and Widom 2003) computed by power iteration: a walk from the
// querier follows positive edges in proportion to their weight with
// probability Damping and otherwise, or at a node without positive
// out-edges, restarts at the querier. Negative edges are ignored.
//
// Scores are the stationary probabilities (they sum to 1). Nodes the walk
// cannot reach (no positive path from the querier) get NoEvidence.
type PPR struct{ p PowerParams }

// NewPPR validates p and returns the scorer.
func NewPPR(p PowerParams) (*PPR, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("ppr: %w", err)
	}
	return &PPR{p: p}, nil
}

// Name returns "ppr".
func (*PPR) Name() string { return "ppr" }

// Score fills dst with q's personalised PageRank.
func (s *PPR) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	x, err := personalised(ctx, s.Name(), g, q, s.p, weightedPositive)
	if err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

// personalised runs the power iteration restarting at q over the nodes q
// reaches through takeable edges, and marks the others NoEvidence (their
// stationary mass is exactly zero).
func personalised(ctx context.Context, name string, g *trust.Graph, q trust.NodeID, p PowerParams, tw func(float32) float64) ([]float64, error) {
	reach := reachable(g, q, tw)
	tele := make([]float64, g.N())
	tele[q] = 1
	x, err := powerIterate(ctx, name, g, p, reach, tele, tw)
	if err != nil {
		return nil, err
	}
	seen := make([]bool, g.N())
	for _, v := range reach {
		seen[v] = true
	}
	for v := range x {
		if !seen[v] {
			x[v] = trust.NoEvidence
		}
	}
	return x, nil
}

// reachable lists the nodes reachable from q over edges with tw > 0, q
// first, in BFS order.
func reachable(g *trust.Graph, q trust.NodeID, tw func(float32) float64) []trust.NodeID {
	seen := make([]bool, g.N())
	seen[q] = true
	order := []trust.NodeID{q}
	for i := 0; i < len(order); i++ {
		to, w := g.Out(order[i])
		for j, v := range to {
			if !seen[v] && tw(w[j]) > 0 {
				seen[v] = true
				order = append(order, v)
			}
		}
	}
	return order
}

// PreTrust says whom EigenTrust trusts a priori.
type PreTrust string

// The pre-trust choices.
const (
	PreTrustUniform PreTrust = "uniform" // every node equally: global EigenTrust
	PreTrustQuerier PreTrust = "querier" // the querier alone: personalised
)

// EigenTrustParams are EigenTrust's parameters.
type EigenTrustParams struct {
	PowerParams
	// PreTrust is the pre-trusted distribution p. Default uniform.
	PreTrust PreTrust
}

// DefaultEigenTrustParams returns uniform pre-trust and a = 1-Damping =
// 0.15 (Kamvar et al. leave a open; 0.15 matches PageRank's teleport).
func DefaultEigenTrustParams() EigenTrustParams {
	return EigenTrustParams{PowerParams: DefaultPowerParams(), PreTrust: PreTrustUniform}
}

// Validate rejects NaN, infinite and out-of-range values.
func (p EigenTrustParams) Validate() error {
	if err := p.PowerParams.Validate(); err != nil {
		return err
	}
	if p.PreTrust != PreTrustUniform && p.PreTrust != PreTrustQuerier {
		return fmt.Errorf("%w: PreTrust = %q, want %q or %q", ErrParams, p.PreTrust, PreTrustUniform, PreTrustQuerier)
	}
	return nil
}

// EigenTrust is the EigenTrust algorithm (Kamvar, Schlosser and
// Garcia-Molina, "The EigenTrust algorithm for reputation management in P2P
// networks", WWW 2003), in its basic centralised form
// t = (1-a) C^T t + a p: the local trust c_ij = max(s_ij, 0) / sum_j
// max(s_ij, 0) with s_ij the signed weight of i->j (one rating per pair, so
// sat - unsat is the weight itself); a node that trusts nobody trusts p.
// Here a = 1 - Damping.
//
// With PreTrust uniform (the default) it is global: the querier is
// ignored, and it exists only as a baseline; every node gets a positive
// score and NoEvidence never occurs. With PreTrust querier the computation
// is the same as PPR's, and nodes the querier cannot reach over positive
// edges get NoEvidence. Scores are global trust values summing to 1.
type EigenTrust struct{ p EigenTrustParams }

// NewEigenTrust validates p and returns the scorer.
func NewEigenTrust(p EigenTrustParams) (*EigenTrust, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("eigentrust: %w", err)
	}
	return &EigenTrust{p: p}, nil
}

// Name returns "eigentrust" (uniform pre-trust) or "eigentrust-q" (the
// querier pre-trusted).
func (s *EigenTrust) Name() string {
	if s.p.PreTrust == PreTrustQuerier {
		return "eigentrust-q"
	}
	return "eigentrust"
}

// Global reports whether the scores ignore the querier (uniform
// pre-trust).
func (s *EigenTrust) Global() bool { return s.p.PreTrust == PreTrustUniform }

// Score fills dst with the EigenTrust vector.
func (s *EigenTrust) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	if s.p.PreTrust == PreTrustQuerier {
		x, err := personalised(ctx, s.Name(), g, q, s.p.PowerParams, weightedPositive)
		if err != nil {
			return err
		}
		copy(dst, x)
		return nil
	}
	n := g.N()
	tele := make([]float64, n)
	for i := range tele {
		tele[i] = 1 / float64(n)
	}
	x, err := powerIterate(ctx, s.Name(), g, s.p.PowerParams, nil, tele, weightedPositive)
	if err != nil {
		return err
	}
	copy(dst, x)
	return nil
}
