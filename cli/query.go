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
	// refined is true when model is the owner's own, refined on their
	// judgements; note says why a refined model in the vault is not used.
	refined bool
	note    string
}

// activeModel returns the model kith query uses in a context: the owner's
// refined model from the vault, or the shipped one. A refined model this
// build cannot read (an older format) is set aside with a note saying so.
func activeModel(s *session, context string) (m *trust.Model, refined bool, note string) {
	b, ok := s.secrets.Extra[modelSecret(context)]
	if !ok {
		return trust.DefaultModel(), false, ""
	}
	m, err := trust.ParseModel(b)
	if err != nil {
		return trust.DefaultModel(), false, fmt.Sprintf("your refined model for %s is not used (%v): run kith model train --context %s", context, err, context)
	}
	return m, true, ""
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
	model, refined, note := activeModel(s, context)
	eng := &trust.Engine{Model: model, Linked: ix.Linked}
	self, _ := ix.Key(s.key.Public())
	v, err := eng.View(ctx, g, self)
	if err != nil {
		return nil, err
	}
	return &trustView{engine: eng, view: v, index: ix, model: model, refined: refined, note: note}, nil
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

// ScoreMeaning says what kith's trust number is; query prints it and the
// README repeats it.
const ScoreMeaning = "the probability that you would judge them positively in this context; 0.5 is neutral"

// queryView is the JSON answer of kith query. Field names are stable.
type queryView struct {
	Subject     string       `json:"subject"`
	Context     string       `json:"context"`
	Covered     bool         `json:"covered"`
	Score       *float64     `json:"score"` // null without evidence
	Confidence  float64      `json:"confidence"`
	Meaning     string       `json:"meaning"`
	Explanation *explanation `json:"explanation"`
}

type explanation struct {
	// Summary is the answer in plain words: "warned by you; 2 of the
	// people you trust warned, 0 vouched".
	Summary      string        `json:"summary"`
	OwnStatement *ownStatement `json:"own_statement,omitempty"`
	// Crowd is what everyone else's evidence alone gives (null: none);
	// Baseline is the answer for someone nobody in your view spoke about.
	Crowd           *float64       `json:"crowd"`
	Baseline        float64        `json:"baseline"`
	LinkVerified    bool           `json:"link_verified"`
	TrustedVouchers int            `json:"trusted_vouchers"`
	TrustedWarners  int            `json:"trusted_warners"`
	OtherVouchers   int            `json:"other_vouchers"`
	OtherWarners    int            `json:"other_warners"`
	Vouchers        []statementOut `json:"vouchers"`
	Warners         []statementOut `json:"warners"`
	Paths           []pathOut      `json:"paths"`
	// Features are what moved the crowd's answer away from Baseline, in
	// log-odds; their contributions add up to logit(crowd) − logit(baseline).
	Features []featureOut `json:"features"`
	Model    modelOut     `json:"model"`
}

type ownStatement struct {
	Kind     string `json:"kind"`
	Strength int    `json:"strength"`
	// Effect says what the owner's word does to the answer.
	Effect string `json:"effect"`
}

type statementOut struct {
	From string `json:"from"`
	// Strength is the statement's strength, 1-100.
	Strength int     `json:"strength"`
	Weight   float64 `json:"weight"`
	// YourTrust is your trust in the statement's author, in [0, 1].
	YourTrust float64 `json:"your_trust"`
}

type pathOut struct {
	Nodes    []string `json:"nodes"`
	Strength float64  `json:"strength"`
}

type featureOut struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"` // log-odds against the baseline
}

// modelOut names the model behind an answer.
type modelOut struct {
	// Kind is "shipped" or "refined" (on the owner's judgements).
	Kind       string `json:"kind"`
	Provenance string `json:"provenance"`
	Examples   int    `json:"examples"`
	Note       string `json:"note,omitempty"`
}

func (tv *trustView) modelOut() modelOut {
	k := "shipped"
	if tv.refined {
		k = "refined"
	}
	return modelOut{Kind: k, Provenance: tv.model.Provenance, Examples: tv.model.Examples, Note: tv.note}
}

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
	out := queryView{Subject: sub.String(), Context: context, Meaning: ScoreMeaning}
	t, ok := tv.index.Lookup(sub)
	if !ok {
		out.Explanation = tv.emptyExplanation("no evidence: nobody in your view has said anything about " + subject + " in " + context)
		return out, nil
	}
	r, err := tv.engine.Query(ctx, tv.view, tv.model, t)
	if err != nil {
		return queryView{}, err
	}
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

func (tv *trustView) emptyExplanation(summary string) *explanation {
	f := tv.view.Features(tv.view.Querier(), nil) // the owner's features: no subject
	return &explanation{Summary: summary, Baseline: trust.Sigmoid(tv.model.Baseline(&f)), Model: tv.modelOut(),
		Vouchers: []statementOut{}, Warners: []statementOut{}, Paths: []pathOut{}, Features: []featureOut{}}
}

func (tv *trustView) explain(r trust.Result) *explanation {
	e := tv.emptyExplanation("")
	e.Baseline = r.Baseline
	e.LinkVerified = r.Features.Linked
	f := r.Features
	e.TrustedVouchers, e.TrustedWarners = f.TrustedVouchers, f.TrustedWarners
	e.OtherVouchers, e.OtherWarners = f.OtherVouchers, f.OtherWarners
	if !math.IsNaN(r.Crowd) {
		c := r.Crowd
		e.Crowd = &c
	}
	if f.HasDirect {
		st := int(math.Round(math.Abs(f.Direct) * wire.MaxStrength))
		if f.Direct > 0 {
			e.OwnStatement = &ownStatement{Kind: "vouch", Strength: st, Effect: "your vouch puts the answer above 0.5; what others say moves it within 0.5-1"}
		} else {
			e.OwnStatement = &ownStatement{Kind: "warn", Strength: st, Effect: "your warning puts the answer below 0.5; what others say moves it within 0-0.5"}
		}
	}
	for _, st := range r.Vouchers {
		e.Vouchers = append(e.Vouchers, tv.statement(st))
	}
	for _, st := range r.Warners {
		e.Warners = append(e.Warners, tv.statement(st))
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
	e.Summary = Summary(f, r.Covered)
	return e
}

func (tv *trustView) statement(st trust.Statement) statementOut {
	return statementOut{From: tv.name(st.From), Strength: int(math.Round(math.Abs(st.Weight) * wire.MaxStrength)), Weight: st.Weight, YourTrust: st.Trust}
}

// Summary says in plain words what the answer rests on: "warned by you; 2
// of the people you trust warned, 0 vouched; 1 other vouched".
func Summary(f trust.Features, covered bool) string {
	if !covered {
		if n := f.OtherVouchers + f.OtherWarners + f.TrustedVouchers + f.TrustedWarners; n > 0 {
			return fmt.Sprintf("no evidence you can weigh: only %s your trust does not reach spoke (%s)", plural(n, "person", "people"), counts(f.OtherVouchers+f.TrustedVouchers, f.OtherWarners+f.TrustedWarners))
		}
		return "no evidence: nobody in your view has said anything"
	}
	var parts []string
	if f.HasDirect {
		if f.Direct > 0 {
			parts = append(parts, "vouched for by you")
		} else {
			parts = append(parts, "warned by you")
		}
	}
	others := f.TrustedVouchers + f.TrustedWarners + f.OtherVouchers + f.OtherWarners
	switch {
	case others == 0 && f.Trust == 0:
		parts = append(parts, "nobody else in your view has said anything")
	default:
		parts = append(parts, "of the people you trust, "+counts(f.TrustedVouchers, f.TrustedWarners))
		if n := f.OtherVouchers + f.OtherWarners; n > 0 {
			parts = append(parts, fmt.Sprintf("of %s you do not trust yet, %s", plural(n, "person", "people"), counts(f.OtherVouchers, f.OtherWarners)))
		}
	}
	if f.Trust >= trust.TrustedLevel {
		parts = append(parts, fmt.Sprintf("your trust in them through others' vouches: %.2f", f.Trust))
	}
	return strings.Join(parts, "; ")
}

// counts says how many vouched and warned, the larger first: "2 warned, 0
// vouched".
func counts(vouched, warned int) string {
	if warned > vouched {
		return fmt.Sprintf("%d warned, %d vouched", warned, vouched)
	}
	return fmt.Sprintf("%d vouched, %d warned", vouched, warned)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (a *app) printQuery(q queryView) error {
	if a.json {
		return a.printJSON(q)
	}
	w := a.env.Stdout
	e := q.Explanation
	if !q.Covered {
		fmt.Fprintf(w, "%s (%s): %s\n", q.Subject, q.Context, e.Summary)
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

// rankRow is one line of `kith rank`.
type rankRow struct {
	Subject    string  `json:"subject"`
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
	Summary    string  `json:"summary"`
	node       trust.NodeID
}

// answerRank lists the subjects of a context by the owner's trust, most
// trusted first (least with bottom), at most limit (0 = all).
func (a *app) answerRank(ctx context.Context, s *session, context string, bottom bool, limit int) ([]rankRow, error) {
	tv, err := a.openView(ctx, s, context)
	if err != nil {
		return nil, err
	}
	own, err := tv.view.OwnCrowd(ctx, tv.engine.Linked)
	if err != nil {
		return nil, err
	}
	rows := []rankRow{}
	for v := range trust.NodeID(tv.view.N()) {
		if v == tv.view.Querier() {
			continue
		}
		f, ok := own.Features(v)
		if !ok {
			f = tv.view.Features(v, tv.engine.Linked)
		}
		if !f.Covered {
			continue
		}
		rows = append(rows, rankRow{Subject: tv.name(v), Score: tv.model.Answer(&f), Confidence: f.Confidence(), Summary: Summary(f, true), node: v})
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
