package recon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// KeySize is the size of a Key in bytes.
const KeySize = 32

// Key identifies an item: the 32-byte SHA-256 digest inside the object's
// CIDv1. Keys are compared as unsigned big-endian integers (bytes.Compare).
type Key [KeySize]byte

// String returns the key in lower-case hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Compare orders keys as unsigned big-endian integers.
func (k Key) Compare(o Key) int { return bytes.Compare(k[:], o[:]) }

// FingerprintSize is the size of a range fingerprint in bytes.
const FingerprintSize = 16

// Fingerprint summarises the keys under a prefix (spec/resync-v1.md §3).
// The fingerprint of an empty range is all zeros.
type Fingerprint [FingerprintSize]byte

// LeafMax is the largest number of keys under a prefix whose fingerprint is
// the hash of the keys themselves; a larger range is hashed as a node of its
// sixteen children. It is also the size below which a responder answers a
// mismatch with the item list. Part of the protocol: do not change it
// without a new version.
const LeafMax = 16

// maxDepth is the longest prefix, in nibbles, that a message may carry. A
// prefix of 63 nibbles holds at most 16 keys, so it is always a leaf.
const maxDepth = 2*KeySize - 1

// Domain-separation tags of the fingerprint hash (spec §3).
var (
	leafTag = []byte("kith/resync/1/leaf")
	nodeTag = []byte("kith/resync/1/node")
)

// prefix is a nibble prefix of the key space: the first n nibbles of key,
// every later nibble zero. The range it names holds every key that starts
// with those nibbles.
type prefix struct {
	key Key
	n   int
}

func nibble(k *Key, i int) int {
	b := k[i/2]
	if i%2 == 0 {
		return int(b >> 4)
	}
	return int(b & 0x0f)
}

// child returns p extended by the nibble c.
func (p prefix) child(c int) prefix {
	q := p
	if q.n%2 == 0 {
		q.key[q.n/2] = byte(c) << 4
	} else {
		q.key[q.n/2] |= byte(c)
	}
	q.n++
	return q
}

// contains reports whether k lies in the range of p.
func (p prefix) contains(k *Key) bool {
	full := p.n / 2
	if !bytes.Equal(k[:full], p.key[:full]) {
		return false
	}
	return p.n%2 == 0 || k[full]>>4 == p.key[full]>>4
}

// last returns the largest key in the range of p.
func (p prefix) last() Key {
	k := p.key
	if p.n%2 == 1 {
		k[p.n/2] |= 0x0f
	}
	for i := (p.n + 1) / 2; i < KeySize; i++ {
		k[i] = 0xff
	}
	return k
}

// The set stores its keys in 4096 buckets by their first three nibbles:
// in memory each bucket is a sorted slice; with a KeyStore the keys live in
// the store and a bucket keeps only its count. A fixed 16-ary tree over the
// buckets (levels 0 to 2) caches the counts and fingerprints of the shorter
// prefixes. Counts are kept exact on every change; fingerprints are
// invalidated along the path and recomputed on demand, so a burst of Adds
// costs no hashing and a fingerprint query costs O(1) once cached.
const (
	bucketNibbles = 3
	numBuckets    = 1 << (4 * bucketNibbles)
)

type bucket struct {
	keys  []Key // sorted ascending; nil with a KeyStore
	n     int   // number of keys
	fp    Fingerprint
	sub   *[16]summary // counts and fingerprints of the 4-nibble prefixes
	valid bool         // fp and sub are current
}

// bucketPrefix returns the 3-nibble prefix of bucket b.
func bucketPrefix(b int) prefix {
	var p prefix
	p.key[0], p.key[1], p.n = byte(b>>4), byte(b&0x0f)<<4, bucketNibbles
	return p
}

// refresh recomputes the cached fingerprints of bucket b. s.mu must be
// held.
func (s *Set) refresh(b int) {
	bk := &s.buckets[b]
	keys, ok := s.view(bucketPrefix(b))
	if !ok {
		return // not valid: the next query tries again
	}
	bk.valid = true
	if len(keys) == 0 {
		bk.fp, bk.sub = Fingerprint{}, nil
		return
	}
	if bk.sub == nil {
		bk.sub = new([16]summary)
	}
	var fps [16]Fingerprint
	i := 0
	for c := range fps {
		j := i
		for j < len(keys) && nibble(&keys[j], bucketNibbles) == c {
			j++
		}
		fps[c] = fingerprintSorted(keys[i:j], bucketNibbles+1)
		bk.sub[c] = summary{count: uint32(j - i), fp: fps[c]}
		i = j
	}
	if len(keys) <= LeafMax {
		bk.fp = leafHash(keys)
	} else {
		bk.fp = nodeHash(&fps)
	}
}

type node struct {
	count int
	fp    Fingerprint
	valid bool
}

// KeyStore keeps a Set's keys outside memory, for sets too large to hold
// there: the Set then keeps only its counts and cached fingerprints (about
// 1.5 MB, whatever the number of keys). Calls come from one goroutine at a
// time.
type KeyStore interface {
	// Update adds the keys in add and deletes those in del, atomically,
	// and returns the keys of each that changed the store.
	Update(add, del []Key) (added, deleted []Key, err error)
	// Has reports whether k is stored.
	Has(k Key) (bool, error)
	// Scan calls fn for each stored key from lo to hi inclusive, in
	// ascending order, and stops at fn's first error.
	Scan(lo, hi Key, fn func(Key) error) error
}

// Set is a set of keys that answers range fingerprints quickly. The zero
// value is an empty set in memory, ready to use (about 40 bytes per key at
// a million keys); NewStoreSet makes one whose keys live in a KeyStore. A
// Set is safe for concurrent use; it must not be copied after first use. It
// holds at most 2³²−1 keys (counts are u32 on the wire).
//
// With a KeyStore, an operation the store fails leaves the set unchanged
// and returns a zero result, and Err reports the failure; Reconcile and
// Serve fail with it.
type Set struct {
	mu      sync.Mutex
	n       int
	ks      KeyStore
	err     error
	scratch []Key // keys read from ks for one bucket or less
	buckets [numBuckets]bucket
	l0      [1]node
	l1      [16]node
	l2      [256]node
}

// NewStoreSet returns a set whose keys live in ks, which may already hold
// some: it reads them once to count them.
func NewStoreSet(ks KeyStore) (*Set, error) {
	s := &Set{ks: ks}
	var last Key
	for i := range last {
		last[i] = 0xff
	}
	err := ks.Scan(Key{}, last, func(k Key) error {
		s.touch(bucketOf(&k), 1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recon: reading the key store: %w", err)
	}
	return s, nil
}

// Err returns the first failure of the set's KeyStore, or nil.
func (s *Set) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// fail records a KeyStore failure. s.mu must be held.
func (s *Set) fail(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("recon: key store: %w", err)
	}
}

func bucketOf(k *Key) int { return int(k[0])<<4 | int(k[1]>>4) }

func (s *Set) level(l int) []node {
	switch l {
	case 0:
		return s.l0[:]
	case 1:
		return s.l1[:]
	default:
		return s.l2[:]
	}
}

// touch adjusts the counts on the path to bucket b by d and invalidates the
// cached fingerprints on it.
func (s *Set) touch(b, d int) {
	s.n += d
	s.buckets[b].n += d
	s.buckets[b].valid = false
	for l := 0; l < bucketNibbles; l++ {
		nd := &s.level(l)[b>>(4*(bucketNibbles-l))]
		nd.count += d
		nd.valid = false
	}
}

func searchKeys(keys []Key, k *Key) (int, bool) {
	i := sort.Search(len(keys), func(i int) bool { return bytes.Compare(keys[i][:], k[:]) >= 0 })
	return i, i < len(keys) && keys[i] == *k
}

// Add inserts k and reports whether it was absent.
func (s *Set) Add(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	added, _, _ := s.update([]Key{k}, nil)
	return added == 1
}

// Remove deletes k and reports whether it was present.
func (s *Set) Remove(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, deleted, _ := s.update(nil, []Key{k})
	return deleted == 1
}

// Update adds the keys in add and removes those in del (with a KeyStore,
// in one store transaction) and returns how many of each changed the set.
// It fails only with a KeyStore, and then changes nothing.
func (s *Set) Update(add, del []Key) (added, deleted int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.update(add, del)
}

// update is Update; a KeyStore failure is also recorded in s.err. s.mu
// must be held.
func (s *Set) update(add, del []Key) (added, deleted int, err error) {
	if s.ks != nil {
		a, d, err := s.ks.Update(add, del)
		if err != nil {
			s.fail(err)
			return 0, 0, fmt.Errorf("recon: key store: %w", err)
		}
		for i := range a {
			s.touch(bucketOf(&a[i]), 1)
		}
		for i := range d {
			s.touch(bucketOf(&d[i]), -1)
		}
		return len(a), len(d), nil
	}
	for _, k := range add {
		b := bucketOf(&k)
		bk := &s.buckets[b]
		if i, found := searchKeys(bk.keys, &k); !found {
			bk.keys = slices.Insert(bk.keys, i, k)
			s.touch(b, 1)
			added++
		}
	}
	for _, k := range del {
		b := bucketOf(&k)
		bk := &s.buckets[b]
		if i, found := searchKeys(bk.keys, &k); found {
			bk.keys = slices.Delete(bk.keys, i, i+1)
			s.touch(b, -1)
			deleted++
		}
	}
	return added, deleted, nil
}

// Has reports whether k is in the set.
func (s *Set) Has(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ks != nil {
		ok, err := s.ks.Has(k)
		if err != nil {
			s.fail(err)
		}
		return ok
	}
	_, found := searchKeys(s.buckets[bucketOf(&k)].keys, &k)
	return found
}

// Len returns the number of keys in the set.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Keys returns a sorted copy of the keys in the set.
func (s *Set) Keys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keysUnder(prefix{})
}

// Fingerprint returns the number of keys in the set and their fingerprint
// (spec/resync-v1.md §3), the value a reconciliation compares first.
func (s *Set) Fingerprint() (int, Fingerprint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.summary(prefix{})
}

// bucketRange returns the buckets covered by a prefix of at most
// bucketNibbles nibbles.
func bucketRange(p prefix) (lo, hi int) {
	v := 0
	for i := 0; i < p.n; i++ {
		v = v<<4 | nibble(&p.key, i)
	}
	shift := 4 * (bucketNibbles - p.n)
	return v << shift, (v + 1) << shift
}

// subrange returns the keys of a bucket-sorted slice that lie under p.
func subrange(keys []Key, p prefix) []Key {
	lo, _ := searchKeys(keys, &p.key)
	last := p.last()
	hi, found := searchKeys(keys, &last)
	if found {
		hi++
	}
	return keys[lo:hi]
}

// scan appends the KeyStore's keys under p to dst. It reports false, and
// records the failure, if the store fails.
func (s *Set) scan(dst []Key, p prefix) ([]Key, bool) {
	err := s.ks.Scan(p.key, p.last(), func(k Key) error {
		dst = append(dst, k)
		return nil
	})
	if err != nil {
		s.fail(err)
		return dst, false
	}
	return dst, true
}

// view returns the keys under p, a prefix of at least bucketNibbles
// nibbles, in order. The slice aliases the set's storage or scratch
// buffer: use it under s.mu, before the next call. It reports false if the
// KeyStore failed.
func (s *Set) view(p prefix) ([]Key, bool) {
	if s.ks == nil {
		return subrange(s.buckets[bucketOf(&p.key)].keys, p), true
	}
	keys, ok := s.scan(s.scratch[:0], p)
	s.scratch = keys
	return keys, ok
}

// keysUnder returns a sorted copy of the keys under p. s.mu must be held.
func (s *Set) keysUnder(p prefix) []Key {
	count := s.buckets[bucketOf(&p.key)].n
	if p.n < bucketNibbles {
		lo, _ := bucketRange(p)
		count = s.level(p.n)[lo>>(4*(bucketNibbles-p.n))].count
	}
	if s.ks != nil {
		keys, _ := s.scan(make([]Key, 0, count), p)
		return keys
	}
	if p.n >= bucketNibbles {
		return slices.Clone(subrange(s.buckets[bucketOf(&p.key)].keys, p))
	}
	lo, hi := bucketRange(p)
	out := make([]Key, 0, count)
	for b := lo; b < hi; b++ {
		out = append(out, s.buckets[b].keys...)
	}
	return out
}

// summary returns the count and fingerprint of the keys under p. s.mu must
// be held.
func (s *Set) summary(p prefix) (int, Fingerprint) {
	if p.n > bucketNibbles+1 {
		keys, _ := s.view(p)
		return len(keys), fingerprintSorted(keys, p.n)
	}
	if p.n >= bucketNibbles {
		b := bucketOf(&p.key)
		bk := &s.buckets[b]
		if !bk.valid {
			s.refresh(b)
		}
		if p.n == bucketNibbles {
			return bk.n, bk.fp
		}
		if bk.sub == nil {
			return 0, Fingerprint{}
		}
		sub := bk.sub[nibble(&p.key, bucketNibbles)]
		return int(sub.count), sub.fp
	}
	lo, _ := bucketRange(p)
	nd := &s.level(p.n)[lo>>(4*(bucketNibbles-p.n))]
	if !nd.valid {
		switch {
		case nd.count == 0:
			nd.fp = Fingerprint{}
		case nd.count <= LeafMax:
			nd.fp = leafHash(s.keysUnder(p))
		default:
			var fps [16]Fingerprint
			for c := range fps {
				_, fps[c] = s.summary(p.child(c))
			}
			nd.fp = nodeHash(&fps)
		}
		nd.valid = s.err == nil
	}
	return nd.count, nd.fp
}

// fingerprintSorted computes the fingerprint of sorted keys that share
// their first depth nibbles.
func fingerprintSorted(keys []Key, depth int) Fingerprint {
	switch {
	case len(keys) == 0:
		return Fingerprint{}
	case len(keys) <= LeafMax:
		return leafHash(keys)
	}
	var fps [16]Fingerprint
	i := 0
	for c := range fps {
		j := i
		for j < len(keys) && nibble(&keys[j], depth) == c {
			j++
		}
		fps[c] = fingerprintSorted(keys[i:j], depth+1)
		i = j
	}
	return nodeHash(&fps)
}

// leafHash is the fingerprint of 1 to LeafMax sorted keys.
func leafHash(keys []Key) Fingerprint {
	var buf [32 + LeafMax*KeySize]byte
	b := append(buf[:0], leafTag...)
	for i := range keys {
		b = append(b, keys[i][:]...)
	}
	sum := sha256.Sum256(b)
	return Fingerprint(sum[:FingerprintSize])
}

// nodeHash is the fingerprint of a range of more than LeafMax keys, from
// the fingerprints of its sixteen sub-ranges.
func nodeHash(fps *[16]Fingerprint) Fingerprint {
	var buf [32 + 16*FingerprintSize]byte
	b := append(buf[:0], nodeTag...)
	for i := range fps {
		b = append(b, fps[i][:]...)
	}
	sum := sha256.Sum256(b)
	return Fingerprint(sum[:FingerprintSize])
}
