package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/spf13/cobra"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/cli/lab"
)

var program = cli.Program{Name: "kith-lab", Extend: lab.Extend}

// researcher runs kith-lab in-process, with environment variables of its
// own and a clock that moves a minute with every command.
type researcher struct {
	t    *testing.T
	vars map[string]string
	now  time.Time
}

func newLab(t *testing.T) *researcher {
	return &researcher{t: t, vars: map[string]string{"KITH_HOME": filepath.Join(t.TempDir(), "home")}, now: time.Unix(1700000000, 0)}
}

func (n *researcher) run(args ...string) (stdout, stderr string, code int) {
	n.t.Helper()
	var out, errb bytes.Buffer
	code = program.Main(context.Background(), args, cli.Env{
		Stdout: &out, Stderr: &errb,
		LookupEnv: func(k string) (string, bool) { v, ok := n.vars[k]; return v, ok },
		Now:       func() time.Time { return n.now },
	})
	n.now = n.now.Add(time.Minute)
	return out.String(), errb.String(), code
}

func (n *researcher) ok(args ...string) string {
	n.t.Helper()
	out, errs, code := n.run(args...)
	if code != 0 {
		n.t.Fatalf("kith-lab %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fail runs a command that must fail with a one-line error containing want.
func (n *researcher) fail(want string, args ...string) {
	n.t.Helper()
	out, errs, code := n.run(args...)
	if code == 0 {
		n.t.Fatalf("kith-lab %s: succeeded, want error %q; output %s", strings.Join(args, " "), want, out)
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "kith-lab: ") {
		n.t.Fatalf("kith-lab %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
}

// TestEvalJSON: kith-lab eval on the shipped Bitcoin OTC file prints one
// JSON object per result row with the stable field names, and writes the
// CSV and markdown report.
func TestEvalJSON(t *testing.T) {
	n := newLab(t)
	out := filepath.Join(t.TempDir(), "results")
	stdout := n.ok("eval", "--data", "../../testdata/bitcoin-otc/soc-sign-bitcoinotc.csv", "--task", "A",
		"--split", "holdout", "--samples", "60", "--engine", "kith-shared,mean-rating", "--json", "--out", out)
	dec := json.NewDecoder(strings.NewReader(stdout))
	engines := map[string]bool{}
	for dec.More() {
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"dataset", "task", "split", "engine", "auc", "coverage"} {
			if _, ok := row[k]; !ok && row["bucket"] == "all" {
				t.Fatalf("row without %q: %v", k, row)
			}
		}
		engines[row["engine"].(string)] = true
	}
	if !engines["kith-shared"] || !engines["mean-rating"] {
		t.Fatalf("engines in output: %v", engines)
	}
	for _, f := range []string{"results.csv", "report.md"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	n.fail("--data", "eval")
	n.fail("no such file", "eval", "--data", "missing.csv")
	n.fail("unknown", "eval", "--data", "../../testdata/bitcoin-otc/soc-sign-bitcoinotc.csv", "--engine", "magic")
}

// TestBench: kith-lab bench prints its table with the raw verify rate as
// the reference, and its --json output matches the schema kith-lab schema
// bench prints.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks")
	}
	n := newLab(t)
	out := n.ok("bench", "--run", "^CID of")
	for _, want := range []string{"ed25519 verify (crypto/ed25519, raw)", "CID of attestation", "vs raw verify", "%"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bench output lacks %q:\n%s", want, out)
		}
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(n.ok("schema", "bench")))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("bench.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("bench.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	js := n.ok("bench", "--run", "^CID of", "--json")
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(js))
	if err != nil {
		t.Fatalf("bench --json printed no JSON: %v\n%s", err, js)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("bench --json does not match its schema:\n%v\n%s", err, js)
	}
}

// TestModelTrainSynthetic: the lab's model train trains the synthetic
// model with --synthetic and still refines the owner's model without it.
func TestModelTrainSynthetic(t *testing.T) {
	n := newLab(t)
	file := filepath.Join(t.TempDir(), "m.json")
	n.ok("model", "train", "--synthetic", "--markets", "1", "--raters", "40", "--out", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Provenance string }
	if err := json.Unmarshal(b, &m); err != nil || !strings.Contains(m.Provenance, "model train --synthetic") {
		t.Fatalf("model file: %v %.200s", err, b)
	}
	n.fail("not initialised", "model", "train")
	n.fail("--data \"nope\": want NAME=FILE", "model", "train", "--public", "--data", "nope")
}

// noSchemaYet are the lab's commands whose --json output has no schema
// yet, each with why. A new lab command must get a schema (outputSchemas
// in lab.go) or a line here.
var noSchemaYet = map[string]string{
	"eval":        "one object per result row (simulations/eval)",
	"sim run":     "research lab",
	"sim list":    "research lab",
	"sim plot":    "research lab",
	"sim compare": "research lab",
	"sim graph":   "research lab",
	"sim merge":   "research lab",
}

// TestEveryLabCommandHasASchema: every runnable command kith-lab has and
// kith has not has a schema of its --json output (kith-lab schema lists
// it) or a reason why not; every schema file of the lab is a command's;
// and kith names kith-lab when asked for one of them.
func TestEveryLabCommandHasASchema(t *testing.T) {
	paths := func(p cli.Program) (map[string]bool, string) {
		var root *cobra.Command
		extend := p.Extend
		p.Extend = func(r *cobra.Command, app cli.App) error {
			root = r
			if extend != nil {
				return extend(r, app)
			}
			return nil
		}
		var out bytes.Buffer
		if code := p.Main(context.Background(), []string{"schema"}, cli.Env{Stdout: &out, Stderr: &out}); code != 0 || root == nil {
			t.Fatalf("%s schema: exit %d: %s", p.Name, code, out.String())
		}
		got := map[string]bool{}
		var walk func(c *cobra.Command)
		walk = func(c *cobra.Command) {
			for _, sub := range c.Commands() {
				walk(sub)
			}
			if c.Runnable() && !c.HasSubCommands() && c != root { // a group only prints its help
				got[strings.TrimPrefix(c.CommandPath(), root.Name()+" ")] = true
			}
		}
		walk(root)
		return got, out.String()
	}
	kith, _ := paths(cli.Program{})
	all, listed := paths(program)
	used := map[string]bool{}
	n := newLab(t)
	for path := range all {
		if kith[path] {
			continue
		}
		line := ""
		for l := range strings.SplitSeq(listed, "\n") {
			if f := strings.Fields(strings.TrimPrefix(l, "kith-lab ")); len(f) > 0 && strings.Join(f[:len(f)-1], " ") == path {
				line = f[len(f)-1]
			}
		}
		if _, exempt := noSchemaYet[path]; line == "" && !exempt {
			t.Errorf("kith-lab %s has no JSON schema (outputSchemas) and no reason in noSchemaYet", path)
		}
		if line != "" {
			used[line] = true
			n.ok(append([]string{"schema"}, strings.Fields(path)...)...)
		}
		top := strings.Fields(path)[0]
		if !kith[top] {
			var errb bytes.Buffer
			code := cli.Main(context.Background(), []string{top}, cli.Env{Stdout: &errb, Stderr: &errb})
			if code != cli.ExitUsage || !strings.Contains(errb.String(), "kith-lab (go build ./cmd/kith-lab)") {
				t.Errorf("kith %s: exit %d, %q; want 2 and where to find it", top, code, errb.String())
			}
		}
	}
	files, err := fs.Glob(os.DirFS("."), "schema/*.schema.json")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s is no lab command's schema", f)
		}
	}
}
