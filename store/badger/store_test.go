package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/storetest"
	"github.com/kith-net/kith/wire"
)

// testKey is a fixed encryption key for tests.
var testKey = bytes.Repeat([]byte{0x42}, EncryptionKeySize)

func openT(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  []byte
	}{
		{"encrypted", testKey},
		{"plain", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				return openT(t, Options{Dir: t.TempDir(), EncryptionKey: tt.key})
			})
		})
	}
}

// testAttestation returns a signed attestation; i varies its content.
func testAttestation(t testing.TB, k *wire.PrivateKey, subject wire.PublicKey, acct string, i int) *wire.Attestation {
	t.Helper()
	a := &wire.Attestation{
		Subject:  wire.Subject{Key: &subject, Acct: acct},
		Kind:     wire.Vouch,
		Context:  "general",
		Strength: 10,
		Created:  uint64(1_700_000_000 + i),
		Audience: wire.PublicAudience,
		Nonce:    bytes.Repeat([]byte{byte(i), byte(i >> 8)}, wire.NonceSize/2),
	}
	if err := a.Sign(k); err != nil {
		t.Fatal(err)
	}
	return a
}

func testKeys() (issuer *wire.PrivateKey, subject wire.PublicKey) {
	return wire.NewPrivateKey([32]byte{1}), wire.NewPrivateKey([32]byte{2}).Public()
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "store")
	opts := Options{Dir: dir, EncryptionKey: testKey}
	k, subj := testKeys()
	a := testAttestation(t, k, subj, "", 1)
	s := openT(t, opts)
	if _, err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
	s = openT(t, opts)
	got, err := s.Get(ctx, a.CID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Raw(), a.Raw()) {
		t.Fatal("reopened store returned other bytes")
	}
}

func TestOpenInvalid(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"no dir", Options{}, store.ErrInvalid},
		{"short key", Options{Dir: t.TempDir(), EncryptionKey: make([]byte, 16)}, store.ErrInvalid},
		{"empty key", Options{Dir: t.TempDir(), EncryptionKey: []byte{}}, store.ErrInvalid},
		{"read-only missing dir", Options{Dir: filepath.Join(t.TempDir(), "missing"), ReadOnly: true}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, Options{Dir: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: error = %v, want context.Canceled", err)
	}
}

func TestEncryptionKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir, EncryptionKey: testKey})
	s.Close()
	other := bytes.Repeat([]byte{7}, EncryptionKeySize)
	for _, tt := range []struct {
		name string
		key  []byte
	}{
		{"wrong key", other},
		{"no key", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, Options{Dir: dir, EncryptionKey: tt.key})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.HasPrefix(err.Error(), "store: open") {
				t.Fatalf("error %q does not name the operation", err)
			}
		})
	}
}

// TestEncryptedAtRest checks that no plaintext of an object reaches the
// disk when encryption is on, and that the check would see it when it is
// off.
func TestEncryptedAtRest(t *testing.T) {
	const marker = "acct:plaintext-marker-5f3a@example.org"
	for _, tt := range []struct {
		name      string
		key       []byte
		wantFound bool
	}{
		{"encrypted", testKey, false},
		{"plain", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			k, subj := testKeys()
			s := openT(t, Options{Dir: dir, EncryptionKey: tt.key})
			var objs []wire.Object
			for i := range 50 {
				objs = append(objs, testAttestation(t, k, subj, marker, i))
			}
			if _, err := s.Put(context.Background(), objs...); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			found := false
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, subj[:]) {
					t.Logf("plaintext in %s", d.Name())
					found = true
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.wantFound {
				t.Fatalf("plaintext found on disk = %v, want %v", found, tt.wantFound)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k, subj := testKeys()
	a := testAttestation(t, k, subj, "", 1)
	s := openT(t, Options{Dir: dir, EncryptionKey: testKey})
	if _, err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro := openT(t, Options{Dir: dir, EncryptionKey: testKey, ReadOnly: true})
	if _, err := ro.Get(ctx, a.CID()); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Put(ctx, testAttestation(t, k, subj, "", 2)); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("Put on a read-only store: error = %v, want ErrReadOnly", err)
	}
	if n, err := ro.Count(ctx); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v; want 1", n, err)
	}
}

// rawDB opens the database under a store directly, to plant data.
func rawDB(t *testing.T, dir string) *bdg.DB {
	t.Helper()
	db, err := bdg.Open(bdg.DefaultOptions(dir).WithLogger(nil).WithValueThreshold(valueThreshold).WithMemTableSize(memTableSize))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func rawSet(t *testing.T, db *bdg.DB, k, v []byte) {
	t.Helper()
	if err := db.Update(func(txn *bdg.Txn) error { return txn.Set(k, v) }); err != nil {
		t.Fatal(err)
	}
}

func TestSchema(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		plant   func(t *testing.T, db *bdg.DB)
		want    error
		wantMsg []string
	}{
		{"new store", func(*testing.T, *bdg.DB) {}, nil, nil},
		{"newer schema", func(t *testing.T, db *bdg.DB) { rawSet(t, db, keySchema, be64(2)) },
			store.ErrSchemaTooNew, []string{"version 2", "version 1"}},
		{"zero schema", func(t *testing.T, db *bdg.DB) { rawSet(t, db, keySchema, be64(0)) }, store.ErrCorrupt, nil},
		{"malformed schema", func(t *testing.T, db *bdg.DB) { rawSet(t, db, keySchema, []byte{1}) }, store.ErrCorrupt, nil},
		{"data without schema", func(t *testing.T, db *bdg.DB) {
			if err := db.DropAll(); err != nil {
				t.Fatal(err)
			}
			rawSet(t, db, []byte("o/x"), []byte("y"))
		}, store.ErrCorrupt, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, Options{Dir: dir})
			s.Close()
			db := rawDB(t, dir)
			var v []byte
			if err := db.View(func(txn *bdg.Txn) error {
				item, err := txn.Get(keySchema)
				if err != nil {
					return err
				}
				v, err = item.ValueCopy(nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v, be64(1)) {
				t.Fatalf("schema of a new store = %x, want version 1", v)
			}
			tt.plant(t, db)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, Options{Dir: dir})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// TestCorruptObject plants bytes under the wrong key and checks that no
// read serves them.
func TestCorruptObject(t *testing.T) {
	ctx := context.Background()
	k, subj := testKeys()
	a := testAttestation(t, k, subj, "", 1)
	b := testAttestation(t, k, subj, "", 2)
	flipped := bytes.Clone(a.Raw())
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name string
		raw  []byte
	}{
		{"other object's bytes", b.Raw()},
		{"flipped bit", flipped},
		{"empty", []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, Options{Dir: dir})
			if _, err := s.Put(ctx, a); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db := rawDB(t, dir)
			rawSet(t, db, objectKey(a.CID()), tt.raw)
			db.Close()
			s = openT(t, Options{Dir: dir})
			checks := map[string]func() error{
				"Get": func() error { _, err := s.Get(ctx, a.CID()); return err },
				"Attestations": func() error {
					_, err := s.Attestations(ctx, store.Query{Issuer: &a.Issuer})
					return err
				},
				"Status": func() error { _, err := s.Status(ctx, a.CID()); return err },
				"All":    func() error { return s.All(ctx, func(wire.Object) error { return nil }) },
			}
			for name, check := range checks {
				if err := check(); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("%s error = %v, want ErrCorrupt", name, err)
				}
			}
			if ok, err := s.Has(ctx, a.CID()); !ok || err != nil {
				t.Errorf("Has = %v, %v; want true (Has does not read the object)", ok, err)
			}
		})
	}
}

// TestPutSplits puts more than one transaction holds and checks that every
// object and index entry arrived.
func TestPutSplits(t *testing.T) {
	ctx := context.Background()
	s := openT(t, Options{Dir: t.TempDir(), EncryptionKey: testKey})
	k, subj := testKeys()
	var objs []wire.Object
	size := 0
	for i := 0; size < 3*int(s.db.MaxBatchSize())/2; i++ {
		a := &wire.Attestation{
			Subject:  wire.Subject{Key: &subj, Acct: "acct:someone@example.org"},
			Kind:     wire.Warn,
			Context:  "trade",
			Strength: 90,
			Reason:   strings.Repeat("a long reason ", 36),
			Created:  uint64(1_700_000_000 + i),
			Audience: wire.PublicAudience,
			Nonce:    binary.BigEndian.AppendUint64(make([]byte, 8), uint64(i)),
		}
		if err := a.Sign(k); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, a)
		for _, ik := range indexKeys(a) {
			size += len(ik)
		}
		size += len(objectKey(a.CID())) + len(a.Raw())
	}
	start := time.Now()
	added, err := s.Put(ctx, objs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("put %d objects (%d bytes) in %v", len(objs), size, time.Since(start))
	if added != len(objs) {
		t.Fatalf("added %d, want %d", added, len(objs))
	}
	got, err := s.Attestations(ctx, store.Query{Acct: "acct:someone@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(objs) {
		t.Fatalf("query found %d, want %d", len(got), len(objs))
	}
	if err := checkConsistency(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Objects are stored inline: the value log holds only its header.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	vlogs, err := filepath.Glob(filepath.Join(s.dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vlogs {
		if fi, err := os.Stat(v); err != nil {
			t.Fatal(err)
		} else if fi.Size() > vlogHeaderSize {
			t.Errorf("%s is %d bytes: values went to the value log", filepath.Base(v), fi.Size())
		}
	}
}

// vlogHeaderSize is the size of badger's log file header (key ID and IV).
const vlogHeaderSize = 20

// TestWriteFailurePoisons checks that after a commit of unknown outcome
// every later Put fails.
func TestWriteFailurePoisons(t *testing.T) {
	ctx := context.Background()
	s := openT(t, Options{Dir: t.TempDir()})
	boom := errors.New("disk on fire")
	s.writeErr.Store(&boom)
	k, subj := testKeys()
	if _, err := s.Put(ctx, testAttestation(t, k, subj, "", 1)); !errors.Is(err, boom) {
		t.Fatalf("Put error = %v, want the earlier failure", err)
	}
}

// TestLogger checks that badger's log reaches the slog.Logger.
func TestLogger(t *testing.T) {
	h := &recordHandler{}
	s := openT(t, Options{Dir: t.TempDir(), Logger: slog.New(h)})
	s.Close()
	if h.count() == 0 {
		t.Fatal("no badger log records")
	}
}

type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}

func (h *recordHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.records)
}

// TestOptions guards the settings the durability and memory contracts rest
// on (the crash tests cannot see a missing fsync: kill -9 keeps the page
// cache).
func TestOptions(t *testing.T) {
	s := openT(t, Options{Dir: t.TempDir(), EncryptionKey: testKey})
	o := s.db.Opts()
	switch {
	case !o.SyncWrites:
		t.Error("SyncWrites is off")
	case o.ValueThreshold <= wire.MaxObjectSize:
		t.Errorf("ValueThreshold %d: objects up to %d bytes would go to the value log", o.ValueThreshold, wire.MaxObjectSize)
	case o.ValueThreshold > s.db.MaxBatchSize():
		t.Errorf("ValueThreshold %d exceeds the maximum batch size %d", o.ValueThreshold, s.db.MaxBatchSize())
	case !o.DetectConflicts:
		t.Error("DetectConflicts is off: concurrent Puts could count an object twice")
	case len(o.EncryptionKey) != EncryptionKeySize || o.IndexCacheSize == 0:
		t.Errorf("encryption: key %d bytes, index cache %d", len(o.EncryptionKey), o.IndexCacheSize)
	case o.MemTableSize != memTableSize || o.BlockCacheSize != blockCacheSize:
		t.Errorf("memtable %d, block cache %d", o.MemTableSize, o.BlockCacheSize)
	}
}

// TestPutConflict makes a concurrent Put of the same object commit between
// a Put's read and its commit, and checks that the conflict is retried and
// the object counted once.
func TestPutConflict(t *testing.T) {
	ctx := context.Background()
	s := openT(t, Options{Dir: t.TempDir()})
	k, subj := testKeys()
	a := testAttestation(t, k, subj, "", 1)
	commits := 0
	var inner int
	var innerErr error
	s.beforeCommit = func() {
		commits++
		if commits == 1 {
			// The outer Put has read "absent"; another Put stores a first.
			// beforeCommit runs in the outer Put's goroutine, and the inner
			// Put runs to completion before it returns.
			done := make(chan struct{})
			go func() {
				defer close(done)
				inner, innerErr = s.Put(ctx, a)
			}()
			<-done
		}
	}
	outer, err := s.Put(ctx, a)
	if err != nil || innerErr != nil {
		t.Fatalf("Put: %v, %v", err, innerErr)
	}
	if inner != 1 || outer != 0 {
		t.Fatalf("added %d (inner) and %d (outer), want 1 and 0", inner, outer)
	}
	if commits != 3 { // outer, inner, outer retried
		t.Fatalf("%d commits, want 3 (a conflict and a retry)", commits)
	}
}

// Tables written compressed (Snappy, badger's default, as stores were
// before they stopped compressing) stay readable: badger records each
// table's compression in its manifest.
func TestCompressedTablesReadable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bdg.Open(bdg.DefaultOptions(dir).WithLogger(nil).WithCompression(options.Snappy).WithValueThreshold(valueThreshold).WithMemTableSize(memTableSize))
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("compressible "), 100)
	rawSet(t, db, []byte("x/planted"), want)
	if err := db.Close(); err != nil { // flushes the memtable into a Snappy table
		t.Fatal(err)
	}
	s, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var compressed int
	for _, ti := range s.db.Tables() {
		if ti.OnDiskSize < ti.UncompressedSize {
			compressed++
		}
	}
	if compressed == 0 {
		t.Fatal("no compressed table to read")
	}
	err = s.db.View(func(txn *bdg.Txn) error {
		item, err := txn.Get([]byte("x/planted"))
		if err != nil {
			return err
		}
		got, err := item.ValueCopy(nil)
		if err == nil && !bytes.Equal(got, want) {
			t.Errorf("read %q, want %q", got, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
