package recon

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"
)

// rng returns a generator seeded from the test's name, so every test is
// reproducible and independent of the others.
func rng(tb testing.TB) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(tb.Name()))
	return rand.New(rand.NewPCG(h.Sum64(), 0x6b697468))
}

func randKey(r *rand.Rand) Key {
	var k Key
	for i := 0; i < KeySize; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			k[i+j] = byte(v >> (8 * j))
		}
	}
	return k
}

func randKeys(r *rand.Rand, n int) []Key {
	ks := make([]Key, n)
	for i := range ks {
		ks[i] = randKey(r)
	}
	return ks
}

func setOf(keys ...Key) *Set {
	s := new(Set)
	for _, k := range keys {
		s.Add(k)
	}
	return s
}

// clone copies s; a test helper that avoids re-adding large sets.
func (s *Set) clone() *Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := new(Set)
	c.n = s.n
	for i := range s.buckets {
		c.buckets[i].keys = slices.Clone(s.buckets[i].keys)
		c.buckets[i].n = s.buckets[i].n
	}
	for l := 0; l < bucketNibbles; l++ {
		for i, nd := range s.level(l) {
			c.level(l)[i].count = nd.count
		}
	}
	return c
}

// refFingerprint is the definition of spec §3, computed from scratch.
func refFingerprint(sorted []Key, p prefix) (int, Fingerprint) {
	var under []Key
	for i := range sorted {
		if p.contains(&sorted[i]) {
			under = append(under, sorted[i])
		}
	}
	var rec func(ks []Key, p prefix) Fingerprint
	rec = func(ks []Key, p prefix) Fingerprint {
		switch {
		case len(ks) == 0:
			return Fingerprint{}
		case len(ks) <= LeafMax:
			h := sha256.New()
			h.Write([]byte("kith/resync/1/leaf"))
			for _, k := range ks {
				h.Write(k[:])
			}
			return Fingerprint(h.Sum(nil))
		}
		h := sha256.New()
		h.Write([]byte("kith/resync/1/node"))
		for c := 0; c < 16; c++ {
			cp := p.child(c)
			var sub []Key
			for i := range ks {
				if cp.contains(&ks[i]) {
					sub = append(sub, ks[i])
				}
			}
			fp := rec(sub, cp)
			h.Write(fp[:])
		}
		return Fingerprint(h.Sum(nil))
	}
	return len(under), rec(under, p)
}

func TestSetBasic(t *testing.T) {
	for _, kind := range setKinds {
		t.Run(kind, func(t *testing.T) { testSetBasic(t, newSet(t, kind)) })
	}
}

func testSetBasic(t *testing.T, s *Set) {
	r := rng(t)
	ks := randKeys(r, 1000)
	for _, k := range ks {
		if !s.Add(k) {
			t.Fatalf("Add(%s) of a new key = false", k)
		}
	}
	if s.Add(ks[0]) {
		t.Fatal("Add of a present key = true")
	}
	if s.Len() != len(ks) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(ks))
	}
	for _, k := range ks {
		if !s.Has(k) {
			t.Fatalf("Has(%s) = false", k)
		}
	}
	if s.Has(randKey(r)) {
		t.Fatal("Has of an absent key = true")
	}
	want := slices.Clone(ks)
	sortKeys(want)
	if got := s.Keys(); !slices.Equal(got, want) {
		t.Fatal("Keys is not the sorted key list")
	}
	for _, k := range ks[:500] {
		if !s.Remove(k) {
			t.Fatalf("Remove(%s) = false", k)
		}
	}
	if s.Remove(ks[0]) {
		t.Fatal("Remove of an absent key = true")
	}
	if s.Len() != 500 || s.Has(ks[0]) || !s.Has(ks[999]) {
		t.Fatalf("after removals: Len = %d", s.Len())
	}
}

// TestFingerprintDefinition checks the cached fingerprints against the
// definition at every depth, through adds and removes, for sets from empty
// to large enough that every cache level splits.
func TestFingerprintDefinition(t *testing.T) {
	for _, kind := range setKinds {
		t.Run(kind, func(t *testing.T) { testFingerprintDefinition(t, kind) })
	}
}

func testFingerprintDefinition(t *testing.T, kind string) {
	r := rng(t)
	for _, n := range []int{0, 1, 16, 17, 300, 5000} {
		s := newSet(t, kind)
		ks := randKeys(r, n)
		// Clustered keys force deep prefixes.
		for i := 0; i < n/10; i++ {
			k := ks[0]
			k[3+i%28] ^= byte(1 + i%255)
			ks = append(ks, k)
		}
		check := func(when string) {
			t.Helper()
			sorted := s.Keys()
			probes := []prefix{{}}
			for i := 0; i < 40 && len(sorted) > 0; i++ {
				k := sorted[r.IntN(len(sorted))]
				probes = append(probes, prefix{key: k, n: r.IntN(10)})
			}
			for i := 0; i < 10; i++ {
				probes = append(probes, prefix{key: randKey(r), n: r.IntN(6)})
			}
			for _, p := range probes {
				// Zero the nibbles after p.n, as on the wire.
				q := prefix{}
				for j := 0; j < p.n; j++ {
					q = q.child(nibble(&p.key, j))
				}
				s.mu.Lock()
				gc, gfp := s.summary(q)
				s.mu.Unlock()
				wc, wfp := refFingerprint(sorted, q)
				if gc != wc || gfp != wfp {
					t.Fatalf("n=%d %s: prefix %x/%d: got (%d, %x), want (%d, %x)", n, when, q.key[:(q.n+1)/2], q.n, gc, gfp, wc, wfp)
				}
			}
		}
		for _, k := range ks {
			s.Add(k)
		}
		check("after adds")
		for _, k := range ks[:len(ks)/2] {
			s.Remove(k)
		}
		check("after removes")
		for _, k := range ks[:len(ks)/4] {
			s.Add(k)
		}
		check("after re-adds")
	}
}

// TestFingerprintVectors pins the vectors of spec/resync-v1.md §8.
func TestFingerprintVectors(t *testing.T) {
	var k [17]Key
	for i := range k {
		k[i] = sha256.Sum256([]byte{byte(i)})
	}
	for _, tc := range []struct {
		name string
		keys []Key
		want string
	}{
		{"empty", nil, "00000000000000000000000000000000"},
		{"one", k[:1], "ffc6e272407c2584138622ed0a395d21"},
		{"sixteen", k[:16], "fef35896638638a83bbd96a01c2aec23"},
		{"seventeen", k[:17], "14441117d76e812b8d100aa05cf80340"},
	} {
		_, fp := setOf(tc.keys...).Fingerprint()
		if got := hex.EncodeToString(fp[:]); got != tc.want {
			t.Errorf("%s: fingerprint %s, want %s", tc.name, got, tc.want)
		}
	}
}
