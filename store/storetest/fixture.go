package storetest

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/wire"
)

// baseTime is the creation time (Unix seconds) test objects count from. It
// lies in the past so that the objects verify at time.Now.
const baseTime = 1_700_000_000

// fixture builds deterministic signed objects. Its randomness is seeded from
// the test's name, so a failure reproduces exactly.
type fixture struct {
	t   testing.TB
	rng *rand.Rand
}

func newFixture(t testing.TB) *fixture {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	seed := h.Sum64()
	return &fixture{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// key returns a new signing key.
func (f *fixture) key() *wire.PrivateKey {
	var seed [32]byte
	for i := 0; i < len(seed); i += 8 {
		u := f.rng.Uint64()
		for j := range 8 {
			seed[i+j] = byte(u >> (8 * j))
		}
	}
	return wire.NewPrivateKey(seed)
}

// keys returns n new signing keys.
func (f *fixture) keys(n int) []*wire.PrivateKey {
	ks := make([]*wire.PrivateKey, n)
	for i := range ks {
		ks[i] = f.key()
	}
	return ks
}

func (f *fixture) nonce() []byte {
	n := make([]byte, wire.NonceSize)
	for i := range n {
		n[i] = byte(f.rng.Uint32())
	}
	return n
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// attest returns an attestation signed by k.
func (f *fixture) attest(k *wire.PrivateKey, subj wire.Subject, kind wire.Kind, context string, created uint64) *wire.Attestation {
	f.t.Helper()
	a := &wire.Attestation{
		Subject:  subj,
		Kind:     kind,
		Context:  context,
		Strength: 1 + f.rng.Uint64N(wire.MaxStrength),
		Created:  created,
		Audience: wire.PublicAudience,
		Nonce:    f.nonce(),
	}
	f.must(a.Sign(k))
	return a
}

// simple returns an attestation by k about a fresh key.
func (f *fixture) simple(k *wire.PrivateKey, created uint64) *wire.Attestation {
	f.t.Helper()
	return f.attest(k, wire.KeySubject(f.key().Public()), wire.Vouch, "general", created)
}

func (f *fixture) retract(k *wire.PrivateKey, target cid.Cid, created uint64) *wire.Retraction {
	f.t.Helper()
	r := &wire.Retraction{Target: wire.LinkTo(target), Created: created}
	f.must(r.Sign(k))
	return r
}

func (f *fixture) consent(k *wire.PrivateKey, target cid.Cid, created uint64) *wire.Consent {
	f.t.Helper()
	c := &wire.Consent{Target: wire.LinkTo(target), Created: created}
	f.must(c.Sign(k))
	return c
}

func (f *fixture) withdraw(k *wire.PrivateKey, target cid.Cid, created uint64) *wire.ConsentWithdrawal {
	f.t.Helper()
	w := &wire.ConsentWithdrawal{Target: wire.LinkTo(target), Created: created}
	f.must(w.Sign(k))
	return w
}

func (f *fixture) link(k *wire.PrivateKey, acct string, created uint64) *wire.IdentityLink {
	f.t.Helper()
	l := &wire.IdentityLink{Acct: acct, Created: created}
	f.must(l.Sign(k))
	return l
}

// mixed returns n objects of every storable type.
func (f *fixture) mixed(n int) []wire.Object {
	f.t.Helper()
	ks := f.keys(4)
	objs := make([]wire.Object, 0, n)
	var last cid.Cid
	for i := range n {
		k, other := ks[i%len(ks)], ks[(i+1)%len(ks)]
		created := uint64(baseTime + f.rng.IntN(100))
		var o wire.Object
		switch {
		case i%5 == 0 || !last.Defined():
			a := f.attest(k, wire.KeySubject(other.Public()), wire.Warn, "trade", created)
			last = a.CID()
			o = a
		case i%5 == 1:
			o = f.retract(k, last, created)
		case i%5 == 2:
			o = f.consent(other, last, created)
		case i%5 == 3:
			o = f.withdraw(other, last, created)
		default:
			o = f.link(k, fmt.Sprintf("acct:user%d@example.org", i), created)
		}
		objs = append(objs, o)
	}
	return objs
}

// ids returns the CIDs of objs as strings, in order.
func ids[T wire.Object](objs []T) []string {
	s := make([]string, len(objs))
	for i, o := range objs {
		s[i] = o.CID().String()
	}
	return s
}

// sortedByTime returns objs ordered by creation time then CID bytes: the
// reference for every ordered result. It does not use the code under test.
func sortedByTime[T wire.Object](objs []T, created func(T) uint64) []T {
	out := slices.Clone(objs)
	slices.SortFunc(out, func(a, b T) int {
		return cmp.Or(cmp.Compare(created(a), created(b)), bytes.Compare(a.CID().Bytes(), b.CID().Bytes()))
	})
	return out
}

func timeAt(unix uint64) time.Time { return time.Unix(int64(unix), 0) }

func attCreated(a *wire.Attestation) uint64   { return a.Created }
func linkCreated(l *wire.IdentityLink) uint64 { return l.Created }
