package recon

import (
	"errors"
	"slices"
	"testing"
)

// sliceKeys is a KeyStore over a sorted slice, standing in for the
// on-disk store the node uses. fail, when set, makes every call fail.
type sliceKeys struct {
	keys []Key
	fail error
}

func (m *sliceKeys) Update(add, del []Key) (added, deleted []Key, err error) {
	if m.fail != nil {
		return nil, nil, m.fail
	}
	for _, k := range add {
		if i, found := searchKeys(m.keys, &k); !found {
			m.keys = slices.Insert(m.keys, i, k)
			added = append(added, k)
		}
	}
	for _, k := range del {
		if i, found := searchKeys(m.keys, &k); found {
			m.keys = slices.Delete(m.keys, i, i+1)
			deleted = append(deleted, k)
		}
	}
	return added, deleted, nil
}

func (m *sliceKeys) Has(k Key) (bool, error) {
	if m.fail != nil {
		return false, m.fail
	}
	_, found := searchKeys(m.keys, &k)
	return found, nil
}

func (m *sliceKeys) Scan(lo, hi Key, fn func(Key) error) error {
	if m.fail != nil {
		return m.fail
	}
	i, _ := searchKeys(m.keys, &lo)
	for ; i < len(m.keys) && m.keys[i].Compare(hi) <= 0; i++ {
		if err := fn(m.keys[i]); err != nil {
			return err
		}
	}
	return nil
}

// setKinds names the two ways a Set holds its keys.
var setKinds = []string{"memory", "keystore"}

func newSet(tb testing.TB, kind string) *Set {
	if kind == "memory" {
		return new(Set)
	}
	s, err := NewStoreSet(new(sliceKeys))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestStoreSetReopen: a set made on a store that already holds keys counts
// them and answers as a set built by adds.
func TestStoreSetReopen(t *testing.T) {
	r := rng(t)
	keys := randKeys(r, 3000)
	ks := new(sliceKeys)
	if _, _, err := ks.Update(keys, nil); err != nil {
		t.Fatal(err)
	}
	s, err := NewStoreSet(ks)
	if err != nil {
		t.Fatal(err)
	}
	mem := setOf(keys...)
	gn, gfp := s.Fingerprint()
	wn, wfp := mem.Fingerprint()
	if gn != wn || gfp != wfp {
		t.Fatalf("reopened set: (%d, %x), want (%d, %x)", gn, gfp, wn, wfp)
	}
	if _, err := NewStoreSet(&sliceKeys{fail: errors.New("disk gone")}); err == nil {
		t.Fatal("NewStoreSet on a failing store: no error")
	}
}

// TestStoreSetReconcile reconciles a set on a KeyStore with one in memory,
// both ways.
func TestStoreSetReconcile(t *testing.T) {
	r := rng(t)
	base := randKeys(r, 20_000)
	a := newSet(t, "keystore")
	if _, _, err := a.Update(base, nil); err != nil {
		t.Fatal(err)
	}
	b := setOf(base...)
	for i := 0; i < 300; i++ {
		a.Add(randKey(r))
		b.Add(randKey(r))
		a.Remove(base[r.IntN(len(base))])
	}
	for _, kind := range []string{"net", "io"} {
		res, err, serr := session(t, kind, a, b, Options{}, Options{})
		if err != nil || serr != nil {
			t.Fatalf("store client: Reconcile: %v, Serve: %v", err, serr)
		}
		checkResult(t, res, a, b)
		res, err, serr = session(t, kind, b, a, Options{}, Options{})
		if err != nil || serr != nil {
			t.Fatalf("store server: Reconcile: %v, Serve: %v", err, serr)
		}
		checkResult(t, res, b, a)
	}
}

// TestStoreSetFailure: when the KeyStore fails, the set changes nothing,
// Err reports it, and a session on that set fails on both sides (the peer
// hears CodeInternal) instead of answering from stale fingerprints.
func TestStoreSetFailure(t *testing.T) {
	r := rng(t)
	disk := errors.New("disk gone")
	ks := new(sliceKeys)
	s, err := NewStoreSet(ks)
	if err != nil {
		t.Fatal(err)
	}
	keys := randKeys(r, 100)
	if _, _, err := s.Update(keys, nil); err != nil {
		t.Fatal(err)
	}
	ks.fail = disk
	if s.Add(randKey(r)) || s.Remove(keys[0]) || s.Has(keys[0]) {
		t.Fatal("a failing store reported a change or a member")
	}
	if _, _, err := s.Update(randKeys(r, 3), nil); !errors.Is(err, disk) {
		t.Fatalf("Update: %v, want the store's error", err)
	}
	if s.Len() != 100 {
		t.Fatalf("Len = %d after failed changes, want 100", s.Len())
	}
	if !errors.Is(s.Err(), disk) {
		t.Fatalf("Err = %v", s.Err())
	}
	other := setOf(randKeys(r, 50)...)
	for _, kind := range []string{"net", "io"} {
		_, err, serr := session(t, kind, s, other, Options{}, Options{})
		if !errors.Is(err, disk) || !errors.Is(serr, &Error{Code: CodeInternal}) {
			t.Fatalf("failing client: Reconcile: %v, Serve: %v", err, serr)
		}
		_, err, serr = session(t, kind, other, s, Options{}, Options{})
		if !errors.Is(serr, disk) || !errors.Is(err, &Error{Code: CodeInternal}) {
			t.Fatalf("failing server: Reconcile: %v, Serve: %v", err, serr)
		}
	}
}
