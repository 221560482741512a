package perf

import (
	"fmt"
	"runtime"
	"testing"
)

// Result is one measured case.
type Result struct {
	Name          string  `json:"name"`
	Items         int64   `json:"items"`
	PerSecond     float64 `json:"per_second"`
	PerCore       float64 `json:"per_core"`
	MicrosPerItem float64 `json:"us_per_item"`
	AllocsPerItem float64 `json:"allocs_per_item"`
	BytesPerItem  float64 `json:"bytes_per_item"`
	// VsRawVerify is PerCore as a share of the raw crypto/ed25519
	// verification rate of the same run ("" for the raw case itself).
	VsRawVerify string `json:"vs_raw_verify,omitempty"`
}

// RawVerifyCase names the case every other rate is compared with.
const RawVerifyCase = "ed25519 verify (crypto/ed25519, raw)"

// Run measures cases with bench (testing.Benchmark) and relates each rate
// to the raw verification rate.
func Run(cases []Case, bench func(func(*testing.B)) testing.BenchmarkResult, progress func(string)) []Result {
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		if progress != nil {
			progress(c.Name)
		}
		r := bench(func(b *testing.B) {
			b.ReportAllocs()
			c.Run(b)
		})
		items := int64(r.N) * int64(c.Items)
		res := Result{Name: c.Name, Items: items}
		if items > 0 && r.T > 0 {
			res.PerSecond = float64(items) / r.T.Seconds()
			res.MicrosPerItem = float64(r.T.Microseconds()) / float64(items)
			res.AllocsPerItem = float64(r.MemAllocs) / float64(items)
			res.BytesPerItem = float64(r.MemBytes) / float64(items)
		}
		res.PerCore = res.PerSecond
		if c.Parallel {
			res.PerCore = res.PerSecond / float64(runtime.GOMAXPROCS(0))
		}
		out = append(out, res)
	}
	var raw float64
	for _, r := range out {
		if r.Name == RawVerifyCase {
			raw = r.PerCore
		}
	}
	for i := range out {
		if raw > 0 && out[i].Name != RawVerifyCase {
			out[i].VsRawVerify = fmt.Sprintf("%.0f%%", 100*out[i].PerCore/raw)
		}
	}
	return out
}
