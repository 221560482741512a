// Package training makes kith's default ranking model, reproducibly, from
// synthetic marketplaces (simulations/gen) and never from an evaluation
// data set: `kith model train --synthetic` runs it and writes
// trust/model/default.json.
//
// It is deterministic for a seed: the markets, the sampled raters and the
// fit follow from it.
package training

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/gen"
	"github.com/kith-net/kith/trust"
)

// Options configure Default.
type Options struct {
	Seed uint64
	// Markets is how many synthetic markets to train on (0: 6); one more
	// is generated to report held-out quality.
	Markets int
	// Raters is how many raters per market give their judgements (0: 400).
	Raters int
	// Workers bounds parallelism (0: GOMAXPROCS).
	Workers int
	// Progress reports (done, total) raters across all markets.
	Progress func(done, total int)
}

// Report says how the model was made and how it does on a held-out market.
type Report struct {
	Examples         int
	HeldOutExamples  int
	HeldOutAUC       float64 // AUC of "warn" against the model's 1 − score
	HeldOutECE       float64 // expected calibration error, 10 bins
	HeldOutBaseRate  float64 // share of vouches
	MarketParameters []gen.MarketParams
}

// Default trains the default model.
func Default(ctx context.Context, o Options) (*trust.Model, Report, error) {
	o = o.withDefaults()
	train, heldOut, params, err := exampleSets(ctx, o)
	if err != nil {
		return nil, Report{}, err
	}
	model, err := trust.Train(train, nil, trust.TrainParams{L2: 1},
		fmt.Sprintf("kith model train --synthetic --seed %d: logistic regression on %d judgements (each hidden from its own features, plus the same judgements made cold, with all of the rater's statements hidden) of %d raters in %d synthetic marketplaces (simulations/gen); no evaluation data", o.Seed, len(train), o.Markets*o.Raters, o.Markets))
	if err != nil {
		return nil, Report{}, err
	}
	r := Report{Examples: len(train), HeldOutExamples: len(heldOut), MarketParameters: params}
	r.HeldOutAUC, r.HeldOutBaseRate = auc(model, heldOut)
	r.HeldOutECE = trust.CalibrationError(model, heldOut, 10)
	return model, r, nil
}

// withDefaults fills in the zero fields that have defaults.
func (o Options) withDefaults() Options {
	if o.Markets == 0 {
		o.Markets = 6
	}
	if o.Raters == 0 {
		o.Raters = 400
	}
	return o
}

// exampleSets generates Default's markets from o.Seed (o with defaults
// filled in) and collects the judgements of their sampled raters: the
// training examples (with cold-start judgements) from the first o.Markets
// markets and the held-out examples from the last one. It is shared by
// Default and Compare so that both see exactly the same examples.
func exampleSets(ctx context.Context, o Options) (train, heldOut []trust.Example, params []gen.MarketParams, err error) {
	rng := rand.New(rand.NewPCG(o.Seed, 0x747261696e))
	params = marketParams(rng, o.Markets+1)
	total := (o.Markets + 1) * o.Raters
	done := 0
	eng := &trust.Engine{}
	for i, p := range params {
		m, err := gen.NewMarket(p)
		if err != nil {
			return nil, nil, nil, err
		}
		qs := raters(m.Graph, o.Raters, rng)
		base := done
		ex, err := eng.Collect(ctx, m.Graph, qs, i < o.Markets, o.Workers, func(d, _ int) {
			if o.Progress != nil {
				o.Progress(base+d, total)
			}
		})
		if err != nil {
			return nil, nil, nil, err
		}
		done += len(qs)
		if i < o.Markets {
			train = append(train, ex...)
		} else {
			heldOut = ex
		}
	}
	return train, heldOut, params, nil
}

// marketParams draws the parameters of n synthetic markets, varied so
// that a model does not learn one parameter setting.
func marketParams(rng *rand.Rand, n int) []gen.MarketParams {
	var params []gen.MarketParams
	for range n {
		p := gen.DefaultMarket
		p.Seed = rng.Uint64()
		p.Nodes = 3000 + rng.IntN(5000)
		p.Edges = p.Nodes * (4 + rng.IntN(5))
		p.BadShare = 0.05 + 0.2*rng.Float64()
		p.Noise = 0.02 + 0.08*rng.Float64()
		p.Collusion = 0.2 + 0.5*rng.Float64()
		p.Retaliation = 0.1 + 0.4*rng.Float64()
		p.Activity = 1.3 + 0.7*rng.Float64()
		p.Reciprocity = 0.2 + 0.7*rng.Float64()
		p.StrongComplaint = 0.2 + 0.7*rng.Float64()
		p.Praise = 0.05 + 0.3*rng.Float64()
		p.CollusionBoost = rng.Float64()
		params = append(params, p)
	}
	return params
}

// raters samples up to k nodes with at least one out-edge.
func raters(g *trust.Graph, k int, rng *rand.Rand) []trust.NodeID {
	var all []trust.NodeID
	for u := range trust.NodeID(g.N()) {
		if to, _ := g.Out(u); len(to) > 0 {
			all = append(all, u)
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	all = all[:min(k, len(all))]
	slices.Sort(all)
	return all
}

// auc is the ROC AUC of warnings (the positive class) ranked by 1 − score;
// it also returns the vouch share.
func auc(m Predictor, ex []trust.Example) (float64, float64) {
	scores := make([]float64, len(ex))
	warn := make([]bool, len(ex))
	vouches := 0
	for i := range ex {
		scores[i] = 1 - m.Predict(&ex[i].Features)
		warn[i] = !ex[i].Vouch
		if ex[i].Vouch {
			vouches++
		}
	}
	return eval.AUC(scores, warn), float64(vouches) / float64(max(len(ex), 1))
}
