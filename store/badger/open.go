package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
	"google.golang.org/protobuf/proto"

	"github.com/kith-net/kith/store"
)

// Files of a badger database.
const (
	manifestFile    = bdg.ManifestFilename
	keyRegistryFile = bdg.KeyRegistryFileName
	lockFile        = "LOCK"
)

// IDSize is the length of a store's ID (Store.ID).
const IDSize = 16

// checkDir checks a database directory before badger opens it, for the
// damage badger does not survive: badger deletes every table its MANIFEST
// does not list, so a missing MANIFEST beside tables would silently empty
// the store; without its KEYREGISTRY an encrypted store's data keys are
// gone, and badger panics reading the tables; a truncated table makes it
// panic in a goroutine of its own. Each is refused with an error wrapping
// store.ErrCorrupt that names the file. want set, a directory without a
// database is refused with store.ErrWrongStore (a missing store is never
// created where one was). It also removes empty memtable files (an unlucky
// kill -9 leaves one, which makes badger's next open fail once; it holds
// nothing) and, unless readOnly, sets the modes of the directory (0700) and
// its files (0600).
func checkDir(dir string, want bool, readOnly bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) && !want {
		return nil
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: there is no store in %s: %w", store.ErrWrongStore, dir, err)
		}
		return err
	}
	has := map[string]bool{}
	var tables []string
	data := false
	for _, e := range entries {
		name := e.Name()
		has[name] = true
		switch filepath.Ext(name) {
		case ".sst":
			tables = append(tables, name)
			data = true
		case ".vlog":
			data = true
		case ".mem":
			if info, err := e.Info(); err == nil && info.Size() == 0 && !readOnly {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return fmt.Errorf("removing the empty memtable file %s: %w", name, err)
				}
			}
		}
	}
	switch {
	case !has[manifestFile] && len(tables) > 0:
		return fmt.Errorf("%w: %s is missing beside %d tables (opening would delete them): restore the store from a backup, or move %s aside and import your latest export", store.ErrCorrupt, filepath.Join(dir, manifestFile), len(tables), dir)
	case !has[manifestFile] && want:
		return fmt.Errorf("%w: %s holds no store (no %s)", store.ErrWrongStore, dir, manifestFile)
	case (has[manifestFile] || data) && !has[keyRegistryFile]:
		return fmt.Errorf("%w: %s is missing: the store's data keys are gone; restore the store from a backup, or move %s aside and import your latest export", store.ErrCorrupt, filepath.Join(dir, keyRegistryFile), dir)
	}
	for _, t := range tables {
		if err := checkTable(filepath.Join(dir, t)); err != nil {
			return fmt.Errorf("%w: table %s is damaged (%w): restore the store from a backup, or move %s aside and import your latest export", store.ErrCorrupt, filepath.Join(dir, t), err, dir)
		}
	}
	if readOnly {
		return nil
	}
	return privateFiles(dir)
}

// privateFiles sets the modes of dir (0700) and of the files in it (0600).
// Files badger creates later (memtables, tables) take the process's umask;
// the directory keeps them from other users whatever their mode.
func privateFiles(dir string) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// checkTable checks a table file's footer and the checksum of its index,
// as badger does when it opens the table (table.initIndex), without
// badger's panics: the file ends with the index, its length (4 bytes), a
// checksum (a protobuf) and the checksum's length (4 bytes). The index is
// checksummed as written, encrypted or not, so no key is needed.
func checkTable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	u32 := func(at int64) (int64, error) {
		if at < 0 {
			return 0, errors.New("truncated")
		}
		var b [4]byte
		if _, err := f.ReadAt(b[:], at); err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint32(b[:])), nil
	}
	at := size - 4
	chkLen, err := u32(at)
	if err != nil {
		return err
	}
	if at -= chkLen; at < 4 {
		return errors.New("truncated: bad checksum length")
	}
	chk := make([]byte, chkLen)
	if _, err := f.ReadAt(chk, at); err != nil {
		return err
	}
	var sum pb.Checksum
	if err := proto.Unmarshal(chk, &sum); err != nil {
		return fmt.Errorf("truncated: checksum: %w", err)
	}
	if sum.Algo != pb.Checksum_CRC32C && sum.Algo != pb.Checksum_XXHash64 {
		return fmt.Errorf("truncated: checksum algorithm %d", sum.Algo)
	}
	at -= 4
	indexLen, err := u32(at)
	if err != nil {
		return err
	}
	if at -= indexLen; at < 0 {
		return errors.New("truncated: bad index length")
	}
	index := make([]byte, indexLen)
	if _, err := f.ReadAt(index, at); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := y.VerifyChecksum(index, &sum); err != nil {
		return errors.New("its index fails its checksum")
	}
	return nil
}

// openDB opens the badger database, waiting up to wait for a lock another
// process holds. A memtable file left empty by a crash fails the first
// open once (badger issue 2207): it is opened again then.
func openDB(ctx context.Context, bo bdg.Options, wait time.Duration) (db *bdg.DB, err error) {
	deadline := time.Now().Add(wait)
	retried := false
	for {
		db, err = openRecovering(bo)
		switch {
		case err == nil:
			return db, nil
		case errors.Is(err, bdg.ErrEncryptionKeyMismatch):
			return nil, fmt.Errorf("%w: %s is encrypted with another key: %w", store.ErrWrongStore, bo.Dir, err)
		case strings.Contains(err.Error(), "Create a new file") && !retried:
			retried = true
			continue
		case strings.Contains(err.Error(), "Cannot acquire directory lock"):
			if time.Now().Before(deadline) {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			return nil, fmt.Errorf("%w: %s is held by %s: stop it (or wait for it to end) and try again", store.ErrInUse, bo.Dir, lockHolder(bo.Dir))
		}
		return nil, err
	}
}

// openRecovering opens the database, turning a panic in badger's own
// goroutine of the caller into an error wrapping store.ErrCorrupt (checkDir
// catches those it raises in goroutines of its own).
func openRecovering(bo bdg.Options) (db *bdg.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: badger: %v", store.ErrCorrupt, r)
		}
	}()
	return bdg.Open(bo)
}

// lockHolder names the process that holds the database's lock, from the
// PID badger writes into its lock file.
func lockHolder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, lockFile))
	if err != nil {
		return "another process"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return "another process"
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(cmd) == 0 {
		return fmt.Sprintf("process %d", pid)
	}
	args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	return fmt.Sprintf("process %d (%s)", pid, strings.Join(args, " "))
}

// checkID reads the store's ID, writes a new one into a store that has
// none (unless read-only), and compares it with want if set.
func (s *Store) checkID(want []byte, rand io.Reader) error {
	err := s.db.View(func(txn *bdg.Txn) error {
		item, err := txn.Get(keyID)
		if errors.Is(err, bdg.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		s.id, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("read store ID: %w", err)
	}
	if s.id == nil && want == nil && !s.readOnly {
		id := make([]byte, IDSize)
		if _, err := io.ReadFull(rand, id); err != nil {
			return fmt.Errorf("store ID: %w", err)
		}
		if err := s.db.Update(func(txn *bdg.Txn) error { return txn.Set(keyID, id) }); err != nil {
			return fmt.Errorf("write store ID: %w", err)
		}
		s.id = id
	}
	if want != nil && !bytes.Equal(s.id, want) {
		if s.id == nil {
			return fmt.Errorf("%w: %s holds a store without an ID, not the one expected", store.ErrWrongStore, s.dir)
		}
		return fmt.Errorf("%w: %s holds store %x, not %x", store.ErrWrongStore, s.dir, s.id, want)
	}
	return nil
}
