package badger

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Issue 24, items 5, 7, 8 and 9: what the store does when its files are
// damaged or missing, when another process holds it, and when it cannot
// write.

// someObjects returns n signed attestations of about 500 bytes.
func someObjects(t testing.TB, n int) []wire.Object {
	t.Helper()
	k, err := wire.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := wire.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]wire.Object, n)
	for i := range objs {
		nonce := make([]byte, wire.NonceSize)
		rand.Read(nonce)
		a := &wire.Attestation{
			Subject: wire.KeySubject(subject.Public()), Kind: wire.Vouch, Context: "general", Strength: 50,
			Reason: strings.Repeat("r", 400), Created: 1_700_000_000 + uint64(i), Audience: wire.PublicAudience, Nonce: nonce,
		}
		if err := a.Sign(k); err != nil {
			t.Fatal(err)
		}
		objs[i] = a
	}
	return objs
}

var robustKey = bytes.Repeat([]byte{7}, EncryptionKeySize)

// filled creates an encrypted store in a new directory with n objects, and
// closes it (which flushes its memtable into a table).
func filled(t *testing.T, n int) (dir string, id []byte) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "store")
	s, err := Open(context.Background(), Options{Dir: dir, EncryptionKey: robustKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), someObjects(t, n)...); err != nil {
		t.Fatal(err)
	}
	id = s.ID()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, id
}

func listDir(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, e := range es {
		if info, err := e.Info(); err == nil {
			m[e.Name()] = info.Size()
		}
	}
	return m
}

// TestOpenDamaged: a store whose MANIFEST or KEYREGISTRY is missing, or
// whose table is truncated, is refused with an error naming the file and
// saying how to recover, instead of badger emptying the store (a missing
// MANIFEST: it deletes every table) or panicking; nothing is changed on
// disk. A memtable file left empty by a crash is removed and the store
// opens.
func TestOpenDamaged(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   error // nil: opens, with every object
	}{
		{"MANIFEST missing", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, manifestFile))) }, store.ErrCorrupt},
		{"KEYREGISTRY missing", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, keyRegistryFile))) }, store.ErrCorrupt},
		{"table truncated", func(t *testing.T, dir string) {
			tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
			if len(tables) == 0 {
				t.Fatal("no table to truncate")
			}
			info, err := os.Stat(tables[0])
			must(t, err)
			must(t, os.Truncate(tables[0], info.Size()/2))
		}, store.ErrCorrupt},
		{"table's last bytes lost", func(t *testing.T, dir string) {
			tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
			info, err := os.Stat(tables[0])
			must(t, err)
			must(t, os.Truncate(tables[0], info.Size()-3))
		}, store.ErrCorrupt},
		{"empty memtable file", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "00099.mem"), nil, 0o600))
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			const n = 300
			dir, _ := filled(t, n)
			c.damage(t, dir)
			before := listDir(t, dir)
			s, err := Open(context.Background(), Options{Dir: dir, EncryptionKey: robustKey})
			if c.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				if got, err := s.Count(context.Background()); err != nil || got != n {
					t.Fatalf("%d objects (%v), want %d", got, err, n)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("a damaged store opened")
			}
			t.Logf("Open: %v", err)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), "restore the store from a backup") {
				t.Errorf("Open error %v: want %v and a way to recover", err, c.want)
			}
			if after := listDir(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the refused open changed the store's files: %v, then %v", before, after)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoreID (item 5): a store has an ID; opened with the ID it must have,
// a missing, empty or foreign store is refused (and not created), and a
// store written before IDs existed gets one.
func TestStoreID(t *testing.T) {
	ctx := context.Background()
	dir, id := filled(t, 10)
	if len(id) != IDSize {
		t.Fatalf("ID of %d bytes", len(id))
	}
	s, err := Open(ctx, Options{Dir: dir, EncryptionKey: robustKey, ID: id})
	if err != nil {
		t.Fatalf("the store with its own ID: %v", err)
	}
	must(t, s.Close())

	other, otherID := filled(t, 1)
	if bytes.Equal(otherID, id) {
		t.Fatal("two stores share an ID")
	}
	missing := filepath.Join(t.TempDir(), "store")
	empty := t.TempDir()
	for _, c := range []struct{ what, dir string }{{"missing", missing}, {"empty", empty}, {"foreign", other}} {
		_, err := Open(ctx, Options{Dir: c.dir, EncryptionKey: robustKey, ID: id})
		t.Logf("%s store: %v", c.what, err)
		if !errors.Is(err, store.ErrWrongStore) {
			t.Errorf("%s store opened with another's ID: %v, want ErrWrongStore", c.what, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused open created %s", missing)
	}
	if m := listDir(t, empty); len(m) != 0 {
		t.Errorf("a refused open wrote into the empty directory: %v", m)
	}

	// A store without an ID (written before IDs) gets one on opening, and
	// keeps it.
	s, err = Open(ctx, Options{Dir: dir, EncryptionKey: robustKey})
	must(t, err)
	must(t, s.db.Update(func(txn *bdg.Txn) error { return txn.Delete(keyID) }))
	must(t, s.Close())
	s, err = Open(ctx, Options{Dir: dir, EncryptionKey: robustKey})
	must(t, err)
	got := s.ID()
	must(t, s.Close())
	s, err = Open(ctx, Options{Dir: dir, EncryptionKey: robustKey, ID: got})
	must(t, err)
	must(t, s.Close())
	if len(got) != IDSize || bytes.Equal(got, id) {
		t.Errorf("the store without an ID got %x (it had %x)", got, id)
	}
}

// TestLockWait (item 7): a store another opener holds is waited for, up to
// LockWait; then Open fails naming the holder.
func TestLockWait(t *testing.T) {
	ctx := context.Background()
	dir, _ := filled(t, 1)
	held, err := Open(ctx, Options{Dir: dir, EncryptionKey: robustKey})
	must(t, err)
	_, err = Open(ctx, Options{Dir: dir, EncryptionKey: robustKey, LockWait: 300 * time.Millisecond})
	t.Logf("held: %v", err)
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("open of a held store: %v; want ErrInUse naming process %d", err, os.Getpid())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // joined below
		defer wg.Done()
		time.Sleep(200 * time.Millisecond)
		if err := held.Close(); err != nil {
			t.Error(err)
		}
	}()
	s, err := Open(ctx, Options{Dir: dir, EncryptionKey: robustKey, LockWait: time.Minute})
	wg.Wait()
	if err != nil {
		t.Fatalf("open once the holder let go: %v", err)
	}
	must(t, s.Close())
}

// TestFileModes (item 8): the store's directory is 0700 and its files 0600
// once opened, whatever they were.
func TestFileModes(t *testing.T) {
	dir, _ := filled(t, 50)
	must(t, os.Chmod(dir, 0o755))
	s, err := Open(context.Background(), Options{Dir: dir, EncryptionKey: robustKey})
	must(t, err)
	defer s.Close()
	info, err := os.Stat(dir)
	must(t, err)
	if info.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", info.Mode().Perm())
	}
	es, err := os.ReadDir(dir)
	must(t, err)
	for _, e := range es {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by others", e.Name(), info.Mode().Perm())
		}
	}
}

// countingHandler counts the log records at Error whose message starts
// with prefix.
type countingHandler struct {
	slog.Handler
	prefix string
	mu     sync.Mutex
	n      int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && strings.HasPrefix(r.Message, h.prefix) {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// closeWithin runs Close and fails the test if it has not returned after
// limit (a hang: the bound is far above closeGrace).
func closeWithin(t *testing.T, s *Store, limit time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Close() }() // joined below, or the test fails
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("Close has not returned after %v", limit)
		return 0, nil
	}
}

// TestDirectoryRemoved (item 9): the store's directory disappears under it.
// Every later Put fails at once, the failure is logged once, Err reports it,
// and Close returns with the failure instead of waiting without end for
// badger's memtable flush.
func TestDirectoryRemoved(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	h := &countingHandler{prefix: "store: writes failing"}
	s, err := Open(ctx, Options{Dir: dir, EncryptionKey: robustKey, Logger: slog.New(h)})
	must(t, err)
	if _, err := s.Put(ctx, someObjects(t, 100)...); err != nil {
		t.Fatal(err)
	}
	must(t, os.RemoveAll(dir))
	for range 5 {
		if _, err := s.Put(ctx, someObjects(t, 10)...); !errors.Is(err, store.ErrUnwritable) {
			t.Fatalf("Put after the directory went: %v, want ErrUnwritable", err)
		}
	}
	if err := s.Err(); !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("Err: %v", err)
	}
	if _, err := s.Count(ctx); err != nil {
		t.Errorf("reads fail too: %v", err)
	}
	took, err := closeWithin(t, s, time.Minute)
	t.Logf("Close after %v: %v; logged %d times", took.Round(time.Millisecond), err, h.count())
	if !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("Close: %v, want the write failure", err)
	}
	if h.count() != 1 {
		t.Errorf("the write failure was logged %d times, want once", h.count())
	}
}

// tmpfsEnv names the test a re-executed test binary runs with a tmpfs.
const tmpfsEnv = "KITH_TEST_TMPFS"

// inTmpfs runs the calling test again in a mount namespace of its own
// (unshare --mount), with a tmpfs of size mounted at a directory it returns:
// true in that copy, which runs the test's body; false in the caller, which
// reports the copy's outcome. Without unshare, or the privilege to mount,
// the test is skipped.
func inTmpfs(t *testing.T, size string) (string, bool) {
	t.Helper()
	if os.Getenv(tmpfsEnv) == t.Name() {
		dir := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount a tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
		return dir, true
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare: the full-disk test needs util-linux")
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a mount namespace (needs CAP_SYS_ADMIN): %v %s", err, out)
	}
	cmd := exec.CommandContext(t.Context(), "unshare", "--mount", "--propagation", "private", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), tmpfsEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a mount namespace of its own:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed in its mount namespace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatal("the test did not run in its mount namespace")
	}
	return "", false
}

// TestDiskFull (item 9): a small file system fills up under the store. The
// store refuses writes while less than its reserve is free, so badger never
// writes to a full disk (through its memory-mapped WAL that is a SIGBUS,
// which kills the process); what it acknowledged stays; Close works; and
// once there is room again, writes are accepted.
func TestDiskFull(t *testing.T) {
	mnt, ok := inTmpfs(t, "160m")
	if !ok {
		return
	}
	ctx := context.Background()
	dir := filepath.Join(mnt, "store")
	h := &countingHandler{prefix: "store: the disk is nearly full"}
	s, err := Open(ctx, Options{Dir: dir, EncryptionKey: robustKey, Logger: slog.New(h)})
	must(t, err)
	// Ballast: leave 8 MiB more than the reserve.
	free, ok := freeSpace(mnt)
	if !ok {
		t.Fatal("no free space figure")
	}
	ballast := filepath.Join(mnt, "ballast")
	must(t, os.WriteFile(ballast, make([]byte, free-DefaultMinFree-8<<20), 0o600))
	acked := 0
	var putErr error
	for range 1000 {
		objs := someObjects(t, 100)
		n, err := s.Put(ctx, objs...)
		acked += n
		if err != nil {
			putErr = err
			break
		}
	}
	free, _ = freeSpace(mnt)
	t.Logf("%d objects acknowledged, then: %v (%d MiB free); logged %d times", acked, putErr, free>>20, h.count())
	if !errors.Is(putErr, store.ErrUnwritable) {
		t.Fatalf("Put on a nearly full disk: %v, want ErrUnwritable", putErr)
	}
	if err := s.Err(); !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("Err: %v", err)
	}
	if _, err := s.Put(ctx, someObjects(t, 1)...); !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("a second Put: %v", err)
	}
	if h.count() != 1 {
		t.Errorf("the full disk was logged %d times, want once", h.count())
	}
	took, err := closeWithin(t, s, time.Minute)
	t.Logf("Close after %v: %v", took.Round(time.Millisecond), err)
	if err != nil {
		t.Errorf("Close on a nearly full disk: %v", err)
	}
	// Room again: nothing acknowledged was lost, and writes work.
	must(t, os.Remove(ballast))
	s, err = Open(ctx, Options{Dir: dir, EncryptionKey: robustKey})
	must(t, err)
	defer s.Close()
	// Nothing acknowledged is lost. Some objects of the batch refused
	// mid-write (100) may have reached the disk unacknowledged: objects
	// are content-addressed, so the caller's retry is harmless.
	if n, err := s.Count(ctx); err != nil || n < acked || n > acked+100 {
		t.Errorf("%d objects after reopening (%v), %d acknowledged (at most 100 more may have landed)", n, err, acked)
	}
	if _, err := s.Put(ctx, someObjects(t, 10)...); err != nil {
		t.Errorf("Put once there is room: %v", err)
	}
}
