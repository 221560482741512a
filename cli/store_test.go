package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/vault"
)

// Issue 24, item 5: a home whose store lost its MANIFEST, or lost the whole
// store, is refused (kith list used to print 0 objects and exit 0 while
// badger deleted the tables), nothing on disk changes, and the error says
// how to recover; the recovery path works.
func TestStoreMissing(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	a.ok("vouch", b.id(), "--reason", "kept her word")
	if n := len(a.list()); n != 1 {
		t.Fatalf("%d statements listed, want 1", n)
	}
	store := filepath.Join(a.home, "store")

	// The MANIFEST is gone: refused, the tables stay.
	manifest := filepath.Join(store, "MANIFEST")
	saved, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(store, "*.sst"))
	a.fail("restore the store from a backup", "list")
	if after, _ := filepath.Glob(filepath.Join(store, "*.sst")); len(after) != len(tables) {
		t.Fatalf("tables %v, then %v: the refused open deleted some", tables, after)
	}
	if err := os.WriteFile(manifest, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := len(a.list()); n != 1 {
		t.Fatalf("%d statements listed once the MANIFEST is back, want 1", n)
	}

	// The whole store is gone: refused, and not created empty.
	aside := store + ".aside"
	if err := os.Rename(store, aside); err != nil {
		t.Fatal(err)
	}
	a.fail("KITH_NEW_STORE=1", "list")
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatalf("the refused command created %s: %v", store, err)
	}
	// Another home's store in its place: refused too.
	if err := os.Rename(filepath.Join(b.home, "store"), store); err != nil {
		t.Fatal(err)
	}
	a.fail("not this home's store", "list")
	if err := os.Rename(store, filepath.Join(b.home, "store")); err != nil {
		t.Fatal(err)
	}
	// Lost for good: the owner asks for an empty store, which is then
	// this home's store.
	a.vars["KITH_NEW_STORE"] = "1"
	if n := len(a.list()); n != 0 {
		t.Fatalf("%d statements in a new store", n)
	}
	delete(a.vars, "KITH_NEW_STORE")
	if n := len(a.list()); n != 0 {
		t.Fatalf("%d statements in the new store", n)
	}
	// The old store back is now a foreign one.
	if err := os.RemoveAll(store); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, store); err != nil {
		t.Fatal(err)
	}
	a.fail("not this home's store", "list")
	b.ok("list")
}

// Issue 24, item 7: a command started while another process holds the
// store (kith run starting as a command runs) waits for it briefly instead
// of failing at once.
func TestStoreHeldBriefly(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	secrets, err := vault.Open(filepath.Join(a.home, "vault"), []byte(a.vars["KITH_PASSPHRASE"]))
	if err != nil {
		t.Fatal(err)
	}
	held, err := badgerstore.Open(context.Background(), badgerstore.Options{Dir: filepath.Join(a.home, "store"), EncryptionKey: secrets.StoreKey[:]})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() { // joined below
		time.Sleep(time.Second)
		released <- held.Close()
	}()
	a.ok("list")
	if err := <-released; err != nil {
		t.Fatal(err)
	}
}

// Issue 24, item 8: init refuses a passphrase too short to protect the
// node's key, and creates nothing.
func TestInitShortPassphrase(t *testing.T) {
	a := newNode(t, "alice")
	a.vars["KITH_PASSPHRASE"] = "x"
	a.fail("at least 8", "init")
	if _, err := os.Stat(filepath.Join(a.home, "vault")); !os.IsNotExist(err) {
		t.Fatalf("a vault was written: %v", err)
	}
	a.vars["KITH_PASSPHRASE"] = "eight ch"
	a.ok("init")
}
