package graphsim

import (
	"bytes"
	"math"
	"testing"

	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// TestConsentView checks each rule of what a querier's node holds.
func TestConsentView(t *testing.T) {
	const n = 100 // identities from 100 on are attackers
	q := trust.NodeID(0)
	own := []trust.Edge{{From: q, To: 1, Weight: 1}, {From: q, To: 5, Weight: -1}}
	chain := []trust.Edge{{From: 1, To: 2, Weight: 1}, {From: 2, To: 3, Weight: 1}, {From: 3, To: 4, Weight: 1}}
	warnings := []trust.Edge{{From: 1, To: 7, Weight: -1}, {From: 9, To: q, Weight: 1}, {From: 9, To: 8, Weight: -1}, {From: 2, To: 6, Weight: -1}}
	attackers := []trust.Edge{{From: 100, To: 101, Weight: 1}, {From: 1, To: 100, Weight: 1}}
	all := [][]trust.Edge{own, chain, warnings, attackers}

	// Everything public and consented, no horizon: all vouches; warnings
	// only from those who vouch for q (9), and q's own.
	cv := newConsentView(scenario.Consent{Public: 1, Grant: 1}, 1, n, q, all...)
	for _, c := range []struct {
		e    trust.Edge
		want bool
	}{
		{own[0], true}, {own[1], true},
		{chain[2], true},
		{warnings[0], false}, {warnings[2], true}, {warnings[3], false},
		{attackers[0], true}, {attackers[1], true},
	} {
		if got := cv.keep(c.e); got != c.want {
			t.Errorf("public 1, hops 0: keep %+v = %v, want %v", c.e, got, c.want)
		}
	}
	// Two hops: q's edges and those of the people q vouches for.
	cv = newConsentView(scenario.Consent{Public: 1, Grant: 1, Hops: 2}, 1, n, q, all...)
	for _, c := range []struct {
		e    trust.Edge
		want bool
	}{{own[0], true}, {chain[0], true}, {chain[1], false}, {attackers[1], true}, {attackers[0], false}} {
		if got := cv.keep(c.e); got != c.want {
			t.Errorf("hops 2: keep %+v = %v, want %v", c.e, got, c.want)
		}
	}
	// Nothing public: q's own attestations only, and shared warnings.
	cv = newConsentView(scenario.Consent{Public: 0, Grant: 1}, 1, n, q, all...)
	var kept []trust.Edge
	for _, l := range all {
		kept = append(kept, cv.filter(l)...)
	}
	if want := []trust.Edge{own[0], own[1], warnings[2], attackers[0]}; len(kept) != len(want) {
		t.Errorf("public 0: kept %+v, want %+v", kept, want)
	}
	// The share of honest vouches kept is public × grant, the same for
	// every querier.
	var many []trust.Edge
	for u := trust.NodeID(1); u < n; u++ {
		for v := trust.NodeID(1); v < n; v++ {
			if u != v {
				many = append(many, trust.Edge{From: u, To: v, Weight: 1})
			}
		}
	}
	a := newConsentView(scenario.Consent{Public: 0.5, Grant: 0.8}, 7, n, q, many)
	b := newConsentView(scenario.Consent{Public: 0.5, Grant: 0.8}, 7, n, 3, many)
	if share := float64(len(a.filter(many))) / float64(len(many)); math.Abs(share-0.4) > 0.02 {
		t.Errorf("kept %.3f of the vouches, want 0.4", share)
	}
	for _, e := range many {
		if e.From != 3 && a.keep(e) != b.keep(e) {
			t.Fatalf("queriers 0 and 3 disagree on whether %+v is public", e)
		}
	}
}

// TestConsentRun: with consent kith's engine sees less of the attack (a
// horizon of one hop hides every Sybil from viewpoints that are not
// victims) and of the honest members, and runs stay reproducible.
func TestConsentRun(t *testing.T) {
	base := small(t, sybilSrc)
	base.Sweep = scenario.Sweep{}
	base.Sweep.Set(scenario.FieldSize, 300)
	base.Sweep.Set(scenario.FieldAttackEdges, 30)
	base.Viewpoints = 6
	engines := []string{"kith-shared", "pagerank"}
	open := run(t, base, Options{Engines: engines})

	c := *base
	c.Consent = &scenario.Consent{Public: 0.5, Grant: 0.9}
	half := run(t, &c, Options{Engines: engines})
	if len(half.Ignored) != 0 {
		t.Errorf("ignored %q: the graph level simulates public, grant and hops", half.Ignored)
	}
	c.Consent = &scenario.Consent{Public: 1, Grant: 1, Hops: 1}
	mine := run(t, &c, Options{Engines: engines})
	for _, e := range engines {
		all := value(t, open, e, "sybil", MetricCaptured, 300, 30)
		some := value(t, half, e, "sybil", MetricCaptured, 300, 30)
		own := value(t, mine, e, "sybil", MetricCaptured, 300, 30)
		t.Logf("%s captured trust: all public %.4f, half public %.4f, own attestations only %.4f", e, all, some, own)
		if !(all > 0) || some == all {
			t.Errorf("%s: captured trust %v with all public, %v with half: consent changed nothing", e, all, some)
		}
		if own > all {
			t.Errorf("%s: one hop captured %v, more than the open network's %v", e, own, all)
		}
	}
	// Kith scores only what its node holds evidence about; a global
	// engine scores everyone, reachable or not.
	if cov := value(t, mine, "kith-shared", "honest", MetricHonestCoverage, 300, 30); !(cov < value(t, open, "kith-shared", "honest", MetricHonestCoverage, 300, 30)) {
		t.Errorf("one hop covers %v of the honest members, no fewer than the open network", cov)
	}
	// Reproducible whatever the number of workers.
	c.Consent = &scenario.Consent{Public: 0.5, Grant: 0.9, Hops: 3}
	var outs []string
	for _, w := range []int{1, 2} {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, run(t, &c, Options{Engines: engines, Workers: w})); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, buf.String())
	}
	if outs[0] != outs[1] {
		t.Error("1 and 2 workers gave different results with consent")
	}
}
