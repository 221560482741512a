package trust_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

// exact is a propagation precise enough that comparisons between two
// graphs see the model, not the push threshold.
var exact = trust.PropagationParams{Restart: 0.2, Epsilon: 1e-13, CutEpsilon: 1e-13}

func scoreOf(t testing.TB, e *trust.Engine, g *trust.Graph, q, x trust.NodeID) float64 {
	t.Helper()
	dst := make([]float64, g.N())
	if err := e.Score(context.Background(), g, q, dst); err != nil {
		t.Fatal(err)
	}
	return dst[x]
}

// TestOwnWordDecides: the owner's own statement puts the answer on its
// side of neutral whatever everyone else says; the crowd moves it within
// that side; retracting it gives the answer back to the crowd.
func TestOwnWordDecides(t *testing.T) {
	e := &trust.Engine{Propagation: exact}
	crowdFor := `me -> f1 0.9; me -> f2 0.9; me -> f3 0.9
		f1 -> bob 0.9; f2 -> bob 0.9; f3 -> bob 0.9
		f1 -> mal 0.9; f2 -> mal 0.9; f3 -> mal 0.9`
	crowdAgainst := `me -> f1 0.9; me -> f2 0.9; me -> f3 0.9
		f1 -x bob 0.9; f2 -x bob 0.9; f3 -x bob 0.9
		f1 -x mal 0.9; f2 -x mal 0.9; f3 -x mal 0.9`
	for _, c := range []struct {
		name, crowd string
	}{{"crowd vouches", crowdFor}, {"crowd warns", crowdAgainst}} {
		g, id := trusttest.MustParse(t, c.crowd)
		crowdBob := scoreOf(t, e, g, id["me"], id["bob"])
		gv, idv := trusttest.MustParse(t, c.crowd+"; me -> bob 0.6; me -x mal 0.9")
		bob := scoreOf(t, e, gv, idv["me"], idv["bob"])
		mal := scoreOf(t, e, gv, idv["me"], idv["mal"])
		if !(bob > 0.5) {
			t.Errorf("%s: my vouch gives bob %.3f, want above 0.5", c.name, bob)
		}
		if !(mal < 0.5) {
			t.Errorf("%s: my warning gives mal %.3f, want below 0.5", c.name, mal)
		}
		// Without my statement about bob (retracted: not in the graph), the
		// answer is the crowd's again.
		if math.Abs(crowdBob-scoreOf(t, e, g, id["me"], id["bob"])) > 1e-12 {
			t.Errorf("%s: not deterministic", c.name)
		}
		t.Logf("%s: crowd %.3f; with my vouch %.3f; mal with my warning %.3f", c.name, crowdBob, bob, mal)
	}
	// The crowd moves the answer within the side: bob with my vouch scores
	// higher when the crowd vouches than when it warns.
	gf, idf := trusttest.MustParse(t, crowdFor+"; me -> bob 0.6; me -x mal 0.9")
	ga, ida := trusttest.MustParse(t, crowdAgainst+"; me -> bob 0.6; me -x mal 0.9")
	if f, a := scoreOf(t, e, gf, idf["me"], idf["bob"]), scoreOf(t, e, ga, ida["me"], ida["bob"]); !(f > a) {
		t.Errorf("my vouched bob: %.3f with vouching friends, %.3f with warning ones", f, a)
	}
	if f, a := scoreOf(t, e, gf, idf["me"], idf["mal"]), scoreOf(t, e, ga, ida["me"], ida["mal"]); !(f > a) {
		t.Errorf("my warned mal: %.3f with vouching friends, %.3f with warning ones", f, a)
	}
	// On its own, a statement of strength s places the answer at 0.5 ± s/2.
	g, id := trusttest.MustParse(t, "me -x mallory 0.9; me -> bob 0.8; x")
	if got := scoreOf(t, e, g, id["me"], id["mallory"]); math.Abs(got-0.05) > 1e-6 {
		t.Errorf("mallory, warned by me at 90 and by nobody else: %.4f, want 0.05", got)
	}
	if got := scoreOf(t, e, g, id["me"], id["bob"]); math.Abs(got-0.9) > 1e-6 {
		t.Errorf("bob, vouched by me at 80 and by nobody else: %.4f, want 0.90", got)
	}
	if got := scoreOf(t, e, g, id["me"], id["x"]); !math.IsNaN(got) {
		t.Errorf("x, about whom nothing was said: %v, want no evidence", got)
	}
}

// TestQueryExplainsFaithfully: the contributions add up to the crowd's
// log-odds against the baseline, features at 0 contribute nothing, and
// every trust shown is the owner's trust in the author, in [0, 1].
func TestQueryExplainsFaithfully(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 11))
	for _, personalize := range []bool{false, true} {
		e := &trust.Engine{Propagation: exact, Personalize: personalize}
		for trial := range 300 {
			g := randomGraph(t, rng, 3+rng.IntN(25), 3, 0.3)
			q := trust.NodeID(rng.IntN(g.N()))
			v, err := e.View(ctx, g, q)
			if err != nil {
				t.Fatal(err)
			}
			m, err := e.Personalized(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			if !personalize {
				m = trust.DefaultModel()
			}
			for x := range trust.NodeID(g.N()) {
				r, err := e.Query(ctx, v, m, x)
				if err != nil {
					t.Fatal(err)
				}
				if x == q {
					if r.Covered {
						t.Fatalf("trial %d: the querier covers itself", trial)
					}
					continue
				}
				dst := make([]float64, g.N())
				if err := e.ScoreView(ctx, v, dst); err != nil {
					t.Fatal(err)
				}
				if !(r.Covered == !math.IsNaN(dst[x]) && (!r.Covered || math.Abs(r.Score-dst[x]) < 1e-6)) {
					t.Fatalf("trial %d node %d: query %v (covered %v), score %v", trial, x, r.Score, r.Covered, dst[x])
				}
				if !r.Covered {
					continue
				}
				if !math.IsNaN(r.Crowd) {
					sum := m.Baseline(&r.Features)
					for _, c := range r.Contributions {
						sum += c.Logit
						if c.Value == 0 {
							t.Fatalf("trial %d: %s at 0 contributes %v", trial, c.Feature, c.Logit)
						}
					}
					if z := math.Log(r.Crowd / (1 - r.Crowd)); math.Abs(sum-z) > 1e-6 {
						t.Fatalf("trial %d node %d: contributions add up to %v, crowd log-odds %v", trial, x, sum, z)
					}
				} else if r.Features.HasDirect == false {
					t.Fatalf("trial %d node %d: covered with neither crowd nor own statement", trial, x)
				}
				for _, s := range append(r.Vouchers, r.Warners...) {
					if !(s.Trust >= 0 && s.Trust <= 1) {
						t.Fatalf("trial %d: trust in %d shown as %v", trial, s.From, s.Trust)
					}
				}
				if len(r.Warners) < 5 {
					// Every warner is listed: their trust-weighted sum is
					// the trusted_warn feature.
					w := 0.0
					for _, s := range r.Warners {
						w -= s.Trust * s.Weight
					}
					if got := r.Features.Values[trust.FTrustedWarn]; math.Abs(math.Log1p(w)-got) > 1e-9 {
						t.Fatalf("trial %d node %d: warners shown weigh %v, the feature says %v", trial, x, math.Log1p(w), got)
					}
				}
				if !(r.Score >= 0 && r.Score <= 1) || (r.Features.HasDirect && (r.Score > 0.5) != (r.Features.Direct > 0)) {
					t.Fatalf("trial %d node %d: score %v with own statement %v", trial, x, r.Score, r.Features.Direct)
				}
			}
		}
	}
}

// TestTrustScale: the owner's trust is in [0, 1], a direct vouch of
// strength w gives at least w, and what a contact passes on is shared
// among those it vouches for.
func TestTrustScale(t *testing.T) {
	ctx := context.Background()
	g, id := trusttest.MustParse(t, `me -> bob 0.8; me -> carol 0.3; carol -> dave; dave -> carol
		bob -> s1; bob -> s2; bob -> s3; bob -> s4; bob -> s5; bob -> s6; bob -> s7; bob -> s8`)
	v, err := trust.NewView(ctx, g, id["me"], exact)
	if err != nil {
		t.Fatal(err)
	}
	if tb, tc := v.Trust(id["bob"]), v.Trust(id["carol"]); math.Abs(tb-0.8) > 1e-6 || !(tc > 0.3 && tc <= 1) {
		t.Fatalf("trust in bob %v (vouched 0.8, nothing comes back to bob), carol %v (vouched 0.3, and by dave)", tb, tc)
	}
	sum := 0.0
	for i := 1; i <= 8; i++ {
		sum += v.Trust(id[fmt.Sprintf("s%d", i)])
	}
	if !(sum <= v.Trust(id["bob"])) {
		t.Fatalf("bob's eight vouchees hold %v in all, more than bob's own %v", sum, v.Trust(id["bob"]))
	}
	nv, err := trust.NewView(ctx, g, id["s1"], exact)
	if err != nil {
		t.Fatal(err)
	}
	if nv.Trust(id["bob"]) != 0 || nv.Trust(id["s1"]) != 1 {
		t.Fatalf("an owner who vouches for nobody trusts bob %v, itself %v", nv.Trust(id["bob"]), nv.Trust(id["s1"]))
	}
}

// TestMonotoneInEvidence is the property test of the answer's
// monotonicity, over random small graphs, for the shipped model and for a
// model refined on the owner's judgements (fixed while the evidence
// changes): a warning by someone the owner trusts never raises a score, a
// vouch by someone the owner trusts never lowers it, and more trust in a
// warner never lowers that warner's effect.
func TestMonotoneInEvidence(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(12, 12))
	const tol = 1e-7 // transition shares are float32
	checked := [3]int{}
	for trial := range 3000 {
		g := randomGraph(t, rng, 3+rng.IntN(20), 3, 0.3)
		n := g.N()
		q, x, u := trust.NodeID(rng.IntN(n)), trust.NodeID(rng.IntN(n)), trust.NodeID(rng.IntN(n))
		if q == x || u == q || u == x {
			continue
		}
		base := &trust.Engine{Propagation: exact}
		v, err := base.View(ctx, g, q)
		if err != nil {
			t.Fatal(err)
		}
		if v.Trust(u) <= 0 {
			continue // only people the owner trusts
		}
		if _, ok := g.Weight(u, x); ok {
			continue // a new statement, not a changed one
		}
		m := trust.DefaultModel()
		if trial%2 == 1 {
			refined := &trust.Engine{Propagation: exact, Personalize: true}
			if m, err = refined.Personalized(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		e := &trust.Engine{Propagation: exact, Model: m}
		s0 := scoreOf(t, e, g, q, x)
		w := 0.1 + 0.9*rng.Float64()
		// A time no later than the view's newest, so that "now" stays.
		tm := int64(1000) + rng.Int64N(max(1, newest(g)-1000))
		warned := with(t, g, trust.Edge{From: u, To: x, Weight: -w, Time: tm})
		vouched := with(t, g, trust.Edge{From: u, To: x, Weight: w, Time: tm})
		sw, sv := scoreOf(t, e, warned, q, x), scoreOf(t, e, vouched, q, x)
		if !math.IsNaN(s0) { // a subject with no evidence has no score to compare
			if sw > s0+tol {
				t.Errorf("trial %d: a warning by %d (trust %.3f) raised %d's score %.6f -> %.6f", trial, u, v.Trust(u), x, s0, sw)
			}
			if sv < s0-tol {
				t.Errorf("trial %d: a vouch by %d (trust %.3f) lowered %d's score %.6f -> %.6f (by %.3g)", trial, u, v.Trust(u), x, s0, sv, s0-sv)
			}
			checked[0]++
		}
	}
	// More trust in a warner, everything else about the subject the same,
	// never lowers that warner's effect, in log-odds or in probability.
	for trial := range 20000 {
		var ev trust.Evidence
		ev.Trust = rng.Float64() * float64(rng.IntN(2))
		ev.Newcomer = rng.IntN(8) == 0
		ev.Now = 2e9
		for range rng.IntN(8) {
			w := 0.1 + 0.9*rng.Float64()
			if rng.IntN(2) == 0 {
				w = -w
			}
			ev.Statements = append(ev.Statements, trust.Statement{Weight: w, Trust: rng.Float64() * float64(rng.IntN(2)), Time: 2e9 - rng.Int64N(1e8)})
		}
		m := trust.DefaultModel()
		if trial%2 == 1 {
			m = randomModel(rng) // any model of the right signs, as a refined one is
		}
		without := trust.FeaturesOf(ev)
		w := -(0.1 + 0.9*rng.Float64())
		lo := rng.Float64()
		hi := lo + (1-lo)*rng.Float64()
		effect := func(tu float64) (logit, p float64) {
			e := ev
			e.Statements = append(append([]trust.Statement(nil), ev.Statements...), trust.Statement{Weight: w, Trust: tu, Time: 2e9 - 5e7})
			with := trust.FeaturesOf(e)
			return m.Logit(&without) - m.Logit(&with), m.Predict(&without) - m.Predict(&with)
		}
		zl, pl := effect(lo)
		zh, ph := effect(hi)
		if zh < zl-1e-12 || ph < pl-1e-12 || zl < -1e-12 {
			t.Fatalf("trial %d: a warner trusted %.3f has effect %.6f (p %.6f), trusted %.3f only %.6f (p %.6f)", trial, lo, zl, pl, hi, zh, ph)
		}
		checked[1]++
	}
	// And a warning by someone more trusted lowers a score at least as much
	// in the graph, when that person's trust is all that differs: u is
	// vouched for by the owner alone and vouches for nobody.
	for trial := range 1000 {
		g := randomGraph(t, rng, 3+rng.IntN(20), 3, 0.3)
		n := g.N()
		q, x := trust.NodeID(rng.IntN(n)), trust.NodeID(rng.IntN(n))
		if q == x {
			continue
		}
		u := trust.NodeID(n) // a newcomer to the graph
		w := 0.1 + 0.9*rng.Float64()
		lo := 0.05 + 0.9*rng.Float64()
		hi := lo + (1-lo)*rng.Float64()
		grow := func(edges ...trust.Edge) *trust.Graph {
			h, err := trust.NewGraph(n+1, append(g.Edges(), edges...))
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		e := &trust.Engine{Propagation: exact}
		base := func(s float64) float64 { return scoreOf(t, e, grow(trust.Edge{From: q, To: u, Weight: s}), q, x) }
		warned := func(s float64) float64 {
			return scoreOf(t, e, grow(trust.Edge{From: q, To: u, Weight: s}, trust.Edge{From: u, To: x, Weight: -w}), q, x)
		}
		b, bl, bh := base(lo), warned(lo), warned(hi)
		if math.IsNaN(b) {
			continue
		}
		if math.Abs(base(hi)-b) > tol {
			continue // u's trust moved other evidence about x (through q's normalisation)
		}
		if b-bh < b-bl-tol {
			t.Errorf("trial %d: a warning by someone I vouch for at %.2f lowers %d from %.6f to %.6f; at %.2f only to %.6f", trial, hi, x, b, bh, lo, bl)
		}
		checked[2]++
	}
	t.Logf("checked %d additions, %d warner-trust changes of the features and %d in graphs", checked[0], checked[1], checked[2])
	if checked[0] < 500 || checked[1] < 10000 || checked[2] < 100 {
		t.Fatalf("too few cases checked: %v", checked)
	}
}

// with returns g with edge e added (replacing any edge between its ends).
func with(t testing.TB, g *trust.Graph, e trust.Edge) *trust.Graph {
	t.Helper()
	edges := g.Without(func(x trust.Edge) bool { return x.From == e.From && x.To == e.To }).Edges()
	h, err := trust.NewGraph(g.N(), append(edges, e))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// randomModel returns a model whose weights respect FeatureSigns.
func randomModel(rng *rand.Rand) *trust.Model {
	m := *trust.DefaultModel()
	m.Weights = make([]float64, trust.NumFeatures)
	m.Mean = make([]float64, trust.NumFeatures)
	m.Scale = make([]float64, trust.NumFeatures)
	for j := range m.Weights {
		m.Weights[j] = float64(trust.FeatureSigns[j]) * 3 * rng.Float64()
		m.Mean[j] = rng.NormFloat64()
		m.Scale[j] = 0.1 + rng.Float64()
	}
	m.Bias = rng.NormFloat64()
	if err := m.Validate(); err != nil {
		panic(err)
	}
	return &m
}

// newest is the time of g's newest edge.
func newest(g *trust.Graph) int64 {
	n := int64(0)
	for _, e := range g.Edges() {
		n = max(n, e.Time)
	}
	return n
}
