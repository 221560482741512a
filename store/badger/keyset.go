package badger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/kith-net/kith/store"
)

// Sizes of a KeySet's database: small, since it holds only keys (about
// 100 bytes each in a memtable).
const (
	keySetMemTable   = 4 << 20
	keySetBlockCache = 4 << 20
	keySetIndexCache = 2 << 20
	keySetVlogFile   = 16 << 20
)

// KeySet is a set of 32-byte keys in a badger database of its own, for
// derived data that is too large to keep in memory and that its owner
// rebuilds after a restart (the node's public-set index). It is written
// without fsync, so it is not durable: OpenKeySet starts it empty. Update,
// Has and Scan are safe for concurrent use.
type KeySet[K ~[32]byte] struct {
	db *bdg.DB
}

// OpenKeySet creates an empty key set in dir, deleting whatever dir held.
func OpenKeySet[K ~[32]byte](ctx context.Context, dir string, log *slog.Logger) (*KeySet[K], error) {
	const op = "store: open key set"
	if dir == "" {
		return nil, fmt.Errorf("%s: no directory", op)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("%s: clearing %s: %w", op, dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bo := bdg.DefaultOptions(dir).
		WithLogger(logger{l: log}).
		WithSyncWrites(false).
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithCompression(options.None).
		WithMemTableSize(keySetMemTable).
		WithNumMemtables(2).
		WithBlockCacheSize(keySetBlockCache).
		WithIndexCacheSize(keySetIndexCache).
		WithValueLogFileSize(keySetVlogFile).
		WithValueThreshold(1 << 10). // values are empty

		WithNumCompactors(2).
		WithMetricsEnabled(false)
	db, err := bdg.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, dir, err)
	}
	return &KeySet[K]{db: db}, nil
}

// Update adds the keys in add and deletes those in del, in one
// transaction, and returns the keys of each that changed the set.
func (s *KeySet[K]) Update(add, del []K) (added, deleted []K, err error) {
	err = s.db.Update(func(txn *bdg.Txn) error {
		added, deleted = added[:0], deleted[:0]
		for i := range add {
			ok, err := has(txn, add[i][:])
			if err != nil {
				return err
			}
			if !ok {
				if err := txn.Set(add[i][:], nil); err != nil {
					return err
				}
				added = append(added, add[i])
			}
		}
		for i := range del {
			ok, err := has(txn, del[i][:])
			if err != nil {
				return err
			}
			if ok {
				if err := txn.Delete(del[i][:]); err != nil {
					return err
				}
				deleted = append(deleted, del[i])
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: key set: %w", err)
	}
	return added, deleted, nil
}

func has(txn *bdg.Txn, k []byte) (bool, error) {
	_, err := txn.Get(k)
	switch {
	case errors.Is(err, bdg.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// Has reports whether k is in the set.
func (s *KeySet[K]) Has(k K) (ok bool, err error) {
	err = s.db.View(func(txn *bdg.Txn) error {
		ok, err = has(txn, k[:])
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: key set: %w", err)
	}
	return ok, nil
}

// Scan calls fn for each key from lo to hi inclusive, in ascending byte
// order, and stops at fn's first error, which it returns unchanged.
func (s *KeySet[K]) Scan(lo, hi K, fn func(K) error) error {
	var ferr error
	err := s.db.View(func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{})
		defer it.Close()
		for it.Seek(lo[:]); it.Valid(); it.Next() {
			var k K
			raw := it.Item().Key()
			if len(raw) != len(k) {
				return fmt.Errorf("%w: key set entry of %d bytes", store.ErrCorrupt, len(raw))
			}
			copy(k[:], raw)
			if string(k[:]) > string(hi[:]) {
				return nil
			}
			if ferr = fn(k); ferr != nil {
				return ferr
			}
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return fmt.Errorf("store: key set: %w", err)
	}
	return nil
}

// Close closes the database. The set must not be used after.
func (s *KeySet[K]) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: key set: %w", err)
	}
	return nil
}
