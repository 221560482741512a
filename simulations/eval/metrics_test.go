package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kith-net/kith/trust"
)

func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.IsNaN(want) != math.IsNaN(got) || math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestAUC(t *testing.T) {
	// Positives 0.9, 0.4; negatives 0.5, 0.1: of the 4 pairs, (0.9 > 0.5),
	// (0.9 > 0.1), (0.4 > 0.1) are ordered, (0.4 < 0.5) is not: 3/4.
	approx(t, "auc", AUC([]float64{0.9, 0.5, 0.4, 0.1}, []bool{true, false, true, false}), 0.75)
	// A tie between a positive and a negative counts one half: pairs
	// (0.5 vs 0.5) = 0.5, (0.5 vs 0.2) = 1, (0.8 vs both) = 2: 3.5/4.
	approx(t, "ties", AUC([]float64{0.8, 0.5, 0.5, 0.2}, []bool{true, true, false, false}), 0.875)
	approx(t, "perfect", AUC([]float64{3, 2, 1}, []bool{true, false, false}), 1)
	approx(t, "reversed", AUC([]float64{1, 2, 3}, []bool{true, false, false}), 0)
	approx(t, "one class", AUC([]float64{1, 2}, []bool{true, true}), math.NaN())
	approx(t, "empty", AUC(nil, nil), math.NaN())
	approx(t, "nan score", AUC([]float64{1, math.NaN()}, []bool{true, false}), math.NaN())
}

func TestMacroF1(t *testing.T) {
	// Scores below 0.5 are predicted positive. Truth: P P N N N.
	// Predictions: 0.1 P (tp), 0.7 N (fn), 0.2 P (fp), 0.8 N (tn), 0.9 N (tn).
	// F1(pos) = 2*1/(2+1+1) = 0.5; F1(neg) = 2*2/(4+1+1) = 2/3.
	scores := []float64{0.1, 0.7, 0.2, 0.8, 0.9}
	pos := []bool{true, true, false, false, false}
	approx(t, "macro-F1", MacroF1(scores, pos, 0.5), (0.5+2.0/3)/2)
	approx(t, "macro-F1 from labels", macroF1Pred([]bool{true, false, true, false, false}, pos), (0.5+2.0/3)/2)
	// Nothing predicted positive: F1(pos) = 0, F1(neg) = 2*3/(6+2) = 0.75.
	approx(t, "none predicted", MacroF1(scores, pos, math.Inf(-1)), 0.375)
	approx(t, "empty", MacroF1(nil, nil, 0), math.NaN())
}

func TestBestThreshold(t *testing.T) {
	// Separable: positives score 1, 2; negatives 5, 6. The best threshold
	// is the midpoint between 2 and 5.
	thr := BestThreshold([]float64{5, 1, 6, 2}, []bool{false, true, false, true})
	approx(t, "separable", thr, 3.5)
	approx(t, "macro-F1 at it", MacroF1([]float64{5, 1, 6, 2}, []bool{false, true, false, true}, thr), 1)
	// All negative: predicting no positive is best (-Inf).
	if thr := BestThreshold([]float64{1, 2}, []bool{false, false}); !math.IsInf(thr, -1) {
		t.Errorf("all negative: threshold %v, want -Inf", thr)
	}
	approx(t, "no items", BestThreshold(nil, nil), 0)
	// NaN scores are ignored.
	approx(t, "nan ignored", BestThreshold([]float64{math.NaN(), 1, 3}, []bool{false, true, false}), 2)
}

func TestErrors(t *testing.T) {
	truth := []float64{1, 0, -1}
	pred := []float64{0.5, 0, -0.5}
	approx(t, "rmse", RMSE(truth, pred), math.Sqrt(0.5/3))
	approx(t, "mae", MAE(truth, pred), 1.0/3)
	approx(t, "pcc", Pearson(truth, pred), 1)
	approx(t, "pcc negative", Pearson(truth, []float64{-1, 0, 1}), -1)
	// x = 1, 2, 3, 4; y = 1, 3, 2, 4: mean 2.5 each, sxy = 1.5*1.5 + 0.5*(-0.5)... by hand:
	// dx = -1.5 -0.5 0.5 1.5, dy = -1.5 0.5 -0.5 1.5: sxy = 2.25-0.25-0.25+2.25 = 4, sxx = syy = 5.
	approx(t, "pcc 0.8", Pearson([]float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}), 0.8)
	approx(t, "pcc constant", Pearson([]float64{1, 1}, []float64{1, 2}), math.NaN())
	approx(t, "rmse empty", RMSE(nil, nil), math.NaN())
}

func TestCalibration(t *testing.T) {
	// Scores 1..4 with weights 0.1, 0.3, 0.2, 0.8: PAV pools 2 and 3 into
	// one block of mean 0.25 centred at 2.5. Blocks: (1, 0.1), (2.5,
	// 0.25), (4, 0.8).
	c := FitCalibration([]float64{1, 2, 3, 4, math.NaN()}, []float64{0.1, 0.3, 0.2, 0.8, 1})
	for _, tc := range []struct{ s, want float64 }{
		{0, 0.1}, {1, 0.1}, {2.5, 0.25}, {4, 0.8}, {9, 0.8},
		{1.75, 0.175},         // halfway between (1, 0.1) and (2.5, 0.25)
		{3.25, 0.25 + 0.55/2}, // halfway between (2.5, 0.25) and (4, 0.8)
	} {
		approx(t, "apply", c.Apply(tc.s), tc.want)
	}
	approx(t, "nan", c.Apply(math.NaN()), math.NaN())
	approx(t, "unfitted", FitCalibration(nil, nil).Apply(1), math.NaN())
	// Ties in the score are averaged first: (1: 0, 1) -> 0.5.
	approx(t, "ties", FitCalibration([]float64{1, 1, 2}, []float64{0, 1, 0.9}).Apply(1), 0.5)
}

func TestCapturedMass(t *testing.T) {
	// Nodes 0..2 honest (0 is the querier), 3..4 Sybils.
	y := []float64{0.5, 0.2, 0.1, 0.1, 0.1}
	if got := capturedMass(y, 0, 3); math.Abs(got-0.4) > 1e-12 {
		t.Fatalf("captured %v, want 0.4", got)
	}
	if got := capturedMass([]float64{1, 0, 0}, 0, 2); !math.IsNaN(got) {
		t.Fatalf("captured %v with no mass outside the querier, want NaN", got)
	}
}

// TestFitDrift: the drift map is recovered from data drawn from it, stays
// the identity without data, and staleness counts months from the newest
// statement by someone else.
func TestFitDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	want := driftMap{0.8, 0.5, 0.3, -0.4}
	var x, s []float64
	var y []bool
	for range 20000 {
		xi, si := 3*rng.NormFloat64(), 2*rng.Float64()
		x, s = append(x, xi), append(s, si)
		y = append(y, rng.Float64() < want.apply(xi, si))
	}
	got := fitDrift(x, s, y)
	for j := range got {
		if math.Abs(got[j]-want[j]) > 0.1 {
			t.Errorf("fitted %v, drawn from %v", got, want)
			break
		}
	}
	if id := fitDrift(nil, nil, nil); id != (driftMap{1, 0, 0, 0}) {
		t.Errorf("without data: %v, want the identity", id)
	}
	if p := (driftMap{1, 0, 0, 0}).apply(0.7, 3); math.Abs(p-trust.Sigmoid(0.7)) > 1e-12 {
		t.Errorf("identity map of 0.7: %v", p)
	}

	const day = 86400
	g, err := trust.NewGraph(4, []trust.Edge{
		{From: 0, To: 3, Weight: 1, Time: 100 * day},
		{From: 1, To: 3, Weight: 1, Time: 130 * day},
		{From: 2, To: 3, Weight: -1, Time: 400 * day},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e    trust.Edge
		want float64
	}{
		{trust.Edge{From: 2, To: 3, Time: 400 * day}, math.Log1p(270.0 / 30)}, // its own statement is not evidence
		{trust.Edge{From: 0, To: 3, Time: 300 * day}, 0},                      // a later statement is as fresh as it gets
		{trust.Edge{From: 0, To: 2, Time: 300 * day}, 0},                      // nothing known
	} {
		if got := staleness(g, c.e); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("staleness of %+v: %v, want %v", c.e, got, c.want)
		}
	}
}
