package recon

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var million struct {
	once sync.Once
	set  *Set
}

// base1M returns a set of one million random keys, built once per process.
func base1M() *Set {
	million.once.Do(func() {
		r := rand.New(rand.NewPCG(1, 1_000_000))
		million.set = setOf(randKeys(r, 1_000_000)...)
	})
	return million.set
}

// BenchmarkReconcile1M reconciles two sets of about a million keys that
// differ by d keys, half on each side, over net.Pipe. The fingerprint
// caches are warm, as on a long-running node; cold-ms is the first session
// after the sets were built (every fingerprint computed).
//
//	go test -run '^$' -bench Reconcile1M -benchtime 1x ./node/recon/
func BenchmarkReconcile1M(b *testing.B) {
	for _, d := range []int{0, 10, 1000} {
		b.Run(fmt.Sprintf("diff=%d", d), func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, uint64(d)))
			local, remote := base1M().clone(), base1M().clone()
			for i := 0; i < d; i++ {
				if i%2 == 0 {
					local.Add(randKey(r))
				} else {
					remote.Add(randKey(r))
				}
			}
			start := time.Now()
			res, err, serr := session(b, "net", local, remote, Options{}, Options{})
			if err != nil || serr != nil || len(res.Missing)+len(res.Extra) != d {
				b.Fatalf("Reconcile: %v, Serve: %v, %d+%d keys", err, serr, len(res.Missing), len(res.Extra))
			}
			cold := time.Since(start)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err, serr = session(b, "net", local, remote, Options{}, Options{})
				if err != nil || serr != nil {
					b.Fatal(err, serr)
				}
			}
			b.ReportMetric(float64(res.BytesSent+res.BytesReceived), "bytes/op")
			b.ReportMetric(float64(res.Rounds), "rounds/op")
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
		})
	}
}

// BenchmarkSetAdd adds keys to a set that already holds a million.
func BenchmarkSetAdd(b *testing.B) {
	s := base1M().clone()
	r := rand.New(rand.NewPCG(3, 3))
	keys := randKeys(r, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Add(keys[i])
	}
}

// BenchmarkFingerprintAfterAdd measures the root fingerprint of a
// million-key set after one change: the cost of one dirty path.
func BenchmarkFingerprintAfterAdd(b *testing.B) {
	s := base1M().clone()
	s.Fingerprint()
	r := rand.New(rand.NewPCG(4, 4))
	keys := randKeys(r, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Add(keys[i])
		s.Fingerprint()
	}
}
