package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/kith-net/kith/simulations/baseline"
	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

const (
	otcPath    = "../../testdata/bitcoin-otc/soc-sign-bitcoinotc.csv"
	otcLabels  = "../../testdata/bitcoin-otc/otc_gt.csv"
	advogatoPa = "../../testdata/advogato/out.advogato"
)

var (
	otcOnce sync.Once
	otc     *dataset.Dataset
	otcLab  dataset.Labels
	otcErr  error
)

func loadOTC(t *testing.T) (*dataset.Dataset, dataset.Labels) {
	t.Helper()
	otcOnce.Do(func() {
		otc, otcErr = dataset.Load(otcPath, dataset.FormatAuto)
		if otcErr == nil {
			otcLab, otcErr = dataset.LoadLabels(otcLabels, otc)
		}
	})
	if otcErr != nil {
		t.Fatal(otcErr)
	}
	return otc, otcLab
}

func engines(t *testing.T, names ...string) []Engine {
	t.Helper()
	var out []Engine
	for _, n := range names {
		e, err := EngineByName(Baselines(), n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func find(t *testing.T, rows []Row, keep func(Row) bool) Row {
	t.Helper()
	var got []Row
	for _, r := range rows {
		if keep(r) {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d matching rows, want 1", len(got))
	}
	return got[0]
}

// TestFairnessGoodnessHarnessCheck is the brief's check that the harness
// itself is right: Fairness/Goodness on Bitcoin OTC over all 35,592
// edges, against the published replication's RMSE 0.282 / PCC 0.628.
//
// That replication computed F&G once on the full graph and predicted 1000
// random edges (see the package documentation), which is our split
// insample: over all edges it must land within ±0.01 of the reference
// RMSE, and the reference PCC must lie inside the range that 1000-edge
// draws of our predictions produce (the reference is one such draw; over
// all edges our PCC is 0.653, 0.025 above it, which is within sampling
// noise but not within ±0.01). The true leave-one-out (split loo, F&G
// recomputed without each edge) is checked against its own measured
// figures.
func TestFairnessGoodnessHarnessCheck(t *testing.T) {
	d, _ := loadOTC(t)
	rows, err := Run(context.Background(), Config{
		Dataset: d, Tasks: []string{TaskEdge}, Splits: []string{SplitInSample, SplitLOO},
		Engines: engines(t, "fairness-goodness"), Samples: -1, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := find(t, rows, func(r Row) bool { return r.Split == SplitInSample && r.Bucket == "all" })
	loo := find(t, rows, func(r Row) bool { return r.Split == SplitLOO && r.Bucket == "all" })
	t.Logf("insample: n=%d covered=%d RMSE %.4f PCC %.4f", in.N, in.Covered, in.RMSE, in.PCC)
	t.Logf("loo:      n=%d covered=%d RMSE %.6f PCC %.6f (filled %.4f / %.4f)", loo.N, loo.Covered, loo.RMSE, loo.PCC, loo.RMSEFilled, loo.PCCFilled)
	if in.N != 35592 || in.Covered != 35592 || loo.N != 35592 {
		t.Errorf("not every edge evaluated: insample %d/%d, loo %d", in.Covered, in.N, loo.N)
	}
	if math.Abs(in.RMSE-0.282) > 0.01 {
		t.Errorf("insample RMSE %.4f, want 0.282 ± 0.01", in.RMSE)
	}
	if math.Abs(in.PCC-0.628) > 0.03 {
		t.Errorf("insample PCC %.4f, want 0.628 ± 0.03 (see the comment)", in.PCC)
	}
	// The reference is one draw of 1000 edges: check it is a plausible one.
	fg := must(baseline.NewFairnessGoodness(baseline.DefaultFairnessGoodnessParams()))
	edges := d.Graph.Edges()
	pred, ok := make([]float64, len(edges)), make([]bool, len(edges))
	if err := fg.PredictWeights(context.Background(), d.Graph, edges, false, pred, ok); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var lowR, lowP int
	const draws = 400
	for range draws {
		var y, p []float64
		for _, i := range rng.Perm(len(edges))[:1000] {
			y, p = append(y, edges[i].Weight), append(p, pred[i])
		}
		if RMSE(y, p) < 0.282 {
			lowR++
		}
		if Pearson(y, p) < 0.628 {
			lowP++
		}
	}
	t.Logf("share of 1000-edge draws below the reference: RMSE %.2f, PCC %.2f", float64(lowR)/draws, float64(lowP)/draws)
	for what, share := range map[string]float64{"RMSE": float64(lowR) / draws, "PCC": float64(lowP) / draws} {
		if share < 0.025 || share > 0.975 {
			t.Errorf("reference %s outside the central 95%% of 1000-edge draws (quantile %.3f)", what, share)
		}
	}
	// The true leave-one-out: 34,764 edges keep both ends in the graph.
	if loo.Covered != 34764 || math.Abs(loo.RMSE-0.3086) > 0.002 || math.Abs(loo.PCC-0.4941) > 0.002 {
		t.Errorf("loo: covered %d RMSE %.4f PCC %.4f, want 34764, 0.3086, 0.4941", loo.Covered, loo.RMSE, loo.PCC)
	}
}

// TestFraudMasking checks that our masking matches the brief: mean rating
// received scores AUC 0.947 on Bitcoin OTC with the five most active
// labellers' ratings removed, and 0.997 unmasked.
func TestFraudMasking(t *testing.T) {
	d, labels := loadOTC(t)
	rows, err := Run(context.Background(), Config{
		Dataset: d, Labels: labels, Tasks: []string{TaskFraud},
		Engines: engines(t, "mean-rating"), Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	masked := find(t, rows, func(r Row) bool { return r.Split == "masked" })
	unmasked := find(t, rows, func(r Row) bool { return r.Split == "unmasked" })
	t.Logf("mean rating received: masked AUC %.4f (filled %.4f, coverage %.3f), unmasked %.4f, over %d viewpoints",
		masked.AUC, masked.AUCFilled, masked.Coverage, unmasked.AUC, masked.N)
	if masked.N != 50 {
		t.Errorf("%d viewpoints, want 50", masked.N)
	}
	if math.Abs(masked.AUC-0.947) > 0.02 {
		t.Errorf("masked AUC %.4f, want 0.947 ± 0.02", masked.AUC)
	}
	if math.Abs(unmasked.AUC-0.997) > 0.01 {
		t.Errorf("unmasked AUC %.4f, want 0.997 ± 0.01", unmasked.AUC)
	}
	want := []string{"2125", "1", "1810", "1386", "7"}
	var got []string
	for _, u := range Labellers(d.Graph, labels, 5) {
		got = append(got, d.IDs[u])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labellers %v, want %v", got, want)
	}
}

func TestSybilSmoke(t *testing.T) {
	d, _ := loadOTC(t)
	rows, err := Run(context.Background(), Config{
		Dataset: d, Tasks: []string{TaskSybil}, Engines: engines(t, "ppr", "pagerank", "moletrust"),
		Sybils: []int{50}, AttackEdges: []int{1, 10}, Queriers: 4, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1*2*3*3 {
		t.Fatalf("%d rows, want 18", len(rows))
	}
	for _, r := range rows {
		for what, x := range map[string]float64{"mass": r.CapturedMass, "auc": r.AUCFilled, "coverage": r.Coverage, "sybil coverage": r.SybilCoverage} {
			if !(x >= 0 && x <= 1) {
				t.Errorf("%s %s s=%d g=%d: %s = %v outside [0, 1]", r.Engine, r.Split, r.Sybils, r.AttackEdges, what, x)
			}
		}
		if !(r.AcceptedPerEdge >= 0 && r.AcceptedPerEdge <= float64(r.Sybils)) {
			t.Errorf("%s: accepted per edge %v", r.Engine, r.AcceptedPerEdge)
		}
		// The Sybils are not honest nodes: the attack can move honest
		// accuracy only through the trust they divert, a little either way.
		if !(math.Abs(r.AccuracyCost) < 0.2) {
			t.Errorf("%s %s s=%d g=%d: accuracy cost %v", r.Engine, r.Split, r.Sybils, r.AttackEdges, r.AccuracyCost)
		}
	}
	// Global PageRank hands the whole dense region a rank above the median
	// honest node whatever the victims; with one random attack edge,
	// personalised PageRank accepts far fewer.
	pr := find(t, rows, func(r Row) bool { return r.Engine == "pagerank" && r.Split == VictimsRandom && r.AttackEdges == 1 })
	ppr := find(t, rows, func(r Row) bool { return r.Engine == "ppr" && r.Split == VictimsRandom && r.AttackEdges == 1 })
	if pr.AcceptedPerEdge != 50 || !(ppr.AcceptedPerEdge < pr.AcceptedPerEdge) {
		t.Errorf("accepted per edge: pagerank %v (want 50), ppr %v (want fewer)", pr.AcceptedPerEdge, ppr.AcceptedPerEdge)
	}
}

// TestHorizon: a viewpoint with a horizon of h hops holds the ratings of
// the nodes fewer than h steps away along positive ratings.
func TestHorizon(t *testing.T) {
	g, _ := trusttest.MustParse(t, "a -> b; b -> c; c -> d; a -x e; e -> f; b -x g")
	for _, c := range []struct {
		hops int
		want int // edges kept
	}{{1, 2}, {2, 4}, {3, 5}, {9, 5}} {
		h, err := Horizon(g, 0, c.hops)
		if err != nil {
			t.Fatal(err)
		}
		if h.N() != g.N() || h.M() != c.want {
			t.Errorf("%d hops: N=%d M=%d, want N=%d M=%d", c.hops, h.N(), h.M(), g.N(), c.want)
		}
	}
	if _, err := Horizon(g, 0, 0); err == nil {
		t.Error("a horizon of 0 hops was accepted")
	}
}

// TestSybilHorizon: on Bitcoin OTC, a two-hop horizon shows each
// viewpoint fewer honest nodes and fewer Sybils than the whole graph.
func TestSybilHorizon(t *testing.T) {
	d, _ := loadOTC(t)
	cfg := Config{Dataset: d, Tasks: []string{TaskSybil}, Engines: engines(t, "ppr", "pagerank"),
		Sybils: []int{50}, AttackEdges: []int{10}, Victims: []string{VictimsRandom}, Queriers: 4, Seed: 3}
	all, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hops = 2
	near, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := find(t, all, func(r Row) bool { return r.Engine == "ppr" })
	h := find(t, near, func(r Row) bool { return r.Engine == "ppr" })
	t.Logf("ppr: honest coverage %.3f -> %.3f, sybils seen %.3f -> %.3f, captured %.4f -> %.4f, accuracy cost %.4f -> %.4f",
		a.Coverage, h.Coverage, a.SybilCoverage, h.SybilCoverage, a.CapturedMass, h.CapturedMass, a.AccuracyCost, h.AccuracyCost)
	if h.Hops != 2 || a.Hops != 0 {
		t.Errorf("hops %d and %d", a.Hops, h.Hops)
	}
	if !(h.Coverage < a.Coverage) || h.SybilCoverage > a.SybilCoverage {
		t.Errorf("with two hops: honest coverage %v (whole graph %v), sybils seen %v (%v)", h.Coverage, a.Coverage, h.SybilCoverage, a.SybilCoverage)
	}
}

func TestInject(t *testing.T) {
	g, _ := trusttest.MustParse(t, "a -> b 0.5; b -> c; c -x a")
	h, err := Inject(g, SybilAttack{Sybils: 4, Degree: 2, Victims: []trust.NodeID{0, 2}, AttackValue: 0.3}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if h.N() != 7 || h.M() != 3+4*2+2 {
		t.Fatalf("N=%d M=%d, want 7 and 13", h.N(), h.M())
	}
	for s := trust.NodeID(3); s < 7; s++ {
		to, w := h.Out(s)
		if len(to) != 2 {
			t.Errorf("sybil %d vouches for %d, want 2", s, len(to))
		}
		for i, v := range to {
			if v < 3 || w[i] != 1 {
				t.Errorf("sybil edge %d->%d (%v)", s, v, w[i])
			}
		}
	}
	for _, v := range []trust.NodeID{0, 2} {
		to, w := h.Out(v)
		if to[len(to)-1] < 3 || math.Abs(float64(w[len(w)-1])-0.3) > 1e-6 {
			t.Errorf("victim %d has no attack edge: %v %v", v, to, w)
		}
	}
	if _, err := Inject(g, SybilAttack{Sybils: 2, Victims: []trust.NodeID{9}, AttackValue: 1}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Errorf("a victim outside the honest graph was accepted")
	}
}

func TestAdvogatoSmoke(t *testing.T) {
	d, err := dataset.Load(advogatoPa, dataset.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(context.Background(), Config{
		Dataset: d, Tasks: []string{TaskAdvogato}, Engines: engines(t, "moletrust", "mean-rating"), Samples: 150, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Bucket != "all" {
			continue
		}
		t.Logf("%s: n=%d coverage %.3f MAE %.3f", r.Engine, r.N, r.Coverage, r.MAE)
		if r.Task != TaskAdvogato || r.Split != SplitLOO || r.N != 150 || !(r.MAE > 0 && r.MAE < 0.3) || !math.IsNaN(r.AUC) {
			t.Errorf("unexpected row %+v", r)
		}
	}
}

// synthetic is a small dataset for the harness's own tests.
func synthetic() *dataset.Dataset {
	return dataset.FromGraph("synthetic", must(trusttest.SyntheticWith(trusttest.SyntheticParams{Nodes: 150, Edges: 1000, Seed: 9, Negative: 0.2})))
}

func TestRunDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every task twice with every baseline")
	}
	d := synthetic()
	labels := dataset.Labels{}
	for v := range trust.NodeID(40) {
		labels[v] = 1 - 2*int(v%2)
	}
	cfg := Config{
		Dataset: d, Labels: labels, Tasks: []string{TaskEdge, TaskFraud, TaskSybil},
		Samples: 40, Calibration: 30, Queriers: 3, Sybils: []int{20}, AttackEdges: []int{2}, Seed: 5,
	}
	var mu sync.Mutex
	phases := map[string]int{}
	cfg.Workers = 1
	cfg.Progress = func(done, total int, what string) {
		mu.Lock()
		defer mu.Unlock()
		if done != phases[what]+1 || done > total {
			t.Errorf("progress %s: %d/%d after %d", what, done, total, phases[what])
		}
		phases[what] = done
	}
	a, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers, cfg.Progress = 3, nil
	b, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ca, cb bytes.Buffer
	if err := WriteCSV(&ca, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&cb, b); err != nil {
		t.Fatal(err)
	}
	if ca.String() != cb.String() {
		t.Errorf("1 and 3 workers give different results")
	}
	if len(phases) == 0 {
		t.Errorf("no progress reported")
	}
	// Every engine has a row per split and bucket in Task A.
	nA := 0
	for _, r := range a {
		if r.Task == TaskEdge {
			nA++
		}
	}
	if want := len(Baselines()) * 4 * 4; nA != want { // four splits, each with "all" and three buckets
		t.Errorf("%d task A rows, want %d", nA, want)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, a); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Task A", "### Split loo", "## Task B", "## Task C", "| ppr |", "0.282"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
	lines := strings.Split(strings.TrimSpace(ca.String()), "\n")
	if len(lines) != len(a)+1 || !strings.HasPrefix(lines[0], "dataset,task,split,engine,seed,bucket") {
		t.Errorf("csv: %d lines for %d rows, header %q", len(lines), len(a), lines[0])
	}
}

func TestRunErrors(t *testing.T) {
	d := synthetic()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Config{Dataset: d, Tasks: []string{TaskEdge}, Samples: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	for _, cfg := range []Config{
		{},
		{Dataset: d, Tasks: []string{"Z"}},
		{Dataset: d, Tasks: []string{TaskFraud}},
		{Dataset: d, Tasks: []string{TaskEdge}, Splits: []string{"sideways"}},
		{Dataset: d, Tasks: []string{TaskSybil}, Victims: []string{"everyone"}},
		{Dataset: d, Tasks: []string{TaskSybil}, Hops: -1},
		{Dataset: d, Engines: []Engine{{Name: "x"}}},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	// An engine error stops the run and is reported.
	bad := Engine{Name: "bad", New: func() trust.Scorer { return failing{} }}
	if _, err := Run(context.Background(), Config{Dataset: d, Tasks: []string{TaskEdge}, Engines: []Engine{bad}, Samples: 10}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing engine: %v", err)
	}
}

type failing struct{}

func (failing) Name() string { return "bad" }
func (failing) Score(context.Context, *trust.Graph, trust.NodeID, []float64) error {
	return errors.New("boom")
}

func TestSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	// 90 of key 0, 10 of key 1: a sample of 20 takes 18 and 2.
	keys := make([]int, 100)
	for i := 90; i < 100; i++ {
		keys[i] = 1
	}
	s := sample(rng, keys, 20)
	n1 := 0
	for _, i := range s {
		n1 += keys[i]
	}
	if len(s) != 20 || n1 != 2 {
		t.Errorf("sample: %d items, %d of key 1; want 20 and 2", len(s), n1)
	}
	if all := sample(rng, keys, -1); len(all) != 100 {
		t.Errorf("k < 0 gave %d items", len(all))
	}
}

// TestReport runs the whole default protocol on the shipped datasets and
// writes the CSV and markdown report to $KITH_EVAL_OUT; it is skipped
// unless that variable is set (it takes minutes). Optional:
// KITH_EVAL_SAMPLES.
func TestReport(t *testing.T) {
	out := os.Getenv("KITH_EVAL_OUT")
	if out == "" {
		t.Skip("set KITH_EVAL_OUT to a directory to run the full evaluation")
	}
	d, labels := loadOTC(t)
	samples := 0
	if s := os.Getenv("KITH_EVAL_SAMPLES"); s != "" {
		if _, err := fmt.Sscan(s, &samples); err != nil {
			t.Fatal(err)
		}
	}
	progress := func(done, total int, what string) {
		if done == total {
			t.Logf("%s: %d done", what, total)
		}
	}
	rows, err := Run(context.Background(), Config{Dataset: d, Labels: labels, Tasks: []string{TaskEdge, TaskFraud, TaskSybil}, Samples: samples, Seed: 1, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	adv, err := dataset.Load(advogatoPa, dataset.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	rowsD, err := Run(context.Background(), Config{Dataset: adv, Tasks: []string{TaskAdvogato}, Samples: samples, Seed: 1, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	rows = append(rows, rowsD...)
	var csvb, md bytes.Buffer
	if err := WriteCSV(&csvb, rows); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "eval.csv"), csvb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "eval.md"), md.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSybilNearQuerier is CI's regression bound on the attack kith's users
// face: a Sybil region attached to the querier's closest contacts (issue
// 23), on Bitcoin OTC with the shipped model. With one attack edge the
// contact discount (trust.ContactRetain) holds it to the goal, 5 accepted
// per edge (measured 1.00 with 4 queriers, s = 300); with ten, from ten
// different contacts, the region mixes their trust and the goal is missed
// (measured 14.45): the bound there is a regression bound, not the goal.
func TestSybilNearQuerier(t *testing.T) {
	d, _ := loadOTC(t)
	rows, err := Run(context.Background(), Config{
		Dataset: d, Tasks: []string{TaskSybil},
		Engines: []Engine{{Name: "kith-shared", New: func() trust.Scorer { return &trust.Engine{} }}},
		Sybils:  []int{300}, AttackEdges: []int{1, 10}, Victims: []string{VictimsNear}, Queriers: 4, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	for g, bound := range map[int]float64{1: 5, 10: 20} {
		r := find(t, rows, func(r Row) bool { return r.AttackEdges == g })
		t.Logf("g=%d: accepted per edge %.2f, captured %.4f, sybil coverage %.4f, honest coverage %.3f", g, r.AcceptedPerEdge, r.CapturedMass, r.SybilCoverage, r.Coverage)
		if !(r.AcceptedPerEdge <= bound) {
			t.Errorf("g=%d: %.2f Sybils accepted per near-querier attack edge, want at most %v", g, r.AcceptedPerEdge, bound)
		}
	}
}

// timedRecorder is a TimedScorer that records the time each question was
// asked at.
type timedRecorder struct {
	mu     sync.Mutex
	asked  map[[2]trust.NodeID]int64
	untime int // calls without times
}

func (r *timedRecorder) Name() string { return "timed" }
func (r *timedRecorder) Score(_ context.Context, _ *trust.Graph, _ trust.NodeID, dst []float64) error {
	r.mu.Lock()
	r.untime++
	r.mu.Unlock()
	for i := range dst {
		dst[i] = 0.5
	}
	return nil
}
func (r *timedRecorder) ScoreNodesAt(_ context.Context, _ *trust.Graph, q trust.NodeID, nodes []trust.NodeID, at []int64, dst []float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range nodes {
		r.asked[[2]trust.NodeID{q, t}] = at[i]
		dst[t] = 0.5
	}
	return nil
}
func (r *timedRecorder) LevelsAt(context.Context, *trust.Graph, trust.NodeID, []trust.NodeID, []int64, []float64) error {
	return errors.New("not a level predictor")
}

// TestAskAtJudgementTime: a TimedScorer is asked each question of task A
// at the time of the judgement it predicts, on every split, with
// AskAtJudgement; without, it is scored as any other engine.
func TestAskAtJudgementTime(t *testing.T) {
	d := synthetic()
	when := map[[2]trust.NodeID]int64{}
	for _, e := range d.Graph.Edges() {
		when[[2]trust.NodeID{e.From, e.To}] = e.Time
	}
	for _, newest := range []bool{false, true} {
		rec := &timedRecorder{asked: map[[2]trust.NodeID]int64{}}
		cfg := Config{Dataset: d, Tasks: []string{TaskEdge}, Splits: []string{SplitLOO, SplitHoldout, SplitTemporal, SplitCold},
			Samples: 20, Calibration: 10, AskAtJudgement: !newest,
			Engines: []Engine{{Name: "timed", New: func() trust.Scorer { return rec }}}}
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		if newest {
			if len(rec.asked) != 0 || rec.untime == 0 {
				t.Errorf("without AskAtJudgement: %d questions asked at a time, %d scored without", len(rec.asked), rec.untime)
			}
			continue
		}
		if rec.untime != 0 || len(rec.asked) < 40 {
			t.Fatalf("%d questions asked at a time, %d scored without", len(rec.asked), rec.untime)
		}
		for k, at := range rec.asked {
			if want, ok := when[k]; !ok || at != want || at == 0 {
				t.Errorf("%d judging %d asked at %d, the judgement was made at %d", k[0], k[1], at, want)
			}
		}
	}
}

// TestDriftCalibrate: the drift calibration changes only the probabilistic
// engines' answers, and is deterministic.
func TestDriftCalibrate(t *testing.T) {
	d := synthetic()
	run := func(drift bool) []Row {
		t.Helper()
		cfg := Config{Dataset: d, Tasks: []string{TaskEdge}, Splits: []string{SplitHoldout, SplitTemporal},
			Samples: 60, Calibration: 40, Seed: 3, DriftCalibrate: drift, AskAtJudgement: true,
			Engines: []Engine{
				{Name: "kith-shared", New: func() trust.Scorer { return &trust.Engine{} }},
				must(EngineByName(Baselines(), "ppr")),
			}}
		rows, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	plain, drift, again := run(false), run(true), run(true)
	if fmt.Sprint(drift) != fmt.Sprint(again) { // NaN-aware
		t.Error("two drift-calibrated runs differ")
	}
	changed := 0
	for i, r := range drift {
		p := plain[i]
		if r.Engine == "ppr" && fmt.Sprint(r) != fmt.Sprint(p) {
			t.Errorf("ppr %s/%s changed: %+v, was %+v", r.Split, r.Bucket, r, p)
		}
		if r.Engine == "kith-shared" && r.Bucket == "all" {
			if math.IsNaN(r.ECE) {
				t.Errorf("kith-shared %s: no ECE", r.Split)
			}
			if r.ECE != p.ECE {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("the drift calibration changed no kith-shared answer")
	}
}
