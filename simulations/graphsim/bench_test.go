package graphsim

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// The benchmarks run small by default, so that CI's -benchtime=1x stays
// quick. KITH_SIM_SCALE=goal runs the simulator's scale goal (100,000
// members, about 1M ratings, 1,000 viewpoints); KITH_SIM_SCALE=goal10k
// the same with 10,000 viewpoints.
func benchScale(b *testing.B) (nodes, viewpoints int) {
	switch v := os.Getenv("KITH_SIM_SCALE"); v {
	case "":
		return 5000, 20
	case "goal":
		return 100_000, 1000
	case "goal10k":
		return 100_000, 10_000
	case "1m":
		// issue 21's goal graph (1M members, 10M ratings), few viewpoints:
		// the per-viewpoint cost and the set-up.
		return 1_000_000, 200
	default:
		b.Fatalf("KITH_SIM_SCALE=%q: want goal, goal10k or 1m", v)
	}
	return 0, 0
}

// scaleScenario is the scale goal's scenario: a Barabási-Albert population
// (8 vouches per newcomer, a quarter answered: about 10 ratings per
// member) with one Sybil region of 1,000 on 100 random attack edges.
func scaleScenario(b *testing.B, nodes, viewpoints int, engine string) *scenario.Scenario {
	src := fmt.Sprintf(`name = "scale"
viewpoints = %d
engines = [%q]
[graph]
kind = "barabasi-albert"
nodes = %d
degree = 8
reciprocity = 0.25
[[behaviour]]
kind = "sybil"
size = 1000
attack_edges = 100
`, viewpoints, engine, nodes)
	s, err := scenario.Parse([]byte(src), "scale.toml")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRun measures a whole graph-level run (population, attacked
// graph, every viewpoint on all cores) with kith's engines and the
// Monte Carlo personalised PageRank.
func BenchmarkRun(b *testing.B) {
	nodes, viewpoints := benchScale(b)
	for _, engine := range []string{"kith-shared", "kith", "ppr-mc"} {
		b.Run(engine, func(b *testing.B) {
			s := scaleScenario(b, nodes, viewpoints, engine)
			for b.Loop() {
				start, cpu := time.Now(), cpuSeconds()
				res, err := Run(context.Background(), s, Options{})
				if err != nil {
					b.Fatal(err)
				}
				el := time.Since(start)
				// Wall time depends on what else the machine runs; CPU
				// time per viewpoint does not (much).
				b.ReportMetric(float64(el.Milliseconds())/float64(res.Viewpoints), "ms/viewpoint")
				b.ReportMetric(1000*(cpuSeconds()-cpu)/float64(res.Viewpoints), "cpu-ms/viewpoint")
				b.ReportMetric(el.Seconds(), "s/run")
				b.ReportMetric(float64(res.Edges), "edges")
			}
			b.ReportMetric(PeakRSS(), "peak-RSS-MiB")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		})
	}
}

// BenchmarkViewpoint splits one viewpoint's cost at the benchmark's scale:
// the propagation (trust.NewView), the scoring of every node with the
// shipped model, and with the model refined on the querier's judgements.
func BenchmarkViewpoint(b *testing.B) {
	nodes, _ := benchScale(b)
	s := scaleScenario(b, nodes, 1, "kith")
	pop, err := NewPopulation(s)
	if err != nil {
		b.Fatal(err)
	}
	w := newWorld(pop)
	q := w.byFame[len(w.byFame)/2] // a typical member
	g := pop.Graph
	ctx := context.Background()
	x := make([]float64, g.N())
	b.Run("propagation", func(b *testing.B) {
		for b.Loop() {
			if _, err := trust.NewView(ctx, g, q, trust.PropagationParams{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, e := range []*trust.Engine{{}, {Personalize: true}} {
		v, err := e.View(ctx, g, q)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("score-all/"+e.Name(), func(b *testing.B) {
			for b.Loop() {
				if err := e.ScoreView(ctx, v, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, en := range Engines()[2:] {
		if en.Name != "ppr" && en.Name != "ppr-mc" && en.Name != "meritrank" {
			continue
		}
		sc := en.New()
		b.Run("baseline/"+en.Name, func(b *testing.B) {
			for b.Loop() {
				if err := sc.Score(ctx, g, q, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSetup measures the serial part of a run: the population, and
// the attacked graph of one cell.
func BenchmarkSetup(b *testing.B) {
	nodes, _ := benchScale(b)
	s := scaleScenario(b, nodes, 1, "kith")
	for b.Loop() {
		pop, err := NewPopulation(s)
		if err != nil {
			b.Fatal(err)
		}
		w := newWorld(pop)
		r := &runner{s: s}
		if _, err := w.build(s, s.Cells()[0], -1, r.rng, false); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuSeconds() float64 { t := cpuTimes(); return t[0] + t[1] }

// BenchmarkViewpointRun measures what a run spends per viewpoint once its
// graphs are built (the serial set-up excluded): runner.viewpoint, the
// propagation, the attack applied to the view and the metrics' scores,
// for the scale scenario with kith's shared model, on one goroutine.
func BenchmarkViewpointRun(b *testing.B) {
	nodes, viewpoints := benchScale(b)
	s := scaleScenario(b, nodes, viewpoints, "kith-shared")
	p, err := newPlan(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r, _, err := p.newRunner(ctx, 0, Options{})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	start, cpu := time.Now(), cpuSeconds()
	for b.Loop() {
		if _, err := r.viewpoint(ctx, r.queriers[i%len(r.queriers)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(i), "ms/viewpoint")
	b.ReportMetric(1000*(cpuSeconds()-cpu)/float64(i), "cpu-ms/viewpoint")
}
