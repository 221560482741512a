package lab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

// TestSimRun: kith-lab sim run writes results, the scenario and plots; the
// same seed gives the same bytes whatever --workers; sim plot redraws.
func TestSimRun(t *testing.T) {
	n := newLab(t)
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
	// scenario.toml is the effective scenario: running it reproduces the
	// run to the byte.
	src, err := os.ReadFile(filepath.Join(a, "scenario.toml"))
	if err != nil || !strings.Contains(string(src), "viewpoints = 6\n") || !strings.Contains(string(src), "\n[sweep]\nsize = [20, 200]\nattack_edges = [1, 10]\n") {
		t.Fatalf("scenario.toml: %v\n%s", err, src)
	}
	again := filepath.Join(dir, "again")
	n.ok("sim", "run", filepath.Join(a, "scenario.toml"), "--out", again, "--no-plot")
	for _, f := range []string{"results.csv", "results.json"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(again, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs when run again from scenario.toml", f)
		}
	}
	var rj struct {
		Provenance struct {
			Software struct {
				Commit, Go string
			}
			Scenario string `json:"scenario_sha256"`
			Engines  []struct {
				Engine string
				Params map[string]any
				Model  string
			}
		}
	}
	js, _ := os.ReadFile(filepath.Join(a, "results.json"))
	if err := json.Unmarshal(js, &rj); err != nil {
		t.Fatal(err)
	}
	pv := rj.Provenance
	if pv.Software.Commit == "" || !strings.HasPrefix(pv.Software.Go, "go1.") || !strings.HasPrefix(pv.Scenario, "sha256:") || len(pv.Engines) != 2 ||
		pv.Engines[0].Params["restart"] != 0.2 || !strings.HasPrefix(pv.Engines[0].Model, "sha256:") || pv.Engines[1].Params["damping"] != 0.85 {
		t.Errorf("provenance %+v", pv)
	}
	var run struct {
		Runs []struct {
			Machine struct {
				CPUs    int      `json:"cpus"`
				Command []string `json:"command"`
			}
		}
	}
	rb, _ := os.ReadFile(filepath.Join(a, "run.json"))
	if err := json.Unmarshal(rb, &run); err != nil || len(run.Runs) != 1 || run.Runs[0].Machine.CPUs < 1 {
		t.Errorf("run.json: %v\n%s", err, rb)
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
	if s, _ := os.ReadFile(filepath.Join(c, "scenario.toml")); !strings.Contains(string(s), "\nseed = 7\n") || !strings.Contains(string(s), "engines = ['kith-shared']") {
		t.Fatalf("scenario.toml of a seeded run: %s", s)
	}
}

func TestSimJSON(t *testing.T) {
	n := newLab(t)
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
	n := newLab(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.toml")
	src := "name = \"tiny\"\nsteps = 3\nstep = \"1s\"\n[graph]\nkind = \"watts-strogatz\"\nnodes = 6\ndegree = 2\n[network]\nlatency = \"5ms\"\n[consent]\npublic = 1\ngrant = 1\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, clock := range []string{"virtual", "real"} {
		out := filepath.Join(dir, clock)
		args := []string{"sim", "run", file, "--out", out}
		if clock == "real" {
			args = append(args, "--clock", "real")
		}
		_, stderr, code := n.run(args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", clock, code, stderr)
		}
		if !strings.Contains(stderr, "tiny: steps 3/3 (100 %)") {
			t.Errorf("%s: no progress logged:\n%s", clock, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Level string `json:"level"`
			Clock string `json:"clock"`
			Runs  []struct {
				Nodes        int     `json:"nodes"`
				Delivery     float64 `json:"delivery"`
				Proofs       int     `json:"proofs"`
				PrivateLeaks int     `json:"private_leaks"`
				Clock        string  `json:"clock"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Level != "protocol" || rep.Clock != clock || len(rep.Runs) != 1 {
			t.Fatalf("%s: results %+v", clock, rep)
		}
		if r := rep.Runs[0]; r.Nodes != 6 || r.Proofs == 0 || r.Delivery != 1 || r.PrivateLeaks != 0 || r.Clock != clock {
			t.Errorf("%s: results: %+v", clock, r)
		}
		for _, f := range []string{"results.csv", "timeline.csv", "run.json", "scenario.toml"} {
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %s: %v", clock, f, err)
			}
		}
		if c, _ := os.ReadFile(filepath.Join(out, "results.csv")); !strings.Contains(string(c), "tiny,1,"+clock+",delivery,1\n") {
			t.Errorf("%s: results.csv\n%s", clock, c)
		}
		plots := n.ok("sim", "plot", out)
		if !strings.Contains(plots, "tiny-timeline.png") || !strings.Contains(plots, "tiny-timeline.svg") {
			t.Errorf("sim plot wrote:\n%s", plots)
		}
	}
}

func TestSimListAndErrors(t *testing.T) {
	n := newLab(t)
	out := n.ok("sim", "list")
	for _, want := range []string{`sybil +graph`, "slander", "self-promotion", "whitewash", "collusion", "oscillation", `eclipse +protocol`, `eclipse-active +protocol`, `eclipse-boot +protocol`, `partition +protocol`} {
		if !regexp.MustCompile(`(?m)^\s*` + want).MatchString(out) {
			t.Errorf("sim list lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	n.fail("--engine, --viewpoints, --workers and --per-viewpoint are graph-level options", "sim", "run", "eclipse", "--out", dir, "--engine", "ppr")
	n.fail("--clock sundial: want virtual or real", "sim", "run", "eclipse", "--out", dir, "--clock", "sundial")
	n.fail("--clock is a protocol-level option", "sim", "run", "sybil", "--out", dir, "--clock", "real")
	n.fail("--shard 3/3", "sim", "run", "sybil", "--out", dir, "--shard", "3/3")
	n.fail("no JOB_COMPLETION_INDEX", "sim", "run", "sybil", "--out", dir, "--shard", "4")
	n.fail("--level sideways: want auto, graph or protocol", "sim", "run", "eclipse", "--out", dir, "--level", "sideways")
	n.fail("the protocol level runs in real time", "sim", "run", "sybil", "--out", dir, "--level", "protocol", "--clock", "real")
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

// TestSimShard: a run split into shards (by index, and from a Kubernetes
// or Slurm array index) and merged writes the same bytes as the run in one
// process.
func TestSimShard(t *testing.T) {
	n := newLab(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(file, []byte(simScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "whole")
	n.ok("sim", "run", file, "--out", whole, "--no-plot", "--per-viewpoint")
	parts := filepath.Join(dir, "parts")
	n.ok("sim", "run", file, "--out", parts, "--shard", "0/3")
	n.vars["JOB_COMPLETION_INDEX"] = "1"
	n.ok("sim", "run", file, "--out", parts, "--shard", "3")
	delete(n.vars, "JOB_COMPLETION_INDEX")
	n.vars["SLURM_ARRAY_TASK_ID"], n.vars["SLURM_ARRAY_TASK_MIN"] = "3", "1"
	n.ok("sim", "run", file, "--out", parts, "--shard", "3")
	for i := range 3 {
		if _, err := os.Stat(filepath.Join(parts, fmt.Sprintf("partial-%d-of-3.json", i))); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "merged")
	n.ok("sim", "merge", parts, "--out", merged, "--no-plot", "--per-viewpoint")
	for _, f := range []string{"results.csv", "results.json", "viewpoints.csv", "scenario.toml"} {
		x, err := os.ReadFile(filepath.Join(whole, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(merged, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "scenario.toml" {
			continue // the whole run's is portable (absolute paths), the merge's as the shards read it
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s: the merged run differs from the run in one process", f)
		}
	}
	var run struct {
		Runs []struct {
			Shard struct{ I, N int }
		}
		Merge *struct{} `json:"merge"`
	}
	rb, _ := os.ReadFile(filepath.Join(merged, "run.json"))
	if err := json.Unmarshal(rb, &run); err != nil || len(run.Runs) != 3 || run.Runs[2].Shard.I != 2 || run.Merge == nil {
		t.Errorf("run.json of the merge: %v\n%s", err, rb)
	}
	vp, _ := os.ReadFile(filepath.Join(whole, "viewpoints.csv"))
	if lines := strings.Split(string(vp), "\n"); !strings.HasPrefix(lines[0], "scenario,behaviour,engine,seed,size,attack_edges,viewpoint,metric,value") || len(lines) < 6*4*5 {
		t.Errorf("viewpoints.csv: %d lines, %q", len(lines), lines[0])
	}
	n.fail("shard 1/3 given twice", "sim", "merge", filepath.Join(parts, "partial-1-of-3.json"), filepath.Join(parts, "partial-1-of-3.json"), filepath.Join(parts, "partial-0-of-3.json"), "--out", merged)
	n.fail("shard 2/3 missing", "sim", "merge", filepath.Join(parts, "partial-1-of-3.json"), filepath.Join(parts, "partial-0-of-3.json"), "--out", merged)
}

const sweepScenario = `name = "placement"
viewpoints = 5
engines = ["kith-shared", "ppr"]
[graph]
kind = "barabasi-albert"
nodes = 300
degree = 4
[[behaviour]]
kind = "sybil"
size = 50
degree = 5
[params.ppr]
damping = 0.8
[[goal]]
name = "near"
metric = "accepted_per_attack_edge"
engine = "kith-shared"
compare = "<="
threshold = 5
where = { "behaviour.victims" = "near" }
[sweep]
attack_edges = [1, 10]
behaviour.victims = ["random", "near"]
`

// TestSimSweepCompare: a sweep over the victims' placement gives one tidy
// CSV with a column for it, goals met or missed per cell, and sim compare
// draws it and another run against each other.
func TestSimSweepCompare(t *testing.T) {
	n := newLab(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "placement.toml")
	if err := os.WriteFile(file, []byte(sweepScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "a")
	_, stderr, code := n.run("sim", "run", file, "--out", a)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "goals: ") || !strings.Contains(stderr, "near: accepted_per_attack_edge <= 5 (kith-shared, behaviour.victims = near)") ||
		!strings.Contains(stderr, "[attack_edges=10 behaviour.victims=near]") {
		t.Errorf("goals not reported:\n%s", stderr)
	}
	if !strings.Contains(stderr, "placement: viewpoints 5/5 (100 %)") {
		t.Errorf("no progress logged:\n%s", stderr)
	}
	c, _ := os.ReadFile(filepath.Join(a, "results.csv"))
	if !strings.HasPrefix(string(c), "scenario,behaviour,engine,seed,size,attack_edges,behaviour.victims,metric,mean,stderr,ci95_low,ci95_high,n\n") ||
		!strings.Contains(string(c), "placement,sybil,ppr,1,50,10,near,accepted_share,") {
		t.Fatalf("results.csv:\n%.600s", c)
	}
	g, _ := os.ReadFile(filepath.Join(a, "goals.csv"))
	if lines := strings.Count(string(g), "\n"); lines != 3 {
		t.Errorf("goals.csv:\n%s", g)
	}
	for _, p := range []string{"sybil-captured_trust-behaviour.victims=near-vs-g.png", "sybil-captured_trust-behaviour.victims=random-vs-g.svg"} {
		if _, err := os.Stat(filepath.Join(a, "plots", p)); err != nil {
			t.Error(err)
		}
	}
	b := filepath.Join(dir, "b")
	n.ok("sim", "run", file, "--out", b, "--seed", "2", "--no-plot")
	cmp := filepath.Join(dir, "cmp")
	out := n.ok("sim", "compare", a, b, "--out", cmp, "--metric", "captured_trust,accepted_per_attack_edge")
	for _, want := range []string{"compare.csv", "compare-sybil-captured_trust-behaviour.victims=near-vs-attack_edges.png", "compare-sybil-accepted_per_attack_edge-behaviour.victims=random-vs-attack_edges.svg"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare wrote no %s:\n%s", want, out)
		}
	}
	cc, _ := os.ReadFile(filepath.Join(cmp, "compare.csv"))
	if !strings.HasPrefix(string(cc), "run,scenario,behaviour,engine,size,attack_edges,seed,behaviour.victims,metric,mean,ci95_low,ci95_high,n\na,placement,") || !strings.Contains(string(cc), "\nb,placement,sybil,ppr,50,1,2,random,") {
		t.Errorf("compare.csv:\n%.500s", cc)
	}
	// One run against itself: x the attack edges, a line per placement.
	one := n.ok("sim", "compare", a, "--out", filepath.Join(dir, "one"), "--metric", "captured_trust", "--x", "behaviour.victims", "--series", "attack_edges")
	if !strings.Contains(one, "compare-sybil-captured_trust-vs-behaviour.victims.png") {
		t.Errorf("compare of one run:\n%s", one)
	}
	n.fail(`no field "nope"`, "sim", "compare", a, "--out", filepath.Join(dir, "x"), "--x", "nope")
}

// TestSimGraphFile: a population written to a graph file and loaded by a
// dataset scenario gives the results of generating it.
func TestSimGraphFile(t *testing.T) {
	n := newLab(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(file, []byte(simScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	n.ok("sim", "graph", file, "--out", filepath.Join(dir, "pop.kgraph"))
	loaded := strings.Replace(simScenario, "kind = \"barabasi-albert\"\nnodes = 300\ndegree = 4\n", "kind = \"dataset\"\npath = \"pop.kgraph\"\n", 1)
	lf := filepath.Join(dir, "loaded.toml")
	if err := os.WriteFile(lf, []byte(loaded), 0o644); err != nil {
		t.Fatal(err)
	}
	n.ok("sim", "run", file, "--out", filepath.Join(dir, "gen"), "--no-plot")
	n.ok("sim", "run", lf, "--out", filepath.Join(dir, "load"), "--no-plot")
	x, _ := os.ReadFile(filepath.Join(dir, "gen", "results.csv"))
	y, _ := os.ReadFile(filepath.Join(dir, "load", "results.csv"))
	if !bytes.Equal(x, y) || len(x) == 0 {
		t.Fatalf("a loaded population gives other results:\n%s\n%s", x, y)
	}
	var a, b struct {
		Populations []struct {
			Graph string `json:"graph_sha256"`
		}
	}
	ja, _ := os.ReadFile(filepath.Join(dir, "gen", "results.json"))
	jb, _ := os.ReadFile(filepath.Join(dir, "load", "results.json"))
	if json.Unmarshal(ja, &a) != nil || json.Unmarshal(jb, &b) != nil || a.Populations[0].Graph == "" || a.Populations[0].Graph != b.Populations[0].Graph {
		t.Errorf("population digests %+v %+v", a, b)
	}
}

// TestSimShardProtocol: the cells of a protocol-level sweep split into
// shards and merged, in virtual time.
func TestSimShardProtocol(t *testing.T) {
	n := newLab(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.toml")
	src := "name = \"tiny\"\nsteps = 3\nstep = \"1s\"\n[graph]\nkind = \"watts-strogatz\"\nnodes = 6\ndegree = 2\n[network]\nlatency = \"5ms\"\n[consent]\npublic = 1\ngrant = 1\n" +
		"[[goal]]\nmetric = \"delivery\"\ncompare = \">=\"\nthreshold = 1\n[sweep]\nseed = [1, 2]\nnetwork.loss = [0, 0.01]\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	parts := filepath.Join(dir, "parts")
	n.ok("sim", "run", file, "--out", parts, "--shard", "0/2")
	n.ok("sim", "run", file, "--out", parts, "--shard", "1/2")
	out := filepath.Join(dir, "merged")
	_, stderr, code := n.run("sim", "merge", filepath.Join(parts, "partial-1-of-2.json"), filepath.Join(parts, "partial-0-of-2.json"), "--out", out)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "goals: 4 of 4 met") {
		t.Errorf("goals:\n%s", stderr)
	}
	c, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	for _, want := range []string{"scenario,seed,clock,seed,network.loss,metric,value\n", "\ntiny,1,virtual,1,0,delivery,1\n", "\ntiny,2,virtual,2,0.01,delivery,1\n"} {
		if !strings.Contains(string(c), want) {
			t.Errorf("results.csv lacks %q:\n%.400s", want, c)
		}
	}
	tl, _ := os.ReadFile(filepath.Join(out, "timeline.csv"))
	if lines := strings.Count(string(tl), "\n"); lines != 1+4*4 {
		t.Errorf("timeline.csv has %d lines:\n%s", lines, tl)
	}
	plots, _ := filepath.Glob(filepath.Join(out, "plots", "*-timeline.png"))
	if len(plots) != 4 {
		t.Errorf("plots %v", plots)
	}
}
