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

//go:embed model/level.json
var defaultLevelFile []byte

var (
	defaultModel = sync.OnceValues(func() (*Model, error) { return ParseModel(defaultModelFile) })
	defaultLevel = sync.OnceValues(func() (*LevelModel, error) { return ParseLevelModel(defaultLevelFile) })
)

// DefaultLevelModel returns the level head shipped with kith
// (trust/model/level.json), made with DefaultModel.
func DefaultLevelModel() *LevelModel {
	l, err := defaultLevel()
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return l
}

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
	// Level is the level head, what Levels predicts with (nil means
	// DefaultLevelModel; it was made with DefaultModel).
	Level *LevelModel
}

// DefaultPersonalL2 is the default pull toward the shared model when a
// model is refined on one owner's judgements.
const DefaultPersonalL2 = 20

// Personalized returns the model refined on the querier's judgements in v
// (the shared model itself when the querier has none).
func (e *Engine) Personalized(ctx context.Context, v *View) (*Model, error) {
	own, err := v.OwnCrowd(ctx, e.Linked)
	if err != nil {
		return nil, err
	}
	return e.refine(own)
}

// Name implements Scorer: "kith", or "kith-shared" when the engine does
// not personalise its model.
func (e *Engine) Name() string {
	if e.Personalize {
		return "kith"
	}
	return "kith-shared"
}

// Probabilistic reports that the engine's scores are probabilities of a
// positive judgement (the evaluation reports their calibration).
func (e *Engine) Probabilistic() bool { return true }

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

// Score implements Scorer: for every covered node, the probability that
// the querier would judge it positively, in [0, 1] (Model.Answer: the
// crowd's evidence through the model, on the side of neutral the
// querier's own statement sets, if any); NoEvidence for the others and for
// the querier. The crowd's features of a node the querier has a statement
// about are computed with that statement hidden, one incremental update
// per statement (View.OwnCrowd).
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

// ScoreView scores every node of an existing view (see Score).
func (e *Engine) ScoreView(ctx context.Context, v *View, dst []float64) error {
	if len(dst) != v.N() {
		return fmt.Errorf("trust: score: dst has %d entries for %d nodes", len(dst), v.N())
	}
	own, err := v.OwnCrowd(ctx, e.Linked)
	if err != nil {
		return err
	}
	m := e.model()
	if e.Personalize {
		if m, err = e.refine(own); err != nil {
			return err
		}
	}
	q := v.Querier()
	for t := range NodeID(v.N()) {
		if t&0xff == 0xff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if t == q {
			dst[t] = NoEvidence
			continue
		}
		f, ok := own.Features(t)
		if !ok {
			f = v.Features(t, e.Linked)
		}
		if !f.Covered {
			dst[t] = NoEvidence
			continue
		}
		dst[t] = m.Answer(&f)
	}
	return nil
}

// ScoreNodes is Score for the nodes of need only (entries of dst for
// other nodes are left as they are): the same answers, at the cost of the
// nodes asked about rather than of every node.
func (e *Engine) ScoreNodes(ctx context.Context, g *Graph, q NodeID, need []NodeID, dst []float64) error {
	return e.ScoreNodesAt(ctx, g, q, need, nil, dst)
}

// ScoreNodesAt is ScoreNodes with each question asked at a time of its
// own, at[i] for need[i] (View.SetNow; nil or 0: the view's newest
// statement): the evaluation asks each at the time of the judgement it
// predicts. The owner's own judgements a personalising engine refines on
// are still asked at the view's newest statement.
func (e *Engine) ScoreNodesAt(ctx context.Context, g *Graph, q NodeID, need []NodeID, at []int64, dst []float64) error {
	if at != nil && len(at) != len(need) {
		return fmt.Errorf("trust: score: %d times for %d nodes", len(at), len(need))
	}
	if len(dst) != g.N() {
		return fmt.Errorf("trust: score: dst has %d entries for %d nodes", len(dst), g.N())
	}
	v, err := e.View(ctx, g, q)
	if err != nil {
		return err
	}
	m := e.model()
	var own *OwnCrowd
	if e.Personalize {
		if own, err = v.OwnCrowd(ctx, e.Linked); err != nil {
			return err
		}
		if m, err = e.refine(own); err != nil {
			return err
		}
	}
	return e.scoreViewNodes(ctx, v, m, own, need, at, dst)
}

// ScoreViewNodes scores the nodes of need in v as ScoreView does, with
// model m (the engine's, or one refined on the owner's judgements), and
// own, the owner's statements with the crowd's features (View.OwnCrowd;
// nil computes them for the nodes of need the owner has a statement
// about), leaving the other entries of dst as they are.
func (e *Engine) ScoreViewNodes(ctx context.Context, v *View, m *Model, own *OwnCrowd, need []NodeID, dst []float64) error {
	return e.scoreViewNodes(ctx, v, m, own, need, nil, dst)
}

func (e *Engine) scoreViewNodes(ctx context.Context, v *View, m *Model, own *OwnCrowd, need []NodeID, at []int64, dst []float64) error {
	q := v.Querier()
	defer v.SetNow(v.now)
	for i, t := range need {
		if i&0xff == 0xff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		dst[t] = NoEvidence
		if t == q {
			continue
		}
		f, ok := own.Features(t)
		if !ok {
			if at != nil {
				v.SetNow(at[i])
			}
			var err error
			if f, err = v.Crowd(ctx, t, e.Linked); err != nil {
				return err
			}
		}
		if f.Covered {
			dst[t] = m.Answer(&f)
		}
	}
	return nil
}

// Levels predicts, for the nodes of need, the signed strength of q's
// judgement (LevelModel), with the crowd's features as Score reads them
// and the ranking model's log-odds (refined when the engine
// personalises); NoEvidence where there is no evidence. Entries of dst
// for other nodes are left as they are.
func (e *Engine) Levels(ctx context.Context, g *Graph, q NodeID, need []NodeID, dst []float64) error {
	return e.LevelsAt(ctx, g, q, need, nil, dst)
}

// LevelsAt is Levels with each question asked at a time of its own, as
// ScoreNodesAt.
func (e *Engine) LevelsAt(ctx context.Context, g *Graph, q NodeID, need []NodeID, at []int64, dst []float64) error {
	if at != nil && len(at) != len(need) {
		return fmt.Errorf("trust: levels: %d times for %d nodes", len(at), len(need))
	}
	if len(dst) != g.N() {
		return fmt.Errorf("trust: levels: dst has %d entries for %d nodes", len(dst), g.N())
	}
	v, err := e.View(ctx, g, q)
	if err != nil {
		return err
	}
	m := e.model()
	if e.Personalize {
		if m, err = e.Personalized(ctx, v); err != nil {
			return err
		}
	}
	l := e.Level
	if l == nil {
		l = DefaultLevelModel()
	}
	for i, t := range need {
		dst[t] = NoEvidence
		if t == q {
			continue
		}
		if at != nil {
			v.SetNow(at[i])
		}
		f, err := v.Crowd(ctx, t, e.Linked)
		if err != nil {
			return err
		}
		if f.Covered {
			dst[t] = l.Level(m.Logit(&f), &f)
		}
	}
	return nil
}

// refine returns the engine's model refined on the owner's judgements in
// own, or the model itself when refining does not predict them better
// (Refine).
func (e *Engine) refine(own *OwnCrowd) (*Model, error) {
	m, _, err := Refine(own.Examples(), e.model(), e.personalL2())
	return m, err
}

func (e *Engine) personalL2() float64 {
	if e.PersonalL2 == 0 {
		return DefaultPersonalL2
	}
	return e.PersonalL2
}

// Refine refines the engine's model on the owner's judgements in v
// (Refine), for kith model train.
func (e *Engine) Refine(ctx context.Context, v *View) (*Model, RefineReport, error) {
	own, err := v.OwnCrowd(ctx, e.Linked)
	if err != nil {
		return nil, RefineReport{}, err
	}
	return Refine(own.Examples(), e.model(), e.personalL2())
}

// TrustMass fills dst with the share of q's trust that settles on each
// node as the evidence weighs it (View.EffectiveMasses: the propagation's
// mass, less what came through the one contact that brought the most):
// the quantity a Sybil region must capture, bounded by the trust reaching
// its attack edges.
func (e *Engine) TrustMass(ctx context.Context, g *Graph, q NodeID, dst []float64) error {
	if len(dst) != g.N() {
		return fmt.Errorf("trust: trust mass: dst has %d entries for %d nodes", len(dst), g.N())
	}
	v, err := e.View(ctx, g, q)
	if err != nil {
		return err
	}
	copy(dst, v.EffectiveMasses())
	return nil
}

// Result answers "how far does the owner trust t, and why".
type Result struct {
	Target NodeID
	// Covered is false when the view holds no evidence about the target,
	// the owner's own statement included; Score and Confidence are then
	// meaningless (NaN and 0).
	Covered bool
	// Score is the probability that the owner would judge the target
	// positively in this context, in [0, 1]; 0.5 is neutral. Without a
	// statement of the owner's own it is Crowd; with one, the owner's word
	// sets the side (Model.Answer).
	Score float64
	// Crowd is what everyone else's evidence alone gives (NaN when there
	// is none): the model's probability, the owner's own statement about
	// the target hidden.
	Crowd float64
	// Baseline is the model's answer, for this owner, for a subject with no
	// evidence at all; Contributions add up to the crowd's log-odds
	// against it.
	Baseline   float64
	Confidence float64 // in [0, 1): how much independent evidence there is
	Features   Features
	// Contributions are the features that moved the crowd's answer away
	// from Baseline, strongest first, in log-odds; they add up to
	// logit(Crowd) − logit(Baseline).
	Contributions []Contribution
	// Vouchers and Warners are the strongest direct statements about the
	// target by others, weighted by the owner's trust in their authors.
	Vouchers, Warners []Statement
	// Paths are the strongest chains of vouches from the owner to the
	// target's strongest vouchers (and to the target itself).
	Paths []Path
	// Through is the owner's contact through whom most of the trust in
	// the target's raters came, when one did (ThroughShare > 1/2: "most
	// of this comes through one contact"), and -1 otherwise. What it
	// brings counts only ContactRetain of it (see ContactRetain): the
	// limit an explanation shows, also when the target is not covered
	// because of it.
	Through      NodeID
	ThroughShare float64
}

// Contribution is one feature's effect on a score.
type Contribution struct {
	Feature string
	Value   float64
	Logit   float64
}

// Statement is an edge into the target, with the owner's trust in its
// author.
type Statement struct {
	From   NodeID
	Weight float64
	Time   int64   // when it was made (Unix seconds; 0 if unknown)
	Trust  float64 // the owner's trust in From, in [0, 1], as the evidence about the target weighs it (View.RaterTrust)
}

// Path is a chain of vouches; Strength is the trust the owner's vouch at
// its start passes along it to its end, in the units of View.Trust: the
// product of the vouches' shares along it, decayed by 1 − restart at every
// step after the first (the owner's own vouch of strength w alone is a path
// of strength w).
type Path struct {
	Nodes    []NodeID
	Strength float64
}

// Query explains the owner's trust in t in view v, with the engine's
// model (or m, when not nil: a model refined on the owner's judgements).
// It costs two incremental updates of v when the owner has a statement
// about t (to hide it from the crowd's features, and to restore it).
func (e *Engine) Query(ctx context.Context, v *View, m *Model, t NodeID) (Result, error) {
	if m == nil {
		m = e.model()
	}
	f, statements, err := v.crowd(ctx, t, e.Linked)
	if err != nil {
		return Result{}, err
	}
	r := Result{Target: t, Through: -1, Covered: f.Covered, Features: f, Score: NoEvidence, Crowd: NoEvidence, Baseline: Sigmoid(m.Baseline(&f))}
	if len(statements) > 0 {
		// Also when not covered: the raters' trust may all have come
		// through one contact, and counts for nothing for that.
		r.Through, r.ThroughShare = v.Through(t)
	}
	if !f.Covered {
		return r, nil
	}
	r.Score = m.Answer(&f)
	r.Confidence = f.Confidence()
	if f.CrowdCovered() {
		r.Crowd = m.Predict(&f)
		c := m.Contributions(&f)
		for i, x := range c {
			if x != 0 {
				r.Contributions = append(r.Contributions, Contribution{Feature: FeatureNames[i], Value: f.Values[i], Logit: x})
			}
		}
		slices.SortStableFunc(r.Contributions, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Logit), math.Abs(a.Logit)) })
	}
	for _, s := range statements {
		if s.Weight > 0 {
			r.Vouchers = append(r.Vouchers, s)
		} else {
			r.Warners = append(r.Warners, s)
		}
	}
	byWeight := func(a, b Statement) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Weight)*b.Trust, math.Abs(a.Weight)*a.Trust), cmp.Compare(a.From, b.From))
	}
	slices.SortFunc(r.Vouchers, byWeight)
	slices.SortFunc(r.Warners, byWeight)
	r.Vouchers = r.Vouchers[:min(len(r.Vouchers), 5)]
	r.Warners = r.Warners[:min(len(r.Warners), 5)]
	r.Paths = v.Paths(t, 3, 6)
	return r, nil
}
