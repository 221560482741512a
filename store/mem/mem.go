// Package mem is an in-memory [store.Store], for tests, tools and
// simulations.
//
// It keeps every contract of package store except durability: nothing
// survives the process, so "durable" means "visible to every later call".
// Every Put is atomic, whatever its size. Put stores the objects decoded
// from their signed encodings; they are immutable by the rules of package
// wire and shared with callers.
// All methods are safe for concurrent use; one mutex guards the state, so
// queries scan their candidates under a read lock and All iterates over a
// snapshot taken at the start of the call.
package mem

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/internal/rules"
	"github.com/kith-net/kith/wire"
)

// Store is an in-memory store. The zero value is not usable; call New.
type Store struct {
	mu     sync.RWMutex
	closed bool

	objs map[string]wire.Object // by cid.KeyString

	atts      []*wire.Attestation // every attestation, in arrival order
	byIssuer  map[wire.PublicKey][]*wire.Attestation
	bySubject map[wire.PublicKey][]*wire.Attestation
	byAcct    map[string][]*wire.Attestation
	byContext map[string][]*wire.Attestation

	retractions map[string][]*wire.Retraction // by target KeyString
	consents    map[string][]*wire.Consent
	withdrawals map[string][]*wire.ConsentWithdrawal

	linksByAcct map[string][]*wire.IdentityLink
	linksByKey  map[wire.PublicKey][]*wire.IdentityLink
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		objs:        make(map[string]wire.Object),
		byIssuer:    make(map[wire.PublicKey][]*wire.Attestation),
		bySubject:   make(map[wire.PublicKey][]*wire.Attestation),
		byAcct:      make(map[string][]*wire.Attestation),
		byContext:   make(map[string][]*wire.Attestation),
		retractions: make(map[string][]*wire.Retraction),
		consents:    make(map[string][]*wire.Consent),
		withdrawals: make(map[string][]*wire.ConsentWithdrawal),
		linksByAcct: make(map[string][]*wire.IdentityLink),
		linksByKey:  make(map[wire.PublicKey][]*wire.IdentityLink),
	}
}

func opErr(op string, err error) error { return fmt.Errorf("store: %s: %w", op, err) }

// rlock takes the read lock and checks ctx and closure. On success the
// caller must RUnlock.
func (s *Store) rlock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// Put implements store.Store. A Put is atomic whatever its size.
func (s *Store) Put(ctx context.Context, objs ...wire.Object) (int, error) {
	const op = "put"
	if err := s.rlock(ctx); err != nil {
		return 0, opErr(op, err)
	}
	s.mu.RUnlock()
	// Decode outside the lock; closure is checked again below.
	objs, err := rules.Prepare(objs)
	if err != nil {
		return 0, opErr(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, opErr(op, store.ErrClosed)
	}
	added := 0
	for _, o := range objs {
		k := o.CID().KeyString()
		if _, ok := s.objs[k]; ok {
			continue
		}
		s.objs[k] = o
		s.index(o)
		added++
	}
	return added, nil
}

func (s *Store) index(o wire.Object) {
	switch v := o.(type) {
	case *wire.Attestation:
		s.atts = append(s.atts, v)
		s.byIssuer[v.Issuer] = append(s.byIssuer[v.Issuer], v)
		if v.Subject.Key != nil {
			s.bySubject[*v.Subject.Key] = append(s.bySubject[*v.Subject.Key], v)
		}
		if v.Subject.Acct != "" {
			s.byAcct[v.Subject.Acct] = append(s.byAcct[v.Subject.Acct], v)
		}
		s.byContext[v.Context] = append(s.byContext[v.Context], v)
	case *wire.Retraction:
		t := v.Target.CID().KeyString()
		s.retractions[t] = append(s.retractions[t], v)
	case *wire.Consent:
		t := v.Target.CID().KeyString()
		s.consents[t] = append(s.consents[t], v)
	case *wire.ConsentWithdrawal:
		t := v.Target.CID().KeyString()
		s.withdrawals[t] = append(s.withdrawals[t], v)
	case *wire.IdentityLink:
		s.linksByAcct[v.Acct] = append(s.linksByAcct[v.Acct], v)
		s.linksByKey[v.Key] = append(s.linksByKey[v.Key], v)
	}
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id cid.Cid) (wire.Object, error) {
	const op = "get"
	if err := s.rlock(ctx); err != nil {
		return nil, opErr(op, err)
	}
	defer s.mu.RUnlock()
	o, ok := s.objs[id.KeyString()]
	if !ok {
		return nil, opErr(op, fmt.Errorf("%w: %s", store.ErrNotFound, id))
	}
	return o, nil
}

// Has implements store.Store.
func (s *Store) Has(ctx context.Context, id cid.Cid) (bool, error) {
	if err := s.rlock(ctx); err != nil {
		return false, opErr("has", err)
	}
	defer s.mu.RUnlock()
	_, ok := s.objs[id.KeyString()]
	return ok, nil
}

// Attestations implements store.Store. It scans the smallest index that
// applies to q.
func (s *Store) Attestations(ctx context.Context, q store.Query) ([]*wire.Attestation, error) {
	const op = "attestations"
	if err := q.Validate(); err != nil {
		return nil, opErr(op, err)
	}
	if err := s.rlock(ctx); err != nil {
		return nil, opErr(op, err)
	}
	defer s.mu.RUnlock()
	var out []*wire.Attestation
	for i, a := range s.candidates(q) {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, opErr(op, err)
			}
		}
		if !q.Match(a) {
			continue
		}
		k := a.CID().KeyString()
		if !q.Retracted && rules.Retraction(a, s.retractions[k]) != nil {
			continue
		}
		if !q.Withdrawn && (len(s.withdrawals[k]) > 0 || q.Now != 0 && len(s.consents[k]) > 0) && q.Excluded(a, rules.Status(a, nil, s.consents[k], s.withdrawals[k])) {
			continue
		}
		out = append(out, a)
	}
	rules.Sort(out)
	if q.Limit > 0 && len(out) > q.Limit {
		out = slices.Clip(out[:q.Limit])
	}
	return out, nil
}

// candidates returns the shortest index list that contains every match of
// q. The caller holds the lock and must not modify the list.
func (s *Store) candidates(q store.Query) []*wire.Attestation {
	best := s.atts
	consider := func(l []*wire.Attestation) {
		if len(l) < len(best) {
			best = l
		}
	}
	if q.Issuer != nil {
		consider(s.byIssuer[*q.Issuer])
	}
	if q.SubjectKey != nil {
		consider(s.bySubject[*q.SubjectKey])
	}
	if q.Acct != "" {
		consider(s.byAcct[q.Acct])
	}
	if q.Context != "" {
		consider(s.byContext[q.Context])
	}
	return best
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, att cid.Cid) (store.Status, error) {
	const op = "status"
	if err := s.rlock(ctx); err != nil {
		return store.Status{}, opErr(op, err)
	}
	defer s.mu.RUnlock()
	k := att.KeyString()
	a, ok := s.objs[k].(*wire.Attestation)
	if !ok {
		return store.Status{}, opErr(op, fmt.Errorf("%w: no attestation %s", store.ErrNotFound, att))
	}
	return rules.Status(a, s.retractions[k], s.consents[k], s.withdrawals[k]), nil
}

// StatusOf implements store.Store.
func (s *Store) StatusOf(ctx context.Context, a *wire.Attestation) (store.Status, error) {
	const op = "status of"
	if a == nil {
		return store.Status{}, opErr(op, fmt.Errorf("%w: nil attestation", store.ErrInvalid))
	}
	if err := s.rlock(ctx); err != nil {
		return store.Status{}, opErr(op, err)
	}
	defer s.mu.RUnlock()
	k := a.CID().KeyString()
	return rules.Status(a, s.retractions[k], s.consents[k], s.withdrawals[k]), nil
}

// Links implements store.Store.
func (s *Store) Links(ctx context.Context, acct string) ([]*wire.IdentityLink, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, opErr("links", err)
	}
	defer s.mu.RUnlock()
	out := slices.Clone(s.linksByAcct[acct])
	rules.Sort(out)
	return out, nil
}

// LinksByKey implements store.Store.
func (s *Store) LinksByKey(ctx context.Context, key wire.PublicKey) ([]*wire.IdentityLink, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, opErr("links by key", err)
	}
	defer s.mu.RUnlock()
	out := slices.Clone(s.linksByKey[key])
	rules.Sort(out)
	return out, nil
}

// All implements store.Store. It iterates over a snapshot taken when it
// starts, without holding the lock while fn runs.
func (s *Store) All(ctx context.Context, fn func(wire.Object) error) error {
	const op = "all"
	if err := s.rlock(ctx); err != nil {
		return opErr(op, err)
	}
	snap := make([]wire.Object, 0, len(s.objs))
	for _, o := range s.objs {
		snap = append(snap, o)
	}
	s.mu.RUnlock()
	slices.SortFunc(snap, func(a, b wire.Object) int { return rules.CompareCID(a.CID(), b.CID()) })
	for _, o := range snap {
		if err := ctx.Err(); err != nil {
			return opErr(op, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.rlock(ctx); err != nil {
		return 0, opErr("count", err)
	}
	defer s.mu.RUnlock()
	return len(s.objs), nil
}

// Close implements store.Store: it drops the contents. A second Close is a
// no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.objs, s.atts = nil, nil
	s.byIssuer, s.bySubject, s.byAcct, s.byContext = nil, nil, nil, nil
	s.retractions, s.consents, s.withdrawals = nil, nil, nil
	s.linksByAcct, s.linksByKey = nil, nil
	return nil
}
