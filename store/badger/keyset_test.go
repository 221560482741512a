package badger

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type key32 [32]byte

func randKey32(r *rand.Rand) key32 {
	var k key32
	for i := range k {
		k[i] = byte(r.Uint32())
	}
	return k
}

func openKeySetT(t *testing.T, dir string) *KeySet[key32] {
	t.Helper()
	ks, err := OpenKeySet[key32](context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

// TestKeySet checks Update, Has and Scan against a sorted slice, across
// enough keys to flush memtables to tables.
func TestKeySet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ks := openKeySetT(t, t.TempDir())
	var want []key32
	for round := 0; round < 20; round++ {
		var add, del []key32
		for i := 0; i < 5000; i++ {
			add = append(add, randKey32(r))
		}
		add = append(add, add[0]) // a duplicate is added once
		present := map[key32]bool{}
		for i := 0; i < 200 && len(want) > 0; i++ {
			k := want[r.IntN(len(want))]
			del = append(del, k)
			present[k] = true
		}
		del = append(del, randKey32(r)) // absent: not reported
		added, deleted, err := ks.Update(add, del)
		if err != nil {
			t.Fatal(err)
		}
		if len(added) != 5000 {
			t.Fatalf("round %d: %d added, want 5000", round, len(added))
		}
		want = append(want, added...)
		slices.SortFunc(want, func(a, b key32) int { return bytes.Compare(a[:], b[:]) })
		want = slices.Compact(want)
		for _, k := range deleted {
			i, _ := slices.BinarySearchFunc(want, k, func(a, b key32) int { return bytes.Compare(a[:], b[:]) })
			want = slices.Delete(want, i, i+1)
		}
		if len(deleted) != len(present) {
			t.Fatalf("round %d: %d deleted, want %d", round, len(deleted), len(present))
		}
	}
	var got []key32
	var lo, hi key32
	for i := range hi {
		hi[i] = 0xff
	}
	if err := ks.Scan(lo, hi, func(k key32) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Scan of everything: %d keys, want %d", len(got), len(want))
	}
	// A sub-range, bounds inclusive.
	lo, hi = want[100], want[2000]
	got = got[:0]
	if err := ks.Scan(lo, hi, func(k key32) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want[100:2001]) {
		t.Fatalf("Scan [100, 2000]: %d keys, want 1901", len(got))
	}
	stop := errors.New("stop")
	n := 0
	if err := ks.Scan(lo, hi, func(key32) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("Scan stopping: err %v after %d calls", err, n)
	}
	for _, k := range want[:50] {
		if ok, err := ks.Has(k); err != nil || !ok {
			t.Fatalf("Has(member) = %v, %v", ok, err)
		}
	}
	if ok, err := ks.Has(randKey32(r)); err != nil || ok {
		t.Fatalf("Has(absent) = %v, %v", ok, err)
	}
}

// TestKeySetStartsEmpty: the set is a cache, so OpenKeySet clears what a
// previous run left, and it refuses an empty path.
func TestKeySetStartsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ks")
	ks, err := OpenKeySet[key32](context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := key32{1}
	if _, _, err := ks.Update([]key32{k}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stray"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ks = openKeySetT(t, dir)
	if ok, err := ks.Has(k); err != nil || ok {
		t.Fatalf("reopened set: Has = %v, %v; want an empty set", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stray")); !os.IsNotExist(err) {
		t.Fatalf("stray file survived: %v", err)
	}
	if _, err := OpenKeySet[key32](context.Background(), "", nil); err == nil {
		t.Fatal("OpenKeySet(\"\"): no error")
	}
}

// BenchmarkKeySetUpdate adds keys in batches of 4096, as a node loads its
// public set at start; it reports the cost per key.
func BenchmarkKeySetUpdate(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ks, err := OpenKeySet[key32](context.Background(), b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ks.Close()
	batch := make([]key32, 4096)
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			batch[i] = randKey32(r)
		}
		if _, _, err := ks.Update(batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/key")
}
