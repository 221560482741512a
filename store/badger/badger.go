package badger

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/kith-net/kith/store"
)

// EncryptionKeySize is the length of Options.EncryptionKey (AES-256).
const EncryptionKeySize = 32

// Sizing for a small node; see "Memory and files" in the package
// documentation.
const (
	memTableSize     = 4 << 20
	numMemtables     = 2
	blockCacheSize   = 8 << 20
	indexCacheSize   = 16 << 20
	valueLogFileSize = 64 << 20
	// baseTableSize is the size of the tables compactions write at the
	// base level (doubling at each level below it). A table being written
	// is held in memory whole, and compressed blocks would be held beside
	// the plain ones: tables are not compressed (keys, signatures and
	// hashes do not compress; only the objects' text does).
	baseTableSize = 1 << 20
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
	// ID, if set, is the ID the store must have (Store.ID, recorded by its
	// owner when the store was created): Open then never creates a store,
	// and fails with an error wrapping store.ErrWrongStore if Dir holds no
	// store, an empty one, or another one. nil opens whatever Dir holds,
	// creating a store (with a new ID) if it holds none.
	ID []byte
	// LockWait is how long Open waits for another process that holds the
	// store to let it go; then it fails with an error wrapping
	// store.ErrInUse that names that process. 0 does not wait.
	LockWait time.Duration
	// Rand is the source of a new store's ID; nil means crypto/rand.
	Rand io.Reader
	// MinFree is the space the store keeps free on its file system: writes
	// are refused (store.ErrUnwritable) while less is available, and
	// accepted again once there is more. 0 means DefaultMinFree; a negative
	// value keeps no reserve. See "Write failures" in the package
	// documentation.
	MinFree int64
}

// DefaultMinFree is the default Options.MinFree: room for badger to finish
// the memtable it writes (an 8 MiB file, written through a memory mapping,
// where running out of space is a SIGBUS that kills the process), start
// the next one and flush the full one into a table.
const DefaultMinFree = 64 << 20

// Store is a store.Store on a badger database. Create it with Open.
type Store struct {
	db       *bdg.DB
	dir      string
	dirInfo  os.FileInfo // the directory when opened, to notice it vanish
	readOnly bool
	id       []byte
	log      *slog.Logger
	minFree  int64
	low      atomic.Bool // the free space was below minFree at the last check

	// writeErr is set after a commit of unknown outcome or a failure to
	// write (a memtable flush badger could not do); see "Durability" and
	// "Write failures" in the package documentation.
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
	if opts.ID != nil && len(opts.ID) != IDSize {
		return nil, fmt.Errorf("%s: %w: ID is %d bytes, want %d", op, store.ErrInvalid, len(opts.ID), IDSize)
	}
	if err := checkDir(opts.Dir, opts.ID != nil || opts.ReadOnly, opts.ReadOnly); err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, opts.Dir, err)
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	dirInfo, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	minFree := opts.MinFree
	if minFree == 0 {
		minFree = DefaultMinFree
	}
	s := &Store{dir: opts.Dir, dirInfo: dirInfo, readOnly: opts.ReadOnly, log: log, minFree: minFree}
	bo := bdg.DefaultOptions(opts.Dir).
		WithLogger(logger{l: log, failed: s.writeFailed}).
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
		WithBaseTableSize(baseTableSize).
		WithCompression(options.None).
		WithNumCompactors(2).
		WithMetricsEnabled(false)
	db, err := openDB(ctx, bo, opts.LockWait)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, opts.Dir, err)
	}
	s.db = db
	if !opts.ReadOnly {
		// Badger creates files as it opens (a memtable, a value log, its
		// lock file), with the process's umask.
		if err := privateFiles(opts.Dir); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s %s: %w", op, opts.Dir, err)
		}
	}
	if err := s.initSchema(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s %s: %w", op, opts.Dir, err)
	}
	if err := s.checkID(opts.ID, rnd); err != nil {
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

// ID returns the store's ID: 16 random bytes written when the store was
// created (or first opened by a build that has IDs), which its owner
// records to recognise the store later (Options.ID). A read-only store
// written before IDs existed has none (nil).
func (s *Store) ID() []byte { return append([]byte(nil), s.id...) }

// Err returns why writes to the store fail (an error wrapping
// store.ErrUnwritable), or nil while they work. See "Write failures" in the
// package documentation.
func (s *Store) Err() error {
	if err := s.failure(); err != nil || s.readOnly {
		return err
	}
	if s.minFree > 0 {
		if free, ok := freeSpace(s.dir); ok {
			low := free < s.minFree
			if s.low.Swap(low) != low { // log each change, once
				if low {
					s.log.Error("store: the disk is nearly full; no more writes are accepted until there is room", "dir", s.dir, "free_mib", free>>20, "reserve_mib", s.minFree>>20)
				} else {
					s.log.Info("store: there is room on the disk again; writes are accepted", "dir", s.dir, "free_mib", free>>20)
				}
			}
			if low {
				return fmt.Errorf("%w: the disk holding %s has %d MiB free, less than the %d MiB the store keeps in reserve: make room", store.ErrUnwritable, s.dir, free>>20, s.minFree>>20)
			}
		}
	}
	return nil
}

// failure returns the write failure that stays until the store is
// reopened (a failed commit or flush, the directory gone), or nil.
func (s *Store) failure() error {
	if p := s.writeErr.Load(); p != nil {
		return fmt.Errorf("%w: %w (no write is accepted until the store is reopened)", store.ErrUnwritable, *p)
	}
	if s.readOnly {
		return nil
	}
	// The directory must still be the one opened: badger keeps writing its
	// WAL to files already open, deleted with it, so writes would seem to
	// work until the first flush.
	info, err := os.Stat(s.dir)
	if err == nil && !os.SameFile(info, s.dirInfo) {
		err = fmt.Errorf("%s was replaced", s.dir)
	}
	if err != nil {
		s.failWrites(fmt.Errorf("the store's directory is gone: %w", err))
		return s.failure()
	}
	return nil
}

// failWrites records the first write failure and logs it; it reports
// whether err was the first.
func (s *Store) failWrites(err error) bool {
	if !s.writeErr.CompareAndSwap(nil, &err) {
		return false
	}
	s.log.Error("store: writes failing; no more writes are accepted until the store is reopened", "dir", s.dir, "err", err)
	return true
}

// writeFailed records a write failure badger logged.
func (s *Store) writeFailed(msg string) bool {
	return s.failWrites(fmt.Errorf("badger: %s", msg))
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

// closeGrace is how long Close waits, once writes are failing, for calls in
// progress and for badger to close: badger retries a failed memtable flush
// without end, and its Close waits for the flush.
const closeGrace = 5 * time.Second

// Close waits for calls in progress and closes the database. A second Close
// is a no-op. Close must not be called from inside an All callback.
//
// When writes are failing (Err), Close gives up after closeGrace and returns
// an error wrapping store.ErrUnwritable: what was not flushed is in the WAL
// if the disk still holds it, and lost if the directory is gone. badger's
// goroutines are then left running; the process is expected to exit.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { // joined below, or abandoned when writes fail (see above)
		s.active.Wait()
		done <- s.db.Close()
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var giveUp <-chan time.Time
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("store: close %s: %w", s.dir, err)
			}
			return nil
		case <-tick.C:
			if giveUp == nil && s.failure() != nil {
				t := time.NewTimer(closeGrace)
				defer t.Stop()
				giveUp = t.C
			}
		case <-giveUp:
			return fmt.Errorf("store: close %s: gave up after %v: %w", s.dir, closeGrace, s.failure())
		}
	}
}

// opErr wraps err with the operation's name.
func opErr(op string, err error) error { return fmt.Errorf("store: %s: %w", op, err) }
