package baseline

import (
	"context"
	"fmt"
	"math"

	"github.com/kith-net/kith/trust"
)

// AppleseedParams are Appleseed's parameters.
type AppleseedParams struct {
	// Energy is the trust energy injected at the querier, > 0. TrustNet:
	// 200.
	Energy float64
	// Spreading is the share of a node's incoming energy passed on to its
	// successors (the rest it keeps as trust), in (0, 1). TrustNet: 0.85.
	Spreading float64
	// Threshold stops the iteration when no node's trust changed by more
	// than it in one step, > 0. TrustNet: 0.01.
	Threshold float64
	// MaxIter bounds the iterations, >= 1. Default 10000 (the threshold
	// stops it after about log(Threshold/Energy)/log(Spreading) steps, 61
	// with the defaults).
	MaxIter int
}

// DefaultAppleseedParams returns TrustNet's defaults: energy 200,
// spreading 0.85, threshold 0.01.
func DefaultAppleseedParams() AppleseedParams {
	return AppleseedParams{Energy: 200, Spreading: 0.85, Threshold: 0.01, MaxIter: 10000}
}

// Validate rejects NaN, infinite and out-of-range values.
func (p AppleseedParams) Validate() error {
	if err := inRange("Energy", p.Energy, 0, math.MaxFloat64, true, false); err != nil {
		return err
	}
	if err := inRange("Spreading", p.Spreading, 0, 1, true, true); err != nil {
		return err
	}
	if err := inRange("Threshold", p.Threshold, 0, math.MaxFloat64, true, false); err != nil {
		return err
	}
	return atLeast("MaxIter", p.MaxIter, 1)
}

// Appleseed is the Appleseed trust metric (Ziegler and Lausen, "Spreading
// activation models for trust propagation", IEEE EEE 2004; "Propagation
// models for trust and distrust in social networks", ISF 2005), the metric
// SSB's TrustNet uses. Energy is injected at the querier; at each step a
// node keeps (1-Spreading) of its incoming energy as trust and passes the
// rest to its successors in proportion to the edge weights. Every node
// reached gets a virtual edge of weight 1 back to the querier (the paper's
// backward propagation), so that energy also flows back to the source and
// nodes with many out-edges do not drain it. The iteration stops when no
// trust value moved by more than Threshold.
//
// Only positive edges propagate (Appleseed's trust graph; the paper treats
// distrust separately and TrustNet ignores it). Scores are accumulated
// trust energy (they sum to at most Energy, the querier's own included);
// nodes the energy never reached get NoEvidence.
type Appleseed struct{ p AppleseedParams }

// NewAppleseed validates p and returns the scorer.
func NewAppleseed(p AppleseedParams) (*Appleseed, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("appleseed: %w", err)
	}
	return &Appleseed{p: p}, nil
}

// Name returns "appleseed".
func (*Appleseed) Name() string { return "appleseed" }

// Score fills dst with q's Appleseed trust.
func (s *Appleseed) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	n := g.N()
	trustV := make([]float64, n)
	in := make([]float64, n)
	next := make([]float64, n)
	seen := make([]bool, n)
	outSum := make([]float64, n) // positive out-weights plus the backward edge; 0 = not computed
	discovered := []trust.NodeID{q}
	seen[q] = true
	in[q] = s.p.Energy
	d := s.p.Spreading
	active := []trust.NodeID{q} // nodes with incoming energy this step
	var nextActive []trust.NodeID
	for range s.p.MaxIter {
		if err := ctxErr(ctx, s.Name()); err != nil {
			return err
		}
		maxDelta := 0.0
		nextActive = nextActive[:0]
		for _, x := range active {
			e := in[x]
			in[x] = 0
			kept := (1 - d) * e
			trustV[x] += kept
			maxDelta = max(maxDelta, kept)
			to, w := g.Out(x)
			if outSum[x] == 0 {
				for _, y := range w {
					if y > 0 {
						outSum[x] += float64(y)
					}
				}
				if x != q {
					outSum[x]++ // the backward edge x -> q
				}
				if outSum[x] == 0 {
					outSum[x] = -1 // the querier with no positive out-edges
				}
			}
			if outSum[x] < 0 {
				continue // energy lost
			}
			share := d * e / outSum[x]
			for i, v := range to {
				if w[i] <= 0 {
					continue
				}
				if !seen[v] {
					seen[v] = true
					discovered = append(discovered, v)
				}
				if next[v] == 0 {
					nextActive = append(nextActive, v)
				}
				next[v] += share * float64(w[i])
			}
			if x != q {
				if next[q] == 0 {
					nextActive = append(nextActive, q)
				}
				next[q] += share
			}
		}
		for _, v := range nextActive {
			in[v], next[v] = next[v], 0
		}
		active, nextActive = nextActive, active
		if maxDelta <= s.p.Threshold || len(active) == 0 {
			break
		}
	}
	for i := range dst {
		dst[i] = trust.NoEvidence
	}
	for _, v := range discovered {
		dst[v] = trustV[v]
	}
	return nil
}

// MoleTrustParams are MoleTrust's parameters.
type MoleTrustParams struct {
	// Horizon is the largest distance from the querier at which trust is
	// predicted, >= 1. Massa and Avesani used 2 to 4; default 3.
	Horizon int
	// Threshold is the least trust a node must have to pass trust on, in
	// (0, 1]. Massa and Avesani used 0.6 on Epinions' binary trust
	// statements; ratings here are graded (a Bitcoin OTC +1 is 0.1), so
	// the default is 0.1. Set 0.6 for the original.
	Threshold float64
}

// DefaultMoleTrustParams returns horizon 3, threshold 0.1.
func DefaultMoleTrustParams() MoleTrustParams { return MoleTrustParams{Horizon: 3, Threshold: 0.1} }

// Validate rejects NaN, infinite and out-of-range values.
func (p MoleTrustParams) Validate() error {
	if err := atLeast("Horizon", p.Horizon, 1); err != nil {
		return err
	}
	return inRange("Threshold", p.Threshold, 0, 1, true, false)
}

// MoleTrust is the MoleTrust local trust metric (Massa and Avesani,
// "Trust-aware recommender systems", RecSys 2007; "Controversial users
// demand local trust metrics", AAAI 2005). Trust propagates breadth first
// from the querier (trust 1), one distance level at a time, up to Horizon:
// the trust of a node first reached at distance k is the trust-weighted
// mean of the ratings it received from level k-1 nodes whose trust is at
// least Threshold,
//
//	t(v) = sum_u t(u) w(u,v) / sum_u t(u).
//
// Edges back to earlier levels are ignored (the paper's cycle removal), and
// levels are counted along nodes that pass trust on, so a node rated only
// by distrusted or weakly trusted nodes is not scored at that level. Ratings
// keep their sign, so t is in [-1, 1] and distrust of a trusted rater shows
// as negative trust; nodes with negative or sub-threshold trust never pass
// trust on.
//
// Scores are t in [-1, 1], 1 for the querier; nodes not reached within
// the horizon through passing nodes get NoEvidence.
type MoleTrust struct{ p MoleTrustParams }

// NewMoleTrust validates p and returns the scorer.
func NewMoleTrust(p MoleTrustParams) (*MoleTrust, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("moletrust: %w", err)
	}
	return &MoleTrust{p: p}, nil
}

// Name returns "moletrust".
func (*MoleTrust) Name() string { return "moletrust" }

// Score fills dst with q's MoleTrust values.
func (s *MoleTrust) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = trust.NoEvidence
	}
	dst[q] = 1
	num := make(map[trust.NodeID]float64)
	den := make(map[trust.NodeID]float64)
	level := []trust.NodeID{q}
	for range s.p.Horizon {
		if err := ctxErr(ctx, s.Name()); err != nil {
			return err
		}
		clear(num)
		clear(den)
		var nextLevel []trust.NodeID
		for _, u := range level {
			tu := dst[u]
			if !(tu >= s.p.Threshold) {
				continue
			}
			to, w := g.Out(u)
			for i, v := range to {
				if !math.IsNaN(dst[v]) {
					continue // already scored at an earlier level
				}
				if _, ok := den[v]; !ok {
					nextLevel = append(nextLevel, v)
				}
				num[v] += tu * float64(w[i])
				den[v] += tu
			}
		}
		for _, v := range nextLevel {
			dst[v] = num[v] / den[v]
		}
		if len(nextLevel) == 0 {
			break
		}
		level = nextLevel
	}
	return nil
}

// MeanRating scores a node by the mean weight it received: the trivial
// reputation of a rating site. It is global: the querier is ignored, and it
// exists only as a baseline. Scores are in [-1, 1]; nodes that received no
// rating get NoEvidence. As a weight predictor it predicts u->v as v's mean
// received weight.
type MeanRating struct{}

// NewMeanRating returns the scorer (it has no parameters).
func NewMeanRating() *MeanRating { return &MeanRating{} }

// Name returns "mean-rating".
func (*MeanRating) Name() string { return "mean-rating" }

// Global reports that the scores ignore the querier.
func (*MeanRating) Global() bool { return true }

// Score fills dst with the mean weight each node received.
func (s *MeanRating) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := checkArgs(ctx, s.Name(), g, q, dst); err != nil {
		return err
	}
	for v := range dst {
		if v%ctxCheckEvery == 0 {
			if err := ctxErr(ctx, s.Name()); err != nil {
				return err
			}
		}
		dst[v] = meanIn(g, trust.NodeID(v), -1)
	}
	return nil
}

// meanIn is the mean weight v received, ignoring the rating from skip;
// NoEvidence if none.
func meanIn(g *trust.Graph, v, skip trust.NodeID) float64 {
	from, w := g.In(v)
	sum, c := 0.0, 0
	for i, u := range from {
		if u == skip {
			continue
		}
		sum += float64(w[i])
		c++
	}
	if c == 0 {
		return trust.NoEvidence
	}
	return sum / float64(c)
}

// PredictWeight predicts u->v as v's mean received weight.
func (s *MeanRating) PredictWeight(ctx context.Context, g *trust.Graph, u, v trust.NodeID) (float64, bool) {
	if ctx.Err() != nil || v < 0 || int(v) >= g.N() {
		return 0, false
	}
	m := meanIn(g, v, -1)
	return m, !math.IsNaN(m)
}

// PredictWeights predicts each pair From->To as To's mean received weight;
// with leaveOneOut, without From's own rating of To.
func (s *MeanRating) PredictWeights(ctx context.Context, g *trust.Graph, pairs []trust.Edge, leaveOneOut bool, out []float64, ok []bool) error {
	if len(out) != len(pairs) || len(ok) != len(pairs) {
		return fmt.Errorf("%s: %d pairs, %d outputs, %d flags", s.Name(), len(pairs), len(out), len(ok))
	}
	if err := ctxErr(ctx, s.Name()); err != nil {
		return err
	}
	for i, e := range pairs {
		if e.To < 0 || int(e.To) >= g.N() {
			return fmt.Errorf("%s: pair %d->%d outside 0..%d", s.Name(), e.From, e.To, g.N()-1)
		}
		skip := trust.NodeID(-1)
		if leaveOneOut {
			skip = e.From
		}
		m := meanIn(g, e.To, skip)
		out[i], ok[i] = m, !math.IsNaN(m)
		if !ok[i] {
			out[i] = 0
		}
	}
	return nil
}
