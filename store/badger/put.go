package badger

import (
	"context"
	"errors"
	"fmt"
	"time"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/internal/rules"
	"github.com/kith-net/kith/wire"
)

// errSplit reports that a batch does not fit in one transaction.
var errSplit = errors.New("batch does not fit in one transaction")

// maxConflictRetries bounds the retries of a transaction that conflicts with
// concurrent Puts of the same objects; each retry makes progress, so this is
// only a guard against a livelock bug.
const maxConflictRetries = 1000

// Put implements store.Store. See "Durability" in the package documentation
// for how a large Put is split into transactions.
func (s *Store) Put(ctx context.Context, objs ...wire.Object) (int, error) {
	const op = "put"
	if err := s.enter(); err != nil {
		return 0, opErr(op, err)
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return 0, opErr(op, err)
	}
	if s.readOnly {
		return 0, opErr(op, store.ErrReadOnly)
	}
	if err := s.Err(); err != nil {
		return 0, opErr(op, err)
	}
	objs, err := rules.Prepare(objs)
	if err != nil {
		return 0, opErr(op, err)
	}
	added := 0
	for rest := objs; len(rest) > 0; {
		n, a, err := s.putSome(ctx, rest)
		added += a
		if err != nil {
			return added, opErr(op, err)
		}
		rest = rest[n:]
	}
	return added, nil
}

// putSome commits the longest prefix of objs that fits in one transaction
// and returns its length and how many of its objects were new.
func (s *Store) putSome(ctx context.Context, objs []wire.Object) (int, int, error) {
	batch := objs
	for conflicts := 0; ; {
		added, fit, err := s.commit(ctx, batch)
		switch {
		case err == nil:
			return len(batch), added, nil
		case errors.Is(err, errSplit):
			batch = batch[:fit]
		case errors.Is(err, bdg.ErrConflict) && conflicts < maxConflictRetries:
			conflicts++
		default:
			return 0, 0, err
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
	}
}

// commit writes the objects of batch that are not yet stored, with their
// index entries, in one transaction. If they do not all fit, it writes
// nothing and returns errSplit and the number of leading objects that fit.
func (s *Store) commit(ctx context.Context, batch []wire.Object) (added, fit int, err error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	for i, o := range batch {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		ok, err := exists(txn, objectKey(o.CID()))
		if err != nil {
			return 0, 0, err
		}
		if ok { // stored earlier, or earlier in this batch
			continue
		}
		if err := set(txn, o); err != nil {
			if errors.Is(err, bdg.ErrTxnTooBig) && i > 0 {
				return 0, i, errSplit
			}
			return 0, 0, fmt.Errorf("%s %s: %w", o.Type(), o.CID(), err)
		}
		added++
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	// badger's Commit cannot be interrupted, and blocks without end when
	// it cannot write (a full memtable it cannot flush): commit in the
	// background, and wait for it or for writes to fail. (Not for ctx: a
	// commit abandoned on a healthy store has an unknown outcome, and the
	// store would have to refuse every later write.)
	committed := make(chan error, 1)
	txn.CommitWith(func(err error) { committed <- err })
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-committed:
			if err != nil {
				if !errors.Is(err, bdg.ErrConflict) {
					s.failWrites(fmt.Errorf("commit: %w", err))
				}
				return 0, 0, fmt.Errorf("commit: %w", err)
			}
			return added, len(batch), nil
		case <-tick.C:
			if err := s.failure(); err != nil {
				return 0, 0, fmt.Errorf("commit, outcome unknown: %w", err)
			}
		}
	}
}

// set adds o and its index entries to txn.
func set(txn *bdg.Txn, o wire.Object) error {
	if err := txn.Set(objectKey(o.CID()), o.Raw()); err != nil {
		return err
	}
	for _, k := range indexKeys(o) {
		if err := txn.Set(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// exists reports whether key is present.
func exists(txn *bdg.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bdg.ErrKeyNotFound):
		return false, nil
	}
	return false, err
}
