package training

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/trust"
)

// smallOptions is a comparison small enough for every test run: seconds,
// not minutes, with one worker.
var smallOptions = Options{Seed: 3, Markets: 2, Raters: 60, Workers: 1}

// TestCompare runs a small comparison and checks what must hold whatever
// the class: each one learns (its training log loss is below the base-rate
// entropy), ranks held-out warnings clearly better than chance, and stays
// small; the sign-constrained logistic regression is monotone.
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("collects judgements in eight synthetic markets")
	}
	if raceEnabled {
		// About 10 s becomes minutes under the race detector; Compare's
		// only concurrency is trust.Engine.Collect, which
		// TestCompareDeterministic and TestDeterministic run under it.
		t.Skip("too slow under the race detector")
	}
	rep, err := Compare(context.Background(), smallOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + FormatReport(rep))
	if len(rep.Classes) != len(classes) || len(rep.Sets) != 1+len(outOfRange) {
		t.Fatalf("%d classes, %d sets", len(rep.Classes), len(rep.Sets))
	}
	if rep.TrainExamples == 0 || !(rep.TrainEntropy > 0) {
		t.Fatalf("training set: %d examples, entropy %v", rep.TrainExamples, rep.TrainEntropy)
	}
	for _, s := range rep.Sets {
		if s.Examples < 100 || !(s.BaseRate > 0 && s.BaseRate < 1) {
			t.Fatalf("set %s: %d examples, base rate %v", s.Name, s.Examples, s.BaseRate)
		}
	}
	for _, c := range rep.Classes {
		if !(c.TrainLogLoss < rep.TrainEntropy-0.02) {
			t.Errorf("%s: training log loss %.4f, base-rate entropy %.4f: it has not fitted", c.Class, c.TrainLogLoss, rep.TrainEntropy)
		}
		if c.Bytes <= 0 || c.Bytes >= 64<<10 {
			t.Errorf("%s: %d bytes", c.Class, c.Bytes)
		}
		// Held-out market: clearly better than chance (about 600
		// judgements, so the AUC's standard error is a few hundredths).
		if q := c.Sets[0]; !(q.AUC > 0.62) || !(q.LogLoss < rep.Sets[0].BaseLogLoss+0.05) || !(q.ECE < 0.15) {
			t.Errorf("%s on the held-out market: AUC %.3f, log loss %.3f (base %.3f), ECE %.3f", c.Class, q.AUC, q.LogLoss, rep.Sets[0].BaseLogLoss, q.ECE)
		}
		// Out of range: better than chance on average. Not on every
		// market: in "noisy" a fifth of the honest ratings have the wrong
		// sign, and no class ranks its warnings much better than chance.
		mean := 0.0
		for _, q := range c.Sets[1:] {
			mean += q.AUC / float64(len(c.Sets)-1)
		}
		if !(mean > 0.6) {
			t.Errorf("%s out of range: mean AUC %.3f", c.Class, mean)
		}
	}
	// The logistic regression and the monotone ensembles keep the sign
	// constraints, so they never break monotonicity.
	for _, c := range rep.Classes {
		if c.Class == ClassEnsemble || c.Class == ClassMLP {
			continue
		}
		for s, q := range c.Sets {
			if q.MonotoneViolations != 0 || (c.Class == ClassLogistic && q.AUCDelta != 0) {
				t.Errorf("%s on %s: %v monotonicity violations, AUC delta %v", c.Class, rep.Sets[s].Name, q.MonotoneViolations, q.AUCDelta)
			}
		}
	}
}

// TestCompareDeterministic: the same seed gives the same report and the
// same models, byte for byte (the wall-clock fields aside), and the
// logistic regression and held-out figures are those of Default.
func TestCompareDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two tiny comparisons")
	}
	ctx := context.Background()
	o := Options{Seed: 5, Markets: 1, Raters: 10, Workers: 1}
	run := func() CompareReport {
		rep, err := Compare(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rep.Classes {
			rep.Classes[i].TrainTime, rep.Classes[i].PredictNs = 0, 0
		}
		return rep
	}
	a, b := run(), run()
	for i := range a.Classes {
		if !bytes.Equal(a.Classes[i].Model, b.Classes[i].Model) {
			t.Fatalf("%s: same seed, different models", a.Classes[i].Class)
		}
	}
	if fa, fb := fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b); fa != fb {
		t.Fatalf("same seed, different reports:\n%s\n%s", fa, fb)
	}

	m, dr, err := Default(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := trust.ParseModel(a.Classes[0].Model)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lr.Mean, lr.Scale, lr.Weights, lr.Bias) != fmt.Sprint(m.Mean, m.Scale, m.Weights, m.Bias) || lr.Examples != dr.Examples {
		t.Fatalf("Compare's logistic regression %+v differs from Default's %+v", lr, m)
	}
	if q := a.Classes[0].Sets[0]; q.AUC != dr.HeldOutAUC || math.Abs(q.ECE-dr.HeldOutECE) > 1e-12 || a.Sets[0].Examples != dr.HeldOutExamples {
		t.Fatalf("held-out AUC %v ECE %v on %d, Default reports %v %v on %d", q.AUC, q.ECE, a.Sets[0].Examples, dr.HeldOutAUC, dr.HeldOutECE, dr.HeldOutExamples)
	}
}

// tinyExamples are the examples of a very small Default run, shared by the
// unit tests and the benchmark.
var tinyExamples = sync.OnceValues(func() ([]trust.Example, error) {
	train, _, _, err := exampleSets(context.Background(), Options{Seed: 11, Markets: 1, Raters: 20, Workers: 1})
	return train, err
})

// TestCandidates checks the two candidate classes on their own: the same
// standardisation as the logistic regression, probabilities in [0, 1] even
// far outside the training data, a faithful encoding, determinism for a
// seed, and rejection of bad parameters and files.
func TestCandidates(t *testing.T) {
	ex, err := tinyExamples()
	if err != nil {
		t.Fatal(err)
	}
	lr, err := trust.Train(ex, nil, trust.TrainParams{L2: 1}, "test")
	if err != nil {
		t.Fatal(err)
	}
	e, err := TrainEnsemble(ex, EnsembleParams{Trees: 30})
	if err != nil {
		t.Fatal(err)
	}
	em, err := TrainEnsemble(ex, EnsembleParams{Trees: 30, Monotone: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainMLP(ex, MLPParams{Epochs: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(e.Mean, e.Scale) != fmt.Sprint(lr.Mean, lr.Scale) || fmt.Sprint(m.Mean, m.Scale) != fmt.Sprint(lr.Mean, lr.Scale) {
		t.Fatal("the candidates standardise differently from trust.Train")
	}
	// The monotone ensemble is monotone, whatever the step.
	for _, step := range []float64{0.01, 0.5, 10} {
		if v, _ := monotoneViolations(em, ex, slices.Repeat([]float64{step}, trust.NumFeatures)); v != 0 {
			t.Fatalf("monotone ensemble: %v violations at step %v", v, step)
		}
	}
	// Extreme (finite) inputs as well as the data.
	probes := []trust.Features{{}}
	for _, v := range []float64{-1e6, 1e6} {
		var f, g trust.Features
		for j := range f.Values {
			f.Values[j] = v
			g.Values[j] = v * float64(1-2*(j%2))
		}
		probes = append(probes, f, g)
	}
	for i := range ex {
		probes = append(probes, ex[i].Features)
	}
	for name, c := range map[string]struct {
		p     Predictor
		enc   func() ([]byte, error)
		parse func([]byte) (Predictor, error)
	}{
		"gbdt":          {e, e.Marshal, func(b []byte) (Predictor, error) { return ParseEnsemble(b) }},
		"gbdt-monotone": {em, em.Marshal, func(b []byte) (Predictor, error) { return ParseEnsemble(b) }},
		"mlp":           {m, m.Marshal, func(b []byte) (Predictor, error) { return ParseMLP(b) }},
	} {
		b, err := c.enc()
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range probes {
			p := c.p.Predict(&probes[i])
			if !(p >= 0 && p <= 1) {
				t.Fatalf("%s: probability %v for %v", name, p, probes[i].Values)
			}
			if q := back.Predict(&probes[i]); q != p {
				t.Fatalf("%s: decoded model predicts %v, trained one %v", name, q, p)
			}
		}
		if _, err := c.parse(b[:len(b)/2]); err == nil {
			t.Fatalf("%s: a truncated file parsed", name)
		}
	}
	// The generic calibration error is trust.CalibrationError.
	if a, b := calibrationError(predictions(lr, ex), ex, 10), trust.CalibrationError(lr, ex, 10); math.Abs(a-b) > 1e-12 {
		t.Fatalf("calibration error %v, trust.CalibrationError %v", a, b)
	}
	// Deterministic for a seed; a different seed gives a different MLP.
	e2, _ := TrainEnsemble(ex, EnsembleParams{Trees: 30})
	em2, _ := TrainEnsemble(ex, EnsembleParams{Trees: 30, Monotone: true})
	m2, _ := TrainMLP(ex, MLPParams{Epochs: 10, Seed: 1})
	m3, _ := TrainMLP(ex, MLPParams{Epochs: 10, Seed: 2})
	enc := func(p interface{ Marshal() ([]byte, error) }) string {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if enc(e) != enc(e2) || enc(em) != enc(em2) || enc(m) != enc(m2) || enc(m) == enc(m3) {
		t.Fatal("candidates are not deterministic for a seed")
	}
	// Bad parameters and bad files.
	if _, err := TrainEnsemble(ex, EnsembleParams{Depth: 9}); err == nil {
		t.Fatal("depth 9 accepted")
	}
	if _, err := TrainMLP(ex, MLPParams{Hidden: 17}); err == nil {
		t.Fatal("17 hidden units accepted")
	}
	if _, err := TrainMLP(nil, MLPParams{}); err == nil {
		t.Fatal("no examples accepted")
	}
	if _, err := ParseMLP([]byte(`{"mean":[0],"scale":[1]}`)); err == nil {
		t.Fatal("a malformed MLP parsed")
	}
}

// TestCompareFull is the full-size comparison MODELS.md reports. It takes
// minutes, so it runs only with KITH_MODEL_COMPARE=1 (KITH_MODEL_COMPARE_SEED
// picks another seed than 1):
//
//	KITH_MODEL_COMPARE=1 GOMAXPROCS=1 go test -run TestCompareFull -v -timeout 60m ./simulations/training/
func TestCompareFull(t *testing.T) {
	if os.Getenv("KITH_MODEL_COMPARE") != "1" {
		t.Skip("set KITH_MODEL_COMPARE=1 to run the full-size comparison")
	}
	o := Options{Seed: 1, Workers: 1}
	if s := os.Getenv("KITH_MODEL_COMPARE_SEED"); s != "" {
		if _, err := fmt.Sscan(s, &o.Seed); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	rep, err := Compare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d, %d markets × %d raters, %s\n%s", rep.Seed, rep.Markets, rep.Raters, time.Since(start).Round(time.Second), FormatReport(rep))
}

// BenchmarkPredict is the cost of one prediction per class, on models
// trained on a tiny Default run (the cost hardly depends on the fit: the
// logistic regression is 8 multiply-adds, an ensemble 100 trees of depth
// 3 or 1, the MLP 16 tanh units).
func BenchmarkPredict(b *testing.B) {
	ex, err := tinyExamples()
	if err != nil {
		b.Fatal(err)
	}
	lr, err := trust.Train(ex, nil, trust.TrainParams{L2: 1}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	e, err := TrainEnsemble(ex, EnsembleParams{})
	if err != nil {
		b.Fatal(err)
	}
	em, err := TrainEnsemble(ex, EnsembleParams{Monotone: true})
	if err != nil {
		b.Fatal(err)
	}
	ea, err := TrainEnsemble(ex, EnsembleParams{Monotone: true, Depth: 1})
	if err != nil {
		b.Fatal(err)
	}
	m, err := TrainMLP(ex, MLPParams{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    Predictor
	}{{ClassLogistic, lr}, {ClassEnsemble, e}, {ClassMonotoneEnsemble, em}, {ClassAdditiveEnsemble, ea}, {ClassMLP, m}} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				c.p.Predict(&ex[i].Features)
				if i++; i == len(ex) {
					i = 0
				}
			}
		})
	}
}
