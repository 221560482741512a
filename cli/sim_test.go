package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const simScenario = `name = "tiny"
viewpoints = 6
engines = ["kith-shared", "pagerank"]
[graph]
kind = "barabasi-albert"
nodes = 300
degree = 4
[[behaviour]]
kind = "sybil"
degree = 5
[sweep]
size = [20, 200]
attack_edges = [1, 10]
`

// TestSimRun: kith sim run writes results, the scenario and plots; the
// same seed gives the same bytes whatever --workers; sim plot redraws.
func TestSimRun(t *testing.T) {
	n := newNode(t, "sim")
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(file, []byte(simScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	n.ok("sim", "run", file, "--out", a, "--workers", "1")
	n.ok("sim", "run", file, "--out", b, "--workers", "3", "--no-plot")
	for _, f := range []string{"results.csv", "results.json"} {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between 1 and 3 workers", f)
		}
	}
	src, err := os.ReadFile(filepath.Join(a, "scenario.toml"))
	if err != nil || string(src) != simScenario {
		t.Fatalf("scenario.toml: %v %q", err, src)
	}
	for _, p := range []string{"sybil-captured_trust-vs-g.png", "sybil-captured_trust-vs-g.svg", "sybil-captured_trust-vs-s.png", "honest-accuracy_cost-vs-g.svg"} {
		if st, err := os.Stat(filepath.Join(a, "plots", p)); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(b, "plots")); err == nil {
		t.Error("--no-plot drew plots")
	}
	out := n.ok("sim", "plot", b)
	if !strings.Contains(out, "sybil-captured_trust-vs-g.png") {
		t.Fatalf("sim plot printed %q", out)
	}
	// Another seed, recorded in scenario.toml, gives other numbers.
	c := filepath.Join(dir, "c")
	n.ok("sim", "run", file, "--out", c, "--seed", "7", "--no-plot", "--engine", "kith-shared")
	x, _ := os.ReadFile(filepath.Join(a, "results.csv"))
	y, _ := os.ReadFile(filepath.Join(c, "results.csv"))
	if bytes.Equal(x, y) || !strings.Contains(string(y), "tiny,sybil,kith-shared,7,") {
		t.Fatalf("seed 7 results:\n%s", y)
	}
	if s, _ := os.ReadFile(filepath.Join(c, "scenario.toml")); !strings.HasPrefix(string(s), "# run with --seed 7\n") {
		t.Fatalf("scenario.toml of a seeded run: %q", s)
	}
}

func TestSimJSON(t *testing.T) {
	n := newNode(t, "simjson")
	file := filepath.Join(t.TempDir(), "tiny.toml")
	if err := os.WriteFile(file, []byte(simScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Scenario string `json:"scenario"`
		Rows     []struct {
			Metric string   `json:"metric"`
			Mean   *float64 `json:"mean"`
		} `json:"rows"`
	}
	out := n.ok("sim", "run", file, "--out", filepath.Join(t.TempDir(), "o"), "--no-plot", "--json", "--viewpoints", "3")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Scenario != "tiny" || len(res.Rows) == 0 {
		t.Fatalf("%+v", res)
	}
}

// A small scenario at the protocol level, through the CLI: real nodes on a
// simulated network; the results read back and plot again.
func TestSimRunProtocol(t *testing.T) {
	n := newNode(t, "simproto")
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.toml")
	src := "name = \"tiny\"\nsteps = 3\nstep = \"1s\"\n[graph]\nkind = \"watts-strogatz\"\nnodes = 6\ndegree = 2\n[network]\nlatency = \"5ms\"\n[consent]\npublic = 1\ngrant = 1\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	n.ok("sim", "run", file, "--out", out)
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Level        string  `json:"level"`
		Nodes        int     `json:"nodes"`
		Delivery     float64 `json:"delivery"`
		Proofs       int     `json:"proofs"`
		PrivateLeaks int     `json:"private_leaks"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Level != "protocol" || res.Nodes != 6 || res.Proofs == 0 || res.Delivery != 1 || res.PrivateLeaks != 0 {
		t.Errorf("results: %+v", res)
	}
	plots := n.ok("sim", "plot", out)
	if !strings.Contains(plots, "tiny-timeline.png") || !strings.Contains(plots, "tiny-timeline.svg") {
		t.Errorf("sim plot wrote:\n%s", plots)
	}
}

func TestSimListAndErrors(t *testing.T) {
	n := newNode(t, "simlist")
	out := n.ok("sim", "list")
	for _, want := range []string{"sybil ", "slander", "self-promotion", "whitewash", "collusion", "oscillation", "eclipse         protocol", "partition       protocol"} {
		if !strings.Contains(out, want) {
			t.Errorf("sim list lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	n.fail("--engine, --viewpoints and --workers are graph-level options", "sim", "run", "eclipse", "--out", dir, "--engine", "ppr")
	n.fail("--level sideways: want auto, graph or protocol", "sim", "run", "eclipse", "--out", dir, "--level", "sideways")
	n.fail("the protocol level runs in real time", "sim", "run", "sybil", "--out", dir, "--level", "protocol")
	n.fail("no shipped scenario", "sim", "run", "nope", "--out", dir)
	n.fail("--out DIR is required", "sim", "run", "sybil")
	n.fail("--engine magic: unknown", "sim", "run", "sybil", "--out", dir, "--engine", "magic")
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("name = \"b\"\n[graph]\nkind = \"barabasi-albert\"\nnodes = 10\ndegre = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.fail(`bad.toml:5:1: invalid scenario: unknown field "graph.degre"`, "sim", "run", bad, "--out", dir)
	n.fail("has no results.json", "sim", "plot", dir)
	if _, _, code := n.run("sim", "run", "nope", "--out", dir); code != 2 {
		t.Errorf("unknown scenario: exit %d, want 2", code)
	}
}
