package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyBackupAndRestore: a key backup and an export bring a node back
// on a fresh home with the same identity, and its statements are its own
// again (it can retract them); without the key the same import would be a
// stranger's statements.
func TestKeyBackupAndRestore(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	id := a.id()
	a.ok("vouch", "@bob@example.social", "--reason", "kind")
	dir := t.TempDir()
	backup, bundle := filepath.Join(dir, "alice.key"), filepath.Join(dir, "alice.kith")
	a.ok("key", "backup", "--out", backup)
	a.ok("export", "--out", bundle)
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	a.failWith(1, "exists; pass --force", "key", "backup", "--out", backup)
	a.failWith(2, "--out FILE is required", "key", "backup")

	// A stranger's home importing the bundle: alice's statement is not
	// theirs.
	s := newNode(t, "stranger")
	s.ok("init")
	s.ok("import", bundle)
	if mine := s.list("--by", "me"); len(mine) != 0 {
		t.Fatalf("a stranger owns %d of alice's statements", len(mine))
	}

	// Alice on a new machine: same passphrase, the backup and the bundle.
	r := newNode(t, "alice-again")
	r.vars["KITH_PASSPHRASE"] = a.vars["KITH_PASSPHRASE"]
	r.failWith(2, "--import needs --restore", "init", "--import", bundle)
	r.ok("init", "--restore", backup, "--import", bundle)
	if got := r.id(); got != id {
		t.Fatalf("restored peer ID %s, want %s", got, id)
	}
	mine := r.list("--by", "me")
	if len(mine) != 1 || mine[0].Reason != "kind" {
		t.Fatalf("restored statements: %+v", mine)
	}
	r.ok("retract", mine[0].CID) // only the issuer's key can do this
	if got := r.list(); len(got) != 0 {
		t.Fatalf("after retract: %+v", got)
	}

	// The wrong passphrase for the backup, and a damaged backup, are told
	// apart; neither leaves a half-made home.
	w := newNode(t, "wrong")
	w.vars["KITH_PASSPHRASE"] = "not it"
	w.failWith(1, "wrong passphrase for the vault "+backup, "init", "--restore", backup)
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	raw[30] ^= 1
	damaged := filepath.Join(dir, "damaged.key")
	if err := os.WriteFile(damaged, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	w.vars["KITH_PASSPHRASE"] = a.vars["KITH_PASSPHRASE"]
	w.failWith(1, "is damaged", "init", "--restore", damaged)
	if _, err := os.Stat(filepath.Join(w.home, "vault")); !os.IsNotExist(err) {
		t.Fatalf("a failed restore left a vault: %v", err)
	}
}

// TestInitHelpSaysHowThePassphraseComes: init --help names every source.
func TestInitHelpSaysHowThePassphraseComes(t *testing.T) {
	out := newNode(t, "alice").ok("init", "--help")
	for _, want := range []string{"$KITH_PASSPHRASE", "--passphrase-file", "prompt", "--restore"} {
		if !strings.Contains(out, want) {
			t.Errorf("init --help lacks %q:\n%s", want, out)
		}
	}
}
