package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/internal/perf"
	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

func (a *lab) benchCommand() *cobra.Command {
	var dir, run string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure signing, verification, store ingest, the trust engine and gossip on this machine",
		Long: `Run kith's performance cases and print a table: rate per second, rate per core,
time and allocations per item, and each rate as a share of the raw Ed25519
verification rate measured in the same run (the physical ceiling of ingest).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				d, err := os.MkdirTemp("", "kith-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(d)
				dir = d
			}
			re, err := regexp.Compile(run)
			if err != nil {
				return cli.Usagef("--run: %v", err)
			}
			var cases []perf.Case
			for _, c := range append(perf.WireCases(), perf.StoreCases(cmd.Context(), dir)...) {
				// The raw verify rate is the reference of every ratio:
				// always measure it.
				if re.MatchString(c.Name) || c.Name == perf.RawVerifyCase {
					cases = append(cases, c)
				}
			}
			results, err := perf.Run(cmd.Context(), cases, testing.Benchmark, func(name string) {
				fmt.Fprintf(a.env.Stderr, "measuring %s...\n", name)
			})
			if err != nil {
				return err
			}
			trustRows, err := a.trustBench(cmd.Context(), re, dir)
			if err != nil {
				return err
			}
			netRows, err := a.networkBench(cmd.Context(), re)
			if err != nil {
				return err
			}
			if a.JSON() {
				if trustRows == nil {
					trustRows = []trustRow{}
				}
				if netRows == nil {
					netRows = []networkRow{}
				}
				return a.PrintJSON(map[string]any{"cases": results, "trust": trustRows, "network": netRows})
			}
			fmt.Fprintf(a.env.Stdout, "kith-lab bench: %d cores (GOMAXPROCS %d), %s/%s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "case\titems/s\titems/s/core\tµs/item\tallocs/item\tB/item\tvs raw verify\t")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%.1f\t%.0f\t%s\t\n", r.Name, r.PerSecond, r.PerCore, r.MicrosPerItem, r.AllocsPerItem, r.BytesPerItem, r.VsRawVerify)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if err := a.printNetworkRows(netRows); err != nil {
				return err
			}
			if len(trustRows) > 0 {
				fmt.Fprintln(a.env.Stdout)
				tw = tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "trust engine	graph	ms/op	p50 ms	p99 ms	note	")
				for _, r := range trustRows {
					fmt.Fprintf(tw, "%s	%s	%.3f	%s	%s	%s	\n", r.Name, r.Graph, r.Millis, optMs(r.P50), optMs(r.P99), r.Note)
				}
				return tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only the cases whose name matches this regular expression")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the store cases (default a temporary directory, removed after)")
	return cmd
}

// trustRow is one line of the trust engine table.
type trustRow struct {
	Name   string  `json:"name"`
	Graph  string  `json:"graph"`
	Millis float64 `json:"ms_per_op"`
	P50    float64 `json:"p50_ms,omitempty"`
	P99    float64 `json:"p99_ms,omitempty"`
	Note   string  `json:"note,omitempty"`
}

func optMs(x float64) string {
	if x == 0 {
		return ""
	}
	return fmt.Sprintf("%.3f", x)
}

// trustBench measures the trust engine on a synthetic 100k-node, 1M-edge
// graph and on Bitcoin OTC when its file is at hand, beside igraph's
// personalised PageRank on the same graph in the same run.
func (a *lab) trustBench(ctx context.Context, re *regexp.Regexp, dir string) ([]trustRow, error) {
	type graph struct {
		name string
		g    *trust.Graph
	}
	var graphs []graph
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if re.MatchString("trust synthetic") {
		fmt.Fprintln(a.env.Stderr, "building the synthetic 100k-node, 1M-edge graph...")
		graphs = append(graphs, graph{"synthetic 100k/1M", trusttest.Synthetic(100_000, 1_000_000, 1)})
	}
	if re.MatchString("trust otc") {
		if ds, err := dataset.Load(filepath.Join("testdata", "bitcoin-otc", "soc-sign-bitcoinotc.csv"), dataset.FormatAuto); err == nil {
			graphs = append(graphs, graph{"bitcoin-otc", ds.Graph})
		}
	}
	var rows []trustRow
	for _, gr := range graphs {
		q := perf.ActiveQuerier(gr.g)
		res, err := perf.Run(ctx, perf.TrustCases(gr.g, q), testing.Benchmark, func(name string) {
			fmt.Fprintf(a.env.Stderr, "measuring %s on %s...\n", name, gr.name)
		})
		if err != nil {
			return nil, err
		}
		var recompute float64
		for _, r := range res {
			row := trustRow{Name: r.Name, Graph: gr.name, Millis: r.MicrosPerItem / 1000}
			if r.Name == "full personalised recompute" {
				recompute = row.Millis
			}
			if r.Name == "query with explanation (warm)" {
				lat, err := perf.QueryLatencies(gr.g, q, 2000)
				if err != nil {
					return nil, err
				}
				row.P50 = float64(lat[len(lat)/2].Microseconds()) / 1000
				row.P99 = float64(lat[len(lat)*99/100].Microseconds()) / 1000
			}
			rows = append(rows, row)
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if rss := residentMiB(); rss > 0 {
			rows[len(rows)-1].Note = fmt.Sprintf("process RSS %.0f MiB", rss)
		}
		tmp := dir
		if tmp == "" {
			tmp = os.TempDir()
		}
		fmt.Fprintf(a.env.Stderr, "measuring igraph personalized_pagerank on %s...\n", gr.name)
		d, err := perf.IgraphPPR(ctx, gr.g, q, trust.DefaultPropagation.Restart, 5, tmp)
		switch {
		case errors.Is(err, perf.ErrNoIgraph):
			rows = append(rows, trustRow{Name: "igraph personalized_pagerank", Graph: gr.name, Note: "not measured: " + err.Error()})
		case err != nil:
			return nil, err
		default:
			ms := float64(d.Microseconds()) / 1000
			rows = append(rows, trustRow{Name: "igraph personalized_pagerank", Graph: gr.name, Millis: ms,
				Note: fmt.Sprintf("kith recompute is %.1fx faster", ms/recompute)})
		}
	}
	return rows, nil
}

// residentMiB reads the process's resident set size from /proc (0 where
// there is none).
func residentMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
