package badger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// benchSeed seeds the benchmark objects (the crash-test generator).
const benchSeed = 0xbe4c

var benchPool struct {
	mu   sync.Mutex
	objs []wire.Object
}

// benchObjects returns n distinct attestations by crashIssuers issuers,
// signing more only when earlier benchmarks have not already.
func benchObjects(b *testing.B, n int) []wire.Object {
	b.Helper()
	benchPool.mu.Lock()
	defer benchPool.mu.Unlock()
	keys := crashKeys(benchSeed)
	for i := len(benchPool.objs); i < n; i++ {
		a, err := crashObject(keys, benchSeed, 0, i)
		if err != nil {
			b.Fatal(err)
		}
		benchPool.objs = append(benchPool.objs, a)
	}
	return benchPool.objs[:n]
}

// benchStore returns an encrypted store in a fresh directory, holding objs.
func benchStore(b *testing.B, objs []wire.Object) *Store {
	b.Helper()
	s := openT(b, Options{Dir: b.TempDir(), EncryptionKey: testKey})
	for len(objs) > 0 {
		n := min(len(objs), 1000)
		if _, err := s.Put(context.Background(), objs[:n]...); err != nil {
			b.Fatal(err)
		}
		objs = objs[n:]
	}
	return s
}

// BenchmarkPut measures durable Puts (each one fsynced) of new objects
// from one goroutine, by batch size.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			objs := benchObjects(b, size*b.N)
			s := benchStore(b, nil)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.Put(ctx, objs[i*size:(i+1)*size]...); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(size*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkGet measures random reads from a store of 10,000 attestations.
func BenchmarkGet(b *testing.B) {
	objs := benchObjects(b, 10_000)
	s := benchStore(b, objs)
	ids := make([]cid.Cid, len(objs))
	for i, o := range objs {
		ids[i] = o.CID()
	}
	rng := rand.New(rand.NewPCG(benchSeed, 1))
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Get(ctx, ids[rng.IntN(len(ids))]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkAttestationsByIssuer queries one issuer's attestations in a
// store of 10,000 (1,250 per issuer), with and without a limit.
func BenchmarkAttestationsByIssuer(b *testing.B) {
	objs := benchObjects(b, 10_000)
	s := benchStore(b, objs)
	issuer := objs[0].Signer()
	ctx := context.Background()
	for _, limit := range []int{0, 20} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			n := 0
			for range b.N {
				got, err := s.Attestations(ctx, store.Query{Issuer: &issuer, Limit: limit})
				if err != nil {
					b.Fatal(err)
				}
				n += len(got)
			}
			b.StopTimer()
			b.ReportMetric(float64(n)/float64(b.N), "results/op")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}
