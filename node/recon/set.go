package recon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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

// The set stores its keys in 4096 buckets by their first three nibbles,
// each a sorted slice; a fixed 16-ary tree over the buckets (levels 0 to 2)
// caches the counts and fingerprints of the shorter prefixes. Counts are
// kept exact on every change; fingerprints are invalidated along the path
// and recomputed on demand, so a burst of Adds costs no hashing and a
// fingerprint query costs O(1) once cached.
const (
	bucketNibbles = 3
	numBuckets    = 1 << (4 * bucketNibbles)
)

type bucket struct {
	keys  []Key // sorted ascending
	fp    Fingerprint
	sub   *[16]summary // counts and fingerprints of the 4-nibble prefixes
	valid bool         // fp and sub are current
}

// refresh recomputes the cached fingerprints of bucket bk.
func (bk *bucket) refresh() {
	bk.valid = true
	if len(bk.keys) == 0 {
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
		for j < len(bk.keys) && nibble(&bk.keys[j], bucketNibbles) == c {
			j++
		}
		fps[c] = fingerprintSorted(bk.keys[i:j], bucketNibbles+1)
		bk.sub[c] = summary{count: uint32(j - i), fp: fps[c]}
		i = j
	}
	if len(bk.keys) <= LeafMax {
		bk.fp = leafHash(bk.keys)
	} else {
		bk.fp = nodeHash(&fps)
	}
}

type node struct {
	count int
	fp    Fingerprint
	valid bool
}

// Set is a set of keys that answers range fingerprints quickly. The zero
// value is an empty set ready to use. A Set is safe for concurrent use; it
// must not be copied after first use. It holds at most 2³²−1 keys (counts
// are u32 on the wire); about 40 bytes per key at a million keys.
type Set struct {
	mu      sync.Mutex
	n       int
	buckets [numBuckets]bucket
	l0      [1]node
	l1      [16]node
	l2      [256]node
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
	b := bucketOf(&k)
	bk := &s.buckets[b]
	i, found := searchKeys(bk.keys, &k)
	if found {
		return false
	}
	bk.keys = slices.Insert(bk.keys, i, k)
	s.touch(b, 1)
	return true
}

// Remove deletes k and reports whether it was present.
func (s *Set) Remove(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := bucketOf(&k)
	bk := &s.buckets[b]
	i, found := searchKeys(bk.keys, &k)
	if !found {
		return false
	}
	bk.keys = slices.Delete(bk.keys, i, i+1)
	s.touch(b, -1)
	return true
}

// Has reports whether k is in the set.
func (s *Set) Has(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
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

// keysUnder returns a sorted copy of the keys under p. s.mu must be held.
func (s *Set) keysUnder(p prefix) []Key {
	if p.n >= bucketNibbles {
		return slices.Clone(subrange(s.buckets[bucketOf(&p.key)].keys, p))
	}
	lo, hi := bucketRange(p)
	out := make([]Key, 0, s.level(p.n)[lo>>(4*(bucketNibbles-p.n))].count)
	for b := lo; b < hi; b++ {
		out = append(out, s.buckets[b].keys...)
	}
	return out
}

// summary returns the count and fingerprint of the keys under p. s.mu must
// be held.
func (s *Set) summary(p prefix) (int, Fingerprint) {
	if p.n > bucketNibbles+1 {
		keys := subrange(s.buckets[bucketOf(&p.key)].keys, p)
		return len(keys), fingerprintSorted(keys, p.n)
	}
	if p.n >= bucketNibbles {
		bk := &s.buckets[bucketOf(&p.key)]
		if !bk.valid {
			bk.refresh()
		}
		if p.n == bucketNibbles {
			return len(bk.keys), bk.fp
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
		nd.valid = true
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
