package lab

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/simulations/graphsim"
	"github.com/kith-net/kith/simulations/protosim"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/simulations/scenarios"
)

func (a *lab) simCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate attacks on kith's trust engine from many viewpoints (researchers)",
		Long: `Run scenario files: an honest population, attackers (Sybil regions, slander,
self-promotion, whitewashing, collusion, traitors), the engines to compare and
sweeps over any of their fields. Every simulated person computes their own
subjective view with the real trust engine (graph level), or every member runs
the real node on a simulated network with latency, loss, partitions, churn and
eclipse attackers (protocol level).

Scenarios are shipped ones (kith-lab sim list) or TOML files; the format is
documented in simulations/README.md.`,
	}
	cmd.AddCommand(a.simRunCommand(), a.simListCommand(), a.simPlotCommand(), a.simMergeCommand(), a.simCompareCommand(), a.simGraphCommand())
	return cmd
}

// simOut are the options of how a run's results are written.
type simOut struct {
	dir          string
	noPlot       bool
	perViewpoint bool
	logEvery     time.Duration
}

func (o *simOut) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.dir, "out", "", "directory for the results, the scenario as run and plots/")
	f.BoolVar(&o.noPlot, "no-plot", false, "write results only")
	f.BoolVar(&o.perViewpoint, "per-viewpoint", false, "graph level: also write viewpoints.csv, one row per viewpoint and metric")
	f.DurationVar(&o.logEvery, "log-every", 10*time.Second, "when standard error is not a terminal, log progress this often")
}

func (a *lab) simRunCommand() *cobra.Command {
	var (
		o                   simOut
		seed                uint64
		engines             []string
		workers, viewpoints int
		level, clock, shard string
	)
	cmd := &cobra.Command{
		Use:   "run SCENARIO --out DIR",
		Short: "Run a shipped scenario (by name) or a scenario file",
		Long: `Run a scenario and write into DIR: results.csv (one tidy table across the
sweep), results.json (the same with the run's provenance and its goals met or
missed), scenario.toml (the effective scenario: defaults filled, overrides
applied; running it again reproduces the run), run.json (wall and CPU time,
load average, the machine), goals.csv, and the plots in DIR/plots (PNG at 300
dpi and SVG).

At the graph level (scenarios with reputation attacks) the same scenario and
seed give byte-identical results.csv and results.json, whatever --workers and
however the run is sharded. --engine runs the scenario across several engines
(comparison mode): kith, kith-shared and the baselines ` + strings.Join(graphsim.EngineNames()[2:], ", ") + `.

At the protocol level (scenarios with only network behaviour: partition,
eclipse) every member runs a real kith node, QUIC over a simulated network.
--clock virtual (the default there) runs in virtual time: a step takes the time
its work needs, and latencies are the protocol's, whatever this machine's load.
--clock real runs in real time (steps × step, then up to 30 s for the last
deliveries); a run that falls more than 10 % behind its clock says so and marks
its figures (fell_behind). The seed fixes the graph, keys, events and choices.

--shard I/N runs part I of N (0-based) and writes DIR/partial-I-of-N.json;
kith-lab sim merge joins the parts into the results of the whole run. --shard N
takes I from JOB_COMPLETION_INDEX (a Kubernetes indexed Job) or
SLURM_ARRAY_TASK_ID (a Slurm job array, counted from SLURM_ARRAY_TASK_MIN).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.dir == "" {
				return cli.Usagef("--out DIR is required")
			}
			s, err := openScenario(args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seed") {
				if seed == 0 {
					return cli.Usagef("--seed 0: seeds start at 1")
				}
				s.Seed = seed
			}
			var names []string
			for _, e := range engines {
				for x := range strings.SplitSeq(e, ",") {
					if x = strings.TrimSpace(x); x != "" {
						names = append(names, x)
					}
				}
			}
			known := graphsim.EngineNames()
			for _, n := range names {
				if !slices.Contains(known, n) {
					return cli.Usagef("--engine %s: unknown (known: %s)", n, strings.Join(known, ", "))
				}
			}
			switch level {
			case "auto", "graph", "protocol":
			default:
				return cli.Usagef("--level %s: want auto, graph or protocol", level)
			}
			sh, err := a.parseShard(shard)
			if err != nil {
				return err
			}
			if level == "protocol" || (level == "auto" && !s.GraphLevel()) {
				if len(engines) > 0 || viewpoints > 0 || workers > 0 || o.perViewpoint {
					return cli.Usagef("--engine, --viewpoints, --workers and --per-viewpoint are graph-level options")
				}
				switch clock {
				case "", protosim.ClockVirtual, protosim.ClockReal:
				default:
					return cli.Usagef("--clock %s: want virtual or real", clock)
				}
				if clock == "" {
					clock = protosim.ClockVirtual
				}
				if err := a.simRunProtocol(cmd, s, o, clock, sh); err != nil {
					return err
				}
				a.noteBuild()
				return nil
			}
			if clock != "" {
				return cli.Usagef("--clock is a protocol-level option (the graph level has no clock)")
			}
			if ignored := s.ProtocolOnly(); len(ignored) > 0 {
				fmt.Fprintf(a.env.Stderr, "note: the graph level ignores %s (protocol level)\n", strings.Join(ignored, ", "))
			}
			eff := graphsim.Effective(s, graphsim.Options{Engines: names, Viewpoints: viewpoints})
			meter := graphsim.StartMeter(a.env.Now, 0)
			prog := a.simProgress(eff.Name, o.logEvery)
			opts := graphsim.Options{Workers: workers, Progress: func(done, total int) { prog.update("viewpoints", done, total) }}
			if sh != nil {
				part, err := graphsim.RunShard(cmd.Context(), eff, opts, *sh)
				prog.close()
				if err != nil {
					return err
				}
				rec := runRecord{Level: "graph", Scenario: eff.Name, Digest: part.Digest, Software: part.Software, Shard: sh, Machine: meter.Stop()}
				if err := a.writePartial(o.dir, *sh, rec, func(w io.Writer) error { return graphsim.WritePartial(w, part) }); err != nil {
					return err
				}
				a.noteBuild()
				return nil
			}
			res, err := graphsim.Run(cmd.Context(), eff, opts)
			prog.close()
			if err != nil {
				return err
			}
			port, err := eff.Portable()
			if err != nil {
				return err
			}
			enc, err := port.Encode()
			if err != nil {
				return err
			}
			rec := runRecord{Level: "graph", Scenario: eff.Name, Digest: res.Provenance.Scenario, Software: res.Provenance.Software, Machine: meter.Stop()}
			if err := a.writeGraph(o, enc, res, runFile{Runs: []runRecord{rec}}); err != nil {
				return err
			}
			a.noteBuild()
			return nil
		},
	}
	f := cmd.Flags()
	o.flags(cmd)
	f.Uint64Var(&seed, "seed", 0, "seed (default: the scenario's)")
	f.StringSliceVar(&engines, "engine", nil, "engines to compare (default: the scenario's)")
	f.IntVar(&workers, "workers", 0, "viewpoints measured at once (default all cores); results do not depend on it")
	f.IntVar(&viewpoints, "viewpoints", 0, "querier viewpoints (default: the scenario's)")
	f.StringVar(&level, "level", "auto", "graph, protocol, or auto: protocol when the scenario has no graph-level behaviour")
	f.StringVar(&clock, "clock", "", "protocol level: virtual (default) or real")
	f.StringVar(&shard, "shard", "", "run part I/N of the run (or N: I from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID) and write DIR/partial-I-of-N.json")
	return cmd
}

// noteBuild warns, after a run wrote its results, when the binary does
// not know its commit: the results name it "unknown".
func (a *lab) noteBuild() {
	if graphsim.Build().Commit == "unknown" {
		fmt.Fprintln(a.env.Stderr, "note: this binary carries no VCS stamp (built with -buildvcs=false?): its results name the commit \"unknown\"; build it with -ldflags \"-X github.com/kith-net/kith/simulations/graphsim.Commit=$(git rev-parse HEAD)\"")
	}
}

// parseShard reads --shard: "I/N", or "N" with I from the batch system.
func (a *lab) parseShard(v string) (*graphsim.Shard, error) {
	if v == "" {
		return nil, nil
	}
	var sh graphsim.Shard
	iStr, nStr, explicit := strings.Cut(v, "/")
	if !explicit {
		nStr = iStr
	}
	n, err := strconv.Atoi(nStr)
	if err != nil || n < 1 {
		return nil, cli.Usagef("--shard %s: want I/N or N, with N >= 1", v)
	}
	sh.N = n
	if explicit {
		if sh.I, err = strconv.Atoi(iStr); err != nil {
			return nil, cli.Usagef("--shard %s: want I/N", v)
		}
	} else {
		idx, ok := a.env.LookupEnv("JOB_COMPLETION_INDEX")
		src := "JOB_COMPLETION_INDEX"
		if !ok {
			idx, ok = a.env.LookupEnv("SLURM_ARRAY_TASK_ID")
			src = "SLURM_ARRAY_TASK_ID"
		}
		if !ok {
			return nil, cli.Usagef("--shard %s: no JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm) to take the index from; give --shard I/N", v)
		}
		if sh.I, err = strconv.Atoi(idx); err != nil {
			return nil, cli.Usagef("--shard %s: %s=%q is not a number", v, src, idx)
		}
		if src == "SLURM_ARRAY_TASK_ID" {
			if lo, ok := a.env.LookupEnv("SLURM_ARRAY_TASK_MIN"); ok {
				m, err := strconv.Atoi(lo)
				if err != nil {
					return nil, cli.Usagef("SLURM_ARRAY_TASK_MIN=%q is not a number", lo)
				}
				sh.I -= m
			}
		}
	}
	if err := sh.Validate(); err != nil {
		return nil, cli.Usagef("--shard %s: shard %d of %d: want 0 <= I < N", v, sh.I, sh.N)
	}
	return &sh, nil
}

// runRecord is what one process of a run cost (run.json).
type runRecord struct {
	Level    string            `json:"level"`
	Scenario string            `json:"scenario"`
	Digest   string            `json:"scenario_sha256"`
	Software graphsim.Software `json:"software"`
	Clock    string            `json:"clock,omitempty"`
	Shard    *graphsim.Shard   `json:"shard,omitempty"`
	Machine  graphsim.Machine  `json:"machine"`
	// SimulatedS is the time simulated at the protocol level (every
	// cell's steps and drain), WallPerSimulated the wall time it took per
	// simulated second.
	SimulatedS       float64 `json:"simulated_s,omitempty"`
	WallPerSimulated float64 `json:"wall_per_simulated_s,omitempty"`
}

// runFile is run.json: the processes of a run (one, or every shard's) and
// the merge.
type runFile struct {
	Runs  []runRecord       `json:"runs"`
	Merge *graphsim.Machine `json:"merge,omitempty"`
}

func partialName(sh graphsim.Shard) string { return fmt.Sprintf("partial-%d-of-%d.json", sh.I, sh.N) }
func runName(sh graphsim.Shard) string     { return fmt.Sprintf("run-%d-of-%d.json", sh.I, sh.N) }

func (a *lab) writePartial(dir string, sh graphsim.Shard, rec runRecord, write func(io.Writer) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	path := filepath.Join(dir, partialName(sh))
	if err := atomicfile.Write(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, runName(sh)), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stderr, "%s: shard %s done in %.1f s (%.0f %% CPU share, load %.1f): wrote %s; join the shards with kith-lab sim merge %s --out DIR\n",
		rec.Scenario, sh, rec.Machine.WallS, 100*rec.Machine.CPUShare, rec.Machine.LoadMean, path, filepath.Join(dir, "partial-*-of-"+strconv.Itoa(sh.N)+".json"))
	if a.JSON() {
		return a.PrintJSON(rec)
	}
	return nil
}

// scenarioHeader heads the scenario.toml of a run.
const scenarioHeader = "# The scenario of this run as it ran: defaults filled, command-line\n# overrides applied. `kith-lab sim run scenario.toml --out DIR` reproduces it.\n"

// writeFiles writes name -> content into dir.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := atomicfile.Write(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeGraph writes a graph-level result into o.dir.
func (a *lab) writeGraph(o simOut, scen []byte, res *graphsim.Result, runs runFile) error {
	var c, js, vp bytes.Buffer
	if err := graphsim.WriteCSV(&c, res); err != nil {
		return err
	}
	if err := graphsim.WriteJSON(&js, res); err != nil {
		return err
	}
	rf, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"results.csv": c.Bytes(), "results.json": js.Bytes(), "scenario.toml": append([]byte(scenarioHeader), scen...), "run.json": append(rf, '\n')}
	if len(res.Goals) > 0 {
		files["goals.csv"] = goalsCSV(res.Goals)
	}
	if o.perViewpoint {
		if err := graphsim.WriteViewpointsCSV(&vp, res); err != nil {
			return err
		}
		files["viewpoints.csv"] = vp.Bytes()
	}
	if err := writeFiles(o.dir, files); err != nil {
		return err
	}
	wall, cpu := 0.0, 0.0
	for _, r := range runs.Runs {
		wall = max(wall, r.Machine.WallS)
		cpu += r.Machine.UserS + r.Machine.SystemS
	}
	fmt.Fprintf(a.env.Stderr, "%s: %d members, %d ratings, %d viewpoints, engines %s, %d rows (%.1f s, %.1f s of CPU): wrote %s and %s\n", res.Scenario, res.Nodes, res.Edges,
		res.Viewpoints, strings.Join(res.Engines, ", "), len(res.Rows), wall, cpu, filepath.Join(o.dir, "results.csv"), filepath.Join(o.dir, "results.json"))
	a.printGoals(res.Goals)
	if !o.noPlot {
		files, err := graphsim.Plot(res, filepath.Join(o.dir, "plots"))
		if err != nil {
			return err
		}
		fmt.Fprintf(a.env.Stderr, "wrote %d plots in %s\n", len(files), filepath.Join(o.dir, "plots"))
	}
	if a.JSON() {
		return graphsim.WriteJSON(a.env.Stdout, res)
	}
	return nil
}

// simRunProtocol runs s at the protocol level, every cell of its sweep (of
// the shard), and writes the results.
func (a *lab) simRunProtocol(cmd *cobra.Command, s *scenario.Scenario, o simOut, clock string, sh *graphsim.Shard) error {
	cells, err := s.CellScenarios()
	if err != nil {
		return cli.Usage(err)
	}
	for _, cs := range cells {
		if clock == protosim.ClockReal {
			if err := protosim.CheckScenario(cs); err != nil {
				return cli.Usage(err)
			}
		}
	}
	if ignored := protosim.Ignored(s); len(ignored) > 0 {
		fmt.Fprintf(a.env.Stderr, "note: the protocol level ignores %s\n", strings.Join(ignored, ", "))
	}
	run := protosim.Run
	how := "in real time, then up to 30 s for the last deliveries"
	if clock == protosim.ClockVirtual {
		run = protosim.RunVirtual
		how = "in virtual time (the clock waits for the work: wall time is what the work takes)"
	}
	fmt.Fprintf(a.env.Stderr, "%s: %d cell(s) of %d steps of %s %s\n", s.Name, len(cells), s.Steps, s.Step, how)
	meter := graphsim.StartMeter(a.env.Now, 0)
	prog := a.simProgress(s.Name, o.logEvery)
	opts := protosim.Options{
		Progress: func(done, total int) { prog.update("steps", done, total) },
		Starting: func(what string, done, total int) { prog.update("starting: "+what, done, total) },
	}
	shard := graphsim.Shard{I: 0, N: 1}
	if sh != nil {
		shard = *sh
	}
	part, err := protosim.RunShard(cmd.Context(), s, opts, shard, clock, run)
	prog.close()
	if err != nil {
		return err
	}
	rec := runRecord{Level: protosim.Level, Scenario: s.Name, Digest: part.Digest, Software: part.Software, Clock: clock, Shard: sh, Machine: meter.Stop()}
	for _, cr := range part.Runs {
		rec.SimulatedS += cr.Result.Duration.Seconds()
		if cr.Result.FellBehind {
			fmt.Fprintf(a.env.Stderr, "warning: %s %s fell %.0f %% behind its clock (a step ended %.1f s late; load average %.1f): its latencies and bandwidth include this machine's queueing; its figures are marked fell_behind = 1. Run it in virtual time (--clock virtual) to measure the protocol alone.\n",
				cr.Result.Scenario, cellText(cr.Result.Cell), 100*cr.Result.ClockBehind, cr.Result.MaxLag.Seconds(), rec.Machine.LoadMax)
		}
	}
	if rec.SimulatedS > 0 {
		rec.WallPerSimulated = rec.Machine.WallS / rec.SimulatedS
	}
	if sh != nil {
		return a.writePartial(o.dir, *sh, rec, func(w io.Writer) error { return protosim.WritePartial(w, part) })
	}
	rep, err := protosim.Merge([]*protosim.Partial{part})
	if err != nil {
		return err
	}
	return a.writeProtocol(o, []byte(part.Scenario), rep, runFile{Runs: []runRecord{rec}})
}

func cellText(cell map[string]string) string {
	if len(cell) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(cell)) {
		parts = append(parts, k+"="+cell[k])
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// writeProtocol writes a protocol-level report into o.dir.
func (a *lab) writeProtocol(o simOut, scen []byte, rep *protosim.Report, runs runFile) error {
	var c, tl, js bytes.Buffer
	if err := protosim.WriteCSV(&c, rep); err != nil {
		return err
	}
	if err := protosim.WriteTimelineCSV(&tl, rep); err != nil {
		return err
	}
	if err := protosim.WriteJSON(&js, rep); err != nil {
		return err
	}
	rf, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"results.csv": c.Bytes(), "timeline.csv": tl.Bytes(), "results.json": js.Bytes(),
		"scenario.toml": append([]byte(scenarioHeader), scen...), "run.json": append(rf, '\n')}
	if len(rep.Goals) > 0 {
		files["goals.csv"] = goalsCSV(rep.Goals)
	}
	if err := writeFiles(o.dir, files); err != nil {
		return err
	}
	for _, r := range rep.Runs {
		mark := ""
		if r.FellBehind {
			mark = fmt.Sprintf(" [FELL %.0f %% BEHIND its clock]", 100*r.ClockBehind)
		}
		fmt.Fprintf(a.env.Stderr, "%s%s: %d nodes, %d proofs, %s time: delivery %.4f, latency p50 %s p99 %s, %d private leaks%s\n",
			r.Scenario, cellText(r.Cell), r.Nodes, r.Proofs, r.Clock, r.Delivery, r.LatencyP50.Round(time.Millisecond), r.LatencyP99.Round(time.Millisecond),
			r.PrivateLeaks+r.UnconsentedLeaks, mark)
	}
	for _, r := range runs.Runs {
		if r.SimulatedS > 0 {
			fmt.Fprintf(a.env.Stderr, "%s: %.0f s simulated in %.0f s of wall time (%.2f wall per simulated second), %.0f s of CPU, peak RSS %.0f MB\n",
				r.Scenario, r.SimulatedS, r.Machine.WallS, r.WallPerSimulated, r.Machine.UserS+r.Machine.SystemS, r.Machine.PeakRSSMB)
		}
	}
	fmt.Fprintf(a.env.Stderr, "wrote %s, %s and %s\n", filepath.Join(o.dir, "results.csv"), filepath.Join(o.dir, "timeline.csv"), filepath.Join(o.dir, "results.json"))
	a.printGoals(rep.Goals)
	if !o.noPlot {
		files, err := protosim.Plot(rep, filepath.Join(o.dir, "plots"))
		if err != nil {
			return err
		}
		fmt.Fprintf(a.env.Stderr, "wrote %d plots in %s\n", len(files), filepath.Join(o.dir, "plots"))
	}
	if a.JSON() {
		return protosim.WriteJSON(a.env.Stdout, rep)
	}
	return nil
}

// printGoals says which goals the run met and which it missed.
func (a *lab) printGoals(out []scenario.Outcome) {
	if len(out) == 0 {
		return
	}
	met := 0
	for _, o := range out {
		if o.Status == scenario.Met {
			met++
		}
	}
	fmt.Fprintf(a.env.Stderr, "goals: %d of %d met\n", met, len(out))
	tw := tabwriter.NewWriter(a.env.Stderr, 0, 0, 2, ' ', 0)
	for _, o := range out {
		status := strings.ToUpper(o.Status)
		if o.Status == scenario.Met {
			status = "met"
		}
		val := "—"
		if !math.IsNaN(o.Value) {
			val = strconv.FormatFloat(o.Value, 'g', 4, 64)
			if !math.IsNaN(o.Low) {
				val += fmt.Sprintf(" (95 %%: %s to %s)", strconv.FormatFloat(o.Low, 'g', 3, 64), strconv.FormatFloat(o.High, 'g', 3, 64))
			}
			if !o.Sure && !math.IsNaN(o.Low) && (o.Status == scenario.Met || o.Status == scenario.Missed) {
				val += ", interval across the threshold"
			}
		}
		cell := o.Cell
		if cell == "" {
			cell = "-"
		}
		note := ""
		if o.Note != "" {
			note = "; " + o.Note
		}
		fmt.Fprintf(tw, "  %s\t%s\t[%s]\t%s%s\n", status, o.Text, cell, val, note)
	}
	tw.Flush()
}

// goalsCSV is goals.csv: one row per goal and cell.
func goalsCSV(out []scenario.Outcome) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	_ = cw.Write([]string{"goal", "text", "cell", "value", "ci95_low", "ci95_high", "n", "status", "sure", "note"})
	for _, o := range out {
		_ = cw.Write([]string{strconv.Itoa(o.Goal), o.Text, o.Cell, f(o.Value), f(o.Low), f(o.High), strconv.Itoa(o.N), o.Status, strconv.FormatBool(o.Sure), o.Note})
	}
	cw.Flush()
	return b.Bytes()
}

func (a *lab) simMergeCommand() *cobra.Command {
	var o simOut
	cmd := &cobra.Command{
		Use:   "merge PARTIAL... --out DIR",
		Short: "Join the shards of a run (kith-lab sim run --shard) into its results",
		Long: `Join partial-I-of-N.json files (or directories holding them), one per shard of
one run, into the results of the whole run in DIR, as kith-lab sim run writes them.
At the graph level they are byte-identical to the run in one process. run.json
lists what each shard cost (from the run-I-of-N.json beside each partial).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.dir == "" {
				return cli.Usagef("--out DIR is required")
			}
			var paths []string
			for _, arg := range args {
				st, err := os.Stat(arg)
				if err != nil {
					return err
				}
				if !st.IsDir() {
					paths = append(paths, arg)
					continue
				}
				found, err := filepath.Glob(filepath.Join(arg, "partial-*-of-*.json"))
				if err != nil {
					return err
				}
				if len(found) == 0 {
					return fmt.Errorf("%s holds no partial-I-of-N.json", arg)
				}
				paths = append(paths, found...)
			}
			meter := graphsim.StartMeter(a.env.Now, 0)
			var runs runFile
			var graphParts []*graphsim.Partial
			var protoParts []*protosim.Partial
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				var head struct {
					Level string         `json:"level"`
					Shard graphsim.Shard `json:"shard"`
				}
				if err := json.Unmarshal(b, &head); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				if head.Level == protosim.Level {
					part, err := protosim.ReadPartial(bytes.NewReader(b))
					if err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
					protoParts = append(protoParts, part)
				} else {
					part, err := graphsim.ReadPartial(bytes.NewReader(b))
					if err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
					graphParts = append(graphParts, part)
				}
				if rb, err := os.ReadFile(filepath.Join(filepath.Dir(p), runName(head.Shard))); err == nil {
					var rec runRecord
					if json.Unmarshal(rb, &rec) == nil {
						runs.Runs = append(runs.Runs, rec)
					}
				}
			}
			if len(graphParts) > 0 && len(protoParts) > 0 {
				return cli.Usagef("the partials mix graph-level and protocol-level runs")
			}
			slices.SortFunc(runs.Runs, func(x, y runRecord) int { return x.Shard.I - y.Shard.I })
			if len(protoParts) > 0 {
				rep, err := protosim.Merge(protoParts)
				if err != nil {
					return err
				}
				m := meter.Stop()
				runs.Merge = &m
				return a.writeProtocol(o, []byte(protoParts[0].Scenario), rep, runs)
			}
			res, err := graphsim.Merge(graphParts)
			if err != nil {
				return err
			}
			m := meter.Stop()
			runs.Merge = &m
			return a.writeGraph(o, []byte(graphParts[0].Scenario), res, runs)
		},
	}
	o.flags(cmd)
	return cmd
}

func (a *lab) simCompareCommand() *cobra.Command {
	var (
		out, x, series string
		metrics        []string
	)
	cmd := &cobra.Command{
		Use:   "compare RUN... --out DIR",
		Short: "Draw the results of runs (or of one sweep) against each other",
		Long: `Read RUN/results.json of each run (graph or protocol level) and draw every
metric against --x (default: attack_edges, size or the first swept field that
varies), one line per value of --series (default: the run when there are
several, else the next field that varies), a panel per engine, each with its
own scales (logarithmic where values span decades), error bars the 95 %
intervals. Writes DIR/compare.csv (every run's rows in one tidy table, with a
run column) and DIR/compare-*.png (300 dpi) and .svg. A run is named after its
directory.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return cli.Usagef("--out DIR is required")
			}
			var rows []graphsim.CompareRow
			var captions []string
			for _, dir := range args {
				b, err := os.ReadFile(filepath.Join(dir, "results.json"))
				if errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("%s has no results.json: run kith-lab sim run first", dir)
				}
				if err != nil {
					return err
				}
				name := filepath.Base(filepath.Clean(dir))
				var head struct {
					Level string `json:"level"`
				}
				_ = json.Unmarshal(b, &head)
				if head.Level == protosim.Level {
					rep, err := protosim.ReadJSON(bytes.NewReader(b))
					if err != nil {
						return err
					}
					rows = append(rows, protosim.CompareRows(name, rep)...)
					captions = append(captions, graphsim.Caption(rep.Provenance.Software, rep.Provenance.Scenario, name))
					continue
				}
				res, err := graphsim.ReadJSON(bytes.NewReader(b))
				if err != nil {
					return err
				}
				rows = append(rows, graphsim.CompareRows(name, res)...)
				captions = append(captions, graphsim.Caption(res.Provenance.Software, res.Provenance.Scenario, name))
			}
			var b bytes.Buffer
			if err := graphsim.WriteCompareCSV(&b, rows); err != nil {
				return err
			}
			if err := writeFiles(out, map[string][]byte{"compare.csv": b.Bytes()}); err != nil {
				return err
			}
			slices.Sort(captions)
			files, err := graphsim.Compare(rows, out, graphsim.CompareOptions{X: x, Series: series, Metrics: metrics, Caption: strings.Join(slices.Compact(captions), " | ")})
			if err != nil {
				return err
			}
			for _, f := range append([]string{filepath.Join(out, "compare.csv")}, files...) {
				fmt.Fprintln(a.env.Stdout, f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory for compare.csv and the figures")
	f.StringVar(&x, "x", "", "field on the horizontal axis (attack_edges, size, seed, run or a swept field)")
	f.StringVar(&series, "series", "", "field with one line per value")
	f.StringSliceVar(&metrics, "metric", nil, "metrics to draw (default all)")
	return cmd
}

func (a *lab) simGraphCommand() *cobra.Command {
	var (
		out  string
		seed uint64
	)
	cmd := &cobra.Command{
		Use:   "graph SCENARIO --out FILE",
		Short: "Write a scenario's population to a graph file every shard can load",
		Long: `Build the honest population a scenario describes (its generated graph and ground
truth, or its dataset) and write it in the simulator's graph file format
(spec/sim-graph-v1.md). A scenario with [graph] kind = "dataset", path = FILE
then loads it in seconds instead of generating or parsing it in every shard,
and gives the same results as generating it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return cli.Usagef("--out FILE is required")
			}
			s, err := openScenario(args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seed") {
				s.Seed = seed
			}
			start := a.env.Now()
			pop, err := graphsim.NewPopulation(s)
			if err != nil {
				return err
			}
			if err := graphsim.SaveGraph(out, pop); err != nil {
				return err
			}
			d, err := graphsim.GraphDigest(pop)
			if err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "%s: %d members, %d ratings: wrote %s (%.1f MB, %s) in %.1f s\n", s.Name, pop.Graph.N(), pop.Graph.M(), out,
				float64(st.Size())/1e6, d, a.env.Now().Sub(start).Seconds())
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the graph file to write")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed (default: the scenario's)")
	return cmd
}

// openScenario reads a shipped scenario by name or a scenario file.
func openScenario(arg string) (*scenario.Scenario, error) {
	if _, err := os.Stat(arg); err == nil || strings.ContainsRune(arg, os.PathSeparator) || strings.HasSuffix(arg, ".toml") {
		src, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		return scenario.Parse(src, arg)
	}
	s, err := scenarios.Load(arg)
	if err != nil {
		return nil, cli.Usage(err)
	}
	return s, nil
}

func (a *lab) simListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the shipped scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type item struct {
				Name        string   `json:"name"`
				Level       string   `json:"level"`
				Description string   `json:"description"`
				Goals       []string `json:"goals"`
			}
			var items []item
			for _, n := range scenarios.Names() {
				s, err := scenarios.Load(n)
				if err != nil {
					return err
				}
				level := "graph"
				if !s.GraphLevel() {
					level = "protocol"
				}
				it := item{Name: n, Level: level, Description: s.Description}
				for _, g := range s.Goals {
					it.Goals = append(it.Goals, g.String())
				}
				items = append(items, it)
			}
			if a.JSON() {
				return a.PrintJSON(items)
			}
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLEVEL\tGOALS\tDESCRIPTION")
			for _, it := range items {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", it.Name, it.Level, len(it.Goals), it.Description)
			}
			return tw.Flush()
		},
	}
}

func (a *lab) simPlotCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plot DIR",
		Short: "Draw the plots of a finished run again (from DIR/results.json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(filepath.Join(args[0], "results.json"))
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s has no results.json: run kith-lab sim run first", args[0])
			}
			if err != nil {
				return err
			}
			var head struct {
				Level string `json:"level"`
			}
			_ = json.Unmarshal(b, &head)
			var files []string
			if head.Level == protosim.Level {
				rep, err := protosim.ReadJSON(bytes.NewReader(b))
				if err != nil {
					return err
				}
				if files, err = protosim.Plot(rep, filepath.Join(args[0], "plots")); err != nil {
					return err
				}
			} else {
				res, err := graphsim.ReadJSON(bytes.NewReader(b))
				if err != nil {
					return err
				}
				if files, err = graphsim.Plot(res, filepath.Join(args[0], "plots")); err != nil {
					return err
				}
			}
			for _, p := range files {
				fmt.Fprintln(a.env.Stdout, p)
			}
			return nil
		},
	}
}

// simProgress reports a run's progress: a bar on a terminal, else a log
// line every interval (done/total, rate, ETA) for batch jobs. Updates come
// from the run's goroutines (at the protocol level from inside a
// virtual-time bubble, whose clock is not the wall's): they only record
// the counts, and a goroutine of its own, outside the run, draws and logs
// on the wall clock. close draws the last state and joins it.
type simProgress struct {
	a        *lab
	name     string
	every    time.Duration
	terminal bool

	mu          sync.Mutex
	what        string
	done, total int
	dirty       bool

	stop chan struct{}
	wg   sync.WaitGroup
	// owned by the reporting goroutine
	bar        func(done, total int)
	barWhat    string
	phaseStart time.Time
	phaseWhat  string
	phaseDone  int // done when the phase was first seen
	logged     string
}

func (a *lab) simProgress(name string, every time.Duration) *simProgress {
	p := &simProgress{a: a, name: name, every: every, stop: make(chan struct{})}
	f, ok := a.env.Stderr.(*os.File)
	p.terminal = ok && f != nil && a.env.IsTerminal != nil && a.env.IsTerminal()
	tick := every
	if p.terminal {
		tick = 200 * time.Millisecond
	}
	if tick <= 0 {
		tick = 10 * time.Second
	}
	p.wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.report(false)
			}
		}
	})
	return p
}

func (p *simProgress) update(what string, done, total int) {
	p.mu.Lock()
	p.what, p.done, p.total, p.dirty = what, done, total, true
	p.mu.Unlock()
}

// report draws or logs the latest counts (on the reporting goroutine, or
// after it stopped).
func (p *simProgress) report(last bool) {
	p.mu.Lock()
	what, done, total, dirty := p.what, p.done, p.total, p.dirty
	p.dirty = false
	p.mu.Unlock()
	if what == "" || (!dirty && !last) {
		return
	}
	now := p.a.env.Now()
	if what != p.phaseWhat {
		p.phaseWhat, p.phaseStart, p.phaseDone = what, now, done
	}
	if p.terminal {
		if p.bar == nil || p.barWhat != what {
			p.bar, p.barWhat = p.a.Progress(p.name+": "+what), what
		}
		p.bar(done, total)
		return
	}
	line := fmt.Sprintf("%s: %s %d/%d (%.0f %%)", p.name, what, done, total, 100*float64(done)/float64(max(total, 1)))
	if el := now.Sub(p.phaseStart).Seconds(); el > 0 && done > p.phaseDone && done < total {
		rate := float64(done-p.phaseDone) / el
		eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", %.3g per second, ETA %s", rate, eta)
	}
	if line != p.logged {
		fmt.Fprintln(p.a.env.Stderr, line)
		p.logged = line
	}
}

func (p *simProgress) close() {
	close(p.stop)
	p.wg.Wait()
	p.report(true)
}
