package trust_test

import (
	"sync"
	"testing"

	"github.com/kith-net/kith/internal/perf"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

var bigGraph = sync.OnceValue(func() *trust.Graph { return trusttest.Synthetic(100_000, 1_000_000, 1) })

// BenchmarkEngine runs the trust engine cases shared with `kith bench` on a
// synthetic 100k-node, 1M-edge graph: the bandwidth floor, a full
// recompute, a warm query with its explanation, an incremental update.
func BenchmarkEngine(b *testing.B) {
	g := bigGraph()
	for _, c := range perf.TrustCases(g, perf.ActiveQuerier(g)) {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			c.Run(b)
		})
	}
}

// BenchmarkQueryLatency reports the p50 and p99 of warm queries with
// explanations.
func BenchmarkQueryLatency(b *testing.B) {
	g := bigGraph()
	q := perf.ActiveQuerier(g)
	for b.Loop() {
		lat, err := perf.QueryLatencies(g, q, 1000)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
