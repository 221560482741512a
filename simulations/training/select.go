package training

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kith-net/kith/trust"
)

// Candidate is one model class with its hyperparameters: what nested
// validation chooses among.
type Candidate struct {
	Class    string
	L2       float64        // logistic: the penalty per unit of example weight
	Ensemble EnsembleParams // tree ensembles
	MLP      MLPParams      // MLP
}

func (c Candidate) String() string {
	switch c.Class {
	case ClassLogistic:
		return fmt.Sprintf("logistic(l2=%g)", c.L2)
	case ClassEnsemble, ClassMonotoneEnsemble, ClassAdditiveEnsemble:
		p := c.Ensemble.withDefaults()
		if c.Class == ClassAdditiveEnsemble {
			return fmt.Sprintf("%s(trees=%d,shrinkage=%g)", c.Class, p.Trees, p.Shrinkage)
		}
		return fmt.Sprintf("%s(trees=%d,depth=%d,shrinkage=%g)", c.Class, p.Trees, p.Depth, p.Shrinkage)
	case ClassMLP:
		p := c.MLP.withDefaults()
		return fmt.Sprintf("mlp(hidden=%d,epochs=%d)", p.Hidden, p.Epochs)
	}
	return c.Class
}

// Monotone reports whether the class keeps kith's promise that the score
// is monotone in the evidence (trust.FeatureSigns).
func (c Candidate) Monotone() bool {
	return c.Class == ClassLogistic || c.Class == ClassMonotoneEnsemble || c.Class == ClassAdditiveEnsemble
}

// Ships reports whether the class can be the model kith ships: monotone,
// and additive, so that a score splits exactly into per-feature
// contributions (what explanations show) and an owner's judgements can
// refine it (trust.Model). The monotone ensemble of deeper trees and the
// MLP are measured beside them, never chosen.
func (c Candidate) Ships() bool {
	return c.Class == ClassLogistic || c.Class == ClassAdditiveEnsemble
}

// Model trains the candidate on ex as the trust.Model kith ships; only
// for candidates that Ship.
func (c Candidate) Model(ex []trust.Example, provenance string) (*trust.Model, error) {
	p, err := c.Train(ex, provenance)
	if err != nil {
		return nil, err
	}
	switch m := p.(type) {
	case *trust.Model:
		return m, nil
	case *Ensemble:
		return m.Additive(provenance, len(ex))
	}
	return nil, fmt.Errorf("training: %s cannot ship", c)
}

// Train fits the candidate to ex. The logistic regression's L2 is scaled
// by the examples' total weight, so that it means the same whatever the
// number of examples.
func (c Candidate) Train(ex []trust.Example, provenance string) (Predictor, error) {
	switch c.Class {
	case ClassLogistic:
		total := 0.0
		for i := range ex {
			total += weight(&ex[i])
		}
		// Weights are rescaled to a mean of 1, the penalty with them.
		scaled := make([]trust.Example, len(ex))
		for i, e := range ex {
			e.Weight = weight(&ex[i]) * float64(len(ex)) / total
			scaled[i] = e
		}
		return trust.Train(scaled, nil, trust.TrainParams{L2: c.L2 * float64(len(ex))}, provenance)
	case ClassEnsemble, ClassMonotoneEnsemble, ClassAdditiveEnsemble:
		p := c.Ensemble
		p.Monotone = c.Class != ClassEnsemble
		if c.Class == ClassAdditiveEnsemble {
			p.Depth = 1
		}
		return TrainEnsemble(normalised(ex), p)
	case ClassMLP:
		return TrainMLP(normalised(ex), c.MLP)
	}
	return nil, fmt.Errorf("training: unknown class %q", c.Class)
}

// normalised rescales example weights to a mean of 1.
func normalised(ex []trust.Example) []trust.Example {
	total := 0.0
	for i := range ex {
		total += weight(&ex[i])
	}
	out := make([]trust.Example, len(ex))
	for i, e := range ex {
		e.Weight = weight(&ex[i]) * float64(len(ex)) / total
		out[i] = e
	}
	return out
}

// DefaultCandidates is the grid nested validation searches.
func DefaultCandidates(seed uint64) []Candidate {
	var cs []Candidate
	for _, l2 := range []float64{1e-4, 1e-3, 1e-2, 1e-1} {
		cs = append(cs, Candidate{Class: ClassLogistic, L2: l2})
	}
	for _, trees := range []int{50, 200} {
		cs = append(cs, Candidate{Class: ClassAdditiveEnsemble, Ensemble: EnsembleParams{Trees: trees, Shrinkage: 0.1}})
		cs = append(cs, Candidate{Class: ClassMonotoneEnsemble, Ensemble: EnsembleParams{Trees: trees, Depth: 3, Shrinkage: 0.1}})
	}
	cs = append(cs, Candidate{Class: ClassMLP, MLP: MLPParams{Seed: seed}})
	return cs
}

// Quality is how a model does on one held-out source: its examples of
// every kind together (weighted as SourceExamples.All) and each kind
// alone.
type SourceQuality struct {
	Source  string
	All     Quality
	ByKind  map[string]Quality
	Counts  map[string]int
	BaseLog float64 // log loss of the source's base rate: what a model must beat
}

// measure computes p's quality on one source.
func measure(p Predictor, s SourceExamples) SourceQuality {
	q := SourceQuality{Source: s.Name, ByKind: map[string]Quality{}, Counts: map[string]int{}}
	all := s.All()
	pa := predictions(p, all)
	q.All = Quality{AUC: warnAUC(pa, all), LogLoss: logLoss(pa, all), ECE: weightedECE(pa, all)}
	q.BaseLog = entropy(weightedRate(all))
	for _, k := range Kinds {
		ex := s.Kinds[k]
		q.Counts[k] = len(ex)
		if len(ex) == 0 {
			continue
		}
		pk := predictions(p, ex)
		q.ByKind[k] = Quality{AUC: warnAUC(pk, ex), LogLoss: logLoss(pk, ex), ECE: weightedECE(pk, ex)}
	}
	return q
}

func weightedRate(ex []trust.Example) float64 {
	var sy, sw float64
	for i := range ex {
		w := weight(&ex[i])
		sw += w
		if ex[i].Vouch {
			sy += w
		}
	}
	return sy / sw
}

// weightedECE is the expected calibration error with example weights, ten
// equal-width bins.
func weightedECE(p []float64, ex []trust.Example) float64 {
	const bins = 10
	var sp, sy, sw [bins]float64
	total := 0.0
	for i := range ex {
		w := weight(&ex[i])
		b := min(max(int(p[i]*bins), 0), bins-1)
		sp[b] += w * p[i]
		sw[b] += w
		if ex[i].Vouch {
			sy[b] += w
		}
		total += w
	}
	e := 0.0
	for b := range bins {
		e += math.Abs(sy[b]-sp[b]) / total
	}
	return e
}

// CVResult is a candidate's leave-one-source-out result over some
// sources.
type CVResult struct {
	Candidate Candidate
	// MeanLogLoss is the mean, over held-out sources, of the log loss on
	// each source's examples: what selection minimises.
	MeanLogLoss float64
	Held        []SourceQuality
}

// LeaveOneSourceOut trains c on all but one real source (and every
// synthetic one) and measures it on the held-out one, for each real source
// in turn.
func LeaveOneSourceOut(ctx context.Context, sources []SourceExamples, c Candidate) (CVResult, error) {
	r := CVResult{Candidate: c}
	n := 0
	for i, held := range sources {
		if held.Synthetic {
			continue
		}
		if err := ctx.Err(); err != nil {
			return CVResult{}, err
		}
		var train []trust.Example
		for j, s := range sources {
			if j != i {
				train = append(train, s.All()...)
			}
		}
		p, err := c.Train(train, "cv")
		if err != nil {
			return CVResult{}, fmt.Errorf("training: %s without %s: %w", c, held.Name, err)
		}
		q := measure(p, held)
		r.Held = append(r.Held, q)
		r.MeanLogLoss += q.All.LogLoss
		n++
	}
	if n == 0 {
		return CVResult{}, fmt.Errorf("training: leave one source out: no real source")
	}
	r.MeanLogLoss /= float64(n)
	return r, nil
}

// Select returns the candidate with the lowest mean held-out log loss
// over sources (leave one source out), among those that Ship, and every
// candidate's result.
func Select(ctx context.Context, sources []SourceExamples, cands []Candidate) (Candidate, []CVResult, error) {
	var results []CVResult
	best := -1
	for _, c := range cands {
		r, err := LeaveOneSourceOut(ctx, sources, c)
		if err != nil {
			return Candidate{}, nil, err
		}
		results = append(results, r)
		if c.Ships() && (best < 0 || r.MeanLogLoss < results[best].MeanLogLoss) {
			best = len(results) - 1
		}
	}
	if best < 0 {
		return Candidate{}, nil, fmt.Errorf("training: select: no candidate that can ship")
	}
	return results[best].Candidate, results, nil
}

// OuterResult is one fold of nested validation: the source held out, the
// candidate chosen without it (by Select on the others), and how that
// choice, trained on the others, does on it; Classes holds the best of
// each class chosen the same way, for the comparison of classes.
type OuterResult struct {
	Held    string
	Chosen  Candidate
	Quality SourceQuality
	Classes []ClassOuter
}

// ClassOuter is one class's best candidate on the inner folds and its
// quality on the held-out source.
type ClassOuter struct {
	Candidate Candidate
	Quality   SourceQuality
}

// Nested runs nested validation: for each real source, Select on the
// others chooses a candidate, which is trained on the others and measured
// on the held-out source. It estimates how the whole procedure does on a
// network it has never seen.
func Nested(ctx context.Context, sources []SourceExamples, cands []Candidate) ([]OuterResult, error) {
	var out []OuterResult
	for i, held := range sources {
		if held.Synthetic {
			continue
		}
		rest := slices.Delete(slices.Clone(sources), i, i+1)
		chosen, inner, err := Select(ctx, rest, cands)
		if err != nil {
			return nil, fmt.Errorf("training: nested, %s held out: %w", held.Name, err)
		}
		var train []trust.Example
		for _, s := range rest {
			train = append(train, s.All()...)
		}
		o := OuterResult{Held: held.Name, Chosen: chosen}
		// The best of each class on the inner folds, measured on the
		// held-out source.
		bestOf := map[string]int{}
		for j, r := range inner {
			if k, ok := bestOf[r.Candidate.Class]; !ok || r.MeanLogLoss < inner[k].MeanLogLoss {
				bestOf[r.Candidate.Class] = j
			}
		}
		for _, class := range classes {
			j, ok := bestOf[class]
			if !ok {
				continue
			}
			p, err := inner[j].Candidate.Train(train, "nested")
			if err != nil {
				return nil, err
			}
			q := measure(p, held)
			o.Classes = append(o.Classes, ClassOuter{Candidate: inner[j].Candidate, Quality: q})
			if inner[j].Candidate == chosen {
				o.Quality = q
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// FormatNested renders nested validation as Markdown.
func FormatNested(outer []OuterResult) string {
	var b strings.Builder
	b.WriteString("| held-out network | chosen without it | AUC | log loss (base) | ECE | AUC warm | AUC small | AUC future | ECE warm | ECE small | ECE future |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	f := func(q Quality, ok bool, ece bool) string {
		if !ok {
			return "–"
		}
		if ece {
			return fmt.Sprintf("%.3f", q.ECE)
		}
		return fmt.Sprintf("%.3f", q.AUC)
	}
	for _, o := range outer {
		q := o.Quality
		w, okw := q.ByKind[KindWarm]
		s, oks := q.ByKind[KindSmall]
		fu, okf := q.ByKind[KindFuture]
		fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f (%.3f) | %.3f | %s | %s | %s | %s | %s | %s |\n", o.Held, o.Chosen, q.All.AUC, q.All.LogLoss, q.BaseLog, q.All.ECE,
			f(w, okw, false), f(s, oks, false), f(fu, okf, false), f(w, okw, true), f(s, oks, true), f(fu, okf, true))
	}
	b.WriteString("\nEach class's best candidate on the inner folds, on the held-out network (AUC / log loss / ECE). Only logistic and gbdt-additive can ship (monotone and additive); gbdt-monotone (depth 3) is monotone but not additive; the MLP is neither:\n\n")
	b.WriteString("| held-out network |")
	for _, c := range outer[0].Classes {
		fmt.Fprintf(&b, " %s |", c.Candidate.Class)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(outer[0].Classes)) + "\n")
	for _, o := range outer {
		fmt.Fprintf(&b, "| %s |", o.Held)
		for _, c := range o.Classes {
			fmt.Fprintf(&b, " %.3f / %.3f / %.3f |", c.Quality.All.AUC, c.Quality.All.LogLoss, c.Quality.All.ECE)
		}
		b.WriteString("\n")
	}
	return b.String()
}
