package lab

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/trust"
)

// Engines returns every engine kith-lab eval knows: kith's own first (with
// ranking model m and level head l; nil means the shipped ones), then the
// baselines.
func Engines(m *trust.Model, l *trust.LevelModel) []eval.Engine {
	return append([]eval.Engine{
		{Name: "kith", New: func() trust.Scorer { return &trust.Engine{Model: m, Level: l, Personalize: true} }},
		{Name: "kith-shared", New: func() trust.Scorer { return &trust.Engine{Model: m, Level: l} }},
	}, eval.Baselines()...)
}

func (a *lab) evalCommand() *cobra.Command {
	var (
		data, format, labels, out    string
		modelFile, levelFile         string
		tasks, engines, splits       []string
		seed                         uint64
		samples, workers, hops       int
		shuffle, askJudgement, drift bool
		sybils, attackEdges          []int
		victims                      []string
		queriers                     int
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate trust engines on a signed network (tasks A-D of the evaluation protocol)",
		Long: `Evaluate kith's engine and the baselines on any signed trust network in the SNAP
(source,target,rating,time) or KONECT format, from each rater's own viewpoint.

Tasks: A edge sign and weight (splits loo, holdout, temporal, and cold: a new
owner's small view of 1-20 own statements and the statements of the people
within two hops), B fraud detection
on node labels with the leaking ratings masked (needs --labels), C Sybil
injection, D certification level prediction (weights, MAE).

Engines: kith (the engine with on-device learning), kith-shared (the shipped
model only), and the baselines: ` + engineNames() + `.

Results go to DIR/results.csv and DIR/report.md (beside the reference figures);
with --json, one JSON object per row on standard output. Engines whose score is a
probability (kith, kith-shared) also get their expected calibration error (ECE)
and a reliability diagram per split.

--shuffle-signs is the harness's own leakage check: the ratings are permuted
across the edges (the graph is kept), so every engine's sign AUC must fall to
0.50 give or take sampling noise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return cli.Usagef("--data FILE is required (e.g. testdata/bitcoin-otc/soc-sign-bitcoinotc.csv)")
			}
			ds, err := dataset.Load(data, dataset.Format(format))
			if err != nil {
				return err
			}
			if hops < 0 {
				return cli.Usagef("--hops %d: want 0 (the whole graph) or more", hops)
			}
			cfg := eval.Config{Dataset: ds, Seed: seed, Samples: samples, Workers: workers, Splits: splits, Hops: hops, ShuffleSigns: shuffle, AskAtJudgement: askJudgement, DriftCalibrate: drift,
				Sybils: sybils, AttackEdges: attackEdges, Victims: victims, Queriers: queriers}
			for _, s := range sybils {
				if s < 1 {
					return cli.Usagef("--sybils %d: want at least 1", s)
				}
			}
			for _, g := range attackEdges {
				if g < 1 {
					return cli.Usagef("--attack-edges %d: want at least 1", g)
				}
			}
			if queriers < 0 {
				return cli.Usagef("--queriers %d: want 0 (the default) or more", queriers)
			}
			for _, t := range tasks {
				for _, x := range strings.Split(t, ",") {
					cfg.Tasks = append(cfg.Tasks, strings.ToUpper(strings.TrimSpace(x)))
				}
			}
			if labels != "" {
				if cfg.Labels, err = dataset.LoadLabels(labels, ds); err != nil {
					return err
				}
			}
			var model *trust.Model
			if modelFile != "" {
				b, err := os.ReadFile(modelFile)
				if err != nil {
					return err
				}
				if model, err = trust.ParseModel(b); err != nil {
					return fmt.Errorf("%s: %w", modelFile, err)
				}
			}
			var level *trust.LevelModel
			if levelFile != "" {
				b, err := os.ReadFile(levelFile)
				if err != nil {
					return err
				}
				if level, err = trust.ParseLevelModel(b); err != nil {
					return fmt.Errorf("%s: %w", levelFile, err)
				}
			} else if modelFile != "" {
				return cli.Usagef("--model needs --level, the level head trained with that model (kith-lab model train --public --level-out FILE)")
			}
			all := Engines(model, level)
			if len(engines) == 0 {
				cfg.Engines = all
			}
			for _, n := range engines {
				for _, x := range strings.Split(n, ",") {
					e, err := eval.EngineByName(all, strings.TrimSpace(x))
					if err != nil {
						return cli.Usagef("--engine %s: unknown (known: %s)", x, engineNames())
					}
					cfg.Engines = append(cfg.Engines, e)
				}
			}
			bar := a.Progress("evaluating")
			phase := ""
			cfg.Progress = func(done, total int, what string) {
				if what != phase {
					phase = what
					fmt.Fprintf(a.env.Stderr, "%s\n", what)
				}
				bar(done, total)
			}
			rows, err := eval.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				files, err := eval.Report(rows)
				if err != nil {
					return err
				}
				names := slices.Sorted(maps.Keys(files))
				for _, name := range names {
					if err := atomicfile.Write(filepath.Join(out, name), files[name], 0o644); err != nil {
						return err
					}
				}
				fmt.Fprintf(a.env.Stderr, "wrote %s in %s\n", strings.Join(names, ", "), out)
			}
			if a.JSON() {
				for _, r := range rows {
					if err := a.printJSONLine(rowJSON(r)); err != nil {
						return err
					}
				}
				return nil
			}
			if out == "" {
				return eval.WriteMarkdown(a.env.Stdout, rows)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "signed network file (SNAP csv or KONECT)")
	f.StringVar(&format, "format", "auto", "snap, konect or auto")
	f.StringVar(&labels, "labels", "", "node labels for task B (node,+1|-1)")
	f.StringSliceVar(&tasks, "task", nil, "tasks to run: A, B, C, D (default A and C, and B with --labels)")
	f.StringSliceVar(&engines, "engine", nil, "engines to evaluate (default all)")
	f.StringSliceVar(&splits, "split", nil, "splits of tasks A and D: loo, holdout, temporal, cold")
	f.BoolVar(&shuffle, "shuffle-signs", false, "permute the ratings across edges first (leakage check: every AUC must fall to 0.5)")
	f.BoolVar(&askJudgement, "ask-at-judgement", false, "task A: ask kith's engines each question at the time of the judgement predicted, not at the newest statement's (experimental; use a model trained with --ask-at-judgement)")
	f.BoolVar(&drift, "drift-calibrate", false, "task A: recalibrate kith's answers to the drift of the graph scored, learnt from its own history (experimental)")
	f.Uint64Var(&seed, "seed", 1, "seed: the same seed gives the same results")
	f.IntVar(&samples, "samples", 0, "test edges per split (default 2000; -1 all)")
	f.IntVar(&workers, "workers", 0, "parallel viewpoints (default all cores)")
	f.IntSliceVar(&sybils, "sybils", nil, "task C: Sybil region sizes (default 100,1000)")
	f.IntSliceVar(&attackEdges, "attack-edges", nil, "task C: attack edge counts (default 1,10,100)")
	f.StringSliceVar(&victims, "victims", nil, "task C: victim choices: random, targeted, near (default all three)")
	f.IntVar(&queriers, "queriers", 0, "viewpoints of tasks B and C (default 50 for B, 20 for C)")
	f.IntVar(&hops, "hops", 0, "task C: each viewpoint sees only the ratings issued within this many hops of it (default 0: the whole graph)")
	f.StringVar(&out, "out", "", "directory for results.csv and report.md")
	f.StringVar(&modelFile, "model", "", "ranking model file for the kith engines (default the shipped model)")
	f.StringVar(&levelFile, "level", "", "level head file for the kith engines, made with --model (default the shipped one)")
	return cmd
}

func engineNames() string {
	var names []string
	for _, e := range eval.Baselines() {
		names = append(names, e.Name)
	}
	return strings.Join(names, ", ")
}

// rowJSON is one result row for --json, with metrics by name; metrics that
// do not apply are left out.
func rowJSON(r eval.Row) map[string]any {
	m := map[string]any{"dataset": r.Dataset, "task": r.Task, "split": r.Split, "engine": r.Engine, "seed": r.Seed, "bucket": r.Bucket, "n": r.N}
	put := func(k string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m[k] = v
		}
	}
	put("auc", r.AUC)
	put("f1", r.MacroF1)
	put("rmse", r.RMSE)
	put("pcc", r.PCC)
	put("mae", r.MAE)
	put("coverage", r.Coverage)
	put("ece", r.ECE)
	if r.Task == eval.TaskSybil {
		m["sybils"], m["attack_edges"] = r.Sybils, r.AttackEdges
		put("captured_trust", r.CapturedMass)
		put("accepted_per_attack_edge", r.AcceptedPerEdge)
		put("accuracy_cost", r.AccuracyCost)
		m["hops"] = r.Hops
	}
	return m
}

func (a *lab) printJSONLine(v any) error {
	return json.NewEncoder(a.env.Stdout).Encode(v)
}
