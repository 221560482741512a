package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/kith-net/kith/trust"
)

// ErrCandidate is wrapped by every error about a candidate model (the
// tree ensemble or the MLP that Compare measures against the logistic
// regression).
var ErrCandidate = errors.New("training: candidate model")

// EnsembleParams configure TrainEnsemble. Zero fields take the defaults
// in brackets.
type EnsembleParams struct {
	Trees     int     // boosting rounds (100)
	Depth     int     // maximum depth of a tree, 1..6 (3)
	Shrinkage float64 // learning rate: each tree's leaves are scaled by it (0.1)
	L2        float64 // penalty on the leaf values, in units of hessian weight (1)
	MinLeaf   float64 // least total example weight in a leaf (20)
	Bins      int     // bins per feature, 2..256: thresholds at quantiles of the training data (32)
	// Monotone constrains every tree, and so the ensemble, to be monotone
	// in each feature in the direction of its trust.FeatureSigns sign, as
	// the logistic regression is.
	Monotone bool
}

func (p EnsembleParams) withDefaults() EnsembleParams {
	if p.Trees == 0 {
		p.Trees = 100
	}
	if p.Depth == 0 {
		p.Depth = 3
	}
	if p.Shrinkage == 0 {
		p.Shrinkage = 0.1
	}
	if p.L2 == 0 {
		p.L2 = 1
	}
	if p.MinLeaf == 0 {
		p.MinLeaf = 20
	}
	if p.Bins == 0 {
		p.Bins = 32
	}
	return p
}

// Ensemble is a gradient-boosted ensemble of small regression trees on the
// standardised features (the logistic regression's standardisation): the
// log-odds of a vouch is Base plus one leaf value per tree.
//
// Each tree is stored as a complete binary tree of depth Depth in heap
// order (node i has children 2i+1 and 2i+2), which keeps the file small:
// per internal node a feature and a threshold, and 2^Depth leaf values. A
// node that was not split has feature −1 and sends everything left, so
// such a subtree ends in its leftmost leaf, which holds its value.
//
// An Ensemble is immutable once built and safe for concurrent use.
type Ensemble struct {
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
	Depth int       `json:"depth"`
	Base  float64   `json:"base"`
	Trees []Tree    `json:"trees"`
}

// Tree is one tree of an Ensemble. An example goes left at internal node i
// when its standardised feature Feature[i] is ≤ Threshold[i].
type Tree struct {
	Feature   []int     `json:"f"`
	Threshold []float64 `json:"t"`
	Leaf      []float64 `json:"v"`
}

// Logit returns the ensemble's log-odds of a vouch for f.
func (e *Ensemble) Logit(f *trust.Features) float64 {
	var x [trust.NumFeatures]float64
	for j, v := range f.Values {
		x[j] = (v - e.Mean[j]) / e.Scale[j]
	}
	z := e.Base
	for t := range e.Trees {
		z += e.Trees[t].leaf(&x, e.Depth)
	}
	return z
}

// leaf returns the value of the leaf that the standardised features x
// reach in a tree of the given depth.
func (tr *Tree) leaf(x *[trust.NumFeatures]float64, depth int) float64 {
	internal := 1<<depth - 1
	i := 0
	for i < internal {
		if j := tr.Feature[i]; j < 0 || x[j] <= tr.Threshold[i] {
			i = 2*i + 1
		} else {
			i = 2*i + 2
		}
	}
	return tr.Leaf[i-internal]
}

// Predict returns the probability of a vouch for f.
func (e *Ensemble) Predict(f *trust.Features) float64 { return trust.Sigmoid(e.Logit(f)) }

// Marshal encodes the ensemble as compact JSON.
func (e *Ensemble) Marshal() ([]byte, error) { return json.Marshal(e) }

// ParseEnsemble decodes and validates an ensemble written by Marshal.
func ParseEnsemble(b []byte) (*Ensemble, error) {
	var e Ensemble
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: ensemble: %w", ErrCandidate, err)
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

func (e *Ensemble) validate() error {
	if err := checkStandardisation(e.Mean, e.Scale); err != nil {
		return err
	}
	if e.Depth < 1 || e.Depth > 6 || !finite(e.Base) {
		return fmt.Errorf("%w: ensemble: depth %d, base %v", ErrCandidate, e.Depth, e.Base)
	}
	internal := 1<<e.Depth - 1
	for t, tr := range e.Trees {
		if len(tr.Feature) != internal || len(tr.Threshold) != internal || len(tr.Leaf) != internal+1 {
			return fmt.Errorf("%w: ensemble: tree %d has the wrong shape", ErrCandidate, t)
		}
		for i, j := range tr.Feature {
			if j < -1 || j >= trust.NumFeatures || !finite(tr.Threshold[i]) {
				return fmt.Errorf("%w: ensemble: tree %d node %d: feature %d threshold %v", ErrCandidate, t, i, j, tr.Threshold[i])
			}
		}
		for _, v := range tr.Leaf {
			if !finite(v) {
				return fmt.Errorf("%w: ensemble: tree %d: leaf %v", ErrCandidate, t, v)
			}
		}
	}
	return nil
}

// TrainEnsemble fits a gradient-boosted tree ensemble to examples by
// Newton boosting on the weighted log loss (each tree is fitted to the
// gradient and hessian of the current log-odds, leaves get −G/(H+L2)),
// with candidate thresholds at quantiles of each standardised feature. It
// draws no random numbers, so it is deterministic without a seed. With
// Monotone, splits and leaf weights are constrained as XGBoost constrains
// them: a split on a signed feature must order its two weights by the sign,
// and the midpoint of the two bounds every weight below it.
func TrainEnsemble(examples []trust.Example, p EnsembleParams) (*Ensemble, error) {
	p = p.withDefaults()
	if p.Trees < 0 || p.Depth < 1 || p.Depth > 6 || p.Bins < 2 || p.Bins > 256 || !(p.Shrinkage > 0) || !(p.L2 > 0) || !(p.MinLeaf > 0) ||
		math.IsInf(p.Shrinkage, 0) || math.IsInf(p.L2, 0) || math.IsInf(p.MinLeaf, 0) {
		return nil, fmt.Errorf("%w: ensemble parameters %+v", ErrCandidate, p)
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%w: no examples to train on", ErrCandidate)
	}
	n := len(examples)
	mean, scale := trust.Standardisation(examples)
	xs := standardise(examples, mean, scale)
	y, w := labels(examples)

	// Candidate thresholds and, per example and feature, the bin it falls
	// in: bin k means thresholds[j][k-1] < x ≤ thresholds[j][k].
	thresholds := make([][]float64, trust.NumFeatures)
	bins := make([][trust.NumFeatures]uint8, n)
	for j := range trust.NumFeatures {
		thresholds[j] = quantileThresholds(xs, j, p.Bins)
		for i := range xs {
			k, _ := slices.BinarySearch(thresholds[j], xs[i][j])
			bins[i][j] = uint8(k)
		}
	}

	// Start from the weighted base rate's log-odds.
	var sw, sy float64
	for i := range y {
		sw += w[i]
		sy += w[i] * y[i]
	}
	rate := math.Min(math.Max(sy/sw, 1e-6), 1-1e-6)
	e := &Ensemble{Mean: mean, Scale: scale, Depth: p.Depth, Base: math.Log(rate / (1 - rate))}
	z := make([]float64, n)
	for i := range z {
		z[i] = e.Base
	}
	g := make([]float64, n)
	h := make([]float64, n)
	idx := make([]int, n)
	internal := 1<<p.Depth - 1
	for range p.Trees {
		for i := range z {
			pr := trust.Sigmoid(z[i])
			g[i] = w[i] * (pr - y[i])
			h[i] = w[i] * math.Max(pr*(1-pr), 1e-12)
			idx[i] = i
		}
		tr := Tree{Feature: make([]int, internal), Threshold: make([]float64, internal), Leaf: make([]float64, internal+1)}
		for i := range tr.Feature {
			tr.Feature[i] = -1 // unsplit until grow splits it
		}
		b := treeBuilder{p: p, tree: &tr, thresholds: thresholds, bins: bins, g: g, h: h, w: w, internal: internal}
		b.grow(0, 0, idx, math.Inf(-1), math.Inf(1))
		e.Trees = append(e.Trees, tr)
		// Update the log-odds with the new tree (its leaves already carry
		// the shrinkage).
		for i := range z {
			z[i] += tr.leaf(&xs[i], p.Depth)
		}
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("%w: training diverged: %w", ErrCandidate, err)
	}
	return e, nil
}

// treeBuilder grows one tree on the current gradients.
type treeBuilder struct {
	p          EnsembleParams
	tree       *Tree
	thresholds [][]float64
	bins       [][trust.NumFeatures]uint8
	g, h, w    []float64
	internal   int
}

// grow fills the subtree rooted at heap node i (at the given depth) with
// the examples idx, splitting greedily on the best gain. Its leaf weights
// (before shrinkage) stay within [lo, hi], the bounds that monotone
// splits above it set.
func (b *treeBuilder) grow(i, depth int, idx []int, lo, hi float64) {
	var G, H, W float64
	for _, k := range idx {
		G += b.g[k]
		H += b.h[k]
		W += b.w[k]
	}
	var s split
	if depth < b.p.Depth && W >= 2*b.p.MinLeaf {
		s = b.bestSplit(idx, G, H, lo, hi)
	}
	if !s.ok {
		// A leaf: its value goes to the leftmost leaf of the subtree,
		// where the unsplit (−1) nodes below send every example.
		for ; depth < b.p.Depth; depth++ {
			i = 2*i + 1
		}
		b.tree.Leaf[i-b.internal] = b.p.Shrinkage * b.weight(G, H, lo, hi)
		return
	}
	b.tree.Feature[i] = s.feature
	b.tree.Threshold[i] = b.thresholds[s.feature][s.bin]
	// Split idx, keeping the order, so the sums (and the result) depend on
	// nothing but the data.
	left := make([]int, 0, len(idx))
	right := make([]int, 0, len(idx))
	for _, k := range idx {
		if int(b.bins[k][s.feature]) <= s.bin {
			left = append(left, k)
		} else {
			right = append(right, k)
		}
	}
	// Under a monotone constraint everything left of the split stays on
	// one side of the midpoint of the two weights and everything right on
	// the other, so no deeper split can undo the order.
	loL, hiL, loR, hiR := lo, hi, lo, hi
	if sg := b.sign(s.feature); sg != 0 {
		mid := (s.left + s.right) / 2
		if sg > 0 {
			hiL, loR = mid, mid
		} else {
			loL, hiR = mid, mid
		}
	}
	b.grow(2*i+1, depth+1, left, loL, hiL)
	b.grow(2*i+2, depth+1, right, loR, hiR)
}

// split is a candidate split: feature ≤ thresholds[feature][bin] goes
// left, and the two sides' leaf weights.
type split struct {
	feature, bin int
	left, right  float64
	ok           bool
}

// sign is the monotone constraint on feature j: its FeatureSigns sign with
// Monotone, else 0.
func (b *treeBuilder) sign(j int) int {
	if !b.p.Monotone {
		return 0
	}
	return trust.FeatureSigns[j]
}

// weight is a leaf's Newton step −G/(H+L2), clamped to [lo, hi].
func (b *treeBuilder) weight(G, H, lo, hi float64) float64 {
	return min(max(-G/(H+b.p.L2), lo), hi)
}

// objective is the second-order approximation of a leaf's penalised loss
// with weight w, up to a constant: G·w + ½(H+L2)·w².
func (b *treeBuilder) objective(G, H, w float64) float64 {
	return G*w + 0.5*(H+b.p.L2)*w*w
}

// bestSplit returns the split of idx that most reduces the penalised loss,
// among those whose sides both have weight ≥ MinLeaf and, with Monotone,
// whose leaf weights are ordered as the feature's sign requires; ok is
// false when no split reduces it.
func (b *treeBuilder) bestSplit(idx []int, G, H, lo, hi float64) split {
	parent := b.objective(G, H, b.weight(G, H, lo, hi))
	best := split{}
	bestGain := 1e-9 // a split must gain something beyond rounding
	for j := range trust.NumFeatures {
		nb := len(b.thresholds[j]) + 1
		hg := make([]float64, nb)
		hh := make([]float64, nb)
		hw := make([]float64, nb)
		var W float64
		for _, k := range idx {
			c := b.bins[k][j]
			hg[c] += b.g[k]
			hh[c] += b.h[k]
			hw[c] += b.w[k]
			W += b.w[k]
		}
		sg := float64(b.sign(j))
		var gl, hl, wl float64
		for c := range nb - 1 {
			gl += hg[c]
			hl += hh[c]
			wl += hw[c]
			if wl < b.p.MinLeaf || W-wl < b.p.MinLeaf {
				continue
			}
			gr, hr := G-gl, H-hl
			l, r := b.weight(gl, hl, lo, hi), b.weight(gr, hr, lo, hi)
			if sg*(r-l) < 0 {
				continue // against the feature's sign
			}
			if gain := parent - b.objective(gl, hl, l) - b.objective(gr, hr, r); gain > bestGain {
				bestGain, best = gain, split{feature: j, bin: c, left: l, right: r, ok: true}
			}
		}
	}
	return best
}

// quantileThresholds returns up to bins−1 distinct thresholds for feature
// j of xs, at its quantiles: each is a data value, and "x ≤ threshold"
// splits the data there.
func quantileThresholds(xs [][trust.NumFeatures]float64, j, bins int) []float64 {
	v := make([]float64, len(xs))
	for i := range xs {
		v[i] = xs[i][j]
	}
	slices.Sort(v)
	var t []float64
	for k := 1; k < bins; k++ {
		q := v[min(k*len(v)/bins, len(v)-1)]
		// The largest value splits nothing off.
		if q < v[len(v)-1] && (len(t) == 0 || q > t[len(t)-1]) {
			t = append(t, q)
		}
	}
	return t
}

// Additive returns an ensemble of depth-1 trees as a trust.Model with one
// step shape per feature (the sum of that feature's trees), weight 1 on
// each, and the constant trees in the bias: the same log-odds, in the form
// kith ships, whose contributions are exact per feature and whose weights
// an owner's judgements can refine.
func (e *Ensemble) Additive(provenance string, examples int) (*trust.Model, error) {
	if e.Depth != 1 {
		return nil, fmt.Errorf("%w: ensemble of depth %d is not additive", ErrCandidate, e.Depth)
	}
	m := &trust.Model{Version: trust.ModelVersion, Features: slices.Clone(trust.FeatureNames),
		Mean: slices.Clone(e.Mean), Scale: slices.Clone(e.Scale), Weights: make([]float64, trust.NumFeatures),
		Steps: make([]*trust.Steps, trust.NumFeatures), Bias: e.Base, Provenance: provenance, Examples: examples}
	type stump struct{ t, left, right float64 }
	byFeature := make([][]stump, trust.NumFeatures)
	for _, tr := range e.Trees {
		j := tr.Feature[0]
		if j < 0 {
			m.Bias += tr.Leaf[0]
			continue
		}
		byFeature[j] = append(byFeature[j], stump{tr.Threshold[0]*e.Scale[j] + e.Mean[j], tr.Leaf[0], tr.Leaf[1]})
	}
	for j, ss := range byFeature {
		if len(ss) == 0 {
			continue
		}
		var ts []float64
		for _, s := range ss {
			ts = append(ts, s.t)
		}
		slices.Sort(ts)
		ts = slices.Compact(ts)
		st := &trust.Steps{Thresholds: ts, Values: make([]float64, len(ts)+1)}
		for k := range st.Values {
			for _, s := range ss {
				// Interval k holds the x with exactly k thresholds below:
				// x ≤ s.t (left) when s.t is at index k or later.
				if i, _ := slices.BinarySearch(ts, s.t); i >= k {
					st.Values[k] += s.left
				} else {
					st.Values[k] += s.right
				}
			}
		}
		// Sums of monotone steps are monotone; keep them so to the last
		// bit, whatever the rounding of each interval's sum.
		for k := 1; k < len(st.Values); k++ {
			if sg := trust.FeatureSigns[j]; sg > 0 {
				st.Values[k] = max(st.Values[k], st.Values[k-1])
			} else if sg < 0 {
				st.Values[k] = min(st.Values[k], st.Values[k-1])
			}
		}
		m.Steps[j], m.Weights[j] = st, 1
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
