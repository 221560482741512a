package protosim

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kith-net/kith/simulations/graphsim"
	"github.com/kith-net/kith/simulations/scenario"
)

const tinySweep = `name = "tiny"
steps = 3
step = "1s"
[graph]
kind = "watts-strogatz"
nodes = 6
degree = 2
[[behaviour]]
kind = "eclipse"
size = 1
degree = 2
[network]
latency = "5ms"
[consent]
public = 1
grant = 1
[[goal]]
metric = "delivery"
compare = ">="
threshold = 1
[[goal]]
metric = "private_leaks"
compare = "=="
threshold = 0
where = { seed = 2 }
[sweep]
"behaviour[0].size" = [1, 2]
seed = [1, 2]
`

// TestSweepVirtual runs a sweep of four cells in virtual time outside a
// synctest.Test of its own (as kith sim run does), in two shards merged in
// either order; the eclipse attackers are part of the plan.
func TestSweepVirtual(t *testing.T) {
	s, err := scenario.Parse([]byte(tinySweep), "tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Partial
	for i := range 2 {
		p, err := RunShard(context.Background(), s, Options{}, graphsim.Shard{I: i, N: 2}, ClockVirtual, RunVirtual)
		if err != nil {
			t.Fatal(err)
		}
		// Through the file format.
		var b bytes.Buffer
		if err := WritePartial(&b, p); err != nil {
			t.Fatal(err)
		}
		if p, err = ReadPartial(&b); err != nil {
			t.Fatal(err)
		}
		if len(p.Runs) != 2 || p.Runs[0].Cell != i || p.Runs[1].Cell != i+2 {
			t.Fatalf("shard %d ran %+v", i, p.Runs)
		}
		parts = append(parts, p)
	}
	a, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Merge([]*Partial{parts[1], parts[0]})
	if err != nil {
		t.Fatal(err)
	}
	var ja, jb, csv bytes.Buffer
	if err := WriteJSON(&ja, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&jb, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja.Bytes(), jb.Bytes()) {
		t.Fatal("the merge depends on the order of the shards")
	}
	if len(a.Runs) != 4 || a.Clock != ClockVirtual || strings.Join(a.Axes, ",") != "behaviour[0].size,seed" {
		t.Fatalf("report %+v", a)
	}
	plans := map[string]bool{}
	for i, r := range a.Runs {
		plans[r.Plan] = true
		wantSize := []string{"1", "1", "2", "2"}[i]
		if r.Clock != ClockVirtual || r.Cell["behaviour[0].size"] != wantSize || r.Attackers != len(wantSize)*0+map[string]int{"1": 1, "2": 2}[wantSize] || r.FellBehind {
			t.Errorf("run %d: clock %s, cell %v, %d attackers", i, r.Clock, r.Cell, r.Attackers)
		}
		if r.Delivery != 1 || r.PrivateLeaks != 0 {
			t.Errorf("run %d: delivery %v, %d leaks", i, r.Delivery, r.PrivateLeaks)
		}
	}
	// Another attacker or another seed is another plan.
	if len(plans) != 4 {
		t.Errorf("%d plans for 4 cells", len(plans))
	}
	if len(a.Goals) != 4+2 {
		t.Fatalf("%d goal outcomes: %+v", len(a.Goals), a.Goals)
	}
	for _, o := range a.Goals {
		if o.Status != scenario.Met {
			t.Errorf("goal %s in %s: %s (%v)", o.Text, o.Cell, o.Status, o.Value)
		}
	}
	if err := WriteCSV(&csv, a); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csv.String(), "scenario,seed,clock,behaviour[0].size,seed,metric,value\ntiny,1,virtual,1,1,nodes,6\n") {
		t.Errorf("results.csv:\n%.300s", csv.String())
	}
	// The JSON reads back and plots.
	back, err := ReadJSON(&ja)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Plot(back, t.TempDir())
	if err != nil || len(files) != 8 || !strings.HasSuffix(files[0], "tiny-behaviour0.size=1-seed=1-timeline.png") {
		t.Fatalf("plots %v: %v", files, err)
	}
	// A shard from another scenario does not merge.
	other := *parts[1]
	other.Digest = "sha256:00"
	if _, err := Merge([]*Partial{parts[0], &other}); err == nil || !strings.Contains(err.Error(), "another scenario") {
		t.Fatalf("merge of another scenario: %v", err)
	}
	if _, err := Merge(parts[:1]); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("merge of one shard in two: %v", err)
	}
}

// FuzzReadPartial: a partial file, however damaged, is read or refused,
// and merged or refused, without panicking. The corpus
// (testdata/fuzz/FuzzReadPartial) holds one run's partial.
func FuzzReadPartial(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPartial(bytes.NewReader(b))
		if err != nil {
			return
		}
		if rep, err := Merge([]*Partial{p}); err == nil {
			var out bytes.Buffer
			if err := WriteCSV(&out, rep); err != nil {
				t.Fatal(err)
			}
			if err := WriteTimelineCSV(&out, rep); err != nil {
				t.Fatal(err)
			}
		}
	})
}
