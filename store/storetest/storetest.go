// Package storetest is the conformance suite for [store.Store]
// implementations. An implementation's tests call Run:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mem.New() })
//	}
//
// The suite checks every method and every rule of the store contract:
// idempotent Put, refusal of bundles and unsigned objects, queries by every
// field and their combinations against a brute-force reference, ordering,
// retractions arriving before or after their attestation, forged
// retractions, consents and withdrawals, identity links, All ordering and
// early stop, Count, context cancellation, use after Close, and concurrent
// use (run it under -race). Randomness is seeded from each test's name.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Run runs the conformance suite. open must return a new, empty store each
// time it is called; Run closes it when the subtest ends (so Close must be
// idempotent, as the contract requires). open may register cleanups on t.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGetHas", testPutGetHas},
		{"PutIdempotent", testPutIdempotent},
		{"PutInvalid", testPutInvalid},
		{"PutLarge", testPutLarge},
		{"Queries", testQueries},
		{"QueryOrder", testQueryOrder},
		{"QueryInvalid", testQueryInvalid},
		{"Retraction", testRetraction},
		{"Consent", testConsent},
		{"StatusNotFound", testStatusNotFound},
		{"StatusOf", testStatusOf},
		{"Withdrawn", testWithdrawn},
		{"Lapsed", testLapsed},
		{"Links", testLinks},
		{"All", testAll},
		{"AllStops", testAllStops},
		{"AllCallback", testAllCallback},
		{"Count", testCount},
		{"Cancelled", testCancelled},
		{"CancelledDuringAll", testCancelledDuringAll},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// put stores objs and checks how many were new.
func put(t *testing.T, s store.Store, wantAdded int, objs ...wire.Object) {
	t.Helper()
	added, err := s.Put(context.Background(), objs...)
	if err != nil {
		t.Fatalf("Put(%d objects): %v", len(objs), err)
	}
	if added != wantAdded {
		t.Fatalf("Put(%d objects) added %d, want %d", len(objs), added, wantAdded)
	}
}

func count(t *testing.T, s store.Store) int {
	t.Helper()
	n, err := s.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func query(t *testing.T, s store.Store, q store.Query) []*wire.Attestation {
	t.Helper()
	got, err := s.Attestations(context.Background(), q)
	if err != nil {
		t.Fatalf("Attestations(%s): %v", describe(q), err)
	}
	return got
}

func status(t *testing.T, s store.Store, id cid.Cid) store.Status {
	t.Helper()
	st, err := s.Status(context.Background(), id)
	if err != nil {
		t.Fatalf("Status(%s): %v", id, err)
	}
	return st
}

// sameObject checks that got is want as stored: same type, CID and bytes.
func sameObject(t *testing.T, got, want wire.Object) {
	t.Helper()
	if got == nil {
		t.Fatalf("got nil, want %s %s", want.Type(), want.CID())
	}
	if got.Type() != want.Type() || !got.CID().Equals(want.CID()) || !bytes.Equal(got.Raw(), want.Raw()) {
		t.Fatalf("got %s %s, want %s %s", got.Type(), got.CID(), want.Type(), want.CID())
	}
}

func equalIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %d %v\n want %d %v", what, len(got), got, len(want), want)
	}
}

// short abbreviates a key (peer IDs share their first characters).
func short(k wire.PublicKey) string {
	s := k.String()
	return "…" + s[len(s)-6:]
}

// describe names a query in subtest names and messages.
func describe(q store.Query) string {
	s := ""
	if q.Issuer != nil {
		s += " issuer=" + short(*q.Issuer)
	}
	if q.SubjectKey != nil {
		s += " subject=" + short(*q.SubjectKey)
	}
	if q.Acct != "" {
		s += " acct=" + q.Acct
	}
	if q.Context != "" {
		s += " context=" + q.Context
	}
	if q.Kind != "" {
		s += " kind=" + string(q.Kind)
	}
	if q.Retracted {
		s += " retracted"
	}
	if q.Withdrawn {
		s += " withdrawn"
	}
	if q.Since != 0 {
		s += fmt.Sprintf(" since=%d", q.Since)
	}
	if q.After.Defined() {
		s += " after=" + q.After.String()[len(q.After.String())-6:]
	}
	if q.Limit != 0 {
		s += fmt.Sprintf(" limit=%d", q.Limit)
	}
	if s == "" {
		return "{}"
	}
	return "{" + s[1:] + "}"
}

func testPutGetHas(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t)
	objs := f.mixed(10) // every storable type
	unknown := f.simple(f.key(), baseTime)
	put(t, s, len(objs), objs...)
	for _, o := range objs {
		got, err := s.Get(ctx, o.CID())
		if err != nil {
			t.Fatalf("Get(%s %s): %v", o.Type(), o.CID(), err)
		}
		sameObject(t, got, o)
		if ok, err := s.Has(ctx, o.CID()); err != nil || !ok {
			t.Fatalf("Has(%s) = %v, %v; want true", o.CID(), ok, err)
		}
	}
	if _, err := s.Get(ctx, unknown.CID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(unknown) error = %v, want ErrNotFound", err)
	}
	if ok, err := s.Has(ctx, unknown.CID()); err != nil || ok {
		t.Fatalf("Has(unknown) = %v, %v; want false", ok, err)
	}
	if n := count(t, s); n != len(objs) {
		t.Fatalf("Count = %d, want %d", n, len(objs))
	}
}

func testPutIdempotent(t *testing.T, s store.Store) {
	f := newFixture(t)
	objs := f.mixed(8)
	more := f.mixed(4)
	put(t, s, 0)                                     // nothing
	put(t, s, 3, objs[0], objs[1], objs[0], objs[2]) // a duplicate in one call counts once
	put(t, s, 5, objs...)                            // three already present
	put(t, s, 0, objs...)                            // all present
	put(t, s, len(more), append(slices.Clone(more), objs[3])...)
	if n, want := count(t, s), len(objs)+len(more); n != want {
		t.Fatalf("Count = %d, want %d", n, want)
	}
}

func testPutInvalid(t *testing.T, s store.Store) {
	f := newFixture(t)
	k := f.key()
	good := f.simple(k, baseTime)
	bundle := wire.NewBundle(timeAt(baseTime), good)
	f.must(bundle.Sign(k))
	unsigned := &wire.Attestation{Subject: wire.KeySubject(f.key().Public()), Kind: wire.Vouch,
		Context: "general", Strength: 1, Created: baseTime, Audience: wire.PublicAudience, Nonce: f.nonce()}
	// A retraction whose target is not a kith CID: wire signs it, but its
	// encoding does not decode, so a store that took it could never read
	// it back.
	undecodable := &wire.Retraction{Target: wire.LinkTo(rawCID(t)), Created: baseTime}
	if err := undecodable.Sign(k); err != nil {
		undecodable = nil // wire now refuses to sign it: nothing to test
	}
	tests := []struct {
		name string
		objs []wire.Object
	}{
		{"bundle", []wire.Object{bundle}},
		{"bundle after a good object", []wire.Object{good, bundle}},
		{"nil interface", []wire.Object{good, nil}},
		{"nil pointer", []wire.Object{(*wire.Attestation)(nil), good}},
		{"unsigned", []wire.Object{good, unsigned}},
	}
	if undecodable != nil {
		tests = append(tests, struct {
			name string
			objs []wire.Object
		}{"does not decode", []wire.Object{good, undecodable}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, err := s.Put(context.Background(), tt.objs...)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Put error = %v, want ErrInvalid", err)
			}
			if added != 0 {
				t.Fatalf("Put added %d, want 0", added)
			}
			if n := count(t, s); n != 0 {
				t.Fatalf("Count = %d after a refused Put, want 0 (nothing stored)", n)
			}
		})
	}
}

// rawCID returns a CIDv1 with the raw codec: a valid CID, but not the form
// of a kith object ID.
func rawCID(t *testing.T) cid.Cid {
	t.Helper()
	const sha256 = 0x12 // multihash code of sha2-256
	c, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: sha256, MhLength: -1}.Sum([]byte("not a kith object"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testPutLarge puts more objects than a small transaction holds, so that
// implementations that split a Put are exercised.
func testPutLarge(t *testing.T, s store.Store) {
	const n = 1500 // about 2 MB with the indexes
	f := newFixture(t)
	ks := f.keys(8)
	objs := make([]wire.Object, n)
	var atts []*wire.Attestation
	for i := range objs {
		a := &wire.Attestation{
			Subject:  wire.Subject{Key: ptr(ks[(i+1)%len(ks)].Public()), Acct: fmt.Sprintf("acct:u%d@example.org", i%50)},
			Kind:     wire.Warn,
			Context:  "expertise:go",
			Strength: 50,
			Reason:   strings.Repeat("long reason ", 40),
			Evidence: fmt.Sprintf("https://example.org/evidence/%d", i),
			Created:  uint64(baseTime + f.rng.IntN(1000)),
			Audience: wire.PublicAudience,
			Nonce:    f.nonce(),
		}
		f.must(a.Sign(ks[i%len(ks)]))
		objs[i], atts = a, append(atts, a)
	}
	put(t, s, 300, objs[:300]...)
	put(t, s, n-300, objs...)
	if got := count(t, s); got != n {
		t.Fatalf("Count = %d, want %d", got, n)
	}
	equalIDs(t, "all attestations", ids(query(t, s, store.Query{})), ids(sortedByTime(atts, attCreated)))
}

func ptr[T any](v T) *T { return &v }

// corpus is a random set of attestations and retractions with a reference
// answer for every query.
type corpus struct {
	issuers, subjects []wire.PublicKey
	accts, contexts   []string
	atts              []*wire.Attestation
	retracted         map[string]bool // by CID string: has a valid retraction
	withdrawn         map[string]bool // by CID string: a public vouch whose subject withdrew consent
	objs              []wire.Object
}

func newCorpus(f *fixture) *corpus {
	c := &corpus{
		accts:     []string{"acct:alice@example.org", "acct:bob@example.net", "acct:carol@social.example:8443"},
		contexts:  []string{"general", "expertise:go", "trade"},
		retracted: make(map[string]bool),
		withdrawn: make(map[string]bool),
	}
	issuers := f.keys(4)
	subjects := f.keys(4)
	priv := map[wire.PublicKey]*wire.PrivateKey{issuers[0].Public(): issuers[0]}
	for _, k := range subjects {
		priv[k.Public()] = k
	}
	for _, k := range issuers {
		c.issuers = append(c.issuers, k.Public())
	}
	for _, k := range subjects {
		c.subjects = append(c.subjects, k.Public())
	}
	// One issuer is also a subject of the others.
	c.subjects = append(c.subjects, c.issuers[0])
	for i := range 160 {
		ik := f.rng.IntN(len(issuers))
		var subj wire.Subject
		switch f.rng.IntN(3) {
		case 0:
			subj.Key = ptr(c.subjects[f.rng.IntN(len(c.subjects))])
		case 1:
			subj.Acct = c.accts[f.rng.IntN(len(c.accts))]
		default:
			subj.Key = ptr(c.subjects[f.rng.IntN(len(c.subjects))])
			subj.Acct = c.accts[f.rng.IntN(len(c.accts))]
		}
		if subj.Key != nil && *subj.Key == c.issuers[ik] {
			subj.Key = ptr(c.subjects[0])
		}
		kind := []wire.Kind{wire.Vouch, wire.Warn}[f.rng.IntN(2)]
		a := f.attest(issuers[ik], subj, kind, c.contexts[f.rng.IntN(len(c.contexts))], uint64(baseTime+f.rng.IntN(40)))
		c.atts = append(c.atts, a)
		c.objs = append(c.objs, a)
		switch {
		case i%7 == 0: // valid retraction
			c.objs = append(c.objs, f.retract(issuers[ik], a.CID(), a.Created+1))
			c.retracted[a.CID().String()] = true
		case i%11 == 0: // forged retraction by another issuer: ignored
			c.objs = append(c.objs, f.retract(issuers[(ik+1)%len(issuers)], a.CID(), a.Created+1))
		}
		if subj.Key == nil {
			continue
		}
		sk := priv[*subj.Key]
		switch {
		case i%5 == 2: // consented, then withdrawn: withdrawn if a vouch
			c.objs = append(c.objs, f.consent(sk, a.CID(), a.Created+1), f.withdraw(sk, a.CID(), a.Created+2))
			c.withdrawn[a.CID().String()] = kind == wire.Vouch
		case i%5 == 3: // withdrawn, then consented again: live
			c.objs = append(c.objs, f.consent(sk, a.CID(), a.Created+1), f.withdraw(sk, a.CID(), a.Created+2), f.consent(sk, a.CID(), a.Created+3))
		case i%5 == 4: // a withdrawal by someone else: ignored
			c.objs = append(c.objs, f.consent(sk, a.CID(), a.Created+1), f.withdraw(issuers[ik], a.CID(), a.Created+2))
		}
	}
	// Shuffle so that retractions often arrive before their attestation.
	f.rng.Shuffle(len(c.objs), func(i, j int) { c.objs[i], c.objs[j] = c.objs[j], c.objs[i] })
	return c
}

// want is the reference answer to q, written independently of the code
// under test.
func (c *corpus) want(q store.Query) []*wire.Attestation {
	var out []*wire.Attestation
	for _, a := range c.atts {
		switch {
		case q.Issuer != nil && a.Issuer != *q.Issuer:
		case q.SubjectKey != nil && (a.Subject.Key == nil || *a.Subject.Key != *q.SubjectKey):
		case q.Acct != "" && a.Subject.Acct != q.Acct:
		case q.Context != "" && a.Context != q.Context:
		case q.Kind != "" && a.Kind != q.Kind:
		case !q.Retracted && c.retracted[a.CID().String()]:
		case !q.Withdrawn && c.withdrawn[a.CID().String()]:
		case a.Created < q.Since:
		case q.After.Defined() && a.Created == q.Since && bytes.Compare(a.CID().Bytes(), q.After.Bytes()) <= 0:
		default:
			out = append(out, a)
		}
	}
	out = sortedByTime(out, attCreated)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// queries returns queries by every field, by combinations, and with limits.
func (c *corpus) queries() []store.Query {
	qs := []store.Query{{}, {Retracted: true}, {Limit: 1}, {Limit: 7, Retracted: true}, {Kind: wire.Warn}, {Kind: wire.Vouch, Retracted: true},
		{Withdrawn: true}, {Withdrawn: true, Retracted: true}, {Kind: wire.Vouch, Withdrawn: true}}
	// Since and After: a time in the middle of the corpus, and a cursor
	// at an attestation created then.
	mid := c.atts[len(c.atts)/2]
	qs = append(qs,
		store.Query{Since: mid.Created},
		store.Query{Since: mid.Created, After: mid.CID()},
		store.Query{Since: mid.Created, After: mid.CID(), Retracted: true, Withdrawn: true, Limit: 5},
		store.Query{Since: mid.Created + 1000},
		store.Query{Issuer: &mid.Issuer, Since: mid.Created, After: mid.CID()},
		store.Query{Context: mid.Context, Since: mid.Created, After: mid.CID()},
	)
	nobody := wire.PublicKey{0xff}
	qs = append(qs, store.Query{Issuer: &nobody}, store.Query{SubjectKey: &nobody}, store.Query{Acct: "acct:nobody@example.org"})
	for i := range c.issuers {
		k := &c.issuers[i]
		qs = append(qs,
			store.Query{Issuer: k},
			store.Query{Issuer: k, Retracted: true},
			store.Query{Issuer: k, Kind: wire.Warn},
			store.Query{Issuer: k, Context: c.contexts[i%len(c.contexts)]},
			store.Query{Issuer: k, Acct: c.accts[i%len(c.accts)], Limit: 3},
			store.Query{Issuer: k, SubjectKey: &c.subjects[i%len(c.subjects)]},
		)
	}
	for i := range c.subjects {
		k := &c.subjects[i]
		qs = append(qs,
			store.Query{SubjectKey: k},
			store.Query{SubjectKey: k, Retracted: true, Limit: 4},
			store.Query{SubjectKey: k, Kind: wire.Vouch},
			store.Query{SubjectKey: k, Acct: c.accts[i%len(c.accts)]},
		)
	}
	for i, acct := range c.accts {
		qs = append(qs,
			store.Query{Acct: acct},
			store.Query{Acct: acct, Retracted: true},
			store.Query{Acct: acct, Context: c.contexts[i%len(c.contexts)], Kind: wire.Warn},
		)
	}
	for i, ctx := range c.contexts {
		qs = append(qs,
			store.Query{Context: ctx},
			store.Query{Context: ctx, Kind: wire.Vouch},
			store.Query{Context: ctx, Kind: wire.Warn, Retracted: true},
			store.Query{Context: ctx, Limit: 2},
			store.Query{Context: ctx, SubjectKey: &c.subjects[i], Issuer: &c.issuers[i]},
		)
	}
	return qs
}

func testQueries(t *testing.T, s store.Store) {
	f := newFixture(t)
	c := newCorpus(f)
	queries := c.queries()
	nonEmpty := 0
	for _, q := range queries {
		if len(c.want(q)) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(queries)*2/3 {
		t.Fatalf("only %d of %d queries have results: the corpus does not exercise the store", nonEmpty, len(queries))
	}
	put(t, s, len(c.objs), c.objs...)
	byID := make(map[string]*wire.Attestation)
	for _, a := range c.atts {
		byID[a.CID().String()] = a
	}
	for _, q := range queries {
		t.Run(describe(q), func(t *testing.T) {
			got := query(t, s, q)
			equalIDs(t, "attestations", ids(got), ids(c.want(q)))
			for _, a := range got {
				sameObject(t, a, byID[a.CID().String()])
			}
		})
	}
	// Paging with Since and After through a long result yields it whole.
	for _, q := range []store.Query{{Retracted: true, Withdrawn: true}, {Context: c.contexts[0]}, {Issuer: &c.issuers[1]}} {
		t.Run("pages of "+describe(q), func(t *testing.T) {
			var got []*wire.Attestation
			page := q
			page.Limit = 7
			for range len(c.atts) {
				p := query(t, s, page)
				got = append(got, p...)
				if len(p) < page.Limit {
					break
				}
				last := p[len(p)-1]
				page.Since, page.After = last.Created, last.CID()
			}
			equalIDs(t, "attestations", ids(got), ids(c.want(q)))
		})
	}
	withdrawn := 0
	for _, w := range c.withdrawn {
		if w {
			withdrawn++
		}
	}
	if withdrawn == 0 {
		t.Fatal("the corpus has no withdrawn statement")
	}
}

// testQueryOrder checks the tie-break on equal creation times.
func testQueryOrder(t *testing.T, s store.Store) {
	f := newFixture(t)
	k := f.key()
	var atts []*wire.Attestation
	for i := range 30 {
		atts = append(atts, f.simple(k, uint64(baseTime+i%3)))
	}
	objs := make([]wire.Object, len(atts))
	for i, a := range atts {
		objs[len(atts)-1-i] = a
	}
	put(t, s, len(objs), objs...)
	want := sortedByTime(atts, attCreated)
	equalIDs(t, "by issuer", ids(query(t, s, store.Query{Issuer: ptr(k.Public())})), ids(want))
	equalIDs(t, "all", ids(query(t, s, store.Query{})), ids(want))
	equalIDs(t, "limit 5", ids(query(t, s, store.Query{Context: "general", Limit: 5})), ids(want[:5]))
}

func testQueryInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		q    store.Query
	}{
		{"negative limit", store.Query{Limit: -1}},
		{"unknown kind", store.Query{Kind: "praise"}},
		{"bad context", store.Query{Context: "Not A Context"}},
		{"unnormalised acct", store.Query{Acct: "@Alice@Example.org"}},
		{"acct without host", store.Query{Acct: "acct:alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Attestations(context.Background(), tt.q); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Attestations error = %v, want ErrInvalid", err)
			}
		})
	}
}

func testRetraction(t *testing.T, s store.Store) {
	f := newFixture(t)
	type scenario struct {
		puts [][]wire.Object
		want *wire.Retraction // nil: not retracted
	}
	tests := []struct {
		name  string
		build func(issuer, other *wire.PrivateKey, a *wire.Attestation) scenario
	}{
		{"after attestation", func(issuer, _ *wire.PrivateKey, a *wire.Attestation) scenario {
			r := f.retract(issuer, a.CID(), a.Created+5)
			return scenario{[][]wire.Object{{a}, {r}}, r}
		}},
		{"before attestation", func(issuer, _ *wire.PrivateKey, a *wire.Attestation) scenario {
			r := f.retract(issuer, a.CID(), a.Created+5)
			return scenario{[][]wire.Object{{r}, {a}}, r}
		}},
		{"same put", func(issuer, _ *wire.PrivateKey, a *wire.Attestation) scenario {
			r := f.retract(issuer, a.CID(), a.Created+5)
			return scenario{[][]wire.Object{{r, a}}, r}
		}},
		{"forged by another key", func(_, other *wire.PrivateKey, a *wire.Attestation) scenario {
			return scenario{[][]wire.Object{{a}, {f.retract(other, a.CID(), a.Created+5)}}, nil}
		}},
		{"forged before attestation", func(_, other *wire.PrivateKey, a *wire.Attestation) scenario {
			return scenario{[][]wire.Object{{f.retract(other, a.CID(), a.Created+5)}, {a}}, nil}
		}},
		{"forged and valid", func(issuer, other *wire.PrivateKey, a *wire.Attestation) scenario {
			forged := f.retract(other, a.CID(), a.Created+1)
			r := f.retract(issuer, a.CID(), a.Created+9)
			return scenario{[][]wire.Object{{forged}, {a}, {r}}, r}
		}},
		{"two valid: earliest wins", func(issuer, _ *wire.PrivateKey, a *wire.Attestation) scenario {
			late := f.retract(issuer, a.CID(), a.Created+20)
			early := f.retract(issuer, a.CID(), a.Created+10)
			return scenario{[][]wire.Object{{late, a, early}}, early}
		}},
		{"other attestation", func(issuer, _ *wire.PrivateKey, a *wire.Attestation) scenario {
			b := f.simple(issuer, a.Created)
			return scenario{[][]wire.Object{{a, b, f.retract(issuer, b.CID(), a.Created+1)}}, nil}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			issuer, other := f.key(), f.key()
			a := f.simple(issuer, uint64(baseTime+i))
			sc := tt.build(issuer, other, a)
			for _, objs := range sc.puts {
				if _, err := s.Put(ctx, objs...); err != nil {
					t.Fatal(err)
				}
			}
			st := status(t, s, a.CID())
			switch {
			case sc.want == nil && st.Retracted != nil:
				t.Fatalf("Status.Retracted = %s, want nil", st.Retracted.CID())
			case sc.want != nil && st.Retracted == nil:
				t.Fatalf("Status.Retracted = nil, want %s", sc.want.CID())
			case sc.want != nil:
				sameObject(t, st.Retracted, sc.want)
			}
			var wantDefault []string
			if sc.want == nil {
				wantDefault = []string{a.CID().String()}
			}
			q := store.Query{Issuer: ptr(issuer.Public()), Context: "general"}
			got := query(t, s, q)
			if i := slices.IndexFunc(got, func(x *wire.Attestation) bool { return x.CID().Equals(a.CID()) }); i >= 0 {
				got = got[i : i+1]
			} else {
				got = nil
			}
			equalIDs(t, "default query", ids(got), wantDefault)
			q.Retracted = true
			if !slices.ContainsFunc(query(t, s, q), func(x *wire.Attestation) bool { return x.CID().Equals(a.CID()) }) {
				t.Fatalf("query with Retracted: true does not return the attestation")
			}
		})
	}
}

func testConsent(t *testing.T, s store.Store) {
	f := newFixture(t)
	type scenario struct {
		puts          [][]wire.Object
		wantConsents  []*wire.Consent
		wantWithdrawn []*wire.ConsentWithdrawal
		wantCancelled []*wire.Consent
	}
	type env struct {
		subject, other *wire.PrivateKey
		a              *wire.Attestation // about subject's key
		t0             uint64
	}
	tests := []struct {
		name     string
		acctOnly bool
		build    func(e env) scenario
	}{
		{name: "consent", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+1)
			return scenario{puts: [][]wire.Object{{e.a}, {c}}, wantConsents: []*wire.Consent{c}}
		}},
		{name: "consent before attestation", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+1)
			return scenario{puts: [][]wire.Object{{c}, {e.a}}, wantConsents: []*wire.Consent{c}}
		}},
		{name: "consents ordered by time", build: func(e env) scenario {
			c1 := f.consent(e.subject, e.a.CID(), e.t0+30)
			c2 := f.consent(e.subject, e.a.CID(), e.t0+10)
			return scenario{puts: [][]wire.Object{{c1, e.a, c2}}, wantConsents: []*wire.Consent{c2, c1}}
		}},
		{name: "consent by another key", build: func(e env) scenario {
			return scenario{puts: [][]wire.Object{{e.a, f.consent(e.other, e.a.CID(), e.t0+1)}}}
		}},
		{name: "consent for another attestation", build: func(e env) scenario {
			b := f.attest(e.other, wire.KeySubject(e.subject.Public()), wire.Vouch, "general", e.t0)
			return scenario{puts: [][]wire.Object{{e.a, b, f.consent(e.subject, b.CID(), e.t0+1)}}}
		}},
		{name: "withdrawn", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+10)
			w := f.withdraw(e.subject, e.a.CID(), e.t0+20)
			return scenario{puts: [][]wire.Object{{e.a}, {c}, {w}}, wantWithdrawn: []*wire.ConsentWithdrawal{w}, wantCancelled: []*wire.Consent{c}}
		}},
		{name: "withdrawn at the same time", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+10)
			w := f.withdraw(e.subject, e.a.CID(), e.t0+10)
			return scenario{puts: [][]wire.Object{{e.a, c, w}}, wantWithdrawn: []*wire.ConsentWithdrawal{w}, wantCancelled: []*wire.Consent{c}}
		}},
		{name: "withdrawal arrives first", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+10)
			w := f.withdraw(e.subject, e.a.CID(), e.t0+20)
			return scenario{puts: [][]wire.Object{{w}, {c}, {e.a}}, wantWithdrawn: []*wire.ConsentWithdrawal{w}, wantCancelled: []*wire.Consent{c}}
		}},
		{name: "consent again after withdrawal", build: func(e env) scenario {
			c1 := f.consent(e.subject, e.a.CID(), e.t0+10)
			w := f.withdraw(e.subject, e.a.CID(), e.t0+20)
			c2 := f.consent(e.subject, e.a.CID(), e.t0+30)
			return scenario{puts: [][]wire.Object{{e.a, c2}, {w, c1}}, wantConsents: []*wire.Consent{c2}, wantWithdrawn: []*wire.ConsentWithdrawal{w}, wantCancelled: []*wire.Consent{c1}}
		}},
		{name: "withdrawal by another key", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+10)
			return scenario{puts: [][]wire.Object{{e.a, c, f.withdraw(e.other, e.a.CID(), e.t0+20)}}, wantConsents: []*wire.Consent{c}}
		}},
		{name: "account-only subject", acctOnly: true, build: func(e env) scenario {
			return scenario{puts: [][]wire.Object{{e.a, f.consent(e.subject, e.a.CID(), e.t0+1), f.withdraw(e.subject, e.a.CID(), e.t0+2)}}}
		}},
		{name: "retraction does not touch consent", build: func(e env) scenario {
			c := f.consent(e.subject, e.a.CID(), e.t0+1)
			return scenario{puts: [][]wire.Object{{e.a, c, f.retract(e.other, e.a.CID(), e.t0+2)}}, wantConsents: []*wire.Consent{c}}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := env{subject: f.key(), other: f.key(), t0: uint64(baseTime + 100*i)}
			subj := wire.Subject{Key: ptr(e.subject.Public()), Acct: "acct:subject@example.org"}
			if tt.acctOnly {
				subj.Key = nil
			}
			e.a = f.attest(f.key(), subj, wire.Vouch, "general", e.t0)
			sc := tt.build(e)
			for _, objs := range sc.puts {
				if _, err := s.Put(ctx, objs...); err != nil {
					t.Fatal(err)
				}
			}
			st := status(t, s, e.a.CID())
			if st.Retracted != nil {
				t.Fatalf("Status.Retracted = %s, want nil", st.Retracted.CID())
			}
			equalIDs(t, "consents", ids(st.Consents), ids(sc.wantConsents))
			equalIDs(t, "withdrawn", ids(st.Withdrawn), ids(sc.wantWithdrawn))
			equalIDs(t, "cancelled", ids(st.Cancelled), ids(sc.wantCancelled))
			for i, c := range st.Consents {
				sameObject(t, c, sc.wantConsents[i])
			}
		})
	}
}

func testStatusNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t)
	k := f.key()
	a := f.simple(k, baseTime)
	r := f.retract(k, a.CID(), baseTime+1)
	put(t, s, 1, r)
	for _, id := range []cid.Cid{a.CID(), r.CID()} {
		if _, err := s.Status(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Status(%s) error = %v, want ErrNotFound", id, err)
		}
	}
}

// testStatusOf: the status of an attestation the store does not hold is
// read from the retractions, consents and withdrawals it does hold for it.
func testStatusOf(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t)
	issuer, subject, other := f.key(), f.key(), f.key()
	a := f.attest(issuer, wire.KeySubject(subject.Public()), wire.Vouch, "general", baseTime)
	c := f.consent(subject, a.CID(), baseTime+1)
	w := f.withdraw(subject, a.CID(), baseTime+2)
	forged := f.retract(other, a.CID(), baseTime+3)
	put(t, s, 3, c, w, forged)
	st, err := s.StatusOf(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if st.Retracted != nil || len(st.Consents) != 0 {
		t.Fatalf("StatusOf: retracted %v, %d live consents; want neither (the retraction is forged, the consent withdrawn)", st.Retracted != nil, len(st.Consents))
	}
	equalIDs(t, "withdrawn", ids(st.Withdrawn), ids([]*wire.ConsentWithdrawal{w}))
	equalIDs(t, "cancelled", ids(st.Cancelled), ids([]*wire.Consent{c}))
	if !store.Withdrawn(a, st) {
		t.Error("Withdrawn is false for a vouch whose consent was withdrawn")
	}
	r := f.retract(issuer, a.CID(), baseTime+4)
	put(t, s, 1, r)
	if st, err = s.StatusOf(ctx, a); err != nil || st.Retracted == nil || !st.Retracted.CID().Equals(r.CID()) {
		t.Fatalf("StatusOf after the issuer's retraction: %v, %v", st.Retracted, err)
	}
	if _, err := s.Status(ctx, a.CID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Status of an attestation not held: %v, want ErrNotFound", err)
	}
	b := f.simple(issuer, baseTime)
	if st, err := s.StatusOf(ctx, b); err != nil || st.Retracted != nil || len(st.Consents)+len(st.Withdrawn)+len(st.Cancelled) != 0 {
		t.Fatalf("StatusOf an attestation with nothing stored: %+v, %v", st, err)
	}
}

// testWithdrawn: a query leaves out the public vouches whose subject
// withdrew its consent (unless asked), and only those: a withdrawal of a
// warning or of a peer-audience vouch changes nothing, and a consent after
// the withdrawal brings the vouch back.
func testWithdrawn(t *testing.T, s store.Store) {
	f := newFixture(t)
	issuer, subject := f.key(), f.key()
	about := wire.KeySubject(subject.Public())
	mk := func(kind wire.Kind, aud wire.Audience, created uint64) *wire.Attestation {
		a := &wire.Attestation{Subject: about, Kind: kind, Context: "general", Strength: 50, Created: created, Audience: aud, Nonce: f.nonce()}
		f.must(a.Sign(issuer))
		return a
	}
	vouch := mk(wire.Vouch, wire.PublicAudience, baseTime)
	warn := mk(wire.Warn, wire.PeersAudience(subject.Public()), baseTime+1)
	peers := mk(wire.Vouch, wire.PeersAudience(subject.Public()), baseTime+2)
	again := mk(wire.Vouch, wire.PublicAudience, baseTime+3)
	var objs []wire.Object
	for _, a := range []*wire.Attestation{vouch, warn, peers, again} {
		objs = append(objs, a, f.consent(subject, a.CID(), a.Created+10), f.withdraw(subject, a.CID(), a.Created+20))
	}
	objs = append(objs, f.consent(subject, again.CID(), again.Created+30))
	put(t, s, len(objs), objs...)
	k := subject.Public()
	equalIDs(t, "default", ids(query(t, s, store.Query{SubjectKey: &k})), ids([]*wire.Attestation{warn, peers, again}))
	equalIDs(t, "with withdrawn", ids(query(t, s, store.Query{SubjectKey: &k, Withdrawn: true})), ids([]*wire.Attestation{vouch, warn, peers, again}))
	equalIDs(t, "by context", ids(query(t, s, store.Query{Context: "general"})), ids([]*wire.Attestation{warn, peers, again}))
}

// testLapsed: with Query.Now, a query leaves out the public vouches all of
// whose live consents have expired by then, unless they are by Query.Own;
// a vouch with one consent still live, one never consented to, a warning
// or a peer-audience vouch whose consent expired, and every statement when
// Now is 0, stay in. Query.Withdrawn includes the lapsed ones.
func testLapsed(t *testing.T, s store.Store) {
	f := newFixture(t)
	issuer, other, subject := f.key(), f.key(), f.key()
	about := wire.KeySubject(subject.Public())
	created := uint64(baseTime)
	mk := func(by *wire.PrivateKey, kind wire.Kind, aud wire.Audience) *wire.Attestation {
		created++
		a := &wire.Attestation{Subject: about, Kind: kind, Context: "general", Strength: 50, Created: created, Audience: aud, Nonce: f.nonce()}
		f.must(a.Sign(by))
		return a
	}
	consent := func(a *wire.Attestation, at, expires uint64) *wire.Consent {
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: at, Expires: expires}
		f.must(c.Sign(subject))
		return c
	}
	const now = baseTime + 1000
	lapsed := mk(issuer, wire.Vouch, wire.PublicAudience) // its only consent expired
	both := mk(issuer, wire.Vouch, wire.PublicAudience)   // one expired, one live
	open := mk(issuer, wire.Vouch, wire.PublicAudience)   // a consent without expiry
	later := mk(issuer, wire.Vouch, wire.PublicAudience)  // expires after now
	edge := mk(issuer, wire.Vouch, wire.PublicAudience)   // expires at now: expired
	pending := mk(issuer, wire.Vouch, wire.PublicAudience)
	renewed := mk(issuer, wire.Vouch, wire.PublicAudience) // withdrawn, then an expired consent
	mine := mk(other, wire.Vouch, wire.PublicAudience)     // lapsed, by Own
	warn := mk(issuer, wire.Warn, wire.PeersAudience(subject.Public()))
	peers := mk(issuer, wire.Vouch, wire.PeersAudience(subject.Public()))
	objs := []wire.Object{
		lapsed, consent(lapsed, lapsed.Created, now-1),
		both, consent(both, both.Created, now-1), consent(both, both.Created+1, 0),
		open, consent(open, open.Created, 0),
		later, consent(later, later.Created, now+1),
		edge, consent(edge, edge.Created, now),
		pending,
		renewed, f.withdraw(subject, renewed.CID(), renewed.Created+1), consent(renewed, renewed.Created+2, now-1),
		mine, consent(mine, mine.Created, now-1),
		warn, consent(warn, warn.Created, now-1),
		peers, consent(peers, peers.Created, now-1),
	}
	put(t, s, len(objs), objs...)
	k, own := subject.Public(), other.Public()
	all := []*wire.Attestation{lapsed, both, open, later, edge, pending, renewed, mine, warn, peers}
	equalIDs(t, "without Now", ids(query(t, s, store.Query{SubjectKey: &k})), ids(all))
	equalIDs(t, "at now", ids(query(t, s, store.Query{SubjectKey: &k, Now: now})), ids([]*wire.Attestation{both, open, later, pending, warn, peers}))
	equalIDs(t, "at now, own", ids(query(t, s, store.Query{SubjectKey: &k, Now: now, Own: &own})), ids([]*wire.Attestation{both, open, later, pending, mine, warn, peers}))
	equalIDs(t, "by context at now", ids(query(t, s, store.Query{Context: "general", Now: now})), ids([]*wire.Attestation{both, open, later, pending, warn, peers}))
	equalIDs(t, "by issuer at now", ids(query(t, s, store.Query{Issuer: &own, Now: now})), nil)
	equalIDs(t, "with withdrawn at now", ids(query(t, s, store.Query{SubjectKey: &k, Now: now, Withdrawn: true})), ids(all))
	equalIDs(t, "before the expiry", ids(query(t, s, store.Query{SubjectKey: &k, Now: now - 2})), ids([]*wire.Attestation{lapsed, both, open, later, edge, pending, renewed, mine, warn, peers}))
	st := status(t, s, lapsed.CID())
	if !store.Lapsed(lapsed, st, now) || store.Lapsed(lapsed, st, now-2) || store.Withdrawn(lapsed, st) {
		t.Errorf("Lapsed/Withdrawn of a vouch whose only consent expired at %d: %v at %d, %v at %d, withdrawn %v",
			now-1, store.Lapsed(lapsed, st, now), now, store.Lapsed(lapsed, st, now-2), now-2, store.Withdrawn(lapsed, st))
	}
	if st := status(t, s, pending.CID()); store.Lapsed(pending, st, now) {
		t.Error("Lapsed is true for a vouch never consented to")
	}
}

func testLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t)
	k1, k2, k3 := f.key(), f.key(), f.key()
	const a, b = "acct:alice@example.org", "acct:bob@example.org"
	l1a := f.link(k1, a, baseTime+5)
	l2a := f.link(k2, a, baseTime+3)
	l1b := f.link(k1, b, baseTime+1)
	l1a2 := &wire.IdentityLink{Acct: a, Created: baseTime + 5, Expires: baseTime + 1000} // same time as l1a: ordered by CID
	f.must(l1a2.Sign(k1))
	put(t, s, 5, l1a, l2a, l1b, l1a2, f.simple(k3, baseTime))
	tests := []struct {
		name string
		get  func() ([]*wire.IdentityLink, error)
		want []*wire.IdentityLink
	}{
		{"by acct", func() ([]*wire.IdentityLink, error) { return s.Links(ctx, a) }, []*wire.IdentityLink{l2a, l1a, l1a2}},
		{"by other acct", func() ([]*wire.IdentityLink, error) { return s.Links(ctx, b) }, []*wire.IdentityLink{l1b}},
		{"by unknown acct", func() ([]*wire.IdentityLink, error) { return s.Links(ctx, "acct:carol@example.org") }, nil},
		{"by key", func() ([]*wire.IdentityLink, error) { return s.LinksByKey(ctx, k1.Public()) }, []*wire.IdentityLink{l1b, l1a, l1a2}},
		{"by other key", func() ([]*wire.IdentityLink, error) { return s.LinksByKey(ctx, k2.Public()) }, []*wire.IdentityLink{l2a}},
		{"by key without links", func() ([]*wire.IdentityLink, error) { return s.LinksByKey(ctx, k3.Public()) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if err != nil {
				t.Fatal(err)
			}
			want := sortedByTime(tt.want, linkCreated)
			equalIDs(t, "links", ids(got), ids(want))
			for i, l := range got {
				sameObject(t, l, want[i])
			}
		})
	}
}

func testAll(t *testing.T, s store.Store) {
	f := newFixture(t)
	objs := f.mixed(40)
	put(t, s, len(objs), objs...)
	byID := make(map[string]wire.Object)
	for _, o := range objs {
		byID[o.CID().String()] = o
	}
	var got []wire.Object
	err := s.All(context.Background(), func(o wire.Object) error {
		got = append(got, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(objs)
	slices.SortFunc(want, func(a, b wire.Object) int { return bytes.Compare(a.CID().Bytes(), b.CID().Bytes()) })
	equalIDs(t, "All", ids(got), ids(want))
	for _, o := range got {
		sameObject(t, o, byID[o.CID().String()])
	}
}

func testAllStops(t *testing.T, s store.Store) {
	f := newFixture(t)
	objs := f.mixed(10)
	put(t, s, len(objs), objs...)
	errStop := errors.New("stop here")
	calls := 0
	err := s.All(context.Background(), func(wire.Object) error {
		calls++
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatalf("All error = %v, want the callback's error unchanged", err)
	}
	if calls != 3 {
		t.Fatalf("callback called %d times, want 3", calls)
	}
}

// testAllCallback checks that the callback may use the store.
func testAllCallback(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := newFixture(t)
	objs := f.mixed(10)
	put(t, s, len(objs), objs...)
	n := 0
	err := s.All(ctx, func(o wire.Object) error {
		got, err := s.Get(ctx, o.CID())
		if err != nil {
			return err
		}
		sameObject(t, got, o)
		if a, ok := o.(*wire.Attestation); ok {
			if _, err := s.Status(ctx, a.CID()); err != nil {
				return err
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(objs) {
		t.Fatalf("callback called %d times, want %d", n, len(objs))
	}
}

func testCount(t *testing.T, s store.Store) {
	f := newFixture(t)
	if n := count(t, s); n != 0 {
		t.Fatalf("Count of a new store = %d, want 0", n)
	}
	objs := f.mixed(25)
	for i, o := range objs {
		put(t, s, 1, o)
		if n := count(t, s); n != i+1 {
			t.Fatalf("Count = %d, want %d", n, i+1)
		}
	}
}

// calls returns one call of every method but Close, each returning its error.
func calls(s store.Store, objs []wire.Object) []struct {
	name string
	call func(ctx context.Context) error
} {
	id := objs[0].CID()
	var key wire.PublicKey
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Put", func(ctx context.Context) error { _, err := s.Put(ctx, objs...); return err }},
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, id); return err }},
		{"Has", func(ctx context.Context) error { _, err := s.Has(ctx, id); return err }},
		{"Attestations", func(ctx context.Context) error { _, err := s.Attestations(ctx, store.Query{}); return err }},
		{"Status", func(ctx context.Context) error { _, err := s.Status(ctx, id); return err }},
		{"Links", func(ctx context.Context) error { _, err := s.Links(ctx, "acct:alice@example.org"); return err }},
		{"LinksByKey", func(ctx context.Context) error { _, err := s.LinksByKey(ctx, key); return err }},
		{"All", func(ctx context.Context) error { return s.All(ctx, func(wire.Object) error { return nil }) }},
		{"Count", func(ctx context.Context) error { _, err := s.Count(ctx); return err }},
	}
}

func testCancelled(t *testing.T, s store.Store) {
	f := newFixture(t)
	stored := f.mixed(10)
	put(t, s, len(stored), stored...)
	fresh := f.mixed(5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range calls(s, append(fresh, stored...)) {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s with a cancelled context: error = %v, want context.Canceled", c.name, err)
			}
		})
	}
	if n := count(t, s); n != len(stored) {
		t.Fatalf("Count = %d after a cancelled Put, want %d", n, len(stored))
	}
}

func testCancelledDuringAll(t *testing.T, s store.Store) {
	f := newFixture(t)
	objs := f.mixed(20)
	put(t, s, len(objs), objs...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := s.All(ctx, func(wire.Object) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("All error = %v, want context.Canceled", err)
	}
	if n != 1 {
		t.Fatalf("callback called %d times after cancellation, want 1", n)
	}
}

func testClosed(t *testing.T, s store.Store) {
	f := newFixture(t)
	objs := f.mixed(5)
	put(t, s, len(objs), objs...)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	for _, c := range calls(s, objs) {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(context.Background()); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("%s after Close: error = %v, want ErrClosed", c.name, err)
			}
		})
	}
}

// testConcurrent runs Puts of overlapping objects and reads of every kind
// from many goroutines; run it under -race. Every object must be counted as
// new exactly once.
func testConcurrent(t *testing.T, s store.Store) {
	const (
		workers = 8
		rounds  = 25
	)
	f := newFixture(t)
	pool := f.mixed(80)
	var issuers []wire.PublicKey
	for _, o := range pool {
		if a, ok := o.(*wire.Attestation); ok {
			issuers = append(issuers, a.Issuer)
		}
	}
	// Plans are drawn up front so that workers share no random source.
	type step struct {
		batch []wire.Object
		read  wire.Object
	}
	plans := make([][]step, workers)
	for w := range plans {
		for range rounds {
			var st step
			for range 1 + f.rng.IntN(6) {
				st.batch = append(st.batch, pool[f.rng.IntN(len(pool))])
			}
			st.read = pool[f.rng.IntN(len(pool))]
			plans[w] = append(plans[w], st)
		}
	}
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
		errs  []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for w := range workers {
		wg.Go(func() {
			for _, st := range plans[w] {
				n, err := s.Put(ctx, st.batch...)
				if err != nil {
					fail(fmt.Errorf("put: %w", err))
					return
				}
				mu.Lock()
				added += n
				mu.Unlock()
				if got, err := s.Get(ctx, st.batch[0].CID()); err != nil {
					fail(fmt.Errorf("get after put: %w", err))
				} else if !bytes.Equal(got.Raw(), st.batch[0].Raw()) {
					fail(fmt.Errorf("get %s after put returned other bytes", st.batch[0].CID()))
				}
				if got, err := s.Get(ctx, st.read.CID()); err != nil && !errors.Is(err, store.ErrNotFound) {
					fail(fmt.Errorf("get: %w", err))
				} else if err == nil && !bytes.Equal(got.Raw(), st.read.Raw()) {
					fail(fmt.Errorf("get %s returned other bytes", st.read.CID()))
				}
				if _, err := s.Has(ctx, st.read.CID()); err != nil {
					fail(fmt.Errorf("has: %w", err))
				}
				if _, err := s.Attestations(ctx, store.Query{Issuer: &issuers[w%len(issuers)]}); err != nil {
					fail(fmt.Errorf("attestations: %w", err))
				}
				if a, ok := st.read.(*wire.Attestation); ok {
					if _, err := s.Status(ctx, a.CID()); err != nil && !errors.Is(err, store.ErrNotFound) {
						fail(fmt.Errorf("status: %w", err))
					}
				}
				if _, err := s.Count(ctx); err != nil {
					fail(fmt.Errorf("count: %w", err))
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	n, err := s.Put(ctx, pool...)
	if err != nil {
		t.Fatal(err)
	}
	if added+n != len(pool) {
		t.Fatalf("Puts added %d objects in all, want %d (each object new exactly once)", added+n, len(pool))
	}
	if got := count(t, s); got != len(pool) {
		t.Fatalf("Count = %d, want %d", got, len(pool))
	}
}
