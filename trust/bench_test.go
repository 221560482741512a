package trust_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

var bigGraph = sync.OnceValue(func() *trust.Graph { return trusttest.Synthetic(100_000, 1_000_000, 1) })

// busyQuerier picks a querier with many out-edges, as an active owner.
func busyQuerier(g *trust.Graph) trust.NodeID {
	best, bestDeg := trust.NodeID(0), 0
	for u := range trust.NodeID(min(g.N(), 2000)) {
		if to, _ := g.Out(u); len(to) > bestDeg && len(to) < 200 {
			best, bestDeg = u, len(to)
		}
	}
	return best
}

// BenchmarkEdgePass is the memory-bandwidth floor: one pass over every
// edge's target and weight.
func BenchmarkEdgePass(b *testing.B) {
	g := bigGraph()
	for b.Loop() {
		s := float32(0)
		for u := range trust.NodeID(g.N()) {
			to, w := g.Out(u)
			for i := range to {
				s += w[i] * float32(to[i]&1)
			}
		}
		_ = s
	}
	b.ReportMetric(float64(g.M()), "edges")
}

// BenchmarkFullView is a full personalised recompute of one owner's view
// over 100k nodes and 1M edges.
func BenchmarkFullView(b *testing.B) {
	g := bigGraph()
	q := busyQuerier(g)
	ctx := context.Background()
	var pushes int
	for b.Loop() {
		v, err := trust.NewView(ctx, g, q, trust.PropagationParams{})
		if err != nil {
			b.Fatal(err)
		}
		pushes = v.Pushes()
	}
	b.ReportMetric(float64(pushes), "pushes")
}

// BenchmarkQuery is one warm query with its explanation; it reports p50 and
// p99 over targets drawn from the covered nodes.
func BenchmarkQuery(b *testing.B) {
	g := bigGraph()
	ctx := context.Background()
	e := &trust.Engine{}
	v, err := e.View(ctx, g, busyQuerier(g))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var lat []time.Duration
	for b.Loop() {
		t := trust.NodeID(rng.IntN(g.N()))
		start := time.Now()
		r := e.Query(v, t)
		lat = append(lat, time.Since(start))
		_ = r
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkIncremental is the update of a warm view after one new
// attestation by a node near the owner.
func BenchmarkIncremental(b *testing.B) {
	g := bigGraph()
	ctx := context.Background()
	q := busyQuerier(g)
	v, err := trust.NewView(ctx, g, q, trust.PropagationParams{})
	if err != nil {
		b.Fatal(err)
	}
	to, _ := g.Out(q)
	u := to[0] // a direct contact of the owner adds a vouch
	rng := rand.New(rand.NewPCG(2, 2))
	var pushes int
	for b.Loop() {
		ot, ow := v.Out(u)
		edits := make([]trust.Edit, 0, len(ot)+1)
		for i := range ot {
			edits = append(edits, trust.Edit{To: ot[i], Weight: float64(ow[i])})
		}
		x := trust.NodeID(rng.IntN(g.N()))
		if x != u {
			edits = append(edits, trust.Edit{To: x, Weight: 0.5})
		}
		if err := v.SetOut(ctx, u, edits); err != nil {
			b.Fatal(err)
		}
		pushes = v.Pushes()
	}
	b.ReportMetric(float64(pushes), "pushes")
}
