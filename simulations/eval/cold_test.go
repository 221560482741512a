package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

// TestColdView: the cold view holds k of the rater's other statements,
// never the one predicted, and exactly the statements issued within two
// hops along the kept vouches.
func TestColdView(t *testing.T) {
	g, id := trusttest.MustParse(t, `
		q -> a 0.5; q -> b 0.5; q -> c 0.5; q -x t 0.9
		a -> d; a -x t; d -> e; d -x t 0.3; e -x t
		b -> t; c -> f
		z -> t`)
	for k := 1; k <= 4; k++ {
		h, err := ColdView(g, id["q"], id["t"], k, rand.New(rand.NewPCG(1, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		to, _ := h.Out(id["q"])
		if len(to) != min(k, 3) || slices.Contains(to, id["t"]) {
			t.Fatalf("k=%d: own statements %v", k, to)
		}
		kept := map[trust.NodeID]bool{}
		for _, v := range to {
			kept[v] = true
		}
		for _, e := range h.Edges() {
			switch {
			case e.From == id["q"]:
			case kept[e.From]: // a friend
			case e.From == id["d"] && kept[id["a"]], e.From == id["f"] && kept[id["c"]]: // a friend of a friend
			default:
				t.Errorf("k=%d: %d->%d is beyond two hops", k, e.From, e.To)
			}
		}
		// Every statement of a kept friend and of their friends is there.
		for _, e := range g.Edges() {
			inside := (e.From == id["q"] && kept[e.To]) || kept[e.From] || (e.From == id["d"] && kept[id["a"]]) || (e.From == id["f"] && kept[id["c"]])
			if _, ok := h.Weight(e.From, e.To); ok != inside {
				t.Errorf("k=%d: %d->%d present %v, want %v", k, e.From, e.To, ok, inside)
			}
		}
		if _, ok := h.Weight(id["e"], id["t"]); ok {
			t.Errorf("k=%d: the statement of someone three hops away is in the view", k)
		}
	}
}

// TestShuffleWeights keeps the graph and the multiset of weights and
// moves them between edges.
func TestShuffleWeights(t *testing.T) {
	d, _ := loadOTC(t)
	g := d.Graph
	h, err := ShuffleWeights(g, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if h.M() != g.M() {
		t.Fatalf("%d edges, want %d", h.M(), g.M())
	}
	var wa, wb []float64
	moved := 0
	ge, he := g.Edges(), h.Edges()
	for i := range ge {
		if ge[i].From != he[i].From || ge[i].To != he[i].To {
			t.Fatalf("edge %d: %d->%d became %d->%d", i, ge[i].From, ge[i].To, he[i].From, he[i].To)
		}
		if ge[i].Weight != he[i].Weight {
			moved++
		}
		wa, wb = append(wa, ge[i].Weight), append(wb, he[i].Weight)
	}
	slices.Sort(wa)
	slices.Sort(wb)
	if !slices.Equal(wa, wb) {
		t.Fatal("the weights changed, not only their places")
	}
	if moved < g.M()/2 {
		t.Fatalf("only %d of %d weights moved", moved, g.M())
	}
}

// TestShuffledSignsAUC is the harness's leakage check on Bitcoin OTC:
// with the ratings permuted across edges, no engine predicts a sign
// better than chance, on the leave-one-out and the cold-start splits: every
// AUC within 0.05 of 0.5, or within three standard errors of the AUC of a
// random ranking of that many items where the sample is too small for
// 0.05 (all engines score the same test edges, so their deviations are
// correlated).
func TestShuffledSignsAUC(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("scores 1,500 test edges per split with six engines: .ci/run runs it without the race detector")
	}
	d, _ := loadOTC(t)
	es := []Engine{
		{Name: "kith-shared", New: func() trust.Scorer { return &trust.Engine{} }},
		{Name: "kith", New: func() trust.Scorer { return &trust.Engine{Personalize: true} }},
	}
	es = append(es, engines(t, "ppr", "moletrust", "fairness-goodness", "mean-rating")...)
	rows, err := Run(context.Background(), Config{Dataset: d, Tasks: []string{TaskEdge}, Splits: []string{SplitLOO, SplitCold},
		Engines: es, Samples: 1500, Seed: 1, ShuffleSigns: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r.Bucket != "all" {
			continue
		}
		n++
		t.Logf("%s %s: AUC %.3f over %d covered", r.Split, r.Engine, r.AUC, r.Covered)
		tol := max(0.05, 3*NullAUCError(r.Negatives, r.Covered-r.Negatives))
		if !(math.Abs(r.AUC-0.5) <= tol) {
			t.Errorf("%s %s: AUC %.3f with shuffled signs, want 0.50 ± %.3f", r.Split, r.Engine, r.AUC, tol)
		}
	}
	if n != 2*len(es) {
		t.Fatalf("%d rows", n)
	}
}

func TestExpectedCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var p []float64
	var y []bool
	for range 20000 {
		x := rng.Float64()
		p = append(p, x)
		y = append(y, rng.Float64() < x)
	}
	if e, bins := ExpectedCalibration(p, y); e > 0.02 || len(bins) != ReliabilityBins {
		t.Fatalf("calibrated predictions: ECE %v, %d bins", e, len(bins))
	}
	// Predicting 0.9 for events of rate 0.5 is off by 0.4.
	p, y = p[:0], y[:0]
	for i := range 1000 {
		p = append(p, 0.9)
		y = append(y, i%2 == 0)
	}
	if e, _ := ExpectedCalibration(p, y); math.Abs(e-0.4) > 1e-9 {
		t.Fatalf("ECE %v, want 0.4", e)
	}
	if e, _ := ExpectedCalibration(nil, nil); !math.IsNaN(e) {
		t.Fatalf("ECE of nothing: %v", e)
	}
}
