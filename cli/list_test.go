package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListShowsIssuerAndSupersededStatements: two people's statements
// about carol are told apart by issuer, and a statement the same issuer
// made again about the same subject and context is "superseded", since
// only the latest counts.
func TestListShowsIssuerAndSupersededStatements(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	bob := b.id()
	b.ok("vouch", "@carol@example.social")
	bundle := filepath.Join(t.TempDir(), "bob.kith")
	b.ok("export", "--out", bundle)
	a.ok("import", bundle)
	a.ok("vouch", "@carol@example.social", "--strength", "40")
	a.ok("warn", "@carol@example.social", "--strength", "60") // alice changed her mind
	a.ok("vouch", "@carol@example.social", "--context", "spam")

	var vs []map[string]any
	if err := json.Unmarshal([]byte(a.ok("list", "--json")), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 4 {
		t.Fatalf("%d listed, want 4", len(vs))
	}
	// Every field README promises is there, even when empty.
	for _, f := range []string{"cid", "kind", "issuer", "subject", "subject_key", "subject_acct", "context", "strength",
		"reason", "evidence", "created", "expires", "audience", "retracted", "expired", "superseded", "state", "consents"} {
		for i, v := range vs {
			if _, ok := v[f]; !ok {
				t.Errorf("attestation %d lacks %q: %v", i, f, v)
			}
		}
	}
	states := []string{}
	for _, v := range vs {
		states = append(states, v["issuer"].(string)[:8]+" "+v["kind"].(string)+" "+v["context"].(string)+" "+v["state"].(string))
	}
	want := []string{"12D3KooW vouch general active", "12D3KooW vouch general superseded", "12D3KooW warn general active", "12D3KooW vouch spam active"}
	if strings.Join(states, "; ") != strings.Join(want, "; ") {
		t.Fatalf("states:\n got %v\nwant %v", states, want)
	}
	if vs[0]["issuer"] != bob || vs[1]["issuer"] == bob || vs[1]["superseded"] != true {
		t.Fatalf("issuers: %v", vs)
	}
	// The table has an issuer column: bob's row names bob, alice's says you.
	out := a.ok("list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], "ISSUER") || !strings.Contains(lines[1], bob) || !strings.Contains(lines[2], " you ") ||
		!strings.Contains(lines[2], "superseded") {
		t.Fatalf("table:\n%s", out)
	}
}

// TestExportRefusesToOverwrite: export --out never replaces a file unless
// --force.
func TestExportRefusesToOverwrite(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	a.ok("vouch", "@bob@example.social")
	p := filepath.Join(t.TempDir(), "precious.kith")
	if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.failWith(1, "exists; pass --force to replace it", "export", "--out", p)
	if b, _ := os.ReadFile(p); string(b) != "keep me" {
		t.Fatalf("export replaced the file: %q", b)
	}
	a.ok("export", "--out", p, "--force")
	if b, _ := os.ReadFile(p); string(b) == "keep me" {
		t.Fatal("export --force did not replace the file")
	}
}

// TestConsentListShowsReason: the owner sees why someone vouched before
// deciding.
func TestConsentListShowsReason(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	b.ok("vouch", a.id(), "--audience", "public", "--reason", "fixed my bike")
	bundle := filepath.Join(t.TempDir(), "bob.kith")
	b.ok("export", "--out", bundle)
	a.ok("import", bundle)
	out := a.ok("consent", "list")
	if !strings.Contains(out, "REASON") || !strings.Contains(out, "fixed my bike") {
		t.Fatalf("consent list:\n%s", out)
	}
	var rs []map[string]any
	if err := json.Unmarshal([]byte(a.ok("consent", "list", "--json")), &rs); err != nil || len(rs) != 1 || rs[0]["reason"] != "fixed my bike" {
		t.Fatalf("consent list --json: %v %v", rs, err)
	}
}
