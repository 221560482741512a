package trust

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ModelVersion is the version of the model file format this package
// writes and reads, and of the meaning of its features. Version 2
// (December 2026) named its features by the definitions of FeatureNames;
// version 3 keeps the names but weighs every rater by the contact-
// discounted trust (ContactRetain), so a model fitted on version 2's
// features would read larger values than it was trained on; version 4
// adds last_warn_share. Files of any other version are refused (ErrModelVersion): train the model again.
const ModelVersion = 4

// Model is the small ranking model: a generalised additive model whose
// log-odds is
//
//	Bias + Σⱼ Weights[j] · shapeⱼ(xⱼ)
//
// where each feature's shape is either linear, (x − Mean[j]) / Scale[j]
// (a logistic regression), or a monotone step function (Steps[j]: the sum
// of the depth-1 trees of a boosted ensemble on that feature). Its output,
// in [0, 1], is the probability that the owner would judge the subject
// positively (vouch rather than warn), given everyone else's evidence in
// the view; it is calibrated on the data it was trained on (Provenance
// says which) and on the owner's own judgements when refined on-device,
// which refits the weights and the bias and keeps the shapes.
//
// Because the model is additive, each feature's contribution to a score is
// exact (Contributions), and because every shape is monotone in the
// direction FeatureSigns gives and every weight of a step shape is ≥ 0,
// the score is monotone in the evidence.
//
// A model file names the features it uses; a feature of FeatureNames that
// it does not name has weight 0. A Model is immutable once built and safe
// for concurrent use.
type Model struct {
	Version  int       `json:"version"`
	Features []string  `json:"features"`
	Mean     []float64 `json:"mean"`
	Scale    []float64 `json:"scale"`
	// Steps, when not nil, holds a step shape per feature (nil entries
	// keep the linear shape).
	Steps      []*Steps  `json:"steps,omitempty"`
	Weights    []float64 `json:"weights"`
	Bias       float64   `json:"bias"`
	Provenance string    `json:"provenance"`
	// Examples is how many judgements the model was fitted on.
	Examples int `json:"examples"`
	// Figures are measurements of the model made when it was trained
	// (held-out AUC, calibration error, ...), by name, for model show.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// Steps is a step function of one feature: Values[k] where k is the
// number of Thresholds below x (Thresholds increasing, one more value than
// thresholds). Its values are non-decreasing in x for a feature of sign +
// and non-increasing for one of sign −.
type Steps struct {
	Thresholds []float64 `json:"t"`
	Values     []float64 `json:"v"`
}

// At returns the step function's value at x.
func (s *Steps) At(x float64) float64 {
	k, _ := slices.BinarySearch(s.Thresholds, x) // thresholds < x
	return s.Values[k]
}

func (s *Steps) validate(sign int) error {
	if len(s.Values) != len(s.Thresholds)+1 || len(s.Thresholds) > 1024 {
		return fmt.Errorf("%d thresholds and %d values", len(s.Thresholds), len(s.Values))
	}
	for i, t := range s.Thresholds {
		if !finite(t) || (i > 0 && !(t > s.Thresholds[i-1])) {
			return fmt.Errorf("thresholds not finite and increasing at %d", i)
		}
	}
	for i, v := range s.Values {
		if !finite(v) {
			return fmt.Errorf("value %d is %v", i, v)
		}
		if i > 0 && float64(sign)*(v-s.Values[i-1]) < 0 {
			return fmt.Errorf("values not monotone in the feature's sign %+d at %d", sign, i)
		}
	}
	return nil
}

// ErrModel is wrapped by every error about a model file; ErrModelVersion
// by those about a file of another format version.
var (
	ErrModel        = errors.New("trust: model")
	ErrModelVersion = fmt.Errorf("%w: version", ErrModel)
)

// ParseModel decodes and validates a model file. The model it returns has
// one entry per feature of FeatureNames, in that order.
func ParseModel(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	if m.Version != ModelVersion {
		return nil, fmt.Errorf("%w %d, this build reads %d (its features changed meaning: train it again)", ErrModelVersion, m.Version, ModelVersion)
	}
	if len(m.Mean) != len(m.Features) || len(m.Scale) != len(m.Features) || len(m.Weights) != len(m.Features) ||
		(m.Steps != nil && len(m.Steps) != len(m.Features)) {
		return nil, fmt.Errorf("%w: %d features with %d means, %d scales, %d weights and %d step shapes", ErrModel, len(m.Features), len(m.Mean), len(m.Scale), len(m.Weights), len(m.Steps))
	}
	full := Model{Version: m.Version, Features: slices.Clone(FeatureNames), Bias: m.Bias, Provenance: m.Provenance, Examples: m.Examples, Figures: m.Figures,
		Mean: make([]float64, NumFeatures), Scale: make([]float64, NumFeatures), Weights: make([]float64, NumFeatures)}
	for i := range full.Scale {
		full.Scale[i] = 1
	}
	seen := map[string]bool{}
	for i, name := range m.Features {
		j := slices.Index(FeatureNames, name)
		if j < 0 {
			return nil, fmt.Errorf("%w: unknown feature %q", ErrModel, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: feature %q twice", ErrModel, name)
		}
		seen[name] = true
		full.Mean[j], full.Scale[j], full.Weights[j] = m.Mean[i], m.Scale[i], m.Weights[i]
		if m.Steps != nil && m.Steps[i] != nil {
			if full.Steps == nil {
				full.Steps = make([]*Steps, NumFeatures)
			}
			full.Steps[j] = m.Steps[i]
		}
	}
	if err := full.Validate(); err != nil {
		return nil, err
	}
	return &full, nil
}

// Validate checks the model's shape and values: one entry per feature of
// FeatureNames, finite values, positive scales, and every weight of the
// sign FeatureSigns requires.
func (m *Model) Validate() error {
	if m.Version != ModelVersion {
		return fmt.Errorf("%w %d, this build reads %d", ErrModelVersion, m.Version, ModelVersion)
	}
	if !slices.Equal(m.Features, FeatureNames) {
		return fmt.Errorf("%w: features %v, want %v", ErrModel, m.Features, FeatureNames)
	}
	for _, v := range [][]float64{m.Mean, m.Scale, m.Weights} {
		if len(v) != NumFeatures {
			return fmt.Errorf("%w: %d values, want %d", ErrModel, len(v), NumFeatures)
		}
	}
	if m.Steps != nil && len(m.Steps) != NumFeatures {
		return fmt.Errorf("%w: %d step shapes, want %d", ErrModel, len(m.Steps), NumFeatures)
	}
	for i := range NumFeatures {
		if !finite(m.Mean[i]) || !finite(m.Weights[i]) || !(m.Scale[i] > 0) || !finite(m.Scale[i]) {
			return fmt.Errorf("%w: feature %s: mean %v scale %v weight %v", ErrModel, FeatureNames[i], m.Mean[i], m.Scale[i], m.Weights[i])
		}
		if st := m.step(i); st != nil {
			if err := st.validate(FeatureSigns[i]); err != nil {
				return fmt.Errorf("%w: feature %s: steps: %v", ErrModel, FeatureNames[i], err)
			}
			if m.Weights[i] < 0 {
				return fmt.Errorf("%w: feature %s: weight %v of a step shape below 0", ErrModel, FeatureNames[i], m.Weights[i])
			}
		} else if sg := FeatureSigns[i]; sg != 0 && float64(sg)*m.Weights[i] < 0 {
			return fmt.Errorf("%w: feature %s: weight %v against its sign %+d", ErrModel, FeatureNames[i], m.Weights[i], sg)
		}
	}
	if !finite(m.Bias) {
		return fmt.Errorf("%w: bias %v", ErrModel, m.Bias)
	}
	for k, x := range m.Figures {
		if !finite(x) {
			return fmt.Errorf("%w: figure %s: %v", ErrModel, k, x)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Marshal encodes the model file.
func (m *Model) Marshal() ([]byte, error) { return json.MarshalIndent(m, "", "  ") }

// step returns feature i's step shape, nil for a linear one.
func (m *Model) step(i int) *Steps {
	if m.Steps == nil {
		return nil
	}
	return m.Steps[i]
}

// Shape returns feature i's shape at x: what its weight multiplies.
func (m *Model) Shape(i int, x float64) float64 {
	if st := m.step(i); st != nil {
		return st.At(x)
	}
	return (x - m.Mean[i]) / m.Scale[i]
}

// ShapeSign is the sign a weight of feature i must have: FeatureSigns for
// a linear shape, + for a step shape (which is oriented already).
func (m *Model) ShapeSign(i int) int {
	if m.step(i) != nil {
		return 1
	}
	return FeatureSigns[i]
}

// Logit returns the model's log-odds for f.
func (m *Model) Logit(f *Features) float64 {
	z := m.Bias
	for i, x := range f.Values {
		z += m.Weights[i] * m.Shape(i, x)
	}
	return z
}

// Baseline returns the model's log-odds, for the owner f describes, of a
// subject with no evidence at all (every feature about the subject at 0,
// the features about the owner as in f): the point explanations start
// from.
func (m *Model) Baseline(f *Features) float64 {
	var b Features
	for i := range NumFeatures {
		if IsOwnerFeature(i) {
			b.Values[i] = f.Values[i]
		}
	}
	return m.Logit(&b)
}

// Predict returns the probability of a positive judgement for f, from the
// features alone (the crowd's evidence).
func (m *Model) Predict(f *Features) float64 { return Sigmoid(m.Logit(f)) }

// Contributions returns each feature's share of the log-odds against the
// baseline: Baseline(f) + Σ Contributions(f) = Logit(f); a feature at its
// baseline value 0 contributes 0, and features about the owner contribute
// nothing (they are in the baseline).
func (m *Model) Contributions(f *Features) [NumFeatures]float64 {
	var c [NumFeatures]float64
	for i, x := range f.Values {
		if !IsOwnerFeature(i) {
			c[i] = m.Weights[i] * (m.Shape(i, x) - m.Shape(i, 0))
		}
	}
	return c
}

// OwnStrengthCap keeps the log-odds of the owner's own statement finite:
// a statement of full strength counts as 0.99.
const OwnStrengthCap = 0.99

// Answer returns the probability that the owner judges the subject
// positively, given f. Without a statement of the owner's own it is
// Predict(f). With one, the owner's word decides the side: a vouch of
// strength s (in (0, 1]) gives 0.5 + h/2 and a warning 0.5 − h/2, where
//
//	h = σ(logit(s) ± (Logit(f) − Baseline(f)))
//
// (+ for a vouch, − for a warning): on its own the statement places the
// answer at 0.5 ± s/2, and the crowd's evidence moves it within its side,
// never across neutral. The answer is monotone in the crowd's evidence and
// in the strength of the owner's statement.
func (m *Model) Answer(f *Features) float64 {
	z := m.Logit(f)
	if !f.HasDirect || f.Direct == 0 {
		return Sigmoid(z)
	}
	s := min(math.Abs(f.Direct), OwnStrengthCap)
	shift := z - m.Baseline(f) // 0 without crowd evidence: every feature about the subject is then 0
	if f.Direct > 0 {
		return 0.5 + Sigmoid(logit(s)+shift)/2
	}
	return 0.5 - Sigmoid(logit(s)-shift)/2
}

// OwnShare returns h, the answer's position within its side (see Answer),
// and whether f holds a statement of the owner's own.
func (m *Model) OwnShare(f *Features) (float64, bool) {
	p := m.Answer(f)
	if !f.HasDirect || f.Direct == 0 {
		return 0, false
	}
	return 2 * math.Abs(p-0.5), true
}

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// Sigmoid is the logistic function, computed without overflow: the
// model's link from logit to probability.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Example is one judgement to learn from: the features of a target with the
// judgement itself hidden from them, and whether it was a vouch.
type Example struct {
	Features Features
	Vouch    bool
	// Level is the judgement's signed strength, in [−1, 1] (0 when
	// unknown): what a LevelModel learns to predict.
	Level float64
	// Weight scales the example's influence (0 means 1).
	Weight float64
}

// TrainParams configure Train.
type TrainParams struct {
	// L2 pulls the weights toward the prior's (or toward zero without a
	// prior); it is what keeps an owner with few judgements close to the
	// default model. L2 ≥ 0.
	L2 float64
	// Iterations bounds the Newton steps (0 means 50).
	Iterations int
}

// Validate rejects NaN, infinities and out-of-range values.
func (p TrainParams) Validate() error {
	if !(p.L2 >= 0) || math.IsInf(p.L2, 0) {
		return fmt.Errorf("%w: L2 %v", ErrModel, p.L2)
	}
	if p.Iterations < 0 {
		return fmt.Errorf("%w: iterations %d", ErrModel, p.Iterations)
	}
	return nil
}

// Train fits a model to examples by projected Newton steps with a line
// search on the L2-penalised log-likelihood, keeping every weight's sign as
// ShapeSign requires. With a prior, the shapes are the prior's (its
// standardisation and step functions) and the penalty pulls toward the
// prior's weights (the on-device refinement of a shipped model); without
// one, the shapes are linear, standardised on the examples, and the
// penalty pulls toward zero.
func Train(examples []Example, prior *Model, p TrainParams, provenance string) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%w: no examples to train on", ErrModel)
	}
	iters := p.Iterations
	if iters == 0 {
		iters = 50
	}
	m := &Model{Version: ModelVersion, Features: slices.Clone(FeatureNames), Provenance: provenance, Examples: len(examples)}
	target := make([]float64, NumFeatures)
	if prior != nil {
		m.Mean, m.Scale = slices.Clone(prior.Mean), slices.Clone(prior.Scale)
		m.Steps = slices.Clone(prior.Steps) // the shapes are kept; their weights are refitted
		m.Weights, m.Bias = slices.Clone(prior.Weights), prior.Bias
		copy(target, prior.Weights)
	} else {
		m.Mean, m.Scale = Standardisation(examples)
		m.Weights = make([]float64, NumFeatures)
	}
	var signs [NumFeatures]int
	for j := range signs {
		signs[j] = m.ShapeSign(j)
	}
	// The bias is pulled toward the prior's like the weights, so that an
	// owner whose judgements are all vouches does not drive it to infinity
	// (which would saturate every score at 1 and erase the ranking);
	// without a prior it gets only a token pull, to stay finite.
	biasL2, biasTarget := 1e-3, 0.0
	if prior != nil {
		biasL2, biasTarget = p.L2, prior.Bias
	}
	// Design matrix of the shapes with a leading 1 for the bias.
	const d = NumFeatures + 1
	xs := make([][d]float64, len(examples))
	ws := make([]float64, len(examples))
	for i, e := range examples {
		xs[i][0] = 1
		for j, x := range e.Features.Values {
			xs[i][j+1] = m.Shape(j, x)
		}
		ws[i] = e.Weight
		if ws[i] == 0 {
			ws[i] = 1
		}
	}
	beta := make([]float64, d)
	beta[0] = m.Bias
	copy(beta[1:], m.Weights)
	project(beta, &signs)
	y := make([]float64, len(examples))
	for i, e := range examples {
		if e.Vouch {
			y[i] = 1
		}
	}
	// objective is the penalised negative log-likelihood.
	objective := func(b []float64) float64 {
		o := 0.0
		for i, x := range xs {
			z := 0.0
			for j := range d {
				z += b[j] * x[j]
			}
			// log(1+e^z) - y z, computed stably.
			o += ws[i] * (math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y[i]*z)
		}
		for j := 1; j < d; j++ {
			o += p.L2 / 2 * (b[j] - target[j-1]) * (b[j] - target[j-1])
		}
		o += biasL2 / 2 * (b[0] - biasTarget) * (b[0] - biasTarget)
		return o
	}
	cur := objective(beta)
	for range iters {
		var grad [d]float64
		var hess [d][d]float64
		for i, x := range xs {
			z := 0.0
			for j := range d {
				z += beta[j] * x[j]
			}
			pr := Sigmoid(z)
			g := ws[i] * (pr - y[i])
			h := ws[i] * math.Max(pr*(1-pr), 1e-9)
			for j := range d {
				grad[j] += g * x[j]
				for k := j; k < d; k++ {
					hess[j][k] += h * x[j] * x[k]
				}
			}
		}
		for j := 1; j < d; j++ {
			grad[j] += p.L2 * (beta[j] - target[j-1])
			hess[j][j] += p.L2
		}
		grad[0] += biasL2 * (beta[0] - biasTarget)
		hess[0][0] += biasL2
		for j := range d {
			for k := range j {
				hess[j][k] = hess[k][j]
			}
		}
		// Active set: a sign-constrained weight at zero whose gradient
		// pushes it across zero stays at zero this step.
		for j := 1; j < d; j++ {
			sg := signs[j-1]
			if sg != 0 && beta[j] == 0 && float64(sg)*grad[j] > 0 {
				for k := range d {
					hess[j][k], hess[k][j] = 0, 0
				}
				hess[j][j], grad[j] = 1, 0
			}
		}
		step, ok := solve(hess, grad)
		if !ok {
			break
		}
		// Backtracking line search on the projected step.
		next := make([]float64, d)
		improved := false
		for t := 1.0; t > 1e-6; t /= 2 {
			for j := range d {
				next[j] = beta[j] - t*step[j]
			}
			project(next, &signs)
			if o := objective(next); o <= cur {
				improved = cur-o > 1e-10*math.Max(1, math.Abs(cur))
				cur = o
				copy(beta, next)
				break
			}
		}
		if !improved {
			break
		}
	}
	m.Bias = beta[0]
	copy(m.Weights, beta[1:])
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: training diverged: %v", ErrModel, err)
	}
	return m, nil
}

// project sets to zero the weights whose sign violates signs (beta[0] is
// the bias).
func project(beta []float64, signs *[NumFeatures]int) {
	for j := 1; j < len(beta); j++ {
		if sg := signs[j-1]; sg != 0 && float64(sg)*beta[j] < 0 {
			beta[j] = 0
		}
	}
}

// Standardisation returns each feature's mean and standard deviation (1
// where a feature does not vary): the standardisation Train fits, shared
// with the model classes it is compared with (package training).
func Standardisation(examples []Example) (mean, scale []float64) {
	mean = make([]float64, NumFeatures)
	scale = make([]float64, NumFeatures)
	n := float64(len(examples))
	for _, e := range examples {
		for j, x := range e.Features.Values {
			mean[j] += x / n
		}
	}
	for _, e := range examples {
		for j, x := range e.Features.Values {
			scale[j] += (x - mean[j]) * (x - mean[j]) / n
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j])
		if scale[j] < 1e-9 {
			scale[j] = 1
		}
	}
	return mean, scale
}

// solve solves a·x = b by Gaussian elimination with partial pivoting.
func solve(a [NumFeatures + 1][NumFeatures + 1]float64, b [NumFeatures + 1]float64) ([NumFeatures + 1]float64, bool) {
	var x [NumFeatures + 1]float64
	for c := range len(a) {
		p := c
		for r := c + 1; r < len(a); r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return x, false
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < len(a); r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < len(a); k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	for r := len(a) - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < len(a); k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// CalibrationError is the expected calibration error of m on examples
// with the given number of equal-width probability bins: the mean, over
// examples, of |observed vouch rate − mean prediction| of their bin.
func CalibrationError(m *Model, examples []Example, bins int) float64 {
	if len(examples) == 0 || bins < 1 {
		return 0
	}
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	count := make([]float64, bins)
	for i := range examples {
		p := m.Predict(&examples[i].Features)
		b := min(int(p*float64(bins)), bins-1)
		sumP[b] += p
		if examples[i].Vouch {
			sumY[b]++
		}
		count[b]++
	}
	e := 0.0
	for b := range bins {
		if count[b] > 0 {
			e += math.Abs(sumY[b]-sumP[b]) / float64(len(examples))
		}
	}
	return e
}

// RefineFolds is the number of folds Refine cross-validates with, and
// RefineMin the fewest judgements it refines on.
const (
	RefineFolds = 5
	RefineMin   = 10
)

// RefineReport says what refining a model on an owner's judgements did.
type RefineReport struct {
	Judgements int
	// SharedLogLoss and RefinedLogLoss are the mean log loss, on the
	// owner's judgements, of the model as shipped and of the model refined
	// on the other folds (RefineFolds-fold cross-validation): the refined
	// model is used only if it predicts the owner's own judgements better.
	SharedLogLoss, RefinedLogLoss float64
	Used                          bool
	// Why says, in a sentence, why the refined model is or is not used.
	Why string
}

// Refine refines base on an owner's judgements (Train with base as the
// prior, pulled toward it by l2) and returns the refined model if, in
// cross-validation on those judgements, it predicts them better than base;
// otherwise base itself. An owner with fewer than RefineMin judgements
// keeps base. Refining thus never makes the model worse on the owner's own
// judgements, as far as they can tell.
func Refine(ex []Example, base *Model, l2 float64) (*Model, RefineReport, error) {
	r := RefineReport{Judgements: len(ex)}
	if len(ex) < RefineMin {
		r.Why = fmt.Sprintf("%d judgements, fewer than the %d refining needs", len(ex), RefineMin)
		return base, r, nil
	}
	p := TrainParams{L2: l2, Iterations: 20}
	var shared, refined float64
	for k := range RefineFolds {
		var train, test []Example
		for i, e := range ex {
			if i%RefineFolds == k {
				test = append(test, e)
			} else {
				train = append(train, e)
			}
		}
		m, err := Train(train, base, p, "fold")
		if err != nil {
			return nil, r, err
		}
		for i := range test {
			shared += logLoss(base.Predict(&test[i].Features), test[i].Vouch)
			refined += logLoss(m.Predict(&test[i].Features), test[i].Vouch)
		}
	}
	r.SharedLogLoss, r.RefinedLogLoss = shared/float64(len(ex)), refined/float64(len(ex))
	if !(r.RefinedLogLoss < r.SharedLogLoss) {
		r.Why = fmt.Sprintf("refined on the other folds, it predicted your own judgements no better (log loss %.3f against the shipped model's %.3f)", r.RefinedLogLoss, r.SharedLogLoss)
		return base, r, nil
	}
	m, err := Train(ex, base, p, base.Provenance+"; refined on the owner's judgements")
	if err != nil {
		return nil, r, err
	}
	r.Used = true
	r.Why = fmt.Sprintf("refined on the other folds, it predicted your own judgements better (log loss %.3f against the shipped model's %.3f)", r.RefinedLogLoss, r.SharedLogLoss)
	return m, r, nil
}

// logLoss is one judgement's negative log-likelihood under probability p,
// kept finite.
func logLoss(p float64, vouch bool) float64 {
	p = min(max(p, 1e-12), 1-1e-12)
	if vouch {
		return -math.Log(p)
	}
	return -math.Log(1 - p)
}
