package cli

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"testing"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/perf"
)

func (a *app) benchCommand() *cobra.Command {
	var dir, run string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure signing, verification, encoding and store ingest on this machine",
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
				return usagef("--run: %v", err)
			}
			var cases []perf.Case
			for _, c := range append(perf.WireCases(), perf.StoreCases(cmd.Context(), dir)...) {
				// The raw verify rate is the reference of every ratio:
				// always measure it.
				if re.MatchString(c.Name) || c.Name == perf.RawVerifyCase {
					cases = append(cases, c)
				}
			}
			results := perf.Run(cases, testing.Benchmark, func(name string) {
				fmt.Fprintf(a.env.Stderr, "measuring %s...\n", name)
			})
			if a.json {
				return a.printJSON(results)
			}
			fmt.Fprintf(a.env.Stdout, "kith bench: %d cores (GOMAXPROCS %d), %s/%s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
			tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "case\titems/s\titems/s/core\tµs/item\tallocs/item\tB/item\tvs raw verify\t")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%.1f\t%.0f\t%s\t\n", r.Name, r.PerSecond, r.PerCore, r.MicrosPerItem, r.AllocsPerItem, r.BytesPerItem, r.VsRawVerify)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only the cases whose name matches this regular expression")
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the store cases (default a temporary directory, removed after)")
	return cmd
}
