package lab

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/simulations/training"
	"github.com/kith-net/kith/trust"
)

// extendModelTrain gives kith-lab model train the training of the shipped
// model: with --public or --synthetic it trains that instead of refining
// the owner's model, which it still does without them.
func (a *lab) extendModelTrain(cmd *cobra.Command) {
	var (
		synthetic, public bool
		atJudgement       bool
		seed              uint64
		out, report       string
		levelOut          string
		markets           int
		raters            int
		data              []string
	)
	cmd.Short = "Train the ranking model on your own judgements (--public: the shipped model)"
	// In place of kith's closing note, which points here.
	if i := strings.LastIndex(cmd.Long, "\n\n"); i >= 0 {
		cmd.Long = cmd.Long[:i]
	}
	cmd.Long += `

With --public, train the model kith ships from public signed networks (--data
NAME=FILE, repeatable; by default the four in testdata/: Bitcoin OTC, Bitcoin
Alpha, Wikipedia adminship elections, Epinions) and synthetic marketplaces: the
model class and its hyperparameters are chosen by leaving one network out at a
time, and nested validation reports how the choice does on a network it has not
seen (--report FILE writes it as Markdown). This is how trust/model/default.json
is made, from the repository's root:

  go run ./cmd/kith-lab model train --public --seed 1 --out trust/model/default.json --level-out trust/model/level.json

With --synthetic, train a logistic model on synthetic marketplaces only.`
	own := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if public {
			return a.trainPublicModel(cmd, seed, raters, markets, atJudgement, data, out, levelOut, report)
		}
		if !synthetic {
			return own(cmd, args)
		}
		bar := a.Progress("judgements")
		m, rep, err := training.Default(cmd.Context(), training.Options{
			Seed: seed, Markets: markets, Raters: raters,
			Progress: func(done, total int) { bar(done, total) },
		})
		if err != nil {
			return err
		}
		if err := a.writeModel(out, m); err != nil {
			return err
		}
		fmt.Fprintf(a.env.Stderr, "trained on %d judgements; held-out market: %d judgements, AUC %.3f, calibration error %.3f, vouch share %.2f\n",
			rep.Examples, rep.HeldOutExamples, rep.HeldOutAUC, rep.HeldOutECE, rep.HeldOutBaseRate)
		return nil
	}
	f := cmd.Flags()
	f.BoolVar(&public, "public", false, "train the shipped model on public signed networks and synthetic marketplaces")
	f.BoolVar(&synthetic, "synthetic", false, "train a logistic model on synthetic marketplaces only")
	f.StringArrayVar(&data, "data", nil, "with --public: a network to learn from, NAME=FILE (repeatable; default the four in testdata/)")
	f.StringVar(&report, "report", "", "with --public: write how the model was chosen, as Markdown, to this file")
	f.StringVar(&levelOut, "level-out", "", "with --public: write the level head (the strength of a judgement) to this file")
	f.Uint64Var(&seed, "seed", 1, "with --public or --synthetic: seed of the synthetic marketplaces")
	f.StringVarP(&out, "out", "o", "", "with --public or --synthetic: write the model here (default standard output)")
	f.IntVar(&markets, "markets", 0, "with --public or --synthetic: synthetic markets to train on (default 6, or 2 with --public)")
	f.IntVar(&raters, "raters", 0, "with --public or --synthetic: raters per market (default 400), or per network with --public (default 300)")
	f.BoolVar(&atJudgement, "ask-at-judgement", false, "with --public: ask each judgement's question at the time it was made, so evidence ages (experimental; evaluate with kith-lab eval --ask-at-judgement)")
}

// writeModel writes a trained model to file, or to standard output when
// file is "" or "-".
func (a *lab) writeModel(file string, m *trust.Model) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if file == "" || file == "-" {
		_, err := a.env.Stdout.Write(append(b, '\n'))
		return err
	}
	return atomicfile.Write(file, append(b, '\n'), 0o644)
}

// PublicNetworks are the networks kith-lab model train --public learns from
// by default, as NAME=FILE relative to the repository's root.
var PublicNetworks = []string{
	"bitcoin-otc=testdata/bitcoin-otc/soc-sign-bitcoinotc.csv",
	"bitcoin-alpha=testdata/bitcoin-alpha/soc-sign-bitcoinalpha.csv",
	"wiki-elec=testdata/wiki-elec/wikiElec.ElecBs3.txt.gz",
	"epinions=testdata/epinions/soc-sign-epinions.txt.gz",
}

// trainPublicModel trains the shipped model (training.Public).
func (a *lab) trainPublicModel(cmd *cobra.Command, seed uint64, raters, markets int, atJudgement bool, data []string, out, levelOut, report string) error {
	if len(data) == 0 {
		data = PublicNetworks
	}
	var sources []training.Source
	for _, d := range data {
		name, file, ok := strings.Cut(d, "=")
		if !ok || name == "" || file == "" {
			return cli.Usagef("--data %q: want NAME=FILE", d)
		}
		ds, err := dataset.Load(file, dataset.FormatAuto)
		if err != nil {
			return fmt.Errorf("--data %s: %w (run from the repository's root, or give --data NAME=FILE)", name, err)
		}
		sources = append(sources, training.Source{Name: name, Graph: ds.Graph})
	}
	bar := a.Progress("training")
	phase := ""
	m, lm, rep, err := training.Public(cmd.Context(), training.PublicOptions{
		Seed: seed, Sources: sources, Markets: markets, Collect: training.CollectOptions{Raters: raters, AskAtJudgement: atJudgement},
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
	if err := a.writeModel(out, m); err != nil {
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
