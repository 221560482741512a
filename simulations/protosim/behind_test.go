package protosim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/simulations/scenario"
)

// TestFellBehindMarked: a real-time run that fell more than 10 % behind
// its clock is marked wherever its figures go: fell_behind = 1 in the
// CSV, a note on every goal judged on it, the plot's title; a run on time
// is not.
func TestFellBehindMarked(t *testing.T) {
	s, err := scenario.Parse([]byte(tinySweep), "tiny.toml")
	if err != nil {
		t.Fatal(err)
	}
	s.Sweep = scenario.Sweep{}
	mk := func(lag time.Duration) *Result {
		r := &Result{Scenario: "tiny", Seed: 1, Nodes: 6, Steps: 3, Step: time.Second, Clock: ClockReal, Delivery: 1,
			Timeline: []Tick{{Step: 0, Seconds: 1, Up: 6}, {Step: 1, Seconds: 2.6, Up: 6, BehindS: lag.Seconds()}, {Step: 2, Seconds: 4, Up: 6, Drain: true}}}
		r.MaxLag = lag
		r.ClockBehind = lag.Seconds() / (3 * time.Second).Seconds()
		r.FellBehind = r.ClockBehind > MaxBehind
		return r
	}
	late, onTime := mk(600*time.Millisecond), mk(200*time.Millisecond)
	if !late.FellBehind || onTime.FellBehind {
		t.Fatalf("a lag of 20 %% fell behind: %v; 6.7 %%: %v", late.FellBehind, onTime.FellBehind)
	}
	for _, c := range []struct {
		r      *Result
		marked bool
	}{{late, true}, {onTime, false}} {
		rep := &Report{Scenario: "tiny", Level: Level, Clock: ClockReal, Runs: []*Result{c.r}}
		var b bytes.Buffer
		if err := WriteCSV(&b, rep); err != nil {
			t.Fatal(err)
		}
		want := "tiny,1,real,fell_behind,0\n"
		if c.marked {
			want = "tiny,1,real,fell_behind,1\n"
		}
		if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "tiny,1,real,clock_behind,"+num(c.r.ClockBehind)+"\n") {
			t.Errorf("marked %v: results.csv\n%s", c.marked, b.String())
		}
		goals := judge(s, rep.Runs)
		if len(goals) == 0 {
			t.Fatal("no goal judged")
		}
		for _, g := range goals {
			if got := strings.Contains(g.Note, "fell 20 % behind its clock"); got != c.marked {
				t.Errorf("marked %v: goal %s note %q", c.marked, g.Text, g.Note)
			}
		}
		dir := t.TempDir()
		files, err := Plot(rep, dir)
		if err != nil {
			t.Fatal(err)
		}
		svg, err := os.ReadFile(filepath.Join(dir, "tiny-timeline.svg"))
		if err != nil || len(files) != 2 {
			t.Fatalf("plots %v: %v", files, err)
		}
		if got := strings.Contains(string(svg), "FELL 20 % BEHIND real time"); got != c.marked {
			t.Errorf("marked %v: the plot's title says FELL BEHIND: %v", c.marked, got)
		}
	}
}
