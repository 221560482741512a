package perf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/wire"
)

// ingestPool is how many distinct signed attestations the ingest cases
// draw from. Every write must be new to the store, so when the pool is used
// up the case swaps in an empty store, outside the timed region.
const ingestPool = 16384

// StoreCases returns the store cases: ingest of received attestations
// (decode + verify + durable write) into an encrypted badger store under dir.
func StoreCases(ctx context.Context, dir string) []Case {
	var (
		once sync.Once
		raws [][]byte
	)
	prepare := func() {
		once.Do(func() {
			atts := sampleAttestations(ingestPool)
			raws = make([][]byte, len(atts))
			for i, a := range atts {
				raws[i] = a.Raw()
			}
		})
	}
	// fresh returns an empty encrypted store and a function that swaps it
	// for another empty one.
	fresh := func(b *testing.B, name string) (get func() *badgerstore.Store, renew func()) {
		d := filepath.Join(dir, name)
		var st *badgerstore.Store
		renew = func() {
			if st != nil {
				st.Close()
			}
			if err := os.RemoveAll(d); err != nil {
				fail(b, err)
			}
			var err error
			st, err = badgerstore.Open(ctx, badgerstore.Options{Dir: d, EncryptionKey: make([]byte, 32)})
			if err != nil {
				fail(b, err)
			}
		}
		renew()
		b.Cleanup(func() {
			if st != nil {
				st.Close()
			}
			os.RemoveAll(d)
		})
		return func() *badgerstore.Store { return st }, renew
	}
	// next returns the i-th raw attestation, renewing the store when the
	// pool wraps.
	next := func(b *testing.B, i int, renew func()) []byte {
		if i > 0 && i%len(raws) == 0 {
			b.StopTimer()
			renew()
			b.StartTimer()
		}
		return raws[i%len(raws)]
	}
	var cases []Case
	for _, batch := range []int{1, 256} {
		cases = append(cases, Case{
			Name:  fmt.Sprintf("ingest: open + put, batches of %d", batch),
			Items: batch,
			Run: func(b *testing.B) {
				prepare()
				st, renew := fresh(b, fmt.Sprintf("ingest-%d", batch))
				objs := make([]wire.Object, batch)
				i := 0
				for b.Loop() {
					for j := range objs {
						o, err := wire.Open(next(b, i, renew), Now)
						if err != nil {
							fail(b, err)
						}
						objs[j] = o
						i++
					}
					if n, err := st().Put(ctx, objs...); err != nil || n != len(objs) {
						failf(b, "put: %d new of %d: %v", n, len(objs), err)
					}
				}
			},
		})
	}
	cases = append(cases, Case{
		Name:  "ingest: decode + batch verify + put, batches of 256",
		Items: 256,
		Run: func(b *testing.B) {
			prepare()
			st, renew := fresh(b, "ingest-batch")
			objs := make([]wire.Object, 256)
			i := 0
			for b.Loop() {
				for j := range objs {
					o, err := wire.Decode(next(b, i, renew))
					if err != nil {
						fail(b, err)
					}
					objs[j] = o
					i++
				}
				for _, err := range wire.VerifyBatch(objs, Now, nil) {
					if err != nil {
						fail(b, err)
					}
				}
				if n, err := st().Put(ctx, objs...); err != nil || n != len(objs) {
					failf(b, "put: %d new of %d: %v", n, len(objs), err)
				}
			}
		},
	})
	return cases
}
