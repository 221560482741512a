package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/wire"
)

// ScoreMeaning says what kith's trust number is; query prints it and the
// README repeats it.
const ScoreMeaning = api.ScoreMeaning

func (a *app) queryCommand() *cobra.Command {
	var context string
	cmd := &cobra.Command{
		Use:   "query <subject>",
		Short: "How far do I trust someone, and why?",
		Long: `Answer from your own point of view only: your attestations and the proofs you
received, in one context. The score is ` + ScoreMeaning + `.

Your own statement decides the side: after a vouch of yours the answer is above
0.5, after a warning below it, whatever others say; what others say moves it
within that side. Without a statement of yours, the answer is what the evidence
of the people in your view gives, weighed by your trust in them. Retract your
statement (or let it expire) and the answer goes back to the others' evidence.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := wire.ParseSubject(args[0]); err != nil {
				return err
			}
			return a.withViewService(cmd.Context(), func(svc api.Service) error {
				out, err := svc.Query(cmd.Context(), api.QueryRequest{Subject: args[0], Context: context})
				if err != nil {
					return err
				}
				return a.printQuery(out)
			})
		},
	}
	cmd.Flags().StringVar(&context, "context", "general", "context to ask about")
	return cmd
}

func (a *app) printQuery(q api.QueryResult) error {
	if a.json {
		return a.printJSON(q)
	}
	w := a.env.Stdout
	e := q.Explanation
	through := func() {
		if th := e.Through; th != nil {
			fmt.Fprintf(w, "  most of this comes through one contact, %s (%.0f %%): %s\n", th.Contact, 100*th.Share, th.Effect)
		}
	}
	if !q.Covered {
		fmt.Fprintf(w, "%s (%s): %s\n", q.Subject, q.Context, e.Summary)
		through()
		return nil
	}
	fmt.Fprintf(w, "%s in %s: trust %.2f (confidence %.2f)\n", q.Subject, q.Context, *q.Score, q.Confidence)
	fmt.Fprintf(w, "  %s\n", e.Summary)
	fmt.Fprintf(w, "  the number is %s\n", q.Meaning)
	if o := e.OwnStatement; o != nil {
		fmt.Fprintf(w, "  you said: %s, strength %d: %s\n", o.Kind, o.Strength, o.Effect)
	}
	if e.Crowd != nil {
		fmt.Fprintf(w, "  what others say, alone: %.2f (someone nobody in your view spoke about: %.2f)\n", *e.Crowd, e.Baseline)
	}
	if e.LinkVerified {
		fmt.Fprintln(w, "  Fediverse link verified")
	}
	for _, p := range e.Paths {
		fmt.Fprintf(w, "  path: %s  (%.3f)\n", strings.Join(p.Nodes, " -> "), p.Strength)
	}
	for _, s := range e.Vouchers {
		fmt.Fprintf(w, "  vouch by %s  (strength %d; your trust in %s: %.2f)\n", s.From, s.Strength, s.From, s.YourTrust)
	}
	for _, s := range e.Warners {
		fmt.Fprintf(w, "  warning by %s  (strength %d; your trust in %s: %.2f)\n", s.From, s.Strength, s.From, s.YourTrust)
	}
	if len(e.Features) > 0 {
		fmt.Fprintf(w, "  what moved the others' answer from %.2f (log-odds, adding up):", e.Baseline)
		for _, f := range e.Features[:min(4, len(e.Features))] {
			fmt.Fprintf(w, " %s %+.2f;", f.Name, f.Contribution)
		}
		fmt.Fprintln(w)
	}
	through()
	fmt.Fprintf(w, "  model: %s\n", e.Model.Kind)
	if e.Model.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", e.Model.Note)
	}
	return nil
}

func (a *app) rankCommand() *cobra.Command {
	var (
		context string
		bottom  bool
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "rank",
		Short: "List whom you trust most (or least, --bottom) in a context",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withViewService(cmd.Context(), func(svc api.Service) error {
				rows, err := svc.Rank(cmd.Context(), api.RankRequest{Context: context, Bottom: bottom, Limit: limit})
				if err != nil {
					return err
				}
				if a.json {
					if rows == nil {
						rows = []api.RankRow{}
					}
					return a.printJSON(rows)
				}
				if len(rows) == 0 {
					_, err := fmt.Fprintf(a.env.Stdout, "no evidence about anyone in %s yet\n", context)
					return err
				}
				tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TRUST\tCONFIDENCE\tSUBJECT\tWHY")
				for _, r := range rows {
					fmt.Fprintf(tw, "%.2f\t%.2f\t%s\t%s\n", r.Score, r.Confidence, r.Subject, r.Summary)
				}
				return tw.Flush()
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&context, "context", "general", "context to rank in")
	f.BoolVar(&bottom, "bottom", false, "least trusted first")
	f.IntVar(&limit, "limit", 20, "at most this many (0 = all)")
	return cmd
}
