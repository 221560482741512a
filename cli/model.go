package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/training"
)

func (a *app) modelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Train or show the small ranking model",
	}
	cmd.AddCommand(a.modelTrainCommand(), a.modelShowCommand())
	return cmd
}

func (a *app) modelTrainCommand() *cobra.Command {
	var (
		synthetic bool
		seed      uint64
		out       string
		markets   int
		raters    int
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the ranking model (--synthetic: the default model shipped with kith)",
		Long: `With --synthetic, train the default model from synthetic marketplaces generated
from --seed (never from an evaluation data set) and write it to --out. This is
how trust/model/default.json is made:

  go run ./cmd/kith model train --synthetic --seed 1 --out trust/model/default.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !synthetic {
				return usagef("training on your own judgements needs a store: use kith model train --synthetic for the default model")
			}
			bar := a.progress("judgements")
			m, rep, err := training.Default(cmd.Context(), training.Options{
				Seed: seed, Markets: markets, Raters: raters,
				Progress: func(done, total int) { bar(done, total) },
			})
			if err != nil {
				return err
			}
			b, err := m.Marshal()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = a.env.Stdout.Write(append(b, '\n'))
			} else {
				err = writeFileAtomic(out, append(b, '\n'), 0o644)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "trained on %d judgements; held-out market: %d judgements, AUC %.3f, calibration error %.3f, vouch share %.2f\n",
				rep.Examples, rep.HeldOutExamples, rep.HeldOutAUC, rep.HeldOutECE, rep.HeldOutBaseRate)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&synthetic, "synthetic", false, "train the default model on synthetic marketplaces")
	f.Uint64Var(&seed, "seed", 1, "seed of the synthetic marketplaces")
	f.StringVarP(&out, "out", "o", "", "write the model here (default standard output)")
	f.IntVar(&markets, "markets", 0, "synthetic markets to train on (default 4)")
	f.IntVar(&raters, "raters", 0, "raters per market (default 400)")
	return cmd
}

func (a *app) modelShowCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the ranking model: features, weights and where it came from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m := trust.DefaultModel()
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				if m, err = trust.ParseModel(b); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			}
			if a.json {
				return a.printJSON(m)
			}
			fmt.Fprintf(a.env.Stdout, "model v%d, %d examples\n%s\n\n", m.Version, m.Examples, m.Provenance)
			fmt.Fprintf(a.env.Stdout, "%-18s %10s %10s %10s\n", "feature", "weight", "mean", "scale")
			for i, name := range m.Features {
				fmt.Fprintf(a.env.Stdout, "%-18s %10.4f %10.4f %10.4f\n", name, m.Weights[i], m.Mean[i], m.Scale[i])
			}
			_, err := fmt.Fprintf(a.env.Stdout, "%-18s %10.4f\n", "bias", m.Bias)
			return err
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "show this model file instead of the default")
	return cmd
}
