package graphsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/simulations/scenarios"
)

// small parses a scenario and shrinks it to test size.
func small(t *testing.T, src string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse([]byte(src), t.Name()+".toml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, s *scenario.Scenario, o Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// value returns the mean of one metric in res.
func value(t *testing.T, res *Result, engine, behaviour, metric string, size, g int) float64 {
	t.Helper()
	for _, r := range res.Rows {
		if r.Engine == engine && r.Behaviour == behaviour && r.Metric == metric && r.Size == size && r.AttackEdges == g {
			return r.Mean
		}
	}
	t.Fatalf("no row %s/%s/%s s=%d g=%d", engine, behaviour, metric, size, g)
	return 0
}

const sybilSrc = `name = "t"
viewpoints = 8
engines = ["kith", "kith-shared", "ppr", "pagerank"]
[graph]
kind = "barabasi-albert"
nodes = 400
degree = 4
[[behaviour]]
kind = "sybil"
degree = 5
[sweep]
size = [30, 300]
attack_edges = [1, 30]
`

// TestDeterministic: the same scenario and seed give byte-identical CSV
// and JSON, whatever the number of workers; another seed gives other
// numbers.
func TestDeterministic(t *testing.T) {
	// A second group attacks through the querier's contacts, which gives
	// every viewpoint its own attacked graph.
	s := small(t, strings.Replace(sybilSrc, "[sweep]", "[[behaviour]]\nkind = \"sybil\"\ndegree = 3\nvictims = \"near\"\n[sweep]", 1))
	if len(s.Behaviours) != 2 {
		t.Fatal("scenario")
	}
	s.Viewpoints, s.Graph.Nodes = 6, 300
	s.Sweep.Set(scenario.FieldAttackEdges, 20)
	var outs []string
	engines := []string{"kith", "kith-shared", "pagerank"}
	for _, w := range []int{1, 3} {
		res := run(t, s, Options{Workers: w, Engines: engines})
		var c, j bytes.Buffer
		if err := WriteCSV(&c, res); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&j, res); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, c.String()+j.String())
	}
	if outs[0] != outs[1] {
		t.Fatal("1 and 3 workers gave different results")
	}
	s.Seed = 2
	res := run(t, s, Options{Workers: 2, Engines: engines, Viewpoints: 3})
	var c bytes.Buffer
	if err := WriteCSV(&c, res); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(outs[0], c.String()) {
		t.Fatal("seed 2 gave the same results as seed 1")
	}
}

// TestSybil checks the shape of the results against what the engines are
// known to do: a global PageRank hands a Sybil region far more trust than
// kith's personalised engine, and more attack edges capture more trust.
func TestSybil(t *testing.T) {
	res := run(t, small(t, sybilSrc), Options{})
	if res.Viewpoints != 8 || res.Nodes != 400 || len(res.Engines) != 4 {
		t.Fatalf("result header %+v", res)
	}
	for _, e := range []string{"kith", "kith-shared", "ppr"} {
		lo := value(t, res, e, "sybil", MetricCaptured, 300, 1)
		hi := value(t, res, e, "sybil", MetricCaptured, 300, 30)
		if !(lo < hi) {
			t.Errorf("%s: captured trust %v with 1 attack edge, %v with 30", e, lo, hi)
		}
		if pr := value(t, res, "pagerank", "sybil", MetricCaptured, 300, 1); !(pr > 5*lo) {
			t.Errorf("pagerank captured %v, %s %v: want the global engine far above", pr, e, lo)
		}
	}
	for _, r := range res.Rows {
		if r.N == 0 || math.IsNaN(r.Mean) {
			t.Errorf("row %+v undefined", r)
		}
		if r.Metric == MetricAUC && (r.Mean < 0 || r.Mean > 1) {
			t.Errorf("AUC %v", r.Mean)
		}
	}
	// Kith applies the attack to its view incrementally: check it against
	// scoring the whole attacked graph, the path of the other engines.
	s := small(t, sybilSrc)
	s.Sweep = scenario.Sweep{}
	s.Graph.Nodes = 2000
	s.Behaviours[0].Size, s.Behaviours[0].AttackEdges = 200, 4
	if 4*incrementalShare > 2200 {
		t.Fatal("the attack would not be applied incrementally")
	}
	inc := run(t, s, Options{Engines: []string{"kith-shared"}})
	whole := run(t, s, Options{Engines: []string{"kith-shared"}, scoreWhole: true})
	// The two agree within the propagation's error (epsilon 1e-7 per
	// node, and 1e-5 for the corrections that weigh each subject's
	// evidence as if the subject did not exist), which can move a Sybil
	// scored at the median across it: allow one Sybil per viewpoint in the
	// acceptance count.
	for _, c := range []struct {
		m   string
		tol float64
	}{{MetricCaptured, 1e-4}, {MetricAUC, 3e-3}, {MetricAcceptedPerEdge, 1.0 / 4}, {MetricAccuracyCost, 3e-3}} {
		b := "sybil"
		if c.m == MetricAccuracyCost {
			b = "honest"
		}
		x, y := value(t, inc, "kith-shared", b, c.m, 200, 4), value(t, whole, "kith-shared", b, c.m, 200, 4)
		if math.Abs(x-y) > c.tol {
			t.Errorf("%s: incremental %v, whole graph %v", c.m, x, y)
		}
	}
}

// TestEveryShippedScenario runs every shipped scenario, shrunk, and checks
// that the protocol-level ones say so.
func TestEveryShippedScenario(t *testing.T) {
	for _, name := range scenarios.Names() {
		t.Run(name, func(t *testing.T) {
			s, err := scenarios.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Graph.Kind != scenario.GraphDataset {
				s.Graph.Nodes = min(s.Graph.Nodes, 300)
			}
			s.Viewpoints = 3
			// The sweeps keep their values: the goals name them.
			res, err := Run(context.Background(), s, Options{Engines: []string{"kith", "kith-shared"}})
			if !s.GraphLevel() {
				if !errors.Is(err, ErrProtocolLevel) || !strings.Contains(err.Error(), "protocol level") {
					t.Fatalf("got %v, want ErrProtocolLevel", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defined := 0
			for _, r := range res.Rows {
				if r.N > 0 {
					defined++
				}
			}
			if defined == 0 {
				t.Fatalf("no metric defined: %+v", res.Rows)
			}
			// Every goal is judged (kith's engine ran).
			if len(res.Goals) == 0 {
				t.Fatal("no goal judged")
			}
			for _, o := range res.Goals {
				if o.Status == scenario.NotRun {
					t.Errorf("goal %s in %s not run", o.Text, o.Cell)
				}
			}
		})
	}
}

// TestBehaviours checks each attack moves its metric the way it must.
func TestBehaviours(t *testing.T) {
	base := `name = "b"
viewpoints = 10
engines = ["kith-shared"]
steps = %d
[graph]
kind = "watts-strogatz"
nodes = 500
degree = 8
[[behaviour]]
%s
`
	t.Run("slander", func(t *testing.T) {
		res := run(t, small(t, fmt.Sprintf(base, 1, "kind = \"slander\"\nsize = 10\ntargets = 5\n[sweep]\nattack_edges = [1, 60]")), Options{})
		lo := value(t, res, "kith-shared", "slander", MetricRankDrop, 10, 1)
		hi := value(t, res, "kith-shared", "slander", MetricRankDrop, 10, 60)
		if !(hi > lo) || !(hi > 0) {
			t.Errorf("rank drop %v with 1 attack edge, %v with 60", lo, hi)
		}
	})
	t.Run("self-promotion", func(t *testing.T) {
		res := run(t, small(t, fmt.Sprintf(base, 1, "kind = \"self-promotion\"\n[sweep]\nsize = [1, 20]\nattack_edges = [20]")), Options{})
		if p := value(t, res, "kith-shared", "self-promotion", MetricPromoted, 20, 20); !(p > 0 && p <= 100) {
			t.Errorf("promoted percentile %v", p)
		}
	})
	t.Run("whitewash", func(t *testing.T) {
		res := run(t, small(t, fmt.Sprintf(base, 1, "kind = \"whitewash\"\nsize = 5\n[sweep]\nattack_edges = [1, 30]")), Options{})
		lo := value(t, res, "kith-shared", "whitewash", MetricWhitewashBenefit, 5, 1)
		hi := value(t, res, "kith-shared", "whitewash", MetricWhitewashBenefit, 5, 30)
		if !(hi > lo) {
			t.Errorf("whitewash benefit %v with 1 regained vouch, %v with 30", lo, hi)
		}
	})
	t.Run("traitor", func(t *testing.T) {
		res := run(t, small(t, fmt.Sprintf(base, 12, "kind = \"traitor\"\nsize = 3\nvictims = \"targeted\"\nturn_at = 2\nbad_per_step = 4")), Options{})
		before := value(t, res, "kith-shared", "traitor", MetricBeforeTurn, 3, 0)
		undetected := value(t, res, "kith-shared", "traitor", MetricUndetected, 3, 0)
		if !(before > 50) || !(undetected < 1) {
			t.Errorf("traitors at percentile %v before turning, %v never detected", before, undetected)
		}
		if d := value(t, res, "kith-shared", "traitor", MetricDetectionDelay, 3, 0); !(d >= 1 && d <= 10) {
			t.Errorf("detection delay %v steps", d)
		}
	})
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Run(ctx, small(t, sybilSrc), Options{Workers: 2, Progress: func(done, total int) {
		calls++
		if done == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if calls >= 8 {
		t.Fatalf("%d viewpoints done after cancelling at 2", calls)
	}
}

func TestUnknownEngine(t *testing.T) {
	_, err := Run(context.Background(), small(t, sybilSrc), Options{Engines: []string{"magic"}})
	if err == nil || !strings.Contains(err.Error(), "unknown engine") || !strings.Contains(err.Error(), "meritrank") {
		t.Fatalf("got %v", err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	res := run(t, small(t, sybilSrc), Options{Engines: []string{"kith-shared"}})
	res.Rows[0].Mean = math.NaN()
	var b bytes.Buffer
	if err := WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Rows[0].Mean) || len(back.Rows) != len(res.Rows) || !sameRow(back.Rows[1], res.Rows[1]) {
		t.Fatalf("round trip: %+v vs %+v", back.Rows[:2], res.Rows[:2])
	}
}

// TestDataset runs on Bitcoin OTC with its REV2 labels, the paths relative
// to the scenario file.
func TestDataset(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs("../../testdata/bitcoin-otc")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`name = "otc"
viewpoints = 3
engines = ["kith-shared", "mean-rating"]
[graph]
kind = "dataset"
path = %q
labels = %q
[[behaviour]]
kind = "sybil"
size = 300
attack_edges = 10
victims = "near"
`, filepath.Join(rel, "soc-sign-bitcoinotc.csv"), filepath.Join(rel, "otc_gt.csv"))
	file := filepath.Join(dir, "otc.toml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, s, Options{})
	if res.Nodes != 5881 || res.Viewpoints != 3 {
		t.Fatalf("%d nodes, %d viewpoints", res.Nodes, res.Viewpoints)
	}
	for _, e := range []string{"kith-shared", "mean-rating"} {
		if a := value(t, res, e, "honest", MetricAccuracy, 300, 10); !(a > 0.5 && a <= 1) {
			t.Errorf("%s: accuracy on the REV2 labels %v", e, a)
		}
		if c := value(t, res, e, "sybil", MetricCaptured, 300, 10); !(c >= 0 && c < 1) {
			t.Errorf("%s: captured %v", e, c)
		}
	}
}

// sameRow compares rows as written (NaN equal to NaN).
func sameRow(a, b Row) bool {
	a.cell, b.cell = 0, 0
	return fmt.Sprint(a) == fmt.Sprint(b)
}
