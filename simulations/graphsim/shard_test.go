package graphsim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kith-net/kith/simulations/scenario"
)

// shardSrc has a sweep over the victims' placement (near victims give each
// viewpoint its own graphs) and over the seed (two populations).
const shardSrc = `name = "shards"
viewpoints = 7
engines = ["kith", "kith-shared", "ppr-mc", "pagerank"]
[graph]
kind = "barabasi-albert"
nodes = 300
degree = 4
[[behaviour]]
kind = "sybil"
size = 40
degree = 5
[sweep]
seed = [1, 2]
attack_edges = [1, 20]
behaviour.victims = ["random", "near"]
`

func outputs(t *testing.T, res *Result) string {
	t.Helper()
	var c, j, v bytes.Buffer
	if err := WriteCSV(&c, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&j, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteViewpointsCSV(&v, res); err != nil {
		t.Fatal(err)
	}
	return c.String() + j.String() + v.String()
}

// TestShardProcesses runs a sweep in three shards, each a process of its
// own (this test binary run again as a worker), and merges their partial
// results: byte-identical to the run in one process.
func TestShardProcesses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "shards.toml")
	if err := os.WriteFile(file, []byte(shardSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	whole := run(t, s, Options{})
	const n = 3
	var cmds []*exec.Cmd
	var logs []*bytes.Buffer
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestShardWorker$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KITH_SHARD_WORKER="+fmt.Sprintf("%d/%d", i, n), "KITH_SHARD_SCENARIO="+file,
			"KITH_SHARD_OUT="+filepath.Join(dir, fmt.Sprintf("part-%d", i)))
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, logs = append(cmds, cmd), append(logs, &log)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, logs[i])
		}
	}
	var parts []*Partial
	for i := n - 1; i >= 0; i-- { // any order
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("part-%d", i)))
		if err != nil {
			t.Fatalf("shard %d wrote nothing: %v\n%s", i, err, logs[i])
		}
		p, err := ReadPartial(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if p.Shard.I != i || len(p.Units) == 0 {
			t.Fatalf("shard %d: %+v", i, p.Shard)
		}
		parts = append(parts, p)
	}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outputs(t, merged), outputs(t, whole); got != want {
		t.Fatal("three processes merged differ from one process")
	}
	if len(whole.Populations) != 2 || whole.Populations[0].Seed != 1 || whole.Populations[1].Seed != 2 || whole.Populations[0].Graph == whole.Populations[1].Graph {
		t.Fatalf("populations %+v", whole.Populations)
	}
	if strings.Join(whole.Axes, ",") != "behaviour.victims" || len(whole.Rows) == 0 {
		t.Fatalf("axes %v", whole.Axes)
	}
}

// TestShardWorker is one shard of TestShardProcesses (it does nothing
// unless started by it).
func TestShardWorker(t *testing.T) {
	spec := os.Getenv("KITH_SHARD_WORKER")
	if spec == "" {
		t.Skip("a worker of TestShardProcesses")
	}
	is, ns, _ := strings.Cut(spec, "/")
	i, _ := strconv.Atoi(is)
	n, _ := strconv.Atoi(ns)
	s, err := scenario.Load(os.Getenv("KITH_SHARD_SCENARIO"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := RunShard(context.Background(), s, Options{Workers: 1}, Shard{I: i, N: n})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePartial(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("KITH_SHARD_OUT"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMergeChecks: Merge refuses partial results that do not make one run.
func TestMergeChecks(t *testing.T) {
	s := small(t, shardSrc)
	s.Sweep = scenario.Sweep{}
	s.Viewpoints = 3
	var parts []*Partial
	for i := range 2 {
		p, err := RunShard(context.Background(), s, Options{Engines: []string{"kith-shared"}}, Shard{I: i, N: 2})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	if _, err := Merge(parts); err != nil {
		t.Fatal(err)
	}
	other := *parts[1]
	other.Software.Commit = "elsewhere"
	for _, c := range []struct {
		parts []*Partial
		want  string
	}{
		{parts[:1], "shard 1/2 missing"},
		{[]*Partial{parts[0], parts[0]}, "shard 0/2 given twice"},
		{[]*Partial{parts[0], &other}, "another build"},
		{nil, "no partial results"},
	} {
		if _, err := Merge(c.parts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	if _, err := RunShard(context.Background(), s, Options{}, Shard{I: 2, N: 2}); err == nil {
		t.Error("shard 2/2 ran")
	}
}

// FuzzReadPartial: a partial file, however damaged, is read or refused,
// and merged or refused, without panicking.
// The corpus (testdata/fuzz/FuzzReadPartial) holds a two-cell partial.
func FuzzReadPartial(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPartial(bytes.NewReader(b))
		if err != nil {
			return
		}
		if res, err := Merge([]*Partial{p}); err == nil {
			var out bytes.Buffer
			if err := WriteCSV(&out, res); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestCellsIndependent: a cell's results do not depend on the other cells
// of the sweep (kith's personalised model included).
func TestCellsIndependent(t *testing.T) {
	s := small(t, shardSrc)
	s.Viewpoints, s.Graph.Nodes, s.Graph.Degree = 4, 2000, 6
	s.Sweep = scenario.Sweep{}
	s.Sweep.Set("behaviour.victims", "random", "near")
	s.Sweep.Set(scenario.FieldAttackEdges, 1, 20)
	both := run(t, s, Options{Engines: []string{"kith", "ppr-mc"}})
	s.Sweep.Set("behaviour.victims", "near")
	near := run(t, s, Options{Engines: []string{"kith", "ppr-mc"}})
	var want []string
	for _, r := range both.Rows {
		if r.Cell[0] == "near" {
			want = append(want, fmt.Sprint(r.Behaviour, r.Engine, r.AttackEdges, r.Metric, r.Mean, r.N))
		}
	}
	var got []string
	for _, r := range near.Rows {
		got = append(got, fmt.Sprint(r.Behaviour, r.Engine, r.AttackEdges, r.Metric, r.Mean, r.N))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) == 0 {
		t.Fatalf("the near cells changed with the random ones beside them:\n%s\n--\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
