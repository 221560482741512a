package baseline

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

func score(t *testing.T, s trust.Scorer, g *trust.Graph, q trust.NodeID) []float64 {
	t.Helper()
	dst := make([]float64, g.N())
	if err := s.Score(context.Background(), g, q, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) != math.IsNaN(want) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

func TestPageRankByHand(t *testing.T) {
	pr := must(NewPageRank(DefaultPowerParams()))
	const d = 0.85

	// A 3-cycle: by symmetry every node has 1/3.
	g, id := trusttest.MustParse(t, "a -> b; b -> c; c -> a")
	x := score(t, pr, g, id["a"])
	for _, n := range []string{"a", "b", "c"} {
		near(t, "cycle "+n, x[id[n]], 1.0/3, 1e-9)
	}

	// a -> b, a -> c, b -> c, c -> a. With s = (1-d)/3:
	//   A = s + d C,  B = s + d A/2,  C = s + d (A/2 + B)
	// so C = s(1+d) + A d(1+d)/2 and A = s(1 + d(1+d)) / (1 - d^2(1+d)/2).
	// Weights do not matter (unweighted positive links) and the negative
	// edge is ignored.
	g, id = trusttest.MustParse(t, "a -> b 0.2; a -> c 0.9; b -> c 0.5; c -> a; b -x a")
	s := (1 - d) / 3
	A := s * (1 + d*(1+d)) / (1 - d*d*(1+d)/2)
	B := s + d*A/2
	C := s*(1+d) + A*d*(1+d)/2
	near(t, "sum", A+B+C, 1, 1e-12)
	x = score(t, pr, g, id["b"])
	near(t, "A", x[id["a"]], A, 1e-9)
	near(t, "B", x[id["b"]], B, 1e-9)
	near(t, "C", x[id["c"]], C, 1e-9)

	// a -> b with b dangling: b's mass spreads uniformly, so
	// x_a = (1-d)/2 + d x_b/2 and x_a + x_b = 1 give x_a = 1/(2+d).
	g, id = trusttest.MustParse(t, "a -> b")
	x = score(t, pr, g, id["a"])
	near(t, "dangling a", x[id["a"]], 1/(2+d), 1e-9)
	near(t, "dangling b", x[id["b"]], (1+d)/(2+d), 1e-9)
}

func TestEigenTrustByHand(t *testing.T) {
	et := must(NewEigenTrust(DefaultEigenTrustParams()))
	g, id := trusttest.MustParse(t, "a -> b; b -> c; c -> a")
	x := score(t, et, g, id["a"])
	for _, n := range []string{"a", "b", "c"} {
		near(t, "cycle "+n, x[id[n]], 1.0/3, 1e-9)
	}
	// Local trust is weighted: a splits 0.8/0.2 between b and c; b and c
	// trust a fully. With a = 0.15 and p uniform (1/3):
	//   t_a = d (t_b + t_c) + a/3,  t_b = d 0.8 t_a + a/3,  t_c = d 0.2 t_a + a/3
	// so t_a = d (d t_a + 2a/3) + a/3, t_a = (2ad/3 + a/3) / (1 - d^2).
	g, id = trusttest.MustParse(t, "a -> b 0.8; a -> c 0.2; b -> a; c -> a")
	const d, a = 0.85, 0.15
	ta := (2*a*d/3 + a/3) / (1 - d*d)
	x = score(t, et, g, id["b"])
	near(t, "t_a", x[id["a"]], ta, 1e-9)
	near(t, "t_b", x[id["b"]], d*0.8*ta+a/3, 1e-9)
	near(t, "t_c", x[id["c"]], d*0.2*ta+a/3, 1e-9)
}

// pprStar is q -> a (1), q -> b (0.5) with a and b dangling, c -> q and a
// distrust q -x e. The walk restarts at q from a and b, so
// pi_q = 1/(1+d), pi_a = pi_q d 2/3, pi_b = pi_q d/3; c and e are not
// reachable over positive edges.
const pprStar = "q -> a 1; q -> b 0.5; c -> q; q -x e"

func pprStarWant() map[string]float64 {
	const d = 0.85
	pq := 1 / (1 + d)
	return map[string]float64{"q": pq, "a": pq * d * 2 / 3, "b": pq * d / 3, "c": math.NaN(), "e": math.NaN()}
}

func TestPPRByHand(t *testing.T) {
	g, id := trusttest.MustParse(t, pprStar)
	want := pprStarWant()
	ppr := must(NewPPR(DefaultPowerParams()))
	x := score(t, ppr, g, id["q"])
	for n, w := range want {
		near(t, "ppr "+n, x[id[n]], w, 1e-9)
	}
	p := DefaultEigenTrustParams()
	p.PreTrust = PreTrustQuerier
	x = score(t, must(NewEigenTrust(p)), g, id["q"])
	for n, w := range want {
		near(t, "eigentrust-q "+n, x[id[n]], w, 1e-9)
	}
}

func TestPPRMonteCarlo(t *testing.T) {
	g, id := trusttest.MustParse(t, pprStar)
	want := pprStarWant()
	p := DefaultWalkParams()
	p.Walks = 200000
	x := score(t, must(NewPPRMonteCarlo(p)), g, id["q"])
	for n, w := range want {
		near(t, "ppr-mc "+n, x[id[n]], w, 0.005)
	}
	// Against power iteration on a larger graph, and seeds matter.
	big := trusttest.Synthetic(500, 3000, 3)
	exact := score(t, must(NewPPR(DefaultPowerParams())), big, 0)
	p.Walks = 100000
	mc := score(t, must(NewPPRMonteCarlo(p)), big, 0)
	l1 := 0.0
	for v := range exact {
		e, m := exact[v], mc[v]
		if math.IsNaN(e) {
			if !math.IsNaN(m) {
				t.Errorf("node %d: Monte Carlo visited a node PPR cannot reach", v)
			}
			continue
		}
		if math.IsNaN(m) {
			m = 0
		}
		l1 += math.Abs(e - m)
	}
	if l1 > 0.05 {
		t.Errorf("L1 distance between Monte Carlo and power iteration = %.4f, want < 0.05", l1)
	}
	p.Seed = 2
	other := score(t, must(NewPPRMonteCarlo(p)), big, 0)
	if trustEqual(mc, other) {
		t.Errorf("seeds 1 and 2 gave identical estimates")
	}
}

func trustEqual(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func TestAppleseedByHand(t *testing.T) {
	// q -> a: the energy bounces between q and a (a's only way out is
	// the backward edge), losing 15% each step: q keeps 0.15 of
	// e_0, e_2, ... and a of e_1, e_3, ..., with e_k = 200 * 0.85^k.
	// In the limit q = 30/(1-0.85^2) and a = 0.85 q; the iteration stops
	// when a step keeps at most 0.01, so about 0.07 of energy is unspent.
	g, id := trusttest.MustParse(t, "q -> a; b -> q; q -x c")
	x := score(t, must(NewAppleseed(DefaultAppleseedParams())), g, id["q"])
	wantQ := 30 / (1 - 0.85*0.85)
	near(t, "q", x[id["q"]], wantQ, 0.1)
	near(t, "a", x[id["a"]], 0.85*wantQ, 0.1)
	if x[id["q"]]+x[id["a"]] > 200 {
		t.Errorf("more trust than energy: %v", x[id["q"]]+x[id["a"]])
	}
	near(t, "b (not reached)", x[id["b"]], math.NaN(), 0)
	near(t, "c (distrusted only)", x[id["c"]], math.NaN(), 0)

	// Energy splits by weight, the backward edge counting 1: from a
	// (weights 1 and 0.5 plus the backward edge 1), b gets 0.5/2.5 of what
	// a passes on, c 1/2.5; so b ends with half of c's trust whenever b
	// and c are reached only through a.
	g, id = trusttest.MustParse(t, "q -> a; a -> c 1; a -> b 0.5")
	x = score(t, must(NewAppleseed(DefaultAppleseedParams())), g, id["q"])
	near(t, "b/c", x[id["b"]]/x[id["c"]], 0.5, 1e-9)
}

func TestMoleTrustByHand(t *testing.T) {
	g, id := trusttest.MustParse(t, `
		q -> a 0.8; q -> b 0.05; q -> e 0.6
		a -> c 0.5; b -x c 1; e -> c 1   # b is below the threshold 0.1
		a -x d 0.4; d -> f               # d is distrusted: passes nothing on
		c -> g 1; g -> h 1               # h is at distance 4 > horizon 3
		c -> q 0.1                       # back edge to the querier: ignored`)
	x := score(t, must(NewMoleTrust(DefaultMoleTrustParams())), g, id["q"])
	want := map[string]float64{
		"q": 1, "a": 0.8, "b": 0.05, "e": 0.6,
		"c": (0.8*0.5 + 0.6*1) / (0.8 + 0.6),
		"d": -0.4, "f": math.NaN(), "g": 1, "h": math.NaN(),
	}
	for n, w := range want {
		near(t, n, x[id[n]], w, 1e-6) // weights are stored as float32
	}
	p := DefaultMoleTrustParams()
	p.Horizon = 1
	x = score(t, must(NewMoleTrust(p)), g, id["q"])
	near(t, "c beyond horizon 1", x[id["c"]], math.NaN(), 0)
}

func TestMeritRankConnectivityDecay(t *testing.T) {
	// d hangs off c: every walk reaching d went through c first, so d is
	// decayed by half. c is reached through a or b (neither carries 95% of
	// the walks), a and b directly: no decay. With the same seed the walks
	// are the same, so the ratios are exact.
	g, id := trusttest.MustParse(t, "q -> a; q -> b; a -> c; b -> c; c -> d")
	p := DefaultMeritRankParams()
	decayed := score(t, must(NewMeritRank(p)), g, id["q"])
	p.ConnectivityDecay = 0
	plain := score(t, must(NewMeritRank(p)), g, id["q"])
	for n, ratio := range map[string]float64{"a": 1, "b": 1, "c": 1, "d": 0.5} {
		near(t, n, decayed[id[n]]/plain[id[n]], ratio, 1e-12)
	}
	near(t, "q", decayed[id["q"]], 0, 0)
	// Without decay the shares are visit shares: they sum to 1.
	sum := 0.0
	for _, x := range plain {
		if !math.IsNaN(x) {
			sum += x
		}
	}
	near(t, "sum of shares", sum, 1, 1e-9)
}

func TestFairnessGoodnessByHand(t *testing.T) {
	// a rates c 1, b rates c 0. With x = g(c):
	//   f(a) = 1 - |1-x|/2 = (1+x)/2,  f(b) = 1 - x/2,  x = (f(a) + 0)/2
	// so x = 1/3, f(a) = 2/3, f(b) = 5/6, and a->c is predicted 2/9.
	g, id := trusttest.MustParse(t, "a -> c 1; b -> c 0")
	fg := must(NewFairnessGoodness(FairnessGoodnessParams{MaxIter: 1000, Tol: 1e-12}))
	fair, good, err := fg.Compute(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "g(c)", good[id["c"]], 1.0/3, 1e-9)
	near(t, "f(a)", fair[id["a"]], 2.0/3, 1e-9)
	near(t, "f(b)", fair[id["b"]], 5.0/6, 1e-9)
	w, ok := fg.PredictWeight(context.Background(), g, id["a"], id["c"])
	if !ok {
		t.Fatal("no prediction for a->c")
	}
	near(t, "a->c", w, 2.0/9, 1e-9)
	x := score(t, fg, g, id["a"])
	near(t, "score c", x[id["c"]], 1.0/3, 1e-9)
	near(t, "score a (rated by nobody)", x[id["a"]], math.NaN(), 0)

	// Leaving a->c out leaves a with no edge at all: no prediction, as in
	// the published code (a is no longer in the graph).
	out, oks := make([]float64, 2), make([]bool, 2)
	pairs := []trust.Edge{{From: id["a"], To: id["c"]}, {From: id["b"], To: id["c"]}}
	if err := fg.PredictWeights(context.Background(), g, pairs, true, out, oks); err != nil {
		t.Fatal(err)
	}
	if oks[0] || oks[1] {
		t.Errorf("leave-one-out predictions for ends left without edges: %v", oks)
	}
}

// TestFairnessGoodnessLeaveOneOut checks the local leave-one-out update
// against rerunning the whole iteration on the graph without the edge.
func TestFairnessGoodnessLeaveOneOut(t *testing.T) {
	g := trusttest.Synthetic(400, 3000, 5)
	edges := g.Edges()
	var pairs []trust.Edge
	for i := 0; i < len(edges); i += 37 {
		pairs = append(pairs, edges[i])
	}
	pairs = append(pairs, trust.Edge{From: 0, To: 1}) // maybe not an edge: plain prediction
	fg := must(NewFairnessGoodness(DefaultFairnessGoodnessParams()))
	ctx := context.Background()
	out, ok := make([]float64, len(pairs)), make([]bool, len(pairs))
	if err := fg.PredictWeights(ctx, g, pairs, true, out, ok); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, e := range pairs {
		h := g.Without(func(x trust.Edge) bool { return x.From == e.From && x.To == e.To })
		fair, good, err := fairnessGoodness(ctx, "test", h, 100000, 1e-14)
		if err != nil {
			t.Fatal(err)
		}
		want := fair[e.From] * good[e.To]
		worst = max(worst, math.Abs(out[i]-want))
		wantOK := present(h, e.From, -1, -1) && present(h, e.To, -1, -1)
		if ok[i] != wantOK {
			t.Errorf("pair %d->%d: ok = %v, want %v", e.From, e.To, ok[i], wantOK)
		}
	}
	if worst > 1e-5 {
		t.Errorf("local leave-one-out differs from a full rerun by up to %g", worst)
	}
	t.Logf("%d pairs, largest difference from a full rerun %.3g", len(pairs), worst)
}

func TestMeanRating(t *testing.T) {
	g, id := trusttest.MustParse(t, "a -> c 1; b -> c 0.5; a -x b 0.5")
	m := NewMeanRating()
	x := score(t, m, g, id["a"])
	near(t, "c", x[id["c"]], 0.75, 1e-9)
	near(t, "b", x[id["b"]], -0.5, 1e-9)
	near(t, "a", x[id["a"]], math.NaN(), 0)
	out, ok := make([]float64, 1), make([]bool, 1)
	if err := m.PredictWeights(context.Background(), g, []trust.Edge{{From: id["a"], To: id["c"]}}, true, out, ok); err != nil {
		t.Fatal(err)
	}
	near(t, "a->c without a's rating", out[0], 0.5, 1e-9)
}

func TestValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	bad := []interface{ Validate() error }{
		PowerParams{Damping: nan, Tol: 1e-9, MaxIter: 10},
		PowerParams{Damping: 1, Tol: 1e-9, MaxIter: 10},
		PowerParams{Damping: 0.85, Tol: 0, MaxIter: 10},
		PowerParams{Damping: 0.85, Tol: 1e-9, MaxIter: 0},
		EigenTrustParams{PowerParams: DefaultPowerParams(), PreTrust: "everyone"},
		WalkParams{Walks: 0, Damping: 0.85},
		WalkParams{Walks: 10, Damping: inf},
		MeritRankParams{WalkParams: DefaultWalkParams(), ConnectivityDecay: 1.5, BridgeShare: 0.9},
		MeritRankParams{WalkParams: DefaultWalkParams(), ConnectivityDecay: 0.5, BridgeShare: 0},
		AppleseedParams{Energy: -1, Spreading: 0.85, Threshold: 0.01, MaxIter: 10},
		AppleseedParams{Energy: 200, Spreading: 1, Threshold: 0.01, MaxIter: 10},
		AppleseedParams{Energy: 200, Spreading: 0.85, Threshold: nan, MaxIter: 10},
		AppleseedParams{Energy: inf, Spreading: 0.85, Threshold: 0.01, MaxIter: 10},
		MoleTrustParams{Horizon: 0, Threshold: 0.5},
		MoleTrustParams{Horizon: 2, Threshold: 0},
		MoleTrustParams{Horizon: 2, Threshold: 1.5},
		FairnessGoodnessParams{MaxIter: 0, Tol: 1e-6},
		FairnessGoodnessParams{MaxIter: 10, Tol: nan},
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%+v: Validate() = %v, want ErrParams", p, err)
		}
	}
	good := []interface{ Validate() error }{
		DefaultPowerParams(), DefaultEigenTrustParams(), DefaultWalkParams(), DefaultMeritRankParams(),
		DefaultAppleseedParams(), DefaultMoleTrustParams(), DefaultFairnessGoodnessParams(),
	}
	for _, p := range good {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if _, err := NewPPR(PowerParams{}); err == nil {
		t.Errorf("NewPPR accepted zero parameters")
	}
}
