package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failWith runs a command that must fail with exit code code and a one-line
// error containing want.
func (n *node) failWith(code int, want string, args ...string) string {
	n.t.Helper()
	out, errs, got := n.run(args...)
	if got != code {
		n.t.Errorf("kith %s: exit %d, want %d; stderr %q; stdout %q", strings.Join(args, " "), got, code, errs, out)
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "kith: ") {
		n.t.Errorf("kith %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
	return errs
}

// leaks are fragments of messages meant for programmers, not users.
var leaks = []string{"wire: ", "strconv.", "cbor:", "store: ", "vault: vault", ".tmp", ": : ", "Go value", "parse CID"}

// TestExitCodes: bad usage (a wrong value, flag, argument or command) exits
// 2, a failure 1, and each message says what is wrong in the user's terms,
// once, without the packages' internals.
func TestExitCodes(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	self := a.id()
	garbage := filepath.Join(t.TempDir(), "garbage.kith")
	if err := os.WriteFile(garbage, []byte("kith is not a bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		code int
		want string
		args []string
	}{
		{2, `subject: "@bob" is not user@host; want a peer ID`, []string{"vouch", "@bob"}},
		{2, `--context: "Bad": only a-z`, []string{"vouch", "@bob@example.social", "--context", "Bad"}},
		{2, "--context is empty", []string{"vouch", "@bob@example.social", "--context", ""}},
		{2, "--context is empty", []string{"query", "@bob@example.social", "--context", ""}},
		{2, `--context: "Bad": only a-z`, []string{"query", "@bob@example.social", "--context", "Bad"}},
		{2, `--audience: "friends" is neither`, []string{"vouch", "@bob@example.social", "--audience", "friends"}},
		{2, `--evidence: "notaurl" is neither`, []string{"vouch", "@bob@example.social", "--evidence", "notaurl"}},
		{2, "--strength 0: want 1..100", []string{"vouch", "@bob@example.social", "--strength", "0"}},
		{2, `--strength "-5": want a whole number`, []string{"vouch", "@bob@example.social", "--strength", "-5"}},
		{2, "cannot be about its own issuer", []string{"vouch", self}},
		{2, `"nonsense" is not a CID`, []string{"retract", "nonsense"}},
		{2, `"nonsense" is not a CID`, []string{"consent", "approve", "nonsense"}},
		{2, `--by "x": want me`, []string{"list", "--by", "x"}},
		{2, "unknown flag: --colour", []string{"list", "--colour"}},
		{2, `unknown command "bogus" for "kith"`, []string{"bogus"}},
		{2, `unknown command "sim" for "kith": it is in the research lab's binary, kith-lab`, []string{"sim", "run", "sybil"}},
		{2, `unknown command "aprove" for "kith consent" (did you mean approve?)`, []string{"consent", "aprove"}},
		{2, "accepts 1 arg(s), received 0 (usage: kith vouch <subject> [flags])", []string{"vouch"}},
		{2, "--limit -1", []string{"list", "--limit", "-1"}},
		{1, "no such attestation in your store", []string{"retract", "bafyreifks4um5v6eevtzppj2z5aj6rdfzpmzdqjsgfjgln5cjiqmrhtdpa"}},
		{1, "no such attestation", []string{"consent", "approve", "bafyreifks4um5v6eevtzppj2z5aj6rdfzpmzdqjsgfjgln5cjiqmrhtdpa"}},
		{1, "not a kith bundle, or a damaged one (malformed)", []string{"import", garbage}},
		{1, "no directory", []string{"export", "--out", filepath.Join(t.TempDir(), "missing", "x.kith")}},
	}
	for _, c := range cases {
		errs := a.failWith(c.code, c.want, c.args...)
		for _, l := range leaks {
			if strings.Contains(errs, l) {
				t.Errorf("kith %s: message %q leaks %q", strings.Join(c.args, " "), errs, l)
			}
		}
	}
	// A group command alone prints its help and succeeds.
	if out := a.ok("consent"); !strings.Contains(out, "approve") {
		t.Errorf("kith consent: %q", out)
	}
}

// TestPassphraseMessages: each way of not giving the vault's passphrase
// is said once, with what to do.
func TestPassphraseMessages(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	pass := a.vars["KITH_PASSPHRASE"]
	delete(a.vars, "KITH_PASSPHRASE")
	errs := a.failWith(1, "no passphrase: set KITH_PASSPHRASE, pass --passphrase-file FILE, or run kith in a terminal", "list")
	if strings.Count(errs, "KITH_PASSPHRASE") != 1 {
		t.Errorf("the hint repeats itself: %q", errs)
	}
	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte(pass+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs = a.failWith(1, "chmod 600 "+pf, "list", "--passphrase-file", pf)
	if strings.Count(errs, "vault:") > 1 || strings.Contains(errs, "passphrase file: vault") {
		t.Errorf("passphrase file message repeats itself: %q", errs)
	}
	if err := os.Chmod(pf, 0o600); err != nil {
		t.Fatal(err)
	}
	a.ok("list", "--passphrase-file", pf)
	a.failWith(1, "passphrase file "+pf+".missing: no such file", "list", "--passphrase-file", pf+".missing")
	a.vars["KITH_PASSPHRASE"] = "wrong"
	a.failWith(1, "wrong passphrase for the vault "+filepath.Join(a.home, "vault"), "list")
}

// TestDamagedVault: one flipped byte of the vault is reported as damage,
// with what to do, not as a wrong passphrase.
func TestDamagedVault(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	path := filepath.Join(a.home, "vault")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{20, 60, 100, len(b) - 1} { // salt, check value, digest, tag
		d := append([]byte(nil), b...)
		d[off] ^= 0x04
		if err := os.WriteFile(path, d, 0o600); err != nil {
			t.Fatal(err)
		}
		errs := a.failWith(1, "is damaged", "list")
		if strings.Contains(errs, "wrong passphrase") || !strings.Contains(errs, "kith init --restore") {
			t.Errorf("byte %d flipped: %q", off, errs)
		}
	}
}
