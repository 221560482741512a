package eval

import (
	"context"
	"fmt"

	"github.com/kith-net/kith/simulations/baseline"
	"github.com/kith-net/kith/trust"
)

// Engine is a scoring method under evaluation: a name for the reports and a
// constructor. Run calls New once per run and shares the scorer across its
// workers (trust.Scorer values are safe for concurrent use).
type Engine struct {
	Name string
	New  func() trust.Scorer
}

// WeightPredictor is implemented by scorers that predict an edge's weight
// directly (Fairness/Goodness: fairness(u)·goodness(v)). The harness then
// uses the prediction, in [-1, 1], both as the weight and as the ranking
// score for sign AUC and macro-F1, and fits no calibration. ok is false
// when the scorer has no evidence about u->v.
type WeightPredictor interface {
	PredictWeight(ctx context.Context, g *trust.Graph, u, v trust.NodeID) (w float64, ok bool)
}

// BatchWeightPredictor is an optional, faster form of WeightPredictor:
// predict every pair From->To of g at once; with leaveOneOut, predict each
// pair from g without that pair's edge. Global methods implement it to
// avoid recomputing per pair (Fairness/Goodness updates its fixed point
// locally per left-out edge).
type BatchWeightPredictor interface {
	PredictWeights(ctx context.Context, g *trust.Graph, pairs []trust.Edge, leaveOneOut bool, out []float64, ok []bool) error
}

// TrustMasser is implemented by scorers whose ranking score is not itself
// a share of the querier's trust (kith's engine scores a probability).
// Task C then measures captured trust on TrustMass, the querier's trust
// mass over the nodes, and acceptance on the ranking score.
type TrustMasser interface {
	TrustMass(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error
}

// NodeScorer is implemented by scorers that can score a few nodes for
// less than all of them; the harness then asks only for the nodes it reads.
// ScoreNodes must give the same answers as Score for those nodes.
type NodeScorer interface {
	ScoreNodes(ctx context.Context, g *trust.Graph, q trust.NodeID, nodes []trust.NodeID, dst []float64) error
}

// TimedScorer is implemented by scorers whose features take the ages of
// statements (kith's engine): with Config.AskAtJudgement the harness asks
// each question at the time of the judgement it predicts, at[i] for
// nodes[i] (trust.View.SetNow), instead of calling ScoreNodes and Levels.
type TimedScorer interface {
	ScoreNodesAt(ctx context.Context, g *trust.Graph, q trust.NodeID, nodes []trust.NodeID, at []int64, dst []float64) error
	LevelsAt(ctx context.Context, g *trust.Graph, q trust.NodeID, nodes []trust.NodeID, at []int64, dst []float64) error
}

// LevelPredictor is implemented by scorers with a level head of their own
// (kith's engine): the predicted signed weight of q's judgement of each
// node. The harness then takes the weight figures (RMSE, PCC, MAE) from it
// instead of fitting a calibration to the score, and still ranks by the
// score for AUC and macro-F1.
type LevelPredictor interface {
	Levels(ctx context.Context, g *trust.Graph, q trust.NodeID, nodes []trust.NodeID, dst []float64) error
}

// Probabilistic is implemented by scorers whose score is the probability
// that the querier judges the node positively (kith's engine): the harness
// then reports its expected calibration error and reliability bins.
type Probabilistic interface {
	Probabilistic() bool
}

func isProbabilistic(s trust.Scorer) bool {
	p, ok := s.(Probabilistic)
	return ok && p.Probabilistic()
}

// GlobalScorer is implemented by scorers whose scores ignore the querier;
// the harness then scores each graph once instead of once per querier.
type GlobalScorer interface {
	Global() bool
}

// Baselines returns the baseline engines with their default parameters
// (see package baseline), in report order: personalised first, then
// global.
func Baselines() []Engine {
	return []Engine{
		{"ppr", func() trust.Scorer { return must(baseline.NewPPR(baseline.DefaultPowerParams())) }},
		{"ppr-mc", func() trust.Scorer { return must(baseline.NewPPRMonteCarlo(baseline.DefaultWalkParams())) }},
		{"meritrank", func() trust.Scorer { return must(baseline.NewMeritRank(baseline.DefaultMeritRankParams())) }},
		{"appleseed", func() trust.Scorer { return must(baseline.NewAppleseed(baseline.DefaultAppleseedParams())) }},
		{"moletrust", func() trust.Scorer { return must(baseline.NewMoleTrust(baseline.DefaultMoleTrustParams())) }},
		{"pagerank", func() trust.Scorer { return must(baseline.NewPageRank(baseline.DefaultPowerParams())) }},
		{"eigentrust", func() trust.Scorer { return must(baseline.NewEigenTrust(baseline.DefaultEigenTrustParams())) }},
		{"fairness-goodness", func() trust.Scorer {
			return must(baseline.NewFairnessGoodness(baseline.DefaultFairnessGoodnessParams()))
		}},
		{"mean-rating", func() trust.Scorer { return baseline.NewMeanRating() }},
	}
}

// EngineByName returns the engine of that name among engines.
func EngineByName(engines []Engine, name string) (Engine, error) {
	for _, e := range engines {
		if e.Name == name {
			return e, nil
		}
	}
	return Engine{}, fmt.Errorf("eval: no engine %q", name)
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err) // the defaults are valid: a failure is a bug in package baseline
	}
	return x
}

func isGlobal(s trust.Scorer) bool {
	g, ok := s.(GlobalScorer)
	return ok && g.Global()
}
