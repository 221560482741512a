package trust

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"sync"
)

//go:embed model/default.json
var defaultModelFile []byte

var defaultModel = sync.OnceValues(func() (*Model, error) { return ParseModel(defaultModelFile) })

// DefaultModel returns the model shipped with kith (trust/model/default.json;
// its Provenance says how it was made).
func DefaultModel() *Model {
	m, err := defaultModel()
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return m
}

// Engine is kith's own scorer: a personalised propagation of positive trust
// from the querier, negative evidence weighted by the querier's trust in
// the warners (one hop: distrust is not chained), and the ranking model
// over the resulting features. The zero value uses DefaultPropagation and
// DefaultModel.
//
// An Engine is safe for concurrent use.
type Engine struct {
	Propagation PropagationParams
	// Model ranks; nil means DefaultModel.
	Model *Model
	// Linked reports whether a node's Fediverse link is verified (nil:
	// none are).
	Linked func(NodeID) bool
	// Personalize refines the model on the querier's own judgements in
	// the graph before scoring (on-device learning; see View.Judgements
	// and Personalized). Score then costs one incremental update per
	// judgement.
	Personalize bool
	// PersonalL2 is the pull toward Model when personalising (0 means
	// DefaultPersonalL2): the larger, the more judgements it takes to move
	// away from the default.
	PersonalL2 float64
}

// DefaultPersonalL2 is the default pull toward the shared model when a
// model is refined on one owner's judgements.
const DefaultPersonalL2 = 20

// Personalized returns the model refined on the querier's judgements in v
// (the shared model itself when the querier has none).
func (e *Engine) Personalized(ctx context.Context, v *View) (*Model, error) {
	base := e.model()
	ex, _, err := v.Judgements(ctx, e.Linked)
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return base, nil
	}
	l2 := e.PersonalL2
	if l2 == 0 {
		l2 = DefaultPersonalL2
	}
	return Train(ex, base, TrainParams{L2: l2, Iterations: 20}, base.Provenance+"; refined on the owner's judgements")
}

// Name implements Scorer: "kith", or "kith-shared" when the engine does
// not personalise its model.
func (e *Engine) Name() string {
	if e.Personalize {
		return "kith"
	}
	return "kith-shared"
}

func (e *Engine) model() *Model {
	if e.Model != nil {
		return e.Model
	}
	return DefaultModel()
}

// View computes q's view of g.
func (e *Engine) View(ctx context.Context, g *Graph, q NodeID) (*View, error) {
	return NewView(ctx, g, q, e.Propagation)
}

// Score implements Scorer: the model's probability of a vouch, in [0, 1],
// for every covered node, NoEvidence for the others and for the querier.
func (e *Engine) Score(ctx context.Context, g *Graph, q NodeID, dst []float64) error {
	if len(dst) != g.N() {
		return fmt.Errorf("trust: score: dst has %d entries for %d nodes", len(dst), g.N())
	}
	v, err := e.View(ctx, g, q)
	if err != nil {
		return err
	}
	return e.ScoreView(ctx, v, dst)
}

// ScoreView scores every node of an existing view.
func (e *Engine) ScoreView(ctx context.Context, v *View, dst []float64) error {
	if len(dst) != v.N() {
		return fmt.Errorf("trust: score: dst has %d entries for %d nodes", len(dst), v.N())
	}
	m := e.model()
	if e.Personalize {
		var err error
		if m, err = e.Personalized(ctx, v); err != nil {
			return err
		}
	}
	for t := range NodeID(v.N()) {
		if t&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		f := v.Features(t, e.Linked)
		if !f.Covered {
			dst[t] = NoEvidence
			continue
		}
		dst[t] = m.Predict(&f)
	}
	return nil
}

// TrustMass fills dst with the share of q's trust that settles on each
// node (the propagation's mass): the quantity a Sybil region must capture,
// bounded by the trust reaching its attack edges.
func (e *Engine) TrustMass(ctx context.Context, g *Graph, q NodeID, dst []float64) error {
	if len(dst) != g.N() {
		return fmt.Errorf("trust: trust mass: dst has %d entries for %d nodes", len(dst), g.N())
	}
	v, err := e.View(ctx, g, q)
	if err != nil {
		return err
	}
	copy(dst, v.Masses())
	return nil
}

// Result answers "how far does the querier trust t, and why".
type Result struct {
	Target NodeID
	// Covered is false when the view holds no evidence about the target;
	// Score and Confidence are then meaningless (NaN and 0).
	Covered    bool
	Score      float64 // probability of a vouch, in [0, 1]
	Confidence float64 // in [0, 1): how much independent evidence there is
	Features   Features
	// Contributions are the features that moved the score, strongest
	// first, in log-odds relative to an average target.
	Contributions []Contribution
	// Vouchers and Warners are the strongest direct statements about the
	// target, weighted by the querier's trust in their authors.
	Vouchers, Warners []Statement
	// Paths are the strongest chains of vouches from the querier to the
	// target's strongest vouchers (and to the target itself).
	Paths []Path
}

// Contribution is one feature's effect on a score.
type Contribution struct {
	Feature string
	Value   float64
	Logit   float64
}

// Statement is an edge into the target, with the trust in its author.
type Statement struct {
	From   NodeID
	Weight float64
	Trust  float64 // the author's mass relative to uniform (N·m)
}

// Path is a chain of vouches; Strength is the product of the normalised
// edge shares along it (the probability a walk follows it).
type Path struct {
	Nodes    []NodeID
	Strength float64
}

// Query explains q's trust in t in view v.
func (e *Engine) Query(v *View, t NodeID) Result {
	m := e.model()
	f := v.Features(t, e.Linked)
	r := Result{Target: t, Covered: f.Covered, Features: f, Score: NoEvidence}
	if !f.Covered {
		return r
	}
	r.Score = m.Predict(&f)
	r.Confidence = f.Confidence()
	c := m.Contributions(&f)
	for i, x := range c {
		r.Contributions = append(r.Contributions, Contribution{Feature: FeatureNames[i], Value: f.Values[i], Logit: x})
	}
	slices.SortStableFunc(r.Contributions, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Logit), math.Abs(a.Logit)) })
	n := float64(v.N())
	v.EachIn(t, func(u NodeID, w float32, _ int64) {
		s := Statement{From: u, Weight: float64(w), Trust: n * v.Mass(u)}
		if w > 0 {
			r.Vouchers = append(r.Vouchers, s)
		} else if w < 0 {
			r.Warners = append(r.Warners, s)
		}
	})
	byWeight := func(a, b Statement) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Weight)*b.Trust, math.Abs(a.Weight)*a.Trust), cmp.Compare(a.From, b.From))
	}
	slices.SortFunc(r.Vouchers, byWeight)
	slices.SortFunc(r.Warners, byWeight)
	r.Vouchers = r.Vouchers[:min(len(r.Vouchers), 5)]
	r.Warners = r.Warners[:min(len(r.Warners), 5)]
	r.Paths = v.Paths(t, 3, 6)
	return r
}
