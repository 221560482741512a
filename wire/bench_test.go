package wire_test

import (
	"testing"

	"github.com/kith-net/kith/internal/perf"
)

// BenchmarkWire runs the wire cases shared with `kith-lab bench`.
func BenchmarkWire(b *testing.B) {
	for _, c := range perf.WireCases() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			c.Run(b)
			b.ReportMetric(float64(b.N*c.Items)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
