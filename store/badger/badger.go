package badger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/kith-net/kith/store"
)

// EncryptionKeySize is the length of Options.EncryptionKey (AES-256).
const EncryptionKeySize = 32

// Sizing for a small node; see "Memory and files" in the package
// documentation.
const (
	memTableSize     = 8 << 20
	numMemtables     = 2
	blockCacheSize   = 16 << 20
	indexCacheSize   = 16 << 20
	valueLogFileSize = 64 << 20
	// valueThreshold keeps every object (at most wire.MaxObjectSize bytes)
	// inline in the LSM tree and its WAL. It must not exceed 15% of
	// memTableSize (badger's maximum batch size).
	valueThreshold = 64 << 10
)

// Options configure Open.
type Options struct {
	// Dir is the database directory. Open creates it with mode 0700 if it
	// is missing (unless ReadOnly); an existing directory is used as is.
	Dir string
	// EncryptionKey is the 32-byte AES-256 key of badger's encryption at
	// rest. nil means unencrypted, which is for tests only: a node's store
	// must be encrypted (its key lives in the vault).
	EncryptionKey []byte
	// Logger receives badger's log (errors at Error, warnings at Warn,
	// the rest at Debug). nil discards it.
	Logger *slog.Logger
	// ReadOnly opens the store for reading: Put fails with
	// store.ErrReadOnly. Several processes may have a store open read-only
	// at once, but none while another has it open read-write. A read-only
	// open fails if the WAL needs recovery (after a crash): open the store
	// read-write once first.
	ReadOnly bool
}

// Store is a store.Store on a badger database. Create it with Open.
type Store struct {
	db       *bdg.DB
	dir      string
	readOnly bool

	// writeErr is set after a commit of unknown outcome; see "Durability"
	// in the package documentation.
	writeErr atomic.Pointer[error]

	// beforeCommit, if set (by tests), runs before each commit.
	beforeCommit func()

	mu     sync.Mutex // guards closed and the transition of active to Wait
	closed bool
	active sync.WaitGroup // calls in progress
}

var _ store.Store = (*Store)(nil)

// Open opens the store in opts.Dir, creating it if needed. It fails with an
// error wrapping store.ErrSchemaTooNew if the store was written by a newer
// version, store.ErrCorrupt if its metadata is damaged, or store.ErrInvalid
// for bad options. Open itself is not interruptible once badger has started
// replaying its logs; ctx is checked before and after.
func Open(ctx context.Context, opts Options) (*Store, error) {
	const op = "store: open"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("%s: %w: no directory", op, store.ErrInvalid)
	}
	if opts.EncryptionKey != nil && len(opts.EncryptionKey) != EncryptionKeySize {
		return nil, fmt.Errorf("%s: %w: encryption key is %d bytes, want %d", op, store.ErrInvalid, len(opts.EncryptionKey), EncryptionKeySize)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(opts.Dir); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	} else if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bo := bdg.DefaultOptions(opts.Dir).
		WithLogger(logger{log}).
		WithReadOnly(opts.ReadOnly).
		WithSyncWrites(true).
		WithDetectConflicts(true).
		WithNumVersionsToKeep(1).
		WithEncryptionKey(opts.EncryptionKey).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize).
		WithIndexCacheSize(indexCacheSize).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(valueLogFileSize).
		WithNumCompactors(2).
		WithMetricsEnabled(false)
	db, err := bdg.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, opts.Dir, err)
	}
	s := &Store{db: db, dir: opts.Dir, readOnly: opts.ReadOnly}
	if err := s.initSchema(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s %s: %w", op, opts.Dir, err)
	}
	if err := ctx.Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return s, nil
}

// initSchema checks the schema version, writing it into a new store.
func (s *Store) initSchema() error {
	var (
		version uint64
		found   bool
		empty   bool
	)
	err := s.db.View(func(txn *bdg.Txn) error {
		item, err := txn.Get(keySchema)
		if errors.Is(err, bdg.ErrKeyNotFound) {
			it := txn.NewIterator(bdg.IteratorOptions{})
			defer it.Close()
			it.Rewind()
			empty = !it.Valid()
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: schema version is %d bytes, want 8", store.ErrCorrupt, len(v))
			}
			version = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	switch {
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case found && version > schemaVersion:
		return fmt.Errorf("%w: the store has schema version %d; this build reads version %d", store.ErrSchemaTooNew, version, schemaVersion)
	case found && version < 1:
		return fmt.Errorf("%w: schema version %d", store.ErrCorrupt, version)
	case found:
		return nil // version 1: nothing to migrate
	case !empty:
		return fmt.Errorf("%w: the database has data but no schema version", store.ErrCorrupt)
	case s.readOnly:
		return nil // an empty store: nothing to read, nothing to write
	}
	return s.db.Update(func(txn *bdg.Txn) error {
		return txn.Set(keySchema, be64(schemaVersion))
	})
}

// enter registers a call in progress; it fails once the store is closed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.active.Add(1)
	return nil
}

func (s *Store) leave() { s.active.Done() }

// Close waits for calls in progress and closes the database. A second Close
// is a no-op. Close must not be called from inside an All callback.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.active.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.dir, err)
	}
	return nil
}

// opErr wraps err with the operation's name.
func opErr(op string, err error) error { return fmt.Errorf("store: %s: %w", op, err) }
