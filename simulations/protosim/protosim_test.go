package protosim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/simulations/scenario"
)

const small = `
name = "small"
seed = 3
steps = 10
step = "1s"

[graph]
kind = "watts-strogatz"
nodes = 20
degree = 4

[network]
latency = "10ms"
jitter = 0.2
loss = 0.02
bandwidth = 10

[[network.partition]]
at = 2
heal = 5

[churn]
rate = 0.05
downtime = 2

[consent]
public = 0.8
grant = 0.8
revoke = 0.03
`

// TestSmall runs real nodes on a lossy, partitioned network with churn and
// checks what the protocol promises: every consented proof and every
// withdrawal reaches every node up at the end, and nothing private or
// declined is found where it should not be.
func TestSmall(t *testing.T) {
	s, err := scenario.Parse([]byte(small), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	steps := 0
	// The drain ends as soon as every proof is everywhere; its bound is
	// for a machine so loaded that the run falls behind its clock (then
	// resync, every 10 s, brings what gossip missed).
	res, err := Run(ctx, s, Options{Drain: 2 * time.Minute, Progress: func(done, total int) { steps = done }})
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{Scenario: res.Scenario, Level: Level, Clock: res.Clock, Runs: []*Result{res}}
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var summary map[string]any
	if err := json.Unmarshal(b.Bytes(), &summary); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", summary["runs"].([]any)[0].(map[string]any)["delivery"])
	if steps != s.Steps {
		t.Errorf("progress reached %d of %d steps", steps, s.Steps)
	}
	if res.Granted == 0 || res.Declined == 0 || res.Private == 0 {
		t.Errorf("granted %d, declined %d, private %d: the scenario should produce all three", res.Granted, res.Declined, res.Private)
	}
	if res.Delivery != 1 || !res.Converged {
		t.Errorf("delivery %.4f (%d/%d), converged %v; want every proof everywhere", res.Delivery, res.Delivered, res.Expected, res.Converged)
	}
	if res.WithdrawalsDelivered != res.WithdrawalsExpected {
		t.Errorf("withdrawals delivered %d of %d", res.WithdrawalsDelivered, res.WithdrawalsExpected)
	}
	if res.PrivateLeaks != 0 || res.UnconsentedLeaks != 0 {
		t.Errorf("leaks: %d private, %d unconsented", res.PrivateLeaks, res.UnconsentedLeaks)
	}
	if res.PacketsLost <= 0 || res.BytesPerNodeSecond <= 0 {
		t.Errorf("packets lost %v, bytes/node/s %v: the network was not measured", res.PacketsLost, res.BytesPerNodeSecond)
	}
	if len(res.Timeline) != s.Steps+1 || !res.Timeline[s.Steps].Drain {
		t.Errorf("timeline has %d ticks, want %d and the drain", len(res.Timeline), s.Steps+1)
	}
	if !slices.ContainsFunc(res.Timeline, func(k Tick) bool { return k.Partitioned }) {
		t.Error("the timeline shows no partition")
	}

	// The results read back as written, and plot.
	back, err := ReadJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	if err := WriteJSON(&b2, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Errorf("results.json does not survive a round trip:\n%s\n%s", b.Bytes(), b2.Bytes())
	}
	files, err := Plot(back, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v, %d bytes", f, err, st.Size())
		}
	}
	var csv, tl bytes.Buffer
	if err := WriteCSV(&csv, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csv.String(), "scenario,seed,clock,metric,value\n") || !strings.Contains(csv.String(), "\nsmall,3,real,delivery,1\n") ||
		!strings.Contains(csv.String(), "\nsmall,3,real,converged,1\n") {
		t.Errorf("results.csv lacks the delivery row:\n%s", csv.String())
	}
	if err := WriteTimelineCSV(&tl, rep); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(tl.String(), "\n"); lines != s.Steps+2 || !strings.HasSuffix(tl.String(), ",1\n") {
		t.Errorf("timeline.csv: %d lines\n%s", lines, tl.String())
	}
}

func TestCheckScenario(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"slow steps", "name = \"x\"\nstep = \"1h\"\n[graph]\nkind = \"watts-strogatz\"\nnodes = 10\ndegree = 2\n", "real time"},
		{"too big", "name = \"x\"\nstep = \"1s\"\n[graph]\nkind = \"watts-strogatz\"\nnodes = 1900\ndegree = 2\n[[behaviour]]\nkind = \"eclipse\"\nsize = 200\n", "at most 2000"},
		{"dataset", "name = \"x\"\nstep = \"1s\"\n[graph]\nkind = \"dataset\"\npath = \"x.csv\"\n", "not datasets"},
	} {
		s, err := scenario.Parse([]byte(tc.src), "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = CheckScenario(s)
		if !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrScenario saying %q", tc.name, err, tc.want)
		}
	}
}
