package trust

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// LevelVersion is the version of the level model file format. Version 2
// reads the ranking model's log-odds, its features (FeatureNames of this
// build's ModelVersion) and LevelInputNames, each checked by name, so a
// level model trained on another feature set is refused as well as one of
// version 1: train it again.
const LevelVersion = 2

// LevelModel is the ranking model's level head: it predicts the strength
// of the owner's judgement of a subject, its signed weight in [−1, 1]
// (−0.9 a strong warning, +0.3 a mild vouch), where the ranking model
// predicts only which way it goes. It is a ridge regression on the ranking
// model's log-odds, the features, and the level inputs (LevelInputNames:
// the scale of the owner's own statements and of the others'), clamped to
// [−1, 1]. It serves the edge-weight figures of the evaluation (RMSE,
// Pearson correlation, Advogato's certification levels) and the expected
// strength an answer may show; it never changes a score.
//
// A LevelModel is immutable once built and safe for concurrent use.
type LevelModel struct {
	Version int `json:"version"`
	// Inputs names the regression's inputs, in order: "logit", then
	// FeatureNames, then LevelInputNames.
	Inputs     []string  `json:"inputs"`
	Mean       []float64 `json:"mean"`
	Scale      []float64 `json:"scale"`
	Weights    []float64 `json:"weights"`
	Bias       float64   `json:"bias"`
	Provenance string    `json:"provenance"`
	Examples   int       `json:"examples"`
}

// levelInputNames are the inputs a LevelModel of this version reads.
func levelInputNames() []string {
	return slices.Concat([]string{"logit"}, FeatureNames, LevelInputNames)
}

// numLevelX is the number of a LevelModel's inputs.
const numLevelX = 1 + NumFeatures + NumLevelInputs

// levelX returns the inputs of a LevelModel for f, whose ranking model's
// log-odds is z.
func levelX(z float64, f *Features) [numLevelX]float64 {
	var x [numLevelX]float64
	x[0] = z
	copy(x[1:], f.Values[:])
	copy(x[1+NumFeatures:], f.Level[:])
	return x
}

// Level predicts the signed strength of the owner's judgement for f, whose
// ranking model's log-odds is z.
func (l *LevelModel) Level(z float64, f *Features) float64 {
	x := levelX(z, f)
	y := l.Bias
	for i, v := range x {
		y += l.Weights[i] * (v - l.Mean[i]) / l.Scale[i]
	}
	return min(1, max(-1, y))
}

// Validate checks the level model's shape and values.
func (l *LevelModel) Validate() error {
	if l.Version != LevelVersion {
		return fmt.Errorf("%w: level model version %d, this build reads %d (its inputs changed meaning: train it again)", ErrModelVersion, l.Version, LevelVersion)
	}
	if !slices.Equal(l.Inputs, levelInputNames()) {
		return fmt.Errorf("%w: level model inputs %v, want %v (train it again)", ErrModel, l.Inputs, levelInputNames())
	}
	for _, v := range [][]float64{l.Mean, l.Scale, l.Weights} {
		if len(v) != numLevelX {
			return fmt.Errorf("%w: level model has %d values, want %d", ErrModel, len(v), numLevelX)
		}
	}
	for i := range numLevelX {
		if !finite(l.Mean[i]) || !finite(l.Weights[i]) || !(l.Scale[i] > 0) || !finite(l.Scale[i]) {
			return fmt.Errorf("%w: level input %s: mean %v scale %v weight %v", ErrModel, l.Inputs[i], l.Mean[i], l.Scale[i], l.Weights[i])
		}
	}
	if !finite(l.Bias) {
		return fmt.Errorf("%w: level bias %v", ErrModel, l.Bias)
	}
	return nil
}

// ParseLevelModel decodes and validates a level model file.
func ParseLevelModel(b []byte) (*LevelModel, error) {
	var l LevelModel
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w: level model: %v", ErrModel, err)
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

// Marshal encodes the level model file.
func (l *LevelModel) Marshal() ([]byte, error) { return json.MarshalIndent(l, "", "  ") }

// TrainLevel fits a level model to examples (their Level, weighted by
// Weight) by ridge regression on the standardised inputs, with m the
// ranking model whose log-odds is an input; l2 is the penalty per unit of
// example weight.
func TrainLevel(examples []Example, m *Model, l2 float64, provenance string) (*LevelModel, error) {
	if len(examples) == 0 {
		return nil, fmt.Errorf("%w: no examples to train the level model on", ErrModel)
	}
	if !(l2 >= 0) || math.IsInf(l2, 0) {
		return nil, fmt.Errorf("%w: level l2 %v", ErrModel, l2)
	}
	const d = numLevelX
	xs := make([][d]float64, len(examples))
	ws := make([]float64, len(examples))
	total := 0.0
	for i := range examples {
		xs[i] = levelX(m.Logit(&examples[i].Features), &examples[i].Features)
		ws[i] = examples[i].Weight
		if ws[i] == 0 {
			ws[i] = 1
		}
		total += ws[i]
	}
	l := &LevelModel{Version: LevelVersion, Inputs: levelInputNames(), Mean: make([]float64, d), Scale: make([]float64, d),
		Weights: make([]float64, d), Provenance: provenance, Examples: len(examples)}
	for i, x := range xs {
		for j := range d {
			l.Mean[j] += ws[i] * x[j] / total
		}
	}
	for i, x := range xs {
		for j := range d {
			l.Scale[j] += ws[i] * (x[j] - l.Mean[j]) * (x[j] - l.Mean[j]) / total
		}
	}
	for j := range d {
		l.Scale[j] = math.Sqrt(l.Scale[j])
		if l.Scale[j] < 1e-9 {
			l.Scale[j] = 1
		}
	}
	// Normal equations with the bias as an unpenalised extra input.
	a := make([][]float64, d+1)
	for j := range a {
		a[j] = make([]float64, d+1)
	}
	b := make([]float64, d+1)
	for i, x := range xs {
		var z [d + 1]float64
		z[0] = 1
		for j := range d {
			z[j+1] = (x[j] - l.Mean[j]) / l.Scale[j]
		}
		w, y := ws[i]/total, examples[i].Level
		for j := range d + 1 {
			b[j] += w * z[j] * y
			for k := range d + 1 {
				a[j][k] += w * z[j] * z[k]
			}
		}
	}
	for j := 1; j <= d; j++ {
		a[j][j] += l2
	}
	beta, ok := solveN(a, b)
	if !ok {
		return nil, fmt.Errorf("%w: level model: singular system", ErrModel)
	}
	l.Bias = beta[0]
	copy(l.Weights, beta[1:])
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// solveN solves a·x = b by Gaussian elimination with partial pivoting; it
// changes a and b.
func solveN(a [][]float64, b []float64) ([]float64, bool) {
	n := len(b)
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return nil, false
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < n; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}
