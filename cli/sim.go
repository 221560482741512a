package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/simulations/graphsim"
	"github.com/kith-net/kith/simulations/protosim"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/simulations/scenarios"
)

func (a *app) simCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate attacks on kith's trust engine from many viewpoints (researchers)",
		Long: `Run scenario files: an honest population, attackers (Sybil regions, slander,
self-promotion, whitewashing, collusion, traitors), the engines to compare and
sweeps over the attack's size s and attack edges g. Every simulated person
computes their own subjective view with the real trust engine (graph level),
or every member runs the real node on a simulated network with latency, loss,
partitions, churn and eclipse attackers (protocol level).

Scenarios are shipped ones (kith sim list) or TOML files; the format is
documented in simulations/README.md.`,
	}
	cmd.AddCommand(a.simRunCommand(), a.simListCommand(), a.simPlotCommand())
	return cmd
}

func (a *app) simRunCommand() *cobra.Command {
	var (
		out                 string
		seed                uint64
		engines             []string
		workers, viewpoints int
		noPlot              bool
		level               string
	)
	cmd := &cobra.Command{
		Use:   "run SCENARIO --out DIR",
		Short: "Run a shipped scenario (by name) or a scenario file",
		Long: `Run a scenario and write DIR/results.csv, DIR/results.json, DIR/scenario.toml
(the scenario as run) and the plots in DIR/plots (PNG and SVG).

At the graph level (scenarios with reputation attacks) the same scenario and
seed give byte-identical results, whatever --workers. --engine runs the
scenario across several engines (comparison mode): kith, kith-shared and the
baselines ` + strings.Join(graphsim.EngineNames()[2:], ", ") + `.

At the protocol level (scenarios with only network behaviour: partition,
eclipse) every member runs a real kith node, QUIC over a simulated network,
in real time: steps × step, plus up to 30 s for the last deliveries. The seed
fixes the graph, keys, events and choices; the timings are measured, so they
vary from run to run. --level chooses when a scenario has both. To measure the
protocol without this machine's queueing, run it in virtual time (a Go test:
see simulations/README.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			s, src, err := openScenario(args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seed") {
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
				if !contains(known, n) {
					return usagef("--engine %s: unknown (known: %s)", n, strings.Join(known, ", "))
				}
			}
			switch level {
			case "auto", "graph", "protocol":
			default:
				return usagef("--level %s: want auto, graph or protocol", level)
			}
			if level == "protocol" || (level == "auto" && !s.GraphLevel()) {
				if len(engines) > 0 || viewpoints > 0 || workers > 0 {
					return usagef("--engine, --viewpoints and --workers are graph-level options")
				}
				return a.simRunProtocol(cmd, s, src, out, noPlot)
			}
			if ignored := s.ProtocolOnly(); len(ignored) > 0 && s.GraphLevel() {
				fmt.Fprintf(a.env.Stderr, "note: the graph level ignores %s (protocol level)\n", strings.Join(ignored, ", "))
			}
			bar := a.progress("viewpoints")
			res, err := graphsim.Run(cmd.Context(), s, graphsim.Options{Engines: names, Workers: workers, Viewpoints: viewpoints, Progress: bar})
			if err != nil {
				return err
			}
			var csv, js bytes.Buffer
			if err := graphsim.WriteCSV(&csv, res); err != nil {
				return err
			}
			if err := graphsim.WriteJSON(&js, res); err != nil {
				return err
			}
			if err := writeRun(cmd, s, src, out, csv.Bytes(), js.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "%s: %d members, %d ratings, %d viewpoints, engines %s: wrote %s and %s\n", res.Scenario, res.Nodes, res.Edges,
				res.Viewpoints, strings.Join(res.Engines, ", "), filepath.Join(out, "results.csv"), filepath.Join(out, "results.json"))
			if !noPlot {
				files, err := graphsim.Plot(res, filepath.Join(out, "plots"))
				if err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stderr, "wrote %d plots in %s\n", len(files), filepath.Join(out, "plots"))
			}
			if a.json {
				return graphsim.WriteJSON(a.env.Stdout, res)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory for results.csv, results.json, scenario.toml and plots/")
	f.Uint64Var(&seed, "seed", 0, "seed (default: the scenario's)")
	f.StringSliceVar(&engines, "engine", nil, "engines to compare (default: the scenario's)")
	f.IntVar(&workers, "workers", 0, "viewpoints measured at once (default all cores); results do not depend on it")
	f.IntVar(&viewpoints, "viewpoints", 0, "querier viewpoints (default: the scenario's)")
	f.BoolVar(&noPlot, "no-plot", false, "write results only")
	f.StringVar(&level, "level", "auto", "graph, protocol, or auto: protocol when the scenario has no graph-level behaviour")
	return cmd
}

// writeRun writes a finished run into out: results.csv, results.json and
// the scenario as run (with the seed if --seed overrode it).
func writeRun(cmd *cobra.Command, s *scenario.Scenario, src []byte, out string, csv, js []byte) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if cmd.Flags().Changed("seed") {
		src = append([]byte(fmt.Sprintf("# run with --seed %d\n", s.Seed)), src...)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"results.csv", csv}, {"results.json", js}, {"scenario.toml", src}} {
		if err := atomicfile.Write(filepath.Join(out, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// simRunProtocol runs s at the protocol level and writes its results.
func (a *app) simRunProtocol(cmd *cobra.Command, s *scenario.Scenario, src []byte, out string, noPlot bool) error {
	if err := protosim.CheckScenario(s); err != nil {
		return usageError{err}
	}
	if ignored := protosim.Ignored(s); len(ignored) > 0 {
		fmt.Fprintf(a.env.Stderr, "note: the protocol level ignores %s\n", strings.Join(ignored, ", "))
	}
	fmt.Fprintf(a.env.Stderr, "%s: %d steps of %s in real time, then up to 30 s for the last deliveries\n", s.Name, s.Steps, s.Step)
	res, err := protosim.Run(cmd.Context(), s, protosim.Options{Progress: a.progress("steps")})
	if err != nil {
		return err
	}
	var csv, js bytes.Buffer
	if err := protosim.WriteCSV(&csv, res); err != nil {
		return err
	}
	if err := protosim.WriteJSON(&js, res); err != nil {
		return err
	}
	if err := writeRun(cmd, s, src, out, csv.Bytes(), js.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stderr, "%s: %d nodes, %d proofs: delivery %.4f, latency p50 %s p99 %s, %d private leaks: wrote %s\n",
		res.Scenario, res.Nodes, res.Proofs, res.Delivery, res.LatencyP50.Round(time.Millisecond), res.LatencyP99.Round(time.Millisecond),
		res.PrivateLeaks+res.UnconsentedLeaks, filepath.Join(out, "results.json"))
	if !noPlot {
		files, err := protosim.Plot(res, filepath.Join(out, "plots"))
		if err != nil {
			return err
		}
		fmt.Fprintf(a.env.Stderr, "wrote %d plots in %s\n", len(files), filepath.Join(out, "plots"))
	}
	if a.json {
		return protosim.WriteJSON(a.env.Stdout, res)
	}
	return nil
}

// openScenario reads a shipped scenario by name or a scenario file, and
// returns it with its source text.
func openScenario(arg string) (*scenario.Scenario, []byte, error) {
	if _, err := os.Stat(arg); err == nil || strings.ContainsRune(arg, os.PathSeparator) || strings.HasSuffix(arg, ".toml") {
		src, err := os.ReadFile(arg)
		if err != nil {
			return nil, nil, err
		}
		s, err := scenario.Parse(src, arg)
		return s, src, err
	}
	src, err := scenarios.Source(arg)
	if err != nil {
		return nil, nil, usageError{err}
	}
	s, err := scenarios.Load(arg)
	return s, src, err
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (a *app) simListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the shipped scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type item struct {
				Name        string `json:"name"`
				Level       string `json:"level"`
				Description string `json:"description"`
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
				items = append(items, item{n, level, s.Description})
			}
			if a.json {
				return a.printJSON(items)
			}
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLEVEL\tDESCRIPTION")
			for _, it := range items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", it.Name, it.Level, it.Description)
			}
			return tw.Flush()
		},
	}
}

func (a *app) simPlotCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plot DIR",
		Short: "Draw the plots of a finished run again (from DIR/results.json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(filepath.Join(args[0], "results.json"))
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s has no results.json: run kith sim run first", args[0])
			}
			if err != nil {
				return err
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil {
				return err
			}
			var head struct {
				Level string `json:"level"`
			}
			_ = json.Unmarshal(b, &head) // a graph-level results file is an object without "level"
			var files []string
			if head.Level == protosim.Level {
				res, err := protosim.ReadJSON(bytes.NewReader(b))
				if err != nil {
					return err
				}
				files, err = protosim.Plot(res, filepath.Join(args[0], "plots"))
				if err != nil {
					return err
				}
				for _, p := range files {
					fmt.Fprintln(a.env.Stdout, p)
				}
				return nil
			}
			res, err := graphsim.ReadJSON(bytes.NewReader(b))
			if err != nil {
				return err
			}
			files, err = graphsim.Plot(res, filepath.Join(args[0], "plots"))
			if err != nil {
				return err
			}
			for _, p := range files {
				fmt.Fprintln(a.env.Stdout, p)
			}
			return nil
		},
	}
}
