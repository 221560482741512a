package training_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/kith-net/kith/simulations/training"
	"github.com/kith-net/kith/trust"
)

// TestDeterministic: the same seed gives the same model, byte for byte,
// whatever the number of workers; the full-size reproduction of
// trust/model/default.json is checked by .ci/run.
func TestDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small models")
	}
	run := func(workers int) []byte {
		m, rep, err := training.Default(context.Background(), training.Options{Seed: 7, Markets: 1, Raters: 40, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Examples == 0 || rep.HeldOutExamples == 0 {
			t.Fatalf("report %+v", rep)
		}
		for j, sg := range trust.FeatureSigns {
			if float64(sg)*m.Weights[j] < 0 {
				t.Fatalf("%s weight %v against its sign", trust.FeatureNames[j], m.Weights[j])
			}
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if a, b := run(1), run(3); !bytes.Equal(a, b) {
		t.Fatal("same seed, different models")
	}
}
