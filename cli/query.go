package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/wire"
)

// modelSecret names the vault entry of the owner's refined model of a
// context.
func modelSecret(context string) string { return "model:" + context }

// trustView is the owner's view of one context, ready to query.
type trustView struct {
	engine *trust.Engine
	view   *trust.View
	index  *trust.Index
	model  *trust.Model
}

// openView builds the owner's graph of a context from the store and
// computes the owner's view of it.
func (a *app) openView(ctx context.Context, s *session, context string) (*trustView, error) {
	if err := wire.ValidateContext(context); err != nil {
		return nil, err
	}
	atts, err := s.store.Attestations(ctx, store.Query{Context: context})
	if err != nil {
		return nil, err
	}
	links, err := a.verifiedLinks(ctx, s)
	if err != nil {
		return nil, err
	}
	g, ix, err := trust.Build(atts, trust.BuildOptions{Context: context, Now: a.env.Now(), Self: s.key.Public(), Links: links})
	if err != nil {
		return nil, err
	}
	model := trust.DefaultModel()
	if b, ok := s.secrets.Extra[modelSecret(context)]; ok {
		if model, err = trust.ParseModel(b); err != nil {
			return nil, fmt.Errorf("your trained model for %s: %w (retrain with kith model train)", context, err)
		}
	}
	eng := &trust.Engine{Model: model, Linked: ix.Linked}
	self, _ := ix.Key(s.key.Public())
	v, err := eng.View(ctx, g, self)
	if err != nil {
		return nil, err
	}
	return &trustView{engine: eng, view: v, index: ix, model: model}, nil
}

func (tv *trustView) name(v trust.NodeID) string {
	if v == tv.view.Querier() {
		return "you"
	}
	s := tv.index.Subjects[v]
	if s.Acct != "" {
		return s.Handle()
	}
	return s.String()
}

// queryView is the JSON answer of kith query. Field names are stable.
type queryView struct {
	Subject     string       `json:"subject"`
	Context     string       `json:"context"`
	Covered     bool         `json:"covered"`
	Score       *float64     `json:"score"` // null without evidence
	Confidence  float64      `json:"confidence"`
	Explanation *explanation `json:"explanation"`
}

type explanation struct {
	Summary      string         `json:"summary"`
	OwnStatement *ownStatement  `json:"own_statement,omitempty"`
	LinkVerified bool           `json:"link_verified"`
	Vouchers     []statementOut `json:"vouchers"`
	Warners      []statementOut `json:"warners"`
	Paths        []pathOut      `json:"paths"`
	Features     []featureOut   `json:"features"`
	Model        string         `json:"model"`
}

type ownStatement struct {
	Kind     string `json:"kind"`
	Strength int    `json:"strength"`
}

type statementOut struct {
	From   string  `json:"from"`
	Weight float64 `json:"weight"`
	Trust  float64 `json:"trust"` // your trust in the author, relative to an average member of your view
}

type pathOut struct {
	Nodes    []string `json:"nodes"`
	Strength float64  `json:"strength"`
}

type featureOut struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"` // log-odds relative to an average target
}

func (a *app) queryCommand() *cobra.Command {
	var context string
	cmd := &cobra.Command{
		Use:   "query <subject>",
		Short: "How far do I trust someone, and why?",
		Long: `Answer from your own point of view only: your attestations and the proofs you
received, in one context. The score is the probability that you would vouch
for the subject rather than warn about them, given everyone else's evidence as
you see it; your own statement is shown beside it, not mixed in.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := wire.ParseSubject(args[0]); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				raw, err := svc.Query(cmd.Context(), api.QueryRequest{Subject: args[0], Context: context})
				if err != nil {
					return err
				}
				var out queryView
				if err := json.Unmarshal(raw, &out); err != nil {
					return fmt.Errorf("query: reading the answer: %w", err)
				}
				return a.printQuery(out)
			})
		},
	}
	cmd.Flags().StringVar(&context, "context", "general", "context to ask about")
	return cmd
}

// answerQuery answers "how far do I trust subject in context, and why?"
// from an unlocked session's store.
func (a *app) answerQuery(ctx context.Context, s *session, subject, context string) (queryView, error) {
	sub, err := wire.ParseSubject(subject)
	if err != nil {
		return queryView{}, err
	}
	tv, err := a.openView(ctx, s, context)
	if err != nil {
		return queryView{}, err
	}
	out := queryView{Subject: sub.String(), Context: context}
	t, ok := tv.index.Lookup(sub)
	if !ok {
		out.Explanation = &explanation{Summary: "no evidence: nobody in your view has said anything about " + subject + " in " + context}
		return out, nil
	}
	r := tv.engine.Query(tv.view, t)
	out.Subject = tv.name(t)
	out.Covered = r.Covered
	out.Explanation = tv.explain(r)
	if r.Covered {
		score := r.Score
		out.Score = &score
		out.Confidence = r.Confidence
	}
	return out, nil
}

func (tv *trustView) explain(r trust.Result) *explanation {
	e := &explanation{Model: tv.model.Provenance, LinkVerified: r.Features.Linked,
		Vouchers: []statementOut{}, Warners: []statementOut{}, Paths: []pathOut{}, Features: []featureOut{}}
	if r.Features.HasDirect {
		k := "vouch"
		if r.Features.Direct < 0 {
			k = "warn"
		}
		e.OwnStatement = &ownStatement{Kind: k, Strength: int(math.Round(math.Abs(r.Features.Direct) * 100))}
	}
	for _, st := range r.Vouchers {
		e.Vouchers = append(e.Vouchers, statementOut{From: tv.name(st.From), Weight: st.Weight, Trust: st.Trust})
	}
	for _, st := range r.Warners {
		e.Warners = append(e.Warners, statementOut{From: tv.name(st.From), Weight: st.Weight, Trust: st.Trust})
	}
	for _, p := range r.Paths {
		po := pathOut{Strength: p.Strength}
		for _, v := range p.Nodes {
			po.Nodes = append(po.Nodes, tv.name(v))
		}
		e.Paths = append(e.Paths, po)
	}
	for _, c := range r.Contributions {
		e.Features = append(e.Features, featureOut{Name: c.Feature, Value: c.Value, Contribution: c.Logit})
	}
	switch {
	case !r.Covered && r.Features.HasDirect:
		e.Summary = "only your own statement: nobody else in your view has said anything"
	case !r.Covered:
		e.Summary = "no evidence: nobody in your view has said anything"
	default:
		e.Summary = fmt.Sprintf("%d vouch(es) and %d warning(s) in your view; %d trusted path(s) from you",
			len(r.Vouchers), len(r.Warners), len(r.Paths))
	}
	return e
}

func (a *app) printQuery(q queryView) error {
	if a.json {
		return a.printJSON(q)
	}
	w := a.env.Stdout
	e := q.Explanation
	if !q.Covered {
		fmt.Fprintf(w, "%s (%s): %s\n", q.Subject, q.Context, e.Summary)
		if e.OwnStatement != nil {
			fmt.Fprintf(w, "you: %s, strength %d\n", e.OwnStatement.Kind, e.OwnStatement.Strength)
		}
		return nil
	}
	fmt.Fprintf(w, "%s in %s: trust %.2f (confidence %.2f)\n", q.Subject, q.Context, *q.Score, q.Confidence)
	fmt.Fprintf(w, "  %s\n", e.Summary)
	if e.OwnStatement != nil {
		fmt.Fprintf(w, "  you said: %s, strength %d\n", e.OwnStatement.Kind, e.OwnStatement.Strength)
	}
	if e.LinkVerified {
		fmt.Fprintln(w, "  Fediverse link verified")
	}
	for _, p := range e.Paths {
		fmt.Fprintf(w, "  path: %s  (%.3f)\n", strings.Join(p.Nodes, " -> "), p.Strength)
	}
	for _, s := range e.Vouchers {
		fmt.Fprintf(w, "  vouch by %s  (strength %.0f, your trust in them %.1f)\n", s.From, 100*s.Weight, s.Trust)
	}
	for _, s := range e.Warners {
		fmt.Fprintf(w, "  warning by %s  (strength %.0f, your trust in them %.1f)\n", s.From, -100*s.Weight, s.Trust)
	}
	fmt.Fprint(w, "  what moved the score:")
	for _, f := range e.Features[:min(4, len(e.Features))] {
		fmt.Fprintf(w, " %s %+.2f;", f.Name, f.Contribution)
	}
	fmt.Fprintln(w)
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
			return a.withService(cmd.Context(), func(svc api.Service) error {
				raw, err := svc.Rank(cmd.Context(), api.RankRequest{Context: context, Bottom: bottom, Limit: limit})
				if err != nil {
					return err
				}
				var rows []rankRow
				if err := json.Unmarshal(raw, &rows); err != nil {
					return fmt.Errorf("rank: reading the answer: %w", err)
				}
				if a.json {
					if rows == nil {
						rows = []rankRow{}
					}
					return a.printJSON(rows)
				}
				if len(rows) == 0 {
					_, err := fmt.Fprintf(a.env.Stdout, "no evidence about anyone in %s yet\n", context)
					return err
				}
				tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "TRUST\tCONFIDENCE\tSUBJECT")
				for _, r := range rows {
					fmt.Fprintf(tw, "%.2f\t%.2f\t%s\n", r.Score, r.Confidence, r.Subject)
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

// rankRow is one line of `kith rank`.
type rankRow struct {
	Subject    string  `json:"subject"`
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
	node       trust.NodeID
}

// answerRank lists the subjects of a context by the owner's trust, most
// trusted first (least with bottom), at most limit (0 = all).
func (a *app) answerRank(ctx context.Context, s *session, context string, bottom bool, limit int) ([]rankRow, error) {
	tv, err := a.openView(ctx, s, context)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, tv.view.N())
	if err := tv.engine.ScoreView(ctx, tv.view, scores); err != nil {
		return nil, err
	}
	rows := []rankRow{}
	for v, x := range scores {
		if !math.IsNaN(x) {
			f := tv.view.Features(trust.NodeID(v), tv.engine.Linked)
			rows = append(rows, rankRow{Subject: tv.name(trust.NodeID(v)), Score: x, Confidence: f.Confidence(), node: trust.NodeID(v)})
		}
	}
	slices.SortFunc(rows, func(x, y rankRow) int {
		c := cmp.Compare(y.Score, x.Score)
		if bottom {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(x.node, y.node))
	})
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	return rows, nil
}
