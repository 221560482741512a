package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
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
	var context string
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the ranking model on your own judgements",
		Long: `Refine the ranking model on your own judgements in a context: each of your
vouches and warnings becomes a training example, with that statement hidden from
its own features, starting from the default model and pulled toward it. The
refined model stays in your vault and never leaves the node; kith query and
kith rank use it from then on.

The model kith ships is trained from public signed networks by the research
lab's binary: kith-lab model train --public (go build ./cmd/kith-lab).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.trainOwnModel(cmd, context)
		},
	}
	cmd.Flags().StringVar(&context, "context", "general", "context whose judgements to learn from")
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
