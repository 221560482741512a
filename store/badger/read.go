package badger

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/internal/rules"
	"github.com/kith-net/kith/wire"
)

// createdSize is the length of the <created> key component.
const createdSize = 8

// view runs fn in a read transaction, after the common checks of every read.
func (s *Store) view(ctx context.Context, op string, fn func(txn *bdg.Txn) error) error {
	if err := s.enter(); err != nil {
		return opErr(op, err)
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return opErr(op, err)
	}
	if err := s.db.View(fn); err != nil {
		return opErr(op, err)
	}
	return nil
}

// decodeStored checks that raw, read under the key of id, is the object id
// names, and decodes it. Any failure wraps store.ErrCorrupt.
func decodeStored(id cid.Cid, raw []byte) (wire.Object, error) {
	if got := wire.CIDOf(raw); !got.Equals(id) {
		return nil, fmt.Errorf("%w: object %s: its bytes hash to %s", store.ErrCorrupt, id, got)
	}
	o, err := wire.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: object %s: %w", store.ErrCorrupt, id, err)
	}
	if o.Type() == wire.TypeBundle {
		return nil, fmt.Errorf("%w: object %s: a bundle", store.ErrCorrupt, id)
	}
	return o, nil
}

// load reads and checks the object id; missing objects yield ErrNotFound.
func load(txn *bdg.Txn, id cid.Cid) (wire.Object, error) {
	item, err := txn.Get(objectKey(id))
	if errors.Is(err, bdg.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var o wire.Object
	err = item.Value(func(raw []byte) error {
		o, err = decodeStored(id, raw) // wire.Decode copies raw
		return err
	})
	return o, err
}

// loadAs loads an object an index entry refers to and checks its type. A
// missing object or a wrong type means a damaged index: ErrCorrupt.
func loadAs[T wire.Object](txn *bdg.Txn, id cid.Cid) (T, error) {
	var zero T
	o, err := load(txn, id)
	if errors.Is(err, store.ErrNotFound) {
		return zero, fmt.Errorf("%w: an index entry refers to the missing object %s", store.ErrCorrupt, id)
	}
	if err != nil {
		return zero, err
	}
	v, ok := o.(T)
	if !ok {
		return zero, fmt.Errorf("%w: an index entry for a %T refers to %s, a %s", store.ErrCorrupt, zero, id, o.Type())
	}
	return v, nil
}

// castCID parses the CID at the end of an index key.
func castCID(b []byte, k []byte) (cid.Cid, error) {
	id, err := cid.Cast(b)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: index key %x: %w", store.ErrCorrupt, k, err)
	}
	return id, nil
}

// scanIDs calls fn with the CID ending every key that starts with prefix,
// skipping skip bytes after the prefix, in key order.
func scanIDs(ctx context.Context, txn *bdg.Txn, prefix []byte, skip int, fn func(cid.Cid) error) error {
	it := txn.NewIterator(bdg.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Item().Key()
		if len(k) < len(prefix)+skip {
			return fmt.Errorf("%w: short index key %x", store.ErrCorrupt, k)
		}
		id, err := castCID(k[len(prefix)+skip:], k)
		if err != nil {
			return err
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// loadAll loads the objects of type T that the index range prefix refers to.
func loadAll[T wire.Object](ctx context.Context, txn *bdg.Txn, prefix []byte, skip int) ([]T, error) {
	var out []T
	err := scanIDs(ctx, txn, prefix, skip, func(id cid.Cid) error {
		o, err := loadAs[T](txn, id)
		if err == nil {
			out = append(out, o)
		}
		return err
	})
	return out, err
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id cid.Cid) (wire.Object, error) {
	var o wire.Object
	err := s.view(ctx, "get", func(txn *bdg.Txn) (err error) {
		o, err = load(txn, id)
		return err
	})
	return o, err
}

// Has implements store.Store. It does not read the object.
func (s *Store) Has(ctx context.Context, id cid.Cid) (bool, error) {
	var ok bool
	err := s.view(ctx, "has", func(txn *bdg.Txn) (err error) {
		ok, err = exists(txn, objectKey(id))
		return err
	})
	return ok, err
}

// plan returns the index ranges to scan for q: each is ordered by
// <created> <cid>, and together they hold every match of q.
func plan(q store.Query) [][]byte {
	switch {
	case q.Issuer != nil:
		return [][]byte{issuerPrefix(*q.Issuer)}
	case q.SubjectKey != nil:
		return [][]byte{subjectPrefix(*q.SubjectKey)}
	case q.Acct != "":
		return [][]byte{acctPrefix(q.Acct)}
	case q.Context != "" && q.Kind != "":
		return [][]byte{contextPrefix(q.Context, q.Kind)}
	case q.Context != "":
		return [][]byte{contextPrefix(q.Context, wire.Vouch), contextPrefix(q.Context, wire.Warn)}
	}
	return [][]byte{pByTime}
}

// cursor walks one index range of an attestation query.
type cursor struct {
	it     *bdg.Iterator
	prefix []byte
}

func (c *cursor) valid() bool { return c.it.ValidForPrefix(c.prefix) }

// tail returns <created> <cid> of the current key.
func (c *cursor) tail() []byte { return c.it.Item().Key()[len(c.prefix):] }

// Attestations implements store.Store. It merges the index ranges of the
// query plan in creation order, filters the candidates, and stops at the
// limit.
func (s *Store) Attestations(ctx context.Context, q store.Query) ([]*wire.Attestation, error) {
	const op = "attestations"
	if err := q.Validate(); err != nil {
		return nil, opErr(op, err)
	}
	var out []*wire.Attestation
	err := s.view(ctx, op, func(txn *bdg.Txn) error {
		var cursors []*cursor
		for _, p := range plan(q) {
			it := txn.NewIterator(bdg.IteratorOptions{Prefix: p})
			defer it.Close()
			// Every range is ordered by <created> <cid>: start at Since,
			// past After.
			start := key(p, be64(q.Since))
			if q.After.Defined() {
				start = key(start, q.After.Bytes())
			}
			it.Seek(start)
			if q.After.Defined() && it.ValidForPrefix(p) && bytes.Equal(it.Item().Key(), start) {
				it.Next()
			}
			cursors = append(cursors, &cursor{it: it, prefix: p})
		}
		var retracted, withdrawn, consented *bdg.Iterator // lazily, for the retraction, withdrawal and expiry checks
		for q.Limit == 0 || len(out) < q.Limit {
			if err := ctx.Err(); err != nil {
				return err
			}
			var next *cursor
			for _, c := range cursors {
				if c.valid() && (next == nil || bytes.Compare(c.tail(), next.tail()) < 0) {
					next = c
				}
			}
			if next == nil {
				break
			}
			tail := next.tail()
			if len(tail) <= createdSize {
				return fmt.Errorf("%w: short index key %x", store.ErrCorrupt, next.it.Item().Key())
			}
			id, err := castCID(tail[createdSize:], next.it.Item().Key())
			if err != nil {
				return err
			}
			next.it.Next()
			a, err := loadAs[*wire.Attestation](txn, id)
			if err != nil {
				return err
			}
			if !q.Match(a) {
				continue
			}
			if !q.Retracted {
				if retracted == nil {
					retracted = txn.NewIterator(bdg.IteratorOptions{Prefix: pRetraction})
					defer retracted.Close()
				}
				p := key(retractionPrefix(a.CID()), a.Issuer[:])
				if retracted.Seek(p); retracted.ValidForPrefix(p) {
					continue
				}
			}
			if !q.Withdrawn && a.Audience.Scope == wire.Public && a.Kind == wire.Vouch && a.Subject.Key != nil {
				// Most statements have no withdrawal: only those with one
				// need their status; with Now, so do those with a consent
				// (it may have expired), unless they are Own's.
				if withdrawn == nil {
					withdrawn = txn.NewIterator(bdg.IteratorOptions{Prefix: pWithdrawal})
					defer withdrawn.Close()
				}
				p := withdrawalPrefix(a.CID())
				withdrawn.Seek(p)
				need := withdrawn.ValidForPrefix(p)
				if !need && q.Now != 0 && (q.Own == nil || a.Issuer != *q.Own) {
					if consented == nil {
						consented = txn.NewIterator(bdg.IteratorOptions{Prefix: pConsent})
						defer consented.Close()
					}
					p := consentPrefix(a.CID())
					consented.Seek(p)
					need = consented.ValidForPrefix(p)
				}
				if need {
					st, err := statusIn(ctx, txn, a)
					if err != nil {
						return err
					}
					if q.Excluded(a, st) {
						continue
					}
				}
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, att cid.Cid) (store.Status, error) {
	var st store.Status
	err := s.view(ctx, "status", func(txn *bdg.Txn) error {
		o, err := load(txn, att)
		if err != nil {
			return err
		}
		a, ok := o.(*wire.Attestation)
		if !ok {
			return fmt.Errorf("%w: %s is a %s, not an attestation", store.ErrNotFound, att, o.Type())
		}
		st, err = statusIn(ctx, txn, a)
		return err
	})
	return st, err
}

// StatusOf implements store.Store.
func (s *Store) StatusOf(ctx context.Context, a *wire.Attestation) (store.Status, error) {
	var st store.Status
	if a == nil {
		return st, opErr("status of", fmt.Errorf("%w: nil attestation", store.ErrInvalid))
	}
	err := s.view(ctx, "status of", func(txn *bdg.Txn) (err error) {
		st, err = statusIn(ctx, txn, a)
		return err
	})
	return st, err
}

// statusIn evaluates a's status from the objects stored for it.
func statusIn(ctx context.Context, txn *bdg.Txn, a *wire.Attestation) (store.Status, error) {
	att := a.CID()
	rets, err := loadAll[*wire.Retraction](ctx, txn, retractionPrefix(att), wire.PublicKeySize)
	if err != nil {
		return store.Status{}, err
	}
	cons, err := loadAll[*wire.Consent](ctx, txn, consentPrefix(att), 0)
	if err != nil {
		return store.Status{}, err
	}
	wds, err := loadAll[*wire.ConsentWithdrawal](ctx, txn, withdrawalPrefix(att), 0)
	if err != nil {
		return store.Status{}, err
	}
	return rules.Status(a, rets, cons, wds), nil
}

// Links implements store.Store.
func (s *Store) Links(ctx context.Context, acct string) ([]*wire.IdentityLink, error) {
	return s.links(ctx, "links", linkAcctPrefix(acct), func(l *wire.IdentityLink) bool { return l.Acct == acct })
}

// LinksByKey implements store.Store.
func (s *Store) LinksByKey(ctx context.Context, k wire.PublicKey) ([]*wire.IdentityLink, error) {
	return s.links(ctx, "links by key", linkKeyPrefix(k), func(l *wire.IdentityLink) bool { return l.Key == k })
}

func (s *Store) links(ctx context.Context, op string, prefix []byte, match func(*wire.IdentityLink) bool) ([]*wire.IdentityLink, error) {
	var out []*wire.IdentityLink
	err := s.view(ctx, op, func(txn *bdg.Txn) error {
		ls, err := loadAll[*wire.IdentityLink](ctx, txn, prefix, 0)
		for _, l := range ls {
			if match(l) {
				out = append(out, l)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	rules.Sort(out)
	return out, nil
}

// errCallback carries an error returned by the All callback through
// badger's View, so that All can return it unchanged.
type errCallback struct{ err error }

func (e errCallback) Error() string { return e.err.Error() }

// All implements store.Store. It iterates over one read transaction (a
// consistent snapshot); fn may call other methods of the store.
func (s *Store) All(ctx context.Context, fn func(wire.Object) error) error {
	err := s.view(ctx, "all", func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: pObject, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(pObject); it.ValidForPrefix(pObject); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			id, err := castCID(item.Key()[len(pObject):], item.Key())
			if err != nil {
				return err
			}
			var o wire.Object
			if err := item.Value(func(raw []byte) (err error) {
				o, err = decodeStored(id, raw)
				return err
			}); err != nil {
				return err
			}
			if err := fn(o); err != nil {
				return errCallback{err}
			}
		}
		return nil
	})
	if e, ok := errors.AsType[errCallback](err); ok {
		return e.err
	}
	return err
}

// Count implements store.Store. It counts the object keys (it does not read
// the objects): linear in the size of the store.
func (s *Store) Count(ctx context.Context) (int, error) {
	n := 0
	err := s.view(ctx, "count", func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: pObject})
		defer it.Close()
		for it.Seek(pObject); it.ValidForPrefix(pObject); it.Next() {
			if n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
