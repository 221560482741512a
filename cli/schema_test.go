package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaBase = "https://github.com/kith-net/kith/cli/schema/"

var (
	schemasOnce sync.Once
	schemas     *jsonschema.Compiler
	schemasErr  error
)

// compiler returns a compiler that knows every schema in cli/schema, so
// that one schema can refer to another.
func compiler(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	schemasOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		files, err := filepath.Glob("schema/*.schema.json")
		if err != nil || len(files) == 0 {
			schemasErr = err
			return
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				schemasErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				schemasErr = err
				return
			}
			if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
				schemasErr = err
				return
			}
		}
		schemas = c
	})
	if schemasErr != nil || schemas == nil {
		t.Fatalf("schemas: %v", schemasErr)
	}
	return schemas
}

// checkSchema validates out, the --json output of command, against the
// schema kith schema names for it.
func checkSchema(t *testing.T, n *node, command, out string) {
	t.Helper()
	schema := n.ok(append([]string{"schema"}, strings.Fields(command)...)...)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatalf("kith schema %s: %v", command, err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	sch, err := compiler(t).Compile(id)
	if err != nil {
		t.Fatalf("kith schema %s: %v", command, err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("kith %s --json printed no JSON: %v\n%s", command, err, out)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("kith %s --json does not match %s:\n%v\n%s", command, id, err, out)
	}
}

// TestJSONOutputsMatchTheirSchemas runs every command that has a schema
// with --json and validates what it prints.
func TestJSONOutputsMatchTheirSchemas(t *testing.T) {
	f := newFakeInstance(t)
	a, b := newNode(t, "alice"), newNode(t, "bob")
	check := func(n *node, command string, args ...string) string {
		t.Helper()
		out, _ := okIn(n, "", append(append(strings.Fields(command), "--json"), args...)...)
		checkSchema(t, n, command, out)
		return out
	}
	check(a, "init")
	check(b, "init")
	check(a, "id")
	check(a, "vouch", b.id(), "--reason", "fixed my bike")
	check(a, "warn", "@mallory@example.social", "--expires", "30d", "--evidence", "https://example.social/@m/1")
	check(b, "vouch", a.id(), "--audience", "public")
	dir := t.TempDir()
	check(b, "export", "--out", filepath.Join(dir, "bob.kith"))
	check(a, "import", filepath.Join(dir, "bob.kith"))
	check(a, "list", "--all")
	check(a, "retract", a.list("--by", "me")[0].CID)
	check(a, "consent list")
	var cid string
	for _, l := range a.list("--about", a.id()) {
		cid = l.CID
	}
	check(a, "consent approve", cid)
	check(a, "consent withdraw", cid)
	check(a, "status")
	check(a, "version")
	check(a, "man", "--dir", filepath.Join(dir, "man"))
	check(a, "key backup", "--out", filepath.Join(dir, "alice.key"))
	f.do(func() { f.accounts["alice"].following = []string{"carol"} })
	okIn(b, "token-of-bob\n", "fedi", "login", f.acct("bob"), "--token-stdin")
	okIn(b, "", "link", f.acct("bob"), "--set-field", "--out", filepath.Join(dir, "bob-link.kith"))
	out, _ := okIn(a, "token-of-alice\n", "fedi", "login", f.acct("alice"), "--token-stdin", "--json")
	checkSchema(t, a, "fedi login", out)
	check(a, "link", f.acct("alice"))
	check(a, "verify", f.acct("bob"), "--link", filepath.Join(dir, "bob-link.kith"))
	check(a, "fedi import")
	check(a, "query", b.id())
	check(a, "query", "@mallory@example.social")
	check(a, "query", "@nobody@example.social")
	check(a, "rank")
	check(a, "rank", "--bottom")
	check(a, "model show")
	check(a, "model train")
	// With the daemon: status, peers and consent actions through the API.
	stop := startDaemon(t, a)
	check(a, "status")
	check(a, "peers")
	check(a, "consent list")
	check(a, "list")
	checkSchema(t, a, "run", stop())
}
