package training_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/kith-net/kith/simulations/training"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
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

// TestCollectAskAtJudgement: asked at each judgement's time, the same
// judgements are collected, and their evidence ages (member_age and the
// recent_* features) differ from those asked at the newest statement.
func TestCollectAskAtJudgement(t *testing.T) {
	g, err := trusttest.SyntheticWith(trusttest.SyntheticParams{Nodes: 200, Edges: 2000, Seed: 5, Negative: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	src := training.Source{Name: "synthetic", Graph: g}
	collect := func(at bool) training.SourceExamples {
		t.Helper()
		se, err := training.CollectSource(context.Background(), src, training.CollectOptions{Seed: 2, Raters: 30, AskAtJudgement: at})
		if err != nil {
			t.Fatal(err)
		}
		return se
	}
	newest, judged := collect(false), collect(true)
	age := slices.Index(trust.FeatureNames, "member_age")
	differ := 0
	for _, k := range training.Kinds {
		a, b := newest.Kinds[k], judged.Kinds[k]
		if len(a) != len(b) {
			t.Fatalf("%s: %d judgements asked at the newest statement, %d at their own time", k, len(a), len(b))
		}
		for i := range a {
			if a[i].Vouch != b[i].Vouch {
				t.Fatalf("%s %d: labels differ", k, i)
			}
			if a[i].Features.Values[age] != b[i].Features.Values[age] {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Error("no judgement's member_age changed when asked at its own time")
	}
}
