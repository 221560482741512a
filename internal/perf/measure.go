package perf

import (
	"context"
	"fmt"
	"runtime"
	"sync"
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
// to the raw verification rate. It stops before the next case once ctx is
// done, returning the results so far and ctx's cause, and stops at a case
// that fails, returning its error.
func Run(ctx context.Context, cases []Case, bench func(func(*testing.B)) testing.BenchmarkResult, progress func(string)) ([]Result, error) {
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		if ctx.Err() != nil {
			return out, context.Cause(ctx)
		}
		if progress != nil {
			progress(c.Name)
		}
		var failed error // written in the benchmark's goroutine, read after bench returns
		r := bench(func(b *testing.B) {
			if failed != nil {
				return
			}
			underRun.Store(b, true)
			defer underRun.Delete(b)
			defer func() {
				if p := recover(); p != nil {
					cf, ok := p.(caseFailure)
					if !ok {
						panic(p)
					}
					failed = cf
				}
			}()
			b.ReportAllocs()
			c.Run(b)
		})
		if failed != nil {
			if ctx.Err() != nil {
				return out, context.Cause(ctx)
			}
			return out, fmt.Errorf("perf: %s: %w", c.Name, failed)
		}
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
	return out, nil
}

// underRun holds the *testing.B of the cases Run is measuring.
var underRun sync.Map

// caseFailure is a case's error on its way from fail to Run.
type caseFailure struct{ msg string }

func (c caseFailure) Error() string { return c.msg }

// fail ends a case with an error. Under go test it is b.Fatal. Under Run
// it panics with a caseFailure that Run recovers: b.Fatal inside
// testing.Benchmark, outside go test, crashes the process (Go 1.26:
// testing.(*common).callSite dereferences a frame that is not there).
func fail(b *testing.B, args ...any) {
	b.Helper()
	if _, ok := underRun.Load(b); ok {
		panic(caseFailure{fmt.Sprint(args...)})
	}
	b.Fatal(args...)
}

func failf(b *testing.B, format string, args ...any) {
	b.Helper()
	fail(b, fmt.Sprintf(format, args...))
}
