package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/simulations/training"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/wire"
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
		levelOut          string
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

  go run ./cmd/kith model train --public --seed 1 --out trust/model/default.json --level-out trust/model/level.json

With --synthetic, train a logistic model on synthetic marketplaces only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if public {
				return a.trainPublicModel(cmd, seed, raters, markets, data, out, levelOut, report)
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
	f.StringVar(&levelOut, "level-out", "", "with --public: write the level head (the strength of a judgement) to this file")
	f.StringVar(&context, "context", "general", "context whose judgements to learn from")
	f.Uint64Var(&seed, "seed", 1, "seed of the synthetic marketplaces")
	f.StringVarP(&out, "out", "o", "", "write the model here (default standard output)")
	f.IntVar(&markets, "markets", 0, "synthetic markets to train on (default 6, or 2 with --public)")
	f.IntVar(&raters, "raters", 0, "raters per market (default 400), or per network with --public (default 300)")
	return cmd
}

// trainOwnModel refines the model on the owner's judgements, through the
// daemon when one runs.
func (a *app) trainOwnModel(cmd *cobra.Command, context string) error {
	if err := wire.ValidateContext(context); err != nil {
		return err
	}
	return a.withViewService(cmd.Context(), func(svc api.Service) error {
		info, err := svc.TrainModel(cmd.Context(), api.ModelRequest{Context: context})
		if err != nil {
			return err
		}
		if a.json {
			return a.printJSON(info)
		}
		r := info.Refinement
		if r != nil && r.Used {
			_, err = fmt.Fprintf(a.env.Stdout, "refined on your %d judgements in %s: %s; the refined model is in your vault and answers from now on\n", r.Judgements, context, r.Why)
		} else if r != nil {
			_, err = fmt.Fprintf(a.env.Stdout, "kept the shipped model for %s: %s\n", context, r.Why)
		}
		return err
	})
}

func (a *app) modelShowCommand() *cobra.Command {
	var (
		file    string
		context string
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the model that answers your queries: shipped or refined, its features, weights and provenance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				m, err := trust.ParseModel(b)
				if err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
				return a.printModel(api.ModelInfo{Kind: "file " + file, Model: m})
			}
			if err := wire.ValidateContext(context); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				info, err := svc.Model(cmd.Context(), api.ModelRequest{Context: context})
				if err != nil {
					return err
				}
				return a.printModel(info)
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "show this model file instead of the one in use")
	cmd.Flags().StringVar(&context, "context", "general", "the context whose model to show")
	return cmd
}

func (a *app) printModel(info api.ModelInfo) error {
	if a.json {
		return a.printJSON(info)
	}
	m, w := info.Model, a.env.Stdout
	where := info.Kind
	if info.Context != "" {
		where = fmt.Sprintf("%s, in use for %s", info.Kind, info.Context)
	}
	fmt.Fprintf(w, "model v%d (%s), %d examples\n%s\n", m.Version, where, m.Examples, m.Provenance)
	if info.Note != "" {
		fmt.Fprintf(w, "note: %s\n", info.Note)
	}
	if len(m.Figures) > 0 {
		keys := slices.Sorted(maps.Keys(m.Figures))
		fmt.Fprintln(w, "measured when it was made:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %-28s %.4f\n", k, m.Figures[k])
		}
	}
	fmt.Fprintf(w, "\n%-18s %-6s %10s %10s %10s\n", "feature", "shape", "weight", "mean", "scale")
	for i, name := range m.Features {
		shape := "linear"
		if m.Steps != nil && m.Steps[i] != nil {
			shape = fmt.Sprintf("%d steps", len(m.Steps[i].Values))
		}
		fmt.Fprintf(w, "%-18s %-6s %10.4f %10.4f %10.4f\n", name, shape, m.Weights[i], m.Mean[i], m.Scale[i])
	}
	_, err := fmt.Fprintf(w, "%-18s %-6s %10.4f\n", "bias", "", m.Bias)
	return err
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
func (a *app) trainPublicModel(cmd *cobra.Command, seed uint64, raters, markets int, data []string, out, levelOut, report string) error {
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
	m, lm, rep, err := training.Public(cmd.Context(), training.PublicOptions{
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
	if levelOut != "" {
		lb, err := lm.Marshal()
		if err != nil {
			return err
		}
		if err := atomicfile.Write(levelOut, append(lb, '\n'), 0o644); err != nil {
			return err
		}
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
