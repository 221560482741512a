package trust_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kith-net/kith/trust"
)

// randomGraph returns a signed random graph with roughly deg edges per node.
func randomGraph(t testing.TB, rng *rand.Rand, n, deg int, negShare float64) *trust.Graph {
	t.Helper()
	var es []trust.Edge
	for u := range n {
		for range 1 + rng.IntN(2*deg) {
			w := 0.1 + 0.9*rng.Float64()
			if rng.Float64() < negShare {
				w = -w
			}
			es = append(es, trust.Edge{From: trust.NodeID(u), To: trust.NodeID(rng.IntN(n)), Weight: w, Time: int64(1000 + rng.IntN(1000))})
		}
	}
	g, err := trust.NewGraph(n, es)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// powerPPR is a plain power iteration of the same walk the engine defines:
// positive edges with probability w/max(1, out-weight); walks stop with
// what is left over and at dangling and blocked nodes.
func powerPPR(g *trust.Graph, q trust.NodeID, alpha float64) []float64 {
	n := g.N()
	blocked := make([]bool, n)
	to, w := g.Out(q)
	for i, v := range to {
		if w[i] < 0 {
			blocked[v] = true
		}
	}
	x := make([]float64, n)
	x[q] = 1
	for range 300 {
		nx := make([]float64, n)
		nx[q] += alpha
		for u := range n {
			to, w := g.Out(trust.NodeID(u))
			sum := positiveOut(g, trust.NodeID(u))
			if sum == 0 || (blocked[u] && trust.NodeID(u) != q) {
				continue // the walk stops
			}
			for i, v := range to {
				if w[i] > 0 {
					nx[v] += (1 - alpha) * x[u] * float64(w[i]) / max(sum, 1)
				}
			}
		}
		x = nx
	}
	return x
}

// positiveOut is u's positive out-weight.
func positiveOut(g *trust.Graph, u trust.NodeID) float64 {
	_, w := g.Out(u)
	s := 0.0
	for _, x := range w {
		if x > 0 {
			s += float64(x)
		}
	}
	return s
}

func TestPropagationMatchesPowerIteration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := randomGraph(t, rng, 300, 4, 0.15)
	p := trust.PropagationParams{Restart: 0.2, Epsilon: 1e-10}
	for _, q := range []trust.NodeID{0, 7, 299} {
		v, err := trust.NewView(context.Background(), g, q, p)
		if err != nil {
			t.Fatal(err)
		}
		want := powerPPR(g, q, p.Restart)
		sum, wantSum := 0.0, 0.0
		for u, x := range want {
			sum += v.Mass(trust.NodeID(u))
			wantSum += x
			if d := math.Abs(v.Mass(trust.NodeID(u)) - x); d > 1e-6 {
				t.Fatalf("q=%d node %d: push %v, power %v", q, u, v.Mass(trust.NodeID(u)), x)
			}
		}
		// Walks stop at dangling and blocked nodes and with what weak
		// vouches leave over: the masses add up to at most 1.
		if math.Abs(sum-wantSum) > 1e-6 || sum > 1+1e-9 || sum < p.Restart {
			t.Fatalf("q=%d: total mass %v, power iteration %v", q, sum, wantSum)
		}
	}
}

// TestPropagationErrorBound checks the accuracy Epsilon promises: the
// scores' total error is at most Epsilon·Σ max(1, positive out-weight).
// (No single score has a tighter promise on a directed graph.)
func TestPropagationErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	g := randomGraph(t, rng, 300, 4, 0.15)
	bound := 0.0
	for u := range trust.NodeID(g.N()) {
		bound += max(1, positiveOut(g, u))
	}
	for _, eps := range []float64{1e-3, 1e-4, 1e-5} {
		p := trust.PropagationParams{Restart: 0.2, Epsilon: eps}
		for _, q := range []trust.NodeID{0, 7, 299} {
			v, err := trust.NewView(context.Background(), g, q, p)
			if err != nil {
				t.Fatal(err)
			}
			l1 := 0.0
			for u, x := range powerPPR(g, q, p.Restart) {
				l1 += math.Abs(v.Mass(trust.NodeID(u)) - x)
			}
			if l1 > eps*bound {
				t.Errorf("eps %g, q=%d: total error %.3g above the bound %.3g", eps, q, l1, eps*bound)
			}
		}
	}
}

// TestIncrementalMatchesRecompute: after a sequence of random edge changes
// applied with SetOut, the masses equal a recomputation from scratch.
func TestIncrementalMatchesRecompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	g := randomGraph(t, rng, 400, 5, 0.2)
	p := trust.PropagationParams{Restart: 0.2, Epsilon: 1e-10}
	ctx := context.Background()
	q := trust.NodeID(3)
	v, err := trust.NewView(ctx, g, q, p)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 60 {
		u := trust.NodeID(rng.IntN(g.N()))
		if step%5 == 0 {
			u = q // the querier's own edges change the blocked set too
		}
		to, w := v.Out(u)
		var edits []trust.Edit
		for i := range to {
			if rng.Float64() < 0.7 {
				edits = append(edits, trust.Edit{To: to[i], Weight: float64(w[i])})
			}
		}
		for range rng.IntN(4) {
			x := trust.NodeID(rng.IntN(g.N()))
			if x != u {
				wt := 0.2 + 0.8*rng.Float64()
				if rng.Float64() < 0.3 {
					wt = -wt
				}
				edits = append(edits, trust.Edit{To: x, Weight: wt})
			}
		}
		if err := v.SetOut(ctx, u, edits); err != nil {
			t.Fatal(err)
		}
	}
	got := append([]float64(nil), v.Masses()...)
	if err := v.Recompute(ctx); err != nil {
		t.Fatal(err)
	}
	for i, x := range v.Masses() {
		if math.Abs(got[i]-x) > 1e-6 {
			t.Fatalf("node %d: incremental %v, recomputed %v", i, got[i], x)
		}
	}
}

func TestWarnedNodesPassNoTrust(t *testing.T) {
	// q vouches for a and b; b vouches for c; q warns about b.
	g, err := trust.NewGraph(4, []trust.Edge{
		{From: 0, To: 1, Weight: 1}, {From: 0, To: 2, Weight: -1}, {From: 2, To: 3, Weight: 1}, {From: 1, To: 2, Weight: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.NewView(context.Background(), g, 0, trust.PropagationParams{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Mass(2) == 0 {
		t.Fatal("the warned node should still receive trust from a's vouch")
	}
	if v.Mass(3) != 0 {
		t.Fatalf("trust flowed through a warned node: mass(c) = %v", v.Mass(3))
	}
}

func TestJudgementsHideTheirOwnEdge(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	g := randomGraph(t, rng, 200, 4, 0.2)
	ctx := context.Background()
	q := trust.NodeID(5)
	p := trust.PropagationParams{Restart: 0.2, Epsilon: 1e-10, CutEpsilon: 1e-12}
	v, err := trust.NewView(ctx, g, q, p)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float64(nil), v.Masses()...)
	ex, targets, err := v.Judgements(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	to, _ := g.Out(q)
	if len(ex) != len(to) || len(targets) != len(to) {
		t.Fatalf("%d examples for %d edges", len(ex), len(to))
	}
	for i, x := range targets {
		w, _ := g.Weight(q, x)
		if ex[i].Vouch != (w > 0) || ex[i].Features.HasDirect {
			t.Fatalf("example %d: label %v for weight %v, direct %v", i, ex[i].Vouch, w, ex[i].Features.HasDirect)
		}
		// Same features as a view of the graph without that edge.
		hidden := g.Without(func(e trust.Edge) bool { return e.From == q && e.To == x })
		hv, err := trust.NewView(ctx, hidden, q, p)
		if err != nil {
			t.Fatal(err)
		}
		want := hv.Features(x, nil)
		for j := range want.Values {
			if math.Abs(want.Values[j]-ex[i].Features.Values[j]) > 1e-6 {
				t.Fatalf("example %d feature %s: %v, want %v", i, trust.FeatureNames[j], ex[i].Features.Values[j], want.Values[j])
			}
		}
	}
	for i, x := range v.Masses() {
		if math.Abs(before[i]-x) > 1e-6 {
			t.Fatalf("view not restored at node %d", i)
		}
	}
}

func TestPathsExplain(t *testing.T) {
	// q -> a -> b -> t, and a weaker q -> c -> t.
	g, err := trust.NewGraph(5, []trust.Edge{
		{From: 0, To: 1, Weight: 1}, {From: 1, To: 2, Weight: 1}, {From: 2, To: 4, Weight: 1},
		{From: 0, To: 3, Weight: 0.2}, {From: 3, To: 4, Weight: 0.2}, {From: 3, To: 1, Weight: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.NewView(context.Background(), g, 0, trust.PropagationParams{})
	if err != nil {
		t.Fatal(err)
	}
	paths := v.Paths(4, 3, 6)
	if len(paths) != 2 {
		t.Fatalf("%d paths: %+v", len(paths), paths)
	}
	want := []trust.NodeID{0, 1, 2, 4}
	for i, x := range want {
		if paths[0].Nodes[i] != x {
			t.Fatalf("strongest path %v, want %v", paths[0].Nodes, want)
		}
	}
	if !(paths[0].Strength > paths[1].Strength) {
		t.Fatalf("paths not ordered by strength: %+v", paths)
	}
}

func TestNewGraphKeepsLatestAndDropsLoops(t *testing.T) {
	g, err := trust.NewGraph(3, []trust.Edge{
		{From: 0, To: 1, Weight: 0.5, Time: 10},
		{From: 0, To: 1, Weight: -0.5, Time: 5}, // older: loses
		{From: 1, To: 2, Weight: 0.1, Time: 7},
		{From: 1, To: 2, Weight: 0.9, Time: 7}, // same time, later position: wins
		{From: 2, To: 2, Weight: 1},            // self-loop: dropped
	})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := g.Weight(0, 1); w != 0.5 {
		t.Errorf("0->1 = %v, want the latest 0.5", w)
	}
	if w, _ := g.Weight(1, 2); math.Abs(w-0.9) > 1e-6 {
		t.Errorf("1->2 = %v, want the later 0.9", w)
	}
	if g.M() != 2 {
		t.Errorf("%d edges, want 2", g.M())
	}
	if from, _ := g.In(2); len(from) != 1 || from[0] != 1 {
		t.Errorf("in(2) = %v", from)
	}
	for _, bad := range [][]trust.Edge{{{From: 0, To: 3, Weight: 1}}, {{From: 0, To: 1, Weight: 1.5}}, {{From: 0, To: 1, Weight: math.NaN()}}} {
		if _, err := trust.NewGraph(3, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// TestSetNowAgesTheEvidence: a question asked later than the view's newest
// statement sees the same statements as older (recent_* fall, member_age
// grows) and nothing else changes; asked at the newest statement's time it
// is the default; ScoreNodesAt at those times is ScoreNodes.
func TestSetNowAgesTheEvidence(t *testing.T) {
	ctx := context.Background()
	day := int64(86400)
	t0 := int64(1.7e9)
	// 0 vouches for 1 and 2, who vouch for 3 (and 2 warns 4), all on day 0-2.
	g, err := trust.NewGraph(5, []trust.Edge{
		{From: 0, To: 1, Weight: 0.9, Time: t0},
		{From: 0, To: 2, Weight: 0.8, Time: t0},
		{From: 1, To: 3, Weight: 0.7, Time: t0 + day},
		{From: 2, To: 3, Weight: 0.6, Time: t0 + 2*day},
		{From: 2, To: 4, Weight: -0.9, Time: t0 + 2*day},
	})
	if err != nil {
		t.Fatal(err)
	}
	eng := &trust.Engine{}
	v, err := eng.View(ctx, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	fresh := v.Features(3, nil)
	v.SetNow(t0 + 2*day)
	if got := v.Features(3, nil); got.Values != fresh.Values {
		t.Errorf("asked at the newest statement: %v, want the default %v", got.Values, fresh.Values)
	}
	v.SetNow(t0 + 2*day + 365*day)
	old := v.Features(3, nil)
	for i, name := range trust.FeatureNames {
		a, b := fresh.Values[i], old.Values[i]
		switch name {
		case "recent_vouch", "recent_warn":
			if b > a || (a > 0 && b >= a) {
				t.Errorf("%s a year later: %v, was %v: want it to fall", name, b, a)
			}
		case "member_age":
			if b <= a {
				t.Errorf("member_age a year later: %v, was %v: want it to grow", b, a)
			}
		default:
			if a != b {
				t.Errorf("%s a year later: %v, was %v: only the ages may change", name, b, a)
			}
		}
	}
	v.SetNow(0)
	if got := v.Features(3, nil); got.Values != fresh.Values {
		t.Errorf("SetNow(0): %v, want the default %v", got.Values, fresh.Values)
	}

	need := []trust.NodeID{3, 4}
	want := make([]float64, g.N())
	if err := eng.ScoreNodes(ctx, g, 0, need, want); err != nil {
		t.Fatal(err)
	}
	got := make([]float64, g.N())
	if err := eng.ScoreNodesAt(ctx, g, 0, need, []int64{t0 + 2*day, t0 + 2*day}, got); err != nil {
		t.Fatal(err)
	}
	for _, u := range need {
		if got[u] != want[u] {
			t.Errorf("ScoreNodesAt the newest time: %d scores %v, ScoreNodes %v", u, got[u], want[u])
		}
	}
	if err := eng.ScoreNodesAt(ctx, g, 0, need, []int64{t0}, got); err == nil {
		t.Error("ScoreNodesAt with one time for two nodes: no error")
	}
	if err := eng.LevelsAt(ctx, g, 0, need, []int64{t0}, got); err == nil {
		t.Error("LevelsAt with one time for two nodes: no error")
	}
}
