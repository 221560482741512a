package training

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/gen"
	"github.com/kith-net/kith/trust"
)

// Predictor is a trained ranking model: the probability, in [0, 1], that
// the owner would vouch for (rather than warn about) a target with these
// features. *trust.Model, *Ensemble and *MLP are Predictors.
type Predictor interface {
	Predict(f *trust.Features) float64
}

// The model classes Compare measures, in the order of its report.
const (
	ClassLogistic = "logistic" // trust.Train, as Default trains it
	ClassEnsemble = "gbdt"     // TrainEnsemble with the default EnsembleParams
	ClassMLP      = "mlp"      // TrainMLP with the default MLPParams, seeded from Options.Seed
	// ClassMonotoneEnsemble is the ensemble constrained to FeatureSigns
	// like the logistic regression: the fair comparison for kith, whose
	// scores promise that more trusted vouches never lower a score.
	ClassMonotoneEnsemble = "gbdt-monotone"
	// ClassAdditiveEnsemble is the monotone ensemble of depth-1 trees: a
	// sum of one step function per feature, so like the logistic
	// regression it splits a score into per-feature contributions (what
	// kith's explanations show), but each contribution may be nonlinear.
	ClassAdditiveEnsemble = "gbdt-additive"
)

// classes are the classes Compare trains, in the order of its report.
var classes = []string{ClassLogistic, ClassEnsemble, ClassMonotoneEnsemble, ClassAdditiveEnsemble, ClassMLP}

// CompareReport is what Compare measured. Everything in it except the
// wall-clock fields of ClassResult (TrainTime, PredictNs) follows from the
// options.
type CompareReport struct {
	Seed            uint64
	Markets, Raters int
	TrainExamples   int
	TrainBaseRate   float64 // share of vouches among the training examples
	TrainEntropy    float64 // log loss (nats) of always predicting TrainBaseRate
	// Sets are the held-out evaluation sets: Default's held-out market
	// first, then markets with parameters outside the training ranges.
	Sets    []EvalSet
	Classes []ClassResult
}

// EvalSet is one held-out evaluation set: the judgements (not cold) of
// Raters sampled raters of one synthetic market.
type EvalSet struct {
	Name        string
	Note        string // how its parameters differ from the training markets'
	Examples    int
	BaseRate    float64 // share of vouches
	BaseLogLoss float64 // log loss of always predicting BaseRate: what a model must beat
	// FeatureAUC is each feature's AUC on its own, ranking warnings by the
	// feature against its sign (low first for a positive or free sign):
	// above 0.5 it points the way FeatureSigns says.
	FeatureAUC [trust.NumFeatures]float64
	Params     gen.MarketParams
}

// ClassResult is one model class's measurements.
type ClassResult struct {
	Class        string
	Bytes        int     // size of the compact JSON encoding of the model
	TrainLogLoss float64 // mean log loss (nats) on the training examples
	TrainAUC     float64
	Sets         []Quality // one per CompareReport.Sets, in order
	// TrainTime and PredictNs are wall-clock measurements on whatever
	// else the machine was doing: they vary between runs.
	TrainTime time.Duration
	PredictNs float64 // mean time of one Predict over the first set
	Model     []byte  `json:"-"` // the compact JSON encoding
}

// Quality is how one model does on one evaluation set.
type Quality struct {
	AUC     float64 // of warnings (the positive class) ranked by 1 − score
	LogLoss float64 // mean, in nats, probabilities clipped to [1e-15, 1 − 1e-15]
	ECE     float64 // expected calibration error, 10 equal-width bins
	// AUCDelta is AUC minus the logistic regression's on the same set and
	// AUCDeltaSE its paired bootstrap standard error over 200 resamples of
	// the examples. The resampling treats judgements as independent,
	// though one rater's are not, so it understates the uncertainty.
	AUCDelta, AUCDeltaSE float64
	// MonotoneViolations is the share of (example, sign-constrained
	// feature) pairs where moving the feature half a training standard
	// deviation in the direction of its trust.FeatureSigns sign lowers the
	// score: 0 means the model kept kith's promise that more trusted
	// vouches never lower a score and more warnings never raise it.
	MonotoneViolations float64
	// MonotoneByFeature is the same share for each feature on its own (0
	// for the unconstrained ones).
	MonotoneByFeature [trust.NumFeatures]float64
}

// outOfRange are the generalisation markets: each starts from
// gen.DefaultMarket and moves some parameters outside the ranges Default
// draws its markets from (nodes 3000–8000, 4–8 edges per node, bad share
// 0.05–0.25, noise 0.02–0.10, collusion 0.2–0.7, retaliation 0.1–0.5,
// activity 1.3–2.0, reciprocity 0.2–0.9, strong complaints 0.2–0.9,
// praise 0.05–0.35).
var outOfRange = []struct {
	name, note string
	set        func(p *gen.MarketParams)
}{
	{"hostile", "bad share 0.40, collusion 0.85, retaliation 0.70", func(p *gen.MarketParams) {
		p.BadShare, p.Collusion, p.Retaliation = 0.40, 0.85, 0.70
	}},
	{"noisy", "noise 0.20, strong complaints 0.05, praise 0.60", func(p *gen.MarketParams) {
		p.Noise, p.StrongComplaint, p.Praise = 0.20, 0.05, 0.60
	}},
	{"sparse", "12000 nodes, 2 edges per node, activity 2.6, reciprocity 0.05", func(p *gen.MarketParams) {
		p.Nodes, p.Edges, p.Activity, p.Reciprocity = 12000, 24000, 2.6, 0.05
	}},
	{"dense", "2000 nodes, 14 edges per node, activity 1.1, reciprocity 0.97", func(p *gen.MarketParams) {
		p.Nodes, p.Edges, p.Activity, p.Reciprocity = 2000, 28000, 1.1, 0.97
	}},
	{"clean", "bad share 0.01, noise 0.005", func(p *gen.MarketParams) {
		p.BadShare, p.Noise = 0.01, 0.005
	}},
}

// Compare measures which model class kith's ranking model should be. It
// builds exactly the training and held-out examples that Default builds
// for o, plus the judgements of o.Raters raters in each of the
// out-of-range markets (from their own generator seeded by o.Seed, so
// Default's markets are untouched), trains the logistic regression (as
// Default does), a gradient-boosted tree ensemble (free; monotone like
// the logistic regression; monotone and additive) and an MLP on the
// training examples, and measures each on every held-out set.
func Compare(ctx context.Context, o Options) (CompareReport, error) {
	o = o.withDefaults()
	total := (o.Markets + 1 + len(outOfRange)) * o.Raters
	progress := func(d int) {
		if o.Progress != nil {
			o.Progress(d, total)
		}
	}
	inner := o
	inner.Progress = func(d, _ int) { progress(d) }
	train, heldOut, params, err := exampleSets(ctx, inner)
	if err != nil {
		return CompareReport{}, fmt.Errorf("training: compare: %w", err)
	}
	rep := CompareReport{Seed: o.Seed, Markets: o.Markets, Raters: o.Raters, TrainExamples: len(train)}
	rep.TrainBaseRate = baseRate(train)
	rep.TrainEntropy = entropy(rep.TrainBaseRate)
	sets := [][]trust.Example{heldOut}
	rep.Sets = append(rep.Sets, EvalSet{Name: "held-out", Note: "Default's held-out market (in range)", Params: params[len(params)-1]})

	rng := rand.New(rand.NewPCG(o.Seed, 0x6f6f72)) // "oor": out of range
	eng := &trust.Engine{}
	done := (o.Markets + 1) * o.Raters
	for _, s := range outOfRange {
		p := gen.DefaultMarket
		p.Seed = rng.Uint64()
		s.set(&p)
		m, err := gen.NewMarket(p)
		if err != nil {
			return CompareReport{}, fmt.Errorf("training: compare: market %s: %w", s.name, err)
		}
		qs := raters(m.Graph, o.Raters, rng)
		base := done
		ex, err := eng.Collect(ctx, m.Graph, qs, false, o.Workers, func(d, _ int) { progress(base + d) })
		if err != nil {
			return CompareReport{}, fmt.Errorf("training: compare: market %s: %w", s.name, err)
		}
		done += len(qs)
		sets = append(sets, ex)
		rep.Sets = append(rep.Sets, EvalSet{Name: s.name, Note: s.note, Params: p})
	}
	for i, ex := range sets {
		rep.Sets[i].Examples = len(ex)
		rep.Sets[i].BaseRate = baseRate(ex)
		rep.Sets[i].BaseLogLoss = entropy(rep.Sets[i].BaseRate)
		rep.Sets[i].FeatureAUC = featureAUCs(ex)
	}

	// Train every class on the same examples.
	type trained struct {
		class string
		pred  Predictor
		bytes []byte
		took  time.Duration
	}
	var models []trained
	for _, class := range classes {
		if err := ctx.Err(); err != nil {
			return CompareReport{}, fmt.Errorf("training: compare: %w", err)
		}
		start := time.Now()
		var (
			pred Predictor
			b    []byte
			err  error
		)
		switch class {
		case ClassLogistic:
			var m *trust.Model
			m, err = trust.Train(train, nil, trust.TrainParams{L2: 1}, "training.Compare")
			if err == nil {
				pred = m
				b, err = json.Marshal(m)
			}
		case ClassEnsemble, ClassMonotoneEnsemble, ClassAdditiveEnsemble:
			p := EnsembleParams{Monotone: class != ClassEnsemble}
			if class == ClassAdditiveEnsemble {
				p.Depth = 1
			}
			var e *Ensemble
			e, err = TrainEnsemble(train, p)
			if err == nil {
				pred = e
				b, err = e.Marshal()
			}
		case ClassMLP:
			var m *MLP
			m, err = TrainMLP(train, MLPParams{Seed: o.Seed})
			if err == nil {
				pred = m
				b, err = m.Marshal()
			}
		}
		took := time.Since(start)
		if err != nil {
			return CompareReport{}, fmt.Errorf("training: compare: %s: %w", class, err)
		}
		models = append(models, trained{class, pred, b, took})
	}

	// Measure. The logistic regression (models[0]) is the reference of
	// the paired AUC differences; its standardisation sets the step of
	// the monotonicity check.
	lr := models[0].pred.(*trust.Model)
	refScores := make([][]float64, len(sets))
	for s, ex := range sets {
		refScores[s] = predictions(lr, ex)
	}
	for _, m := range models {
		r := ClassResult{Class: m.class, Bytes: len(m.bytes), TrainTime: m.took, Model: m.bytes}
		tp := predictions(m.pred, train)
		r.TrainAUC = warnAUC(tp, train)
		r.TrainLogLoss = logLoss(tp, train)
		for s, ex := range sets {
			p := predictions(m.pred, ex)
			q := Quality{AUC: warnAUC(p, ex), LogLoss: logLoss(p, ex), ECE: calibrationError(p, ex, 10)}
			if m.class != ClassLogistic {
				q.AUCDelta, q.AUCDeltaSE = pairedAUCDelta(p, refScores[s], ex, rand.New(rand.NewPCG(o.Seed, uint64(s))))
			}
			q.MonotoneViolations, q.MonotoneByFeature = monotoneViolations(m.pred, ex, lr.Scale)
			r.Sets = append(r.Sets, q)
		}
		r.PredictNs = predictNs(m.pred, sets[0])
		rep.Classes = append(rep.Classes, r)
	}
	return rep, nil
}

// FormatReport renders a report as Markdown tables: the evaluation sets,
// one table per class, and the cost of each class.
func FormatReport(r CompareReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Seed %d: %d training markets × %d raters, %d training examples, vouch share %.3f, base-rate entropy %.4f nats.\n\n",
		r.Seed, r.Markets, r.Raters, r.TrainExamples, r.TrainBaseRate, r.TrainEntropy)
	b.WriteString("| set | parameters | examples | vouch share | base-rate log loss |\n|---|---|--:|--:|--:|\n")
	for _, s := range r.Sets {
		fmt.Fprintf(&b, "| %s | %s | %d | %.3f | %.4f |\n", s.Name, s.Note, s.Examples, s.BaseRate, s.BaseLogLoss)
	}
	b.WriteString("\nEach feature's AUC on its own, in the direction of its sign:\n\n| set |")
	for _, n := range trust.FeatureNames {
		b.WriteString(" " + n + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", trust.NumFeatures) + "\n")
	for _, s := range r.Sets {
		b.WriteString("| " + s.Name + " |")
		for _, a := range s.FeatureAUC {
			fmt.Fprintf(&b, " %.3f |", a)
		}
		b.WriteString("\n")
	}
	for _, c := range r.Classes {
		fmt.Fprintf(&b, "\n**%s** (%d bytes; training log loss %.4f, training AUC %.4f)\n\n", c.Class, c.Bytes, c.TrainLogLoss, c.TrainAUC)
		b.WriteString("| set | AUC | AUC − logistic (± SE) | log loss | ECE | monotonicity violations |\n|---|--:|--:|--:|--:|--:|\n")
		for i, q := range c.Sets {
			delta := "—"
			if c.Class != ClassLogistic {
				delta = fmt.Sprintf("%+.4f (± %.4f)", q.AUCDelta, q.AUCDeltaSE)
			}
			fmt.Fprintf(&b, "| %s | %.4f | %s | %.4f | %.4f | %.2f%% |\n", r.Sets[i].Name, q.AUC, delta, q.LogLoss, q.ECE, 100*q.MonotoneViolations)
		}
		if c.Class != ClassLogistic && len(c.Sets) > 0 {
			b.WriteString("\nMonotonicity violations on " + r.Sets[0].Name + " by feature:")
			for j, sg := range trust.FeatureSigns {
				if sg != 0 {
					fmt.Fprintf(&b, " %s %.1f%%", trust.FeatureNames[j], 100*c.Sets[0].MonotoneByFeature[j])
				}
			}
			b.WriteString(".\n")
		}
	}
	b.WriteString("\n| class | bytes (compact JSON) | training time | Predict ns/op |\n|---|--:|--:|--:|\n")
	for _, c := range r.Classes {
		fmt.Fprintf(&b, "| %s | %d | %s | %.0f |\n", c.Class, c.Bytes, c.TrainTime.Round(time.Millisecond), c.PredictNs)
	}
	return b.String()
}

// featureAUCs returns each feature's AUC on its own (see
// EvalSet.FeatureAUC).
func featureAUCs(ex []trust.Example) [trust.NumFeatures]float64 {
	var a [trust.NumFeatures]float64
	scores := make([]float64, len(ex))
	warn := make([]bool, len(ex))
	for j, sg := range trust.FeatureSigns {
		dir := -1.0
		if sg < 0 {
			dir = 1
		}
		for i := range ex {
			scores[i] = dir * ex[i].Features.Values[j]
			warn[i] = !ex[i].Vouch
		}
		a[j] = eval.AUC(scores, warn)
	}
	return a
}

// predictions returns p's probability of a vouch for each example.
func predictions(p Predictor, ex []trust.Example) []float64 {
	out := make([]float64, len(ex))
	for i := range ex {
		out[i] = p.Predict(&ex[i].Features)
	}
	return out
}

// warnAUC is the ROC AUC of warnings ranked by 1 − probability of a vouch,
// as Default reports it.
func warnAUC(p []float64, ex []trust.Example) float64 {
	scores := make([]float64, len(ex))
	warn := make([]bool, len(ex))
	for i := range ex {
		scores[i] = 1 - p[i]
		warn[i] = !ex[i].Vouch
	}
	return eval.AUC(scores, warn)
}

// logLoss is the mean weighted negative log-likelihood of the labels under
// probabilities p, clipped away from 0 and 1 so one confident mistake
// costs a lot but not infinity.
func logLoss(p []float64, ex []trust.Example) float64 {
	const eps = 1e-15
	var sum, sw float64
	for i := range ex {
		w := weight(&ex[i])
		q := math.Min(math.Max(p[i], eps), 1-eps)
		if ex[i].Vouch {
			sum -= w * math.Log(q)
		} else {
			sum -= w * math.Log(1-q)
		}
		sw += w
	}
	if sw == 0 {
		return math.NaN()
	}
	return sum / sw
}

// calibrationError is trust.CalibrationError over any probabilities: the
// mean, over examples, of |observed vouch rate − mean prediction| of their
// equal-width bin.
func calibrationError(p []float64, ex []trust.Example, bins int) float64 {
	if len(ex) == 0 || bins < 1 {
		return 0
	}
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	for i := range ex {
		b := min(int(p[i]*float64(bins)), bins-1)
		sumP[b] += p[i]
		if ex[i].Vouch {
			sumY[b]++
		}
	}
	e := 0.0
	for b := range bins {
		e += math.Abs(sumY[b]-sumP[b]) / float64(len(ex))
	}
	return e
}

// pairedAUCDelta returns the AUC of p minus that of ref on ex, and the
// standard deviation of that difference over 200 bootstrap resamples of
// the examples (the same resample for both).
func pairedAUCDelta(p, ref []float64, ex []trust.Example, rng *rand.Rand) (delta, se float64) {
	delta = warnAUC(p, ex) - warnAUC(ref, ex)
	const resamples = 200
	n := len(ex)
	if n == 0 {
		return delta, math.NaN()
	}
	sp := make([]float64, n)
	sr := make([]float64, n)
	warn := make([]bool, n)
	var sum, sum2 float64
	used := 0
	for range resamples {
		for i := range n {
			k := rng.IntN(n)
			sp[i], sr[i], warn[i] = 1-p[k], 1-ref[k], !ex[k].Vouch
		}
		d := eval.AUC(sp, warn) - eval.AUC(sr, warn)
		if math.IsNaN(d) {
			continue // a resample with one class only
		}
		sum += d
		sum2 += d * d
		used++
	}
	if used < 2 {
		return delta, math.NaN()
	}
	mean := sum / float64(used)
	return delta, math.Sqrt(math.Max(sum2/float64(used)-mean*mean, 0) * float64(used) / float64(used-1))
}

// monotoneViolations is the share of (example, sign-constrained feature)
// pairs where adding half of scale[j] to feature j in the direction of its
// sign lowers the score by more than rounding, overall and per feature.
func monotoneViolations(p Predictor, ex []trust.Example, scale []float64) (all float64, byFeature [trust.NumFeatures]float64) {
	if len(ex) == 0 {
		return 0, byFeature
	}
	var bad [trust.NumFeatures]int
	constrained := 0
	for j, sg := range trust.FeatureSigns {
		if sg == 0 {
			continue
		}
		constrained++
		for i := range ex {
			f := ex[i].Features
			base := p.Predict(&f)
			f.Values[j] += float64(sg) * 0.5 * scale[j]
			if p.Predict(&f) < base-1e-12 {
				bad[j]++
			}
		}
	}
	total := 0
	for j := range bad {
		byFeature[j] = float64(bad[j]) / float64(len(ex))
		total += bad[j]
	}
	return float64(total) / float64(constrained*len(ex)), byFeature
}

// predictNs is the mean wall-clock time of one Predict over ex, repeated
// for at least 100 ms. (A call through the interface cannot be optimised
// away, so its result need not be kept.)
func predictNs(p Predictor, ex []trust.Example) float64 {
	if len(ex) == 0 {
		return math.NaN()
	}
	calls := 0
	start := time.Now()
	for time.Since(start) < 100*time.Millisecond {
		for i := range ex {
			p.Predict(&ex[i].Features)
		}
		calls += len(ex)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(calls)
}

// baseRate is the weighted share of vouches.
func baseRate(ex []trust.Example) float64 {
	var sw, sy float64
	for i := range ex {
		w := weight(&ex[i])
		sw += w
		if ex[i].Vouch {
			sy += w
		}
	}
	if sw == 0 {
		return math.NaN()
	}
	return sy / sw
}

// entropy is the log loss, in nats, of always predicting rate: the
// base-rate entropy a model has to beat to have learnt anything.
func entropy(rate float64) float64 {
	if rate <= 0 || rate >= 1 {
		return 0
	}
	return -rate*math.Log(rate) - (1-rate)*math.Log(1-rate)
}

// The helpers below are shared by the candidate models.

// weight is an example's weight (0 means 1, as in trust.Example).
func weight(e *trust.Example) float64 {
	if e.Weight == 0 {
		return 1
	}
	return e.Weight
}

// labels returns 1 for a vouch and 0 for a warning, and each weight.
func labels(ex []trust.Example) (y, w []float64) {
	y = make([]float64, len(ex))
	w = make([]float64, len(ex))
	for i := range ex {
		if ex[i].Vouch {
			y[i] = 1
		}
		w[i] = weight(&ex[i])
	}
	return y, w
}

// standardise returns the examples' standardised feature vectors.
func standardise(ex []trust.Example, mean, scale []float64) [][trust.NumFeatures]float64 {
	xs := make([][trust.NumFeatures]float64, len(ex))
	for i := range ex {
		for j, x := range ex[i].Features.Values {
			xs[i][j] = (x - mean[j]) / scale[j]
		}
	}
	return xs
}

// checkStandardisation validates a decoded mean and scale.
func checkStandardisation(mean, scale []float64) error {
	if len(mean) != trust.NumFeatures || len(scale) != trust.NumFeatures {
		return fmt.Errorf("%w: %d means and %d scales for %d features", ErrCandidate, len(mean), len(scale), trust.NumFeatures)
	}
	for j := range mean {
		if !finite(mean[j]) || !finite(scale[j]) || !(scale[j] > 0) {
			return fmt.Errorf("%w: feature %s: mean %v scale %v", ErrCandidate, trust.FeatureNames[j], mean[j], scale[j])
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
