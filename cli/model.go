package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/simulations/training"
	"github.com/kith-net/kith/trust"
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
		synthetic, public bool
		context           string
		seed              uint64
		out, report       string
		markets           int
		raters            int
		data              []string
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the ranking model on your own judgements (--public: the shipped model)",
		Long: `Refine the ranking model on your own judgements in a context: each of your
vouches and warnings becomes a training example, with that statement hidden from
its own features, starting from the default model and pulled toward it. The
refined model stays in your vault and never leaves the node; kith query and
kith rank use it from then on.

With --public, train the model kith ships from public signed networks (--data
NAME=FILE, repeatable; by default the four in testdata/: Bitcoin OTC, Bitcoin
Alpha, Wikipedia adminship elections, Epinions) and synthetic marketplaces: the
model class and its hyperparameters are chosen by leaving one network out at a
time, and nested validation reports how the choice does on a network it has not
seen (--report FILE writes it as Markdown). This is how trust/model/default.json
is made, from the repository's root:

  go run ./cmd/kith model train --public --seed 1 --out trust/model/default.json

With --synthetic, train a logistic model on synthetic marketplaces only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if public {
				return a.trainPublicModel(cmd, seed, raters, markets, data, out, report)
			}
			if !synthetic {
				return a.trainOwnModel(cmd, context)
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
				err = atomicfile.Write(out, append(b, '\n'), 0o644)
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
	f.BoolVar(&public, "public", false, "train the shipped model on public signed networks and synthetic marketplaces")
	f.BoolVar(&synthetic, "synthetic", false, "train a logistic model on synthetic marketplaces only")
	f.StringArrayVar(&data, "data", nil, "with --public: a network to learn from, NAME=FILE (repeatable; default the four in testdata/)")
	f.StringVar(&report, "report", "", "with --public: write how the model was chosen, as Markdown, to this file")
	f.StringVar(&context, "context", "general", "context whose judgements to learn from")
	f.Uint64Var(&seed, "seed", 1, "seed of the synthetic marketplaces")
	f.StringVarP(&out, "out", "o", "", "write the model here (default standard output)")
	f.IntVar(&markets, "markets", 0, "synthetic markets to train on (default 6, or 2 with --public)")
	f.IntVar(&raters, "raters", 0, "raters per market (default 400), or per network with --public (default 300)")
	return cmd
}

// trainOwnModel refines the model on the owner's judgements and keeps it in
// the vault.
func (a *app) trainOwnModel(cmd *cobra.Command, context string) error {
	return a.withSession(cmd.Context(), func(s *session) error {
		tv, err := a.openView(cmd.Context(), s, context)
		if err != nil {
			return err
		}
		ex, _, err := tv.view.Judgements(cmd.Context(), tv.engine.Linked)
		if err != nil {
			return err
		}
		if len(ex) == 0 {
			return fmt.Errorf("no judgements of yours in %s to learn from: vouch or warn first", context)
		}
		m, err := trust.Train(ex, trust.DefaultModel(), trust.TrainParams{L2: trust.DefaultPersonalL2},
			trust.DefaultModel().Provenance+"; refined on the owner's judgements")
		if err != nil {
			return err
		}
		b, err := m.Marshal()
		if err != nil {
			return err
		}
		if s.secrets.Extra == nil {
			s.secrets.Extra = map[string][]byte{}
		}
		s.secrets.Extra[modelSecret(context)] = b
		if err := s.saveSecrets(a.env.Rand); err != nil {
			return err
		}
		if a.json {
			return a.printJSON(map[string]any{"context": context, "judgements": len(ex), "calibration_error": trust.CalibrationError(m, ex, 10)})
		}
		_, err = fmt.Fprintf(a.env.Stdout, "trained on your %d judgements in %s; the model is in your vault\n", len(ex), context)
		return err
	})
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

// PublicNetworks are the networks kith model train --public learns from by
// default, as NAME=FILE relative to the repository's root.
var PublicNetworks = []string{
	"bitcoin-otc=testdata/bitcoin-otc/soc-sign-bitcoinotc.csv",
	"bitcoin-alpha=testdata/bitcoin-alpha/soc-sign-bitcoinalpha.csv",
	"wiki-elec=testdata/wiki-elec/wikiElec.ElecBs3.txt.gz",
	"epinions=testdata/epinions/soc-sign-epinions.txt.gz",
}

// trainPublicModel trains the shipped model (training.Public).
func (a *app) trainPublicModel(cmd *cobra.Command, seed uint64, raters, markets int, data []string, out, report string) error {
	if len(data) == 0 {
		data = PublicNetworks
	}
	var sources []training.Source
	for _, d := range data {
		name, file, ok := strings.Cut(d, "=")
		if !ok || name == "" || file == "" {
			return usagef("--data %q: want NAME=FILE", d)
		}
		ds, err := dataset.Load(file, dataset.FormatAuto)
		if err != nil {
			return fmt.Errorf("--data %s: %w (run from the repository's root, or give --data NAME=FILE)", name, err)
		}
		sources = append(sources, training.Source{Name: name, Graph: ds.Graph})
	}
	bar := a.progress("training")
	phase := ""
	m, rep, err := training.Public(cmd.Context(), training.PublicOptions{
		Seed: seed, Sources: sources, Markets: markets, Collect: training.CollectOptions{Raters: raters},
		Progress: func(done, total int, what string) {
			if what != phase {
				phase = what
				fmt.Fprintln(a.env.Stderr, what)
			}
			bar(done, total)
		},
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
		err = atomicfile.Write(out, append(b, '\n'), 0o644)
	}
	if err != nil {
		return err
	}
	if report != "" {
		if err := atomicfile.Write(report, []byte(training.FormatPublic(rep)), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.env.Stderr, "chose %s; on networks held out of the choice and the training:", rep.Chosen)
	for _, n := range rep.Nested {
		fmt.Fprintf(a.env.Stderr, " %s AUC %.3f ECE %.3f;", n.Held, n.Quality.All.AUC, n.Quality.All.ECE)
	}
	fmt.Fprintln(a.env.Stderr)
	return nil
}
