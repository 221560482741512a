package protosim

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kith-net/kith/simulations/graphsim"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/simulations/scenarios"
)

var (
	virtualScenario = flag.String("scenario", "", "TestVirtual: a shipped scenario's name or a TOML file to run in virtual time (default: a small one)")
	virtualOut      = flag.String("out", "", "TestVirtual: directory for results.csv, results.json and plots")
)

// TestVirtual runs the simulator inside a testing/synctest bubble: the
// clock moves only when every node waits, so the latencies measured are
// the protocol's on the simulated links, not this machine's queueing, and
// a network too big to keep up with real time still runs, only slower
// than the clock it simulates. By default it runs the small scenario and
// checks the protocol's promises; to run another:
//
//	go test ./simulations/protosim -run '^TestVirtual$' -timeout 0 -v \
//	    -args -scenario scale-500 -out results/scale-500
func TestVirtual(t *testing.T) {
	var s *scenario.Scenario
	var err error
	if *virtualScenario == "" {
		s, err = scenario.Parse([]byte(small), "")
	} else {
		s, err = scenarios.Open(*virtualScenario)
	}
	if err != nil {
		t.Fatal(err)
	}
	var res *Result
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		o := Options{Virtual: true, Drain: 40 * time.Second, Progress: func(done, total int) {
			if *virtualScenario != "" {
				fmt.Fprintf(os.Stderr, "\r%s: step %d of %d", s.Name, done, total)
			}
		}}
		var err error
		if res, err = Run(context.Background(), s, o); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%s in virtual time: %v simulated in %v; delivery %.4f (%d/%d), latency p50 %v p99 %v, withdrawals %d/%d, requests lost %d, %.0f B/node/s",
		s.Name, res.Duration.Round(time.Millisecond), time.Since(wall).Round(time.Second), res.Delivery, res.Delivered, res.Expected,
		res.LatencyP50.Round(time.Microsecond), res.LatencyP99.Round(time.Microsecond), res.WithdrawalsDelivered, res.WithdrawalsExpected, res.RequestsLost, res.BytesPerNodeSecond)
	if res.Clock != ClockVirtual {
		t.Errorf("clock %q", res.Clock)
	}
	if res.PrivateLeaks != 0 || res.UnconsentedLeaks != 0 {
		t.Errorf("leaks: %d private, %d unconsented", res.PrivateLeaks, res.UnconsentedLeaks)
	}
	if res.FellBehind || res.ClockBehind != 0 {
		t.Errorf("virtual time fell %v behind", res.ClockBehind)
	}
	if *virtualOut != "" {
		if err := writeResults(*virtualOut, &Report{Scenario: res.Scenario, Level: Level, Clock: res.Clock, Provenance: graphsim.Provenance{Software: graphsim.Build()}, Runs: []*Result{res}}); err != nil {
			t.Fatal(err)
		}
	}
	if *virtualScenario != "" {
		return
	}
	if res.Delivery != 1 || res.WithdrawalsDelivered != res.WithdrawalsExpected {
		t.Errorf("delivery %.4f, withdrawals %d/%d", res.Delivery, res.WithdrawalsDelivered, res.WithdrawalsExpected)
	}
	// The one refresh of a 10-second run comes after the first step,
	// which made a tenth of the ratings (8 of 80, most of them vouches):
	// the nodes that vouched then trust whom they vouched for.
	if res.PeersTrusted <= 0 || res.PeersTrusted > 0.4 {
		t.Errorf("each node trusts %.2f keys on average, want about 8 vouches over 20 nodes (%d attestations)", res.PeersTrusted, res.Attestations)
	}
	// The links are 10 ms ± 20 %: without this machine's queueing most
	// proofs arrive within a few gossip hops.
	if res.LatencyP50 <= 8*time.Millisecond || res.LatencyP50 > 200*time.Millisecond {
		t.Errorf("latency p50 %v on 10 ms links", res.LatencyP50)
	}
}

func writeResults(dir string, res *Report) error {
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(*os.File) error{
		"results.csv":  func(f *os.File) error { return WriteCSV(f, res) },
		"results.json": func(f *os.File) error { return WriteJSON(f, res) },
		"timeline.csv": func(f *os.File) error { return WriteTimelineCSV(f, res) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	_, err := Plot(res, filepath.Join(dir, "plots"))
	return err
}

// TestReproducible runs the small scenario twice with one seed and once
// with another, in virtual time: the workload (Result.Plan and what
// follows from it alone) must repeat with the seed and change with it.
// Arrival times and bytes depend on goroutine scheduling and are not
// compared.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("three simulated runs")
	}
	run := func(seed uint64) *Result {
		s, err := scenario.Parse([]byte(small), "")
		if err != nil {
			t.Fatal(err)
		}
		s.Seed = seed
		var res *Result
		synctest.Test(t, func(t *testing.T) {
			var err error
			if res, err = Run(context.Background(), s, Options{Virtual: true, Drain: 40 * time.Second}); err != nil {
				t.Fatal(err)
			}
		})
		return res
	}
	// workload is what the seed alone decides.
	workload := func(r *Result) string {
		up := make([]int, len(r.Timeline))
		for k, tick := range r.Timeline {
			up[k] = tick.Up
		}
		return fmt.Sprintf("plan %s, %d attestations (%d private, %d public), %d skipped while down, %d restarts, up %v",
			r.Plan, r.Attestations, r.Private, r.Requested, r.SkippedDown, r.Restarts, up)
	}
	a, b, c := run(3), run(3), run(4)
	if !strings.HasPrefix(a.Plan, "sha256:") {
		t.Fatalf("plan %q", a.Plan)
	}
	if wa, wb := workload(a), workload(b); wa != wb {
		t.Errorf("one seed, two workloads:\n%s\n%s", wa, wb)
	}
	if a.Plan == c.Plan {
		t.Errorf("seeds 3 and 4 give one plan %s", a.Plan)
	}
	for _, r := range []*Result{a, b, c} {
		t.Logf("seed %d: %s; granted %d, declined %d, delivery %.4f, p50 %v", r.Seed, workload(r), r.Granted, r.Declined, r.Delivery, r.LatencyP50)
		if r.PrivateLeaks != 0 || r.UnconsentedLeaks != 0 {
			t.Errorf("seed %d: leaks: %d private, %d unconsented", r.Seed, r.PrivateLeaks, r.UnconsentedLeaks)
		}
	}
}
