package trust_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kith-net/kith/trust"
)

// TestTrainRecoversWeights: on data drawn from a known logistic model, Train
// recovers its weights and its predictions are calibrated.
func TestTrainRecoversWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	// Weights on two sign-constrained features, each of its sign.
	true_ := map[int]float64{trust.FTrust: 1.5, trust.FTrustedWarn: -2}
	var ex []trust.Example
	for range 20000 {
		var f trust.Features
		z := 0.3
		for j, w := range true_ {
			x := rng.NormFloat64()
			f.Values[j] = x
			z += w * x
		}
		f.Covered = true
		ex = append(ex, trust.Example{Features: f, Vouch: rng.Float64() < 1/(1+math.Exp(-z))})
	}
	m, err := trust.Train(ex, nil, trust.TrainParams{L2: 0.01}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for j, w := range true_ {
		got := m.Weights[j] / m.Scale[j]
		if math.Abs(got-w) > 0.1 {
			t.Errorf("weight %d: %v, want %v", j, got, w)
		}
	}
	// Calibration: in each decile of predicted probability, the observed
	// vouch rate is close to the mean prediction (ECE < 0.02).
	if ece := trust.CalibrationError(m, ex, 10); ece > 0.02 {
		t.Errorf("expected calibration error %v", ece)
	}
}

// TestTrainKeepsSigns: a feature whose data-driven weight would have the
// wrong sign (warnings raising trust) is held at zero.
func TestTrainKeepsSigns(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	var ex []trust.Example
	for range 5000 {
		var f trust.Features
		f.Values[trust.FWarners] = rng.NormFloat64()
		f.Values[trust.FTrustedWarn] = rng.NormFloat64()
		z := 1.0*f.Values[trust.FWarners] - 1.0*f.Values[trust.FTrustedWarn]
		ex = append(ex, trust.Example{Features: f, Vouch: rng.Float64() < 1/(1+math.Exp(-z))})
	}
	m, err := trust.Train(ex, nil, trust.TrainParams{L2: 0.01}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if m.Weights[trust.FWarners] != 0 {
		t.Fatalf("warners weight %v, want 0 (constrained to ≤ 0)", m.Weights[trust.FWarners])
	}
	if w := m.Weights[trust.FTrustedWarn] / m.Scale[trust.FTrustedWarn]; math.Abs(w+1) > 0.15 {
		t.Fatalf("trusted_warn weight %v, want about -1", w)
	}
	for j, sg := range trust.FeatureSigns {
		if float64(sg)*m.Weights[j] < 0 {
			t.Fatalf("%s has weight %v against its sign", trust.FeatureNames[j], m.Weights[j])
		}
	}
}

// TestTrainPriorDominatesFewExamples: with a strong L2 toward a prior, a
// handful of contrary examples moves the model only a little.
func TestTrainPriorDominatesFewExamples(t *testing.T) {
	prior := trust.DefaultModel()
	var ex []trust.Example
	for range 5 {
		var f trust.Features
		f.Covered = true
		ex = append(ex, trust.Example{Features: f, Vouch: false})
	}
	m, err := trust.Train(ex, prior, trust.TrainParams{L2: 50}, "owner")
	if err != nil {
		t.Fatal(err)
	}
	for j := range m.Weights {
		if math.Abs(m.Weights[j]-prior.Weights[j]) > 0.2 {
			t.Errorf("weight %s moved from %v to %v", trust.FeatureNames[j], prior.Weights[j], m.Weights[j])
		}
	}
}

func TestModelFileValidation(t *testing.T) {
	m := trust.DefaultModel()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trust.ParseModel(b); err != nil {
		t.Fatal(err)
	}
	if len(b) > 64<<10 {
		t.Fatalf("default model is %d bytes", len(b))
	}
	for _, bad := range []string{
		`{}`, `{"version":5}`, `not json`,
		`{"version":2,"features":["mass"],"mean":[0],"scale":[1],"weights":[0]}`,
		`{"version":4,"features":["mass"],"mean":[0],"scale":[1],"weights":[0]}`,
		`{"version":4,"features":["trust","trust"],"mean":[0,0],"scale":[1,1],"weights":[0,0]}`,
		`{"version":4,"features":["trust"],"mean":[0],"scale":[0],"weights":[1]}`,
		`{"version":4,"features":["trusted_warn"],"mean":[0],"scale":[1],"weights":[1]}`,
		`{"version":4,"features":["trust"],"mean":[0,1],"scale":[1],"weights":[1]}`,
	} {
		if _, err := trust.ParseModel([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestTrainAllVouchesStaysFinite: an owner whose judgements are all vouches
// (separable data) must not saturate the model: the bias stays near the
// prior's and scores keep their order.
func TestTrainAllVouchesStaysFinite(t *testing.T) {
	prior := trust.DefaultModel()
	rng := rand.New(rand.NewPCG(7, 7))
	var ex []trust.Example
	for range 40 {
		var f trust.Features
		for j := range f.Values {
			f.Values[j] = prior.Mean[j] + prior.Scale[j]*rng.NormFloat64()
		}
		ex = append(ex, trust.Example{Features: f, Vouch: true})
	}
	m, err := trust.Train(ex, prior, trust.TrainParams{L2: trust.DefaultPersonalL2}, "owner")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.Bias-prior.Bias) > 2 {
		t.Fatalf("bias moved from %v to %v", prior.Bias, m.Bias)
	}
	lo, hi := ex[0].Features, ex[0].Features
	// Raise the negative feature the prior weighs most.
	j := -1
	for i, sg := range trust.FeatureSigns {
		if sg < 0 && (j < 0 || math.Abs(prior.Weights[i]) > math.Abs(prior.Weights[j])) {
			j = i
		}
	}
	lo.Values[j] += 3
	if !(m.Predict(&lo) < m.Predict(&hi)) || m.Predict(&hi) >= 1 {
		t.Fatalf("scores saturated: %v, %v", m.Predict(&lo), m.Predict(&hi))
	}
}

// TestTrainLevel: on levels that are a known linear function of the
// inputs, the level head recovers them; the shipped level file parses.
func TestTrainLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m := trust.DefaultModel()
	var ex []trust.Example
	for range 4000 {
		var f trust.Features
		f.Values[trust.FTrust] = rng.Float64()
		f.Level[trust.LOwnerMeanStrength] = rng.Float64()
		y := 0.6*f.Level[trust.LOwnerMeanStrength] - 0.2 + 0.01*rng.NormFloat64()
		ex = append(ex, trust.Example{Features: f, Level: y})
	}
	l, err := trust.TrainLevel(ex, m, 1e-4, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex[:100] {
		want := 0.6*e.Features.Level[trust.LOwnerMeanStrength] - 0.2
		if got := l.Level(m.Logit(&e.Features), &e.Features); math.Abs(got-want) > 0.05 {
			t.Fatalf("level %v, want about %v", got, want)
		}
	}
	if d := trust.DefaultLevelModel(); d.Validate() != nil || d.Examples == 0 {
		t.Fatalf("shipped level model: %+v", d)
	}
	if _, err := trust.ParseLevelModel([]byte(`{"version":1,"inputs":["logit"]}`)); err == nil {
		t.Fatal("accepted a level model with the wrong inputs")
	}
}

// TestOlderModelVersionRefused: a model or level file of the previous
// format version, whose features meant something else (the rater trust
// before the contact discount), is refused with ErrModelVersion and a
// message that says to train it again, never read with the new features.
func TestOlderModelVersionRefused(t *testing.T) {
	m := *trust.DefaultModel()
	m.Version = trust.ModelVersion - 1
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = trust.ParseModel(b)
	if !errors.Is(err, trust.ErrModelVersion) || !strings.Contains(err.Error(), "train it again") {
		t.Fatalf("a version %d model: %v", m.Version, err)
	}
	l := *trust.DefaultLevelModel()
	l.Version = trust.LevelVersion - 1
	if b, err = json.Marshal(l); err != nil {
		t.Fatal(err)
	}
	_, err = trust.ParseLevelModel(b)
	if !errors.Is(err, trust.ErrModelVersion) || !strings.Contains(err.Error(), "train it again") {
		t.Fatalf("a version %d level model: %v", l.Version, err)
	}
}
