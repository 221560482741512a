package training

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kith-net/kith/trust"
)

// MLPParams configure TrainMLP. Zero fields take the defaults in brackets.
type MLPParams struct {
	Hidden int     // tanh units in the one hidden layer, 1..16 (16)
	Epochs int     // passes over the examples (40)
	Batch  int     // examples per Adam step (128)
	Rate   float64 // Adam step size at the start; it decays linearly to 0 (0.003)
	L2     float64 // penalty on the weights, not the biases, per unit of example weight (1e-4)
	Seed   uint64  // initial weights and the order of the examples follow from it
}

func (p MLPParams) withDefaults() MLPParams {
	if p.Hidden == 0 {
		p.Hidden = 16
	}
	if p.Epochs == 0 {
		p.Epochs = 40
	}
	if p.Batch == 0 {
		p.Batch = 128
	}
	if p.Rate == 0 {
		p.Rate = 0.003
	}
	if p.L2 == 0 {
		p.L2 = 1e-4
	}
	return p
}

// MLP is a one-hidden-layer perceptron on the standardised features (the
// logistic regression's standardisation): the log-odds of a vouch is
// B2 + Σₖ W2[k]·tanh(B1[k] + Σⱼ W1[k][j]·xⱼ).
//
// An MLP is immutable once built and safe for concurrent use.
type MLP struct {
	Mean  []float64   `json:"mean"`
	Scale []float64   `json:"scale"`
	W1    [][]float64 `json:"w1"` // Hidden × NumFeatures
	B1    []float64   `json:"b1"`
	W2    []float64   `json:"w2"`
	B2    float64     `json:"b2"`
}

// Logit returns the MLP's log-odds of a vouch for f.
func (m *MLP) Logit(f *trust.Features) float64 {
	var x [trust.NumFeatures]float64
	for j, v := range f.Values {
		x[j] = (v - m.Mean[j]) / m.Scale[j]
	}
	z := m.B2
	for k, row := range m.W1 {
		a := m.B1[k]
		for j, wj := range row {
			a += wj * x[j]
		}
		z += m.W2[k] * math.Tanh(a)
	}
	return z
}

// Predict returns the probability of a vouch for f.
func (m *MLP) Predict(f *trust.Features) float64 { return trust.Sigmoid(m.Logit(f)) }

// Marshal encodes the MLP as compact JSON.
func (m *MLP) Marshal() ([]byte, error) { return json.Marshal(m) }

// ParseMLP decodes and validates an MLP written by Marshal.
func ParseMLP(b []byte) (*MLP, error) {
	var m MLP
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: mlp: %w", ErrCandidate, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *MLP) validate() error {
	if err := checkStandardisation(m.Mean, m.Scale); err != nil {
		return err
	}
	h := len(m.W1)
	if h == 0 || len(m.B1) != h || len(m.W2) != h || !finite(m.B2) {
		return fmt.Errorf("%w: mlp: %d hidden units with %d biases and %d output weights", ErrCandidate, h, len(m.B1), len(m.W2))
	}
	for k, row := range m.W1 {
		if len(row) != trust.NumFeatures {
			return fmt.Errorf("%w: mlp: unit %d has %d weights", ErrCandidate, k, len(row))
		}
		for _, v := range append([]float64{m.B1[k], m.W2[k]}, row...) {
			if !finite(v) {
				return fmt.Errorf("%w: mlp: unit %d: weight %v", ErrCandidate, k, v)
			}
		}
	}
	return nil
}

// TrainMLP fits an MLP to examples by mini-batch Adam on the weighted log
// loss plus L2 on the weights. The initial weights (scaled normal, output
// bias at the base rate's log-odds) and each epoch's order of the examples
// come from p.Seed, so the result is deterministic for a seed.
func TrainMLP(examples []trust.Example, p MLPParams) (*MLP, error) {
	p = p.withDefaults()
	if p.Hidden < 1 || p.Hidden > 16 || p.Epochs < 1 || p.Batch < 1 || !(p.Rate > 0) || !(p.L2 >= 0) || math.IsInf(p.Rate, 0) || math.IsInf(p.L2, 0) {
		return nil, fmt.Errorf("%w: mlp parameters %+v", ErrCandidate, p)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%w: no examples to train on", ErrCandidate)
	}
	const nf = trust.NumFeatures
	hidden := p.Hidden
	mean, scale := trust.Standardisation(examples)
	xs := standardise(examples, mean, scale)
	y, w := labels(examples)
	rng := rand.New(rand.NewPCG(p.Seed, 0x6d6c70))

	// All parameters in one vector for Adam: W1 (hidden × nf, row-major),
	// then B1, then W2, then B2. The penalised ones are W1 and W2.
	oW1, oB1, oW2, oB2 := 0, hidden*nf, hidden*nf+hidden, hidden*nf+2*hidden
	theta := make([]float64, oB2+1)
	for i := range hidden * nf {
		theta[oW1+i] = rng.NormFloat64() / math.Sqrt(nf)
	}
	for k := range hidden {
		theta[oW2+k] = rng.NormFloat64() / math.Sqrt(float64(hidden))
	}
	var sw, sy float64
	for i := range y {
		sw += w[i]
		sy += w[i] * y[i]
	}
	rate := math.Min(math.Max(sy/sw, 1e-6), 1-1e-6)
	theta[oB2] = math.Log(rate / (1 - rate))
	penalised := func(i int) bool { return i < oB1 || (i >= oW2 && i < oB2) }

	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	m1 := make([]float64, len(theta))
	m2 := make([]float64, len(theta))
	grad := make([]float64, len(theta))
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	steps := p.Epochs * ((len(xs) + p.Batch - 1) / p.Batch)
	step := 0
	act := make([]float64, hidden)
	for range p.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += p.Batch {
			batch := order[start:min(start+p.Batch, len(order))]
			clear(grad)
			bw := 0.0
			for _, i := range batch {
				x := &xs[i]
				// Forward.
				z := theta[oB2]
				for k := range hidden {
					a := theta[oB1+k]
					row := theta[oW1+k*nf : oW1+(k+1)*nf]
					for j := range nf {
						a += row[j] * x[j]
					}
					act[k] = math.Tanh(a)
					z += theta[oW2+k] * act[k]
				}
				// Backward: d(log loss)/dz = p − y.
				dz := w[i] * (trust.Sigmoid(z) - y[i])
				grad[oB2] += dz
				for k := range hidden {
					grad[oW2+k] += dz * act[k]
					da := dz * theta[oW2+k] * (1 - act[k]*act[k])
					grad[oB1+k] += da
					g := grad[oW1+k*nf : oW1+(k+1)*nf]
					for j := range nf {
						g[j] += da * x[j]
					}
				}
				bw += w[i]
			}
			step++
			lr := p.Rate * (1 - float64(step-1)/float64(steps))
			c1 := 1 - math.Pow(beta1, float64(step))
			c2 := 1 - math.Pow(beta2, float64(step))
			for i := range theta {
				gi := grad[i] / bw
				if penalised(i) {
					gi += p.L2 * theta[i]
				}
				m1[i] = beta1*m1[i] + (1-beta1)*gi
				m2[i] = beta2*m2[i] + (1-beta2)*gi*gi
				theta[i] -= lr * (m1[i] / c1) / (math.Sqrt(m2[i]/c2) + eps)
			}
		}
	}
	m := &MLP{Mean: mean, Scale: scale, W1: make([][]float64, hidden), B1: theta[oB1:oW2:oW2], W2: theta[oW2:oB2:oB2], B2: theta[oB2]}
	for k := range hidden {
		m.W1[k] = theta[oW1+k*nf : oW1+(k+1)*nf : oW1+(k+1)*nf]
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: training diverged: %w", ErrCandidate, err)
	}
	return m, nil
}
