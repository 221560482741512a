package owner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

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
// build cannot read is set aside, never read with features it was not
// trained on (trust.ModelVersion), with a note saying to train it again;
// it stays in the vault until kith model train replaces it.
func (s *Service) activeModel(context string) (m *trust.Model, refined bool, note string) {
	b, ok := s.vault.Get(modelSecret(context))
	if !ok {
		return trust.DefaultModel(), false, ""
	}
	m, err := trust.ParseModel(b)
	switch {
	case errors.Is(err, trust.ErrModelVersion):
		var file struct{ Version int }
		_ = json.Unmarshal(b, &file) // it parsed as far as its version
		return trust.DefaultModel(), false, fmt.Sprintf("your refined model for %s was trained on another version of kith's features (model version %d, this kith reads %d); the shipped model answers until you run kith model train --context %s", context, file.Version, trust.ModelVersion, context)
	case err != nil:
		return trust.DefaultModel(), false, fmt.Sprintf("your refined model for %s is not used (%v): run kith model train --context %s", context, err, context)
	}
	return m, true, ""
}

// openView builds the owner's graph of a context from the store and
// computes the owner's view of it. It reads only: links due for a check
// do not count until RecheckLinks has checked them. s.mu must be held.
func (s *Service) openView(ctx context.Context, context string) (*trustView, error) {
	if err := wire.ValidateContext(context); err != nil {
		return nil, err
	}
	links, err := s.verifiedLinks()
	if err != nil {
		return nil, err
	}
	model, refined, note := s.activeModel(context)
	tv, err := buildView(ctx, s.st, s.key.Public(), context, s.now(), links, model)
	if err != nil {
		return nil, err
	}
	tv.refined, tv.note = refined, note
	return tv, nil
}

// buildView is openView's work for the owner self of store st.
func buildView(ctx context.Context, st store.Store, self wire.PublicKey, context string, now time.Time, links map[string]wire.PublicKey, model *trust.Model) (*trustView, error) {
	// Statements withdrawn, or whose consent has expired, count for
	// nothing; the owner's own still count when only their consent
	// expired (spec/node-v1.md §5.1).
	atts, err := st.Attestations(ctx, store.Query{Context: context, Now: uint64(max(now.Unix(), 1)), Own: &self})
	if err != nil {
		return nil, err
	}
	g, ix, err := trust.Build(atts, trust.BuildOptions{Context: context, Now: now, Self: self, Links: links})
	if err != nil {
		return nil, err
	}
	eng := &trust.Engine{Model: model, Linked: ix.Linked}
	me, _ := ix.Key(self)
	v, err := eng.View(ctx, g, me)
	if err != nil {
		return nil, err
	}
	return &trustView{engine: eng, view: v, index: ix, model: model}, nil
}

// keyScores is the engine's score of every key the view covers.
func (tv *trustView) keyScores(ctx context.Context) (map[wire.PublicKey]float64, error) {
	scores := make([]float64, tv.view.N())
	if err := tv.engine.ScoreView(ctx, tv.view, scores); err != nil {
		return nil, err
	}
	out := map[wire.PublicKey]float64{}
	for v, x := range scores {
		if sub := tv.index.Subjects[v]; sub.Key != nil && !math.IsNaN(x) {
			out[*sub.Key] = x
		}
	}
	return out, nil
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

func (tv *trustView) modelOut() api.ModelRef {
	k := "shipped"
	if tv.refined {
		k = "refined"
	}
	return api.ModelRef{Kind: k, Provenance: tv.model.Provenance, Examples: tv.model.Examples, Note: tv.note}
}

// Query implements api.Service.
func (s *Service) Query(ctx context.Context, req api.QueryRequest) (api.QueryResult, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	s.mu.Lock()
	q, err := s.answerQuery(ctx, req.Subject, req.Context)
	s.mu.Unlock()
	if err != nil {
		return api.QueryResult{}, apiError(err)
	}
	return q, nil
}

// answerQuery answers "how far do I trust subject in context, and why?"
// from the store.
func (s *Service) answerQuery(ctx context.Context, subject, context string) (api.QueryResult, error) {
	sub, err := wire.ParseSubject(subject)
	if err != nil {
		return api.QueryResult{}, err
	}
	tv, err := s.openView(ctx, context)
	if err != nil {
		return api.QueryResult{}, err
	}
	return tv.answer(ctx, sub, subject, context)
}

// answer is answerQuery on a view already built.
func (tv *trustView) answer(ctx context.Context, sub wire.Subject, subject, context string) (api.QueryResult, error) {
	out := api.QueryResult{Subject: sub.String(), Context: context, Meaning: api.ScoreMeaning}
	t, ok := tv.index.Lookup(sub)
	if !ok {
		out.Explanation = tv.emptyExplanation("no evidence: nobody in your view has said anything about " + subject + " in " + context)
		return out, nil
	}
	r, err := tv.engine.Query(ctx, tv.view, tv.model, t)
	if err != nil {
		return api.QueryResult{}, err
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

func (tv *trustView) emptyExplanation(summary string) *api.Explanation {
	f := tv.view.Features(tv.view.Querier(), nil) // the owner's features: no subject
	return &api.Explanation{Summary: summary, Baseline: trust.Sigmoid(tv.model.Baseline(&f)), Model: tv.modelOut(),
		Vouchers: []api.Statement{}, Warners: []api.Statement{}, Paths: []api.Path{}, Features: []api.Feature{}}
}

func (tv *trustView) explain(r trust.Result) *api.Explanation {
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
			e.OwnStatement = &api.OwnStatement{Kind: "vouch", Strength: st, Effect: "your vouch puts the answer above 0.5; what others say moves it within 0.5-1"}
		} else {
			e.OwnStatement = &api.OwnStatement{Kind: "warn", Strength: st, Effect: "your warning puts the answer below 0.5; what others say moves it within 0-0.5"}
		}
	}
	for _, st := range r.Vouchers {
		e.Vouchers = append(e.Vouchers, tv.statement(st))
	}
	for _, st := range r.Warners {
		e.Warners = append(e.Warners, tv.statement(st))
	}
	for _, p := range r.Paths {
		po := api.Path{Strength: p.Strength}
		for _, v := range p.Nodes {
			po.Nodes = append(po.Nodes, tv.name(v))
		}
		e.Paths = append(e.Paths, po)
	}
	for _, c := range r.Contributions {
		e.Features = append(e.Features, api.Feature{Name: c.Feature, Value: c.Value, Contribution: c.Logit})
	}
	if r.Through >= 0 {
		e.Through = &api.Through{Contact: tv.name(r.Through), Share: r.ThroughShare, Effect: throughEffect(trust.ContactRetain)}
	}
	e.Summary = Summary(f, r.Covered)
	return e
}

// throughEffect says what the engine does with the trust that came through
// one contact, given the share of it that still counts
// (trust.ContactRetain).
func throughEffect(retain float64) string {
	counts := "does not count"
	if retain > 0 {
		counts = fmt.Sprintf("counts for %.0f %%", 100*retain)
	}
	return "the part of your trust in their raters that came through that one contact " + counts + ", so that one fooled or compromised contact cannot bring in a crowd"
}

func (tv *trustView) statement(st trust.Statement) api.Statement {
	return api.Statement{From: tv.name(st.From), Strength: int(math.Round(math.Abs(st.Weight) * wire.MaxStrength)), Weight: st.Weight, YourTrust: st.Trust}
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

// Rank implements api.Service.
func (s *Service) Rank(ctx context.Context, req api.RankRequest) ([]api.RankRow, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	s.mu.Lock()
	rows, err := s.answerRank(ctx, req.Context, req.Bottom, req.Limit)
	s.mu.Unlock()
	if err != nil {
		return nil, apiError(err)
	}
	return rows, nil
}

// answerRank lists the subjects of a context by the owner's trust, most
// trusted first (least with bottom), at most limit (0 = all).
func (s *Service) answerRank(ctx context.Context, context string, bottom bool, limit int) ([]api.RankRow, error) {
	tv, err := s.openView(ctx, context)
	if err != nil {
		return nil, err
	}
	own, err := tv.view.OwnCrowd(ctx, tv.engine.Linked)
	if err != nil {
		return nil, err
	}
	type rankRow struct {
		api.RankRow
		node trust.NodeID
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
		rows = append(rows, rankRow{api.RankRow{Subject: tv.name(v), Score: tv.model.Answer(&f), Confidence: f.Confidence(), Summary: Summary(f, true)}, v})
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
	out := make([]api.RankRow, len(rows))
	for i, r := range rows {
		out[i] = r.RankRow
	}
	return out, nil
}

// QueryMany answers several subjects of one context from one view (the
// browser extension's batch). A subject that cannot be parsed gets a nil
// answer; the others are answered as Query would.
func (s *Service) QueryMany(ctx context.Context, subjects []string, context string) ([]*api.QueryResult, error) {
	if context == "" {
		context = api.DefaultContext
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tv, err := s.openView(ctx, context)
	if err != nil {
		return nil, apiError(err)
	}
	out := make([]*api.QueryResult, len(subjects))
	for i, subject := range subjects {
		sub, err := wire.ParseSubject(subject)
		if err != nil {
			continue
		}
		q, err := tv.answer(ctx, sub, subject, context)
		if err != nil {
			return nil, apiError(err)
		}
		out[i] = &q
	}
	return out, nil
}

// Model implements api.Service.
func (s *Service) Model(ctx context.Context, req api.ModelRequest) (api.ModelInfo, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	if err := wire.ValidateContext(req.Context); err != nil {
		return api.ModelInfo{}, apiError(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modelInfo(req.Context), nil
}

// modelInfo describes the model that answers queries in a context.
func (s *Service) modelInfo(context string) api.ModelInfo {
	m, refined, note := s.activeModel(context)
	kind := "shipped"
	if refined {
		kind = "refined"
	}
	return api.ModelInfo{Context: context, Kind: kind, Note: note, Model: m}
}

// TrainModel implements api.Service: it refines the model on the owner's
// judgements in a context (trust.Refine) and keeps it in the vault only if
// it predicts them better; otherwise the vault's refined model, if any, is
// removed and the shipped one answers.
func (s *Service) TrainModel(ctx context.Context, req api.ModelRequest) (api.ModelInfo, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.trainModel(ctx, req.Context)
	return info, apiError(err)
}

func (s *Service) trainModel(ctx context.Context, context string) (api.ModelInfo, error) {
	tv, err := s.openView(ctx, context)
	if err != nil {
		return api.ModelInfo{}, err
	}
	shipped := &trust.Engine{Linked: tv.engine.Linked}
	m, rep, err := shipped.Refine(ctx, tv.view)
	if err != nil {
		return api.ModelInfo{}, err
	}
	if rep.Judgements == 0 {
		return api.ModelInfo{}, invalidf("no judgements of yours in %s to learn from: vouch or warn first", context)
	}
	_, had := s.vault.Get(modelSecret(context))
	if rep.Used {
		b, err := m.Marshal()
		if err != nil {
			return api.ModelInfo{}, err
		}
		if err := s.vault.Put(map[string][]byte{modelSecret(context): b}); err != nil {
			return api.ModelInfo{}, err
		}
	} else if had {
		if err := s.vault.Put(map[string][]byte{modelSecret(context): nil}); err != nil {
			return api.ModelInfo{}, err
		}
	}
	info := s.modelInfo(context)
	info.Refinement = &api.Refinement{Judgements: rep.Judgements, SharedLogLoss: rep.SharedLogLoss, RefinedLogLoss: rep.RefinedLogLoss, Used: rep.Used, Why: rep.Why}
	return info, nil
}

// QueryBatch implements api.Service: the browser extension's badges, from
// one view of the context.
func (s *Service) QueryBatch(ctx context.Context, req api.BatchQueryRequest) (api.BatchQueryResult, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	qs, err := s.QueryMany(ctx, req.Subjects, req.Context)
	if err != nil {
		return api.BatchQueryResult{}, err
	}
	res := api.BatchQueryResult{Context: req.Context, Answers: make([]api.BatchAnswer, len(qs))}
	for i, q := range qs {
		a := api.BatchAnswer{Subject: req.Subjects[i]}
		if q != nil {
			e := q.Explanation
			a.Valid, a.Covered, a.Score, a.Confidence, a.Summary = true, q.Covered, q.Score, q.Confidence, e.Summary
			a.TrustedVouchers, a.TrustedWarners = e.TrustedVouchers, e.TrustedWarners
			if e.OwnStatement != nil {
				a.Own = e.OwnStatement.Kind
			}
		}
		res.Answers[i] = a
	}
	return res, nil
}
