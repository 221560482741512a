package trust

import (
	"context"
	"slices"
)

// ColdJudgements returns the querier's judgements as a newcomer would have
// had to make them: each target's features in the view with all of the
// querier's out-edges hidden at once. They teach the model what evidence is
// worth to an owner who has not vouched for anyone yet. The view is
// returned to its state on entry.
func (v *View) ColdJudgements(ctx context.Context, linked func(NodeID) bool) ([]Example, error) {
	q := v.q
	to, w := v.Out(q)
	ts := v.outTimes(q)
	all := make([]Edit, len(to))
	for i := range to {
		all[i] = Edit{To: to[i], Weight: float64(w[i]), Time: ts[i]}
	}
	if err := v.SetOut(ctx, q, nil); err != nil {
		return nil, err
	}
	var examples []Example
	for _, e := range all {
		if e.Weight != 0 {
			examples = append(examples, Example{Features: v.Features(e.To, linked), Vouch: e.Weight > 0})
		}
	}
	if err := v.SetOut(ctx, q, all); err != nil {
		return nil, err
	}
	return examples, nil
}

// Judgements returns the querier's own judgements in v as training
// examples: for each of the querier's out-edges (a vouch or a warning), the
// target's features in the view with that edge hidden, labelled by the
// edge's sign. This is how the ranking model learns on-device from the
// owner without any judgement leaking into its own features. The view is
// returned to its state on entry.
//
// Each hidden edge costs one incremental update of the view.
func (v *View) Judgements(ctx context.Context, linked func(NodeID) bool) ([]Example, []NodeID, error) {
	q := v.q
	to, w := v.Out(q)
	ts := v.outTimes(q)
	all := make([]Edit, len(to))
	for i := range to {
		all[i] = Edit{To: to[i], Weight: float64(w[i]), Time: ts[i]}
	}
	var (
		examples []Example
		targets  []NodeID
	)
	for i, e := range all {
		if e.Weight == 0 {
			continue
		}
		if err := v.SetOut(ctx, q, slices.Delete(slices.Clone(all), i, i+1)); err != nil {
			return nil, nil, err
		}
		examples = append(examples, Example{Features: v.Features(e.To, linked), Vouch: e.Weight > 0})
		targets = append(targets, e.To)
	}
	if err := v.SetOut(ctx, q, all); err != nil {
		return nil, nil, err
	}
	return examples, targets, nil
}

// Crowd returns t's features with the owner's own statement about t, if
// any, hidden from them (the crowd's evidence, as the model is trained),
// and Direct set to that statement: what Model.Answer reads. It costs two
// incremental updates when there is such a statement, none otherwise; the
// view is returned to its state on entry.
func (v *View) Crowd(ctx context.Context, t NodeID, linked func(NodeID) bool) (Features, error) {
	f, _, err := v.crowd(ctx, t, linked)
	return f, err
}

// crowd is Crowd, and also returns every statement about
// t but the owner's, with the owner's trust in its author as the features
// weigh it (View.RaterTrust, in the same state of the view).
func (v *View) crowd(ctx context.Context, t NodeID, linked func(NodeID) bool) (Features, []Statement, error) {
	q := v.q
	direct, has := v.Weight(q, t)
	if !has || t == q {
		f, e := v.featuresAndEvidence(t, linked)
		return f, e.Statements, nil
	}
	to, w := v.Out(q)
	ts := v.outTimes(q)
	all := make([]Edit, 0, len(to))
	hidden := make([]Edit, 0, len(to))
	for i := range to {
		e := Edit{To: to[i], Weight: float64(w[i]), Time: ts[i]}
		all = append(all, e)
		if to[i] != t {
			hidden = append(hidden, e)
		}
	}
	if err := v.SetOut(ctx, q, hidden); err != nil {
		return Features{}, nil, err
	}
	f, e := v.featuresAndEvidence(t, linked)
	if err := v.SetOut(ctx, q, all); err != nil {
		return Features{}, nil, err
	}
	f.withOwn(direct)
	return f, e.Statements, nil
}

// withOwn records the owner's own statement in crowd features.
func (f *Features) withOwn(direct float64) {
	f.Direct, f.HasDirect = direct, true
	f.Covered = true
	f.Evidence += 2
}

// OwnCrowd holds, for each subject the owner has a statement about, the
// subject's features with that statement hidden (View.Crowd) and the
// statement itself: the owner's judgements, as training examples, and what
// scoring those subjects needs.
type OwnCrowd struct {
	targets  []NodeID
	features []Features
	index    map[NodeID]int
}

// OwnCrowd computes the crowd's features of every subject of the owner's
// statements, one incremental update each (see Judgements).
func (v *View) OwnCrowd(ctx context.Context, linked func(NodeID) bool) (*OwnCrowd, error) {
	ex, targets, err := v.Judgements(ctx, linked)
	if err != nil {
		return nil, err
	}
	o := &OwnCrowd{targets: targets, features: make([]Features, len(ex)), index: make(map[NodeID]int, len(ex))}
	for i, e := range ex {
		f := e.Features
		w, _ := v.Weight(v.q, targets[i])
		f.withOwn(w)
		o.features[i] = f
		o.index[targets[i]] = i
	}
	return o, nil
}

// Features returns the crowd's features of t, if the owner has a
// statement about t.
func (o *OwnCrowd) Features(t NodeID) (Features, bool) {
	if o == nil {
		return Features{}, false
	}
	i, ok := o.index[t]
	if !ok {
		return Features{}, false
	}
	return o.features[i], true
}

// Examples returns the owner's judgements as training examples: the
// crowd's features of each subject, labelled by the sign of the owner's
// statement, which the features do not contain.
func (o *OwnCrowd) Examples() []Example {
	if o == nil {
		return nil
	}
	ex := make([]Example, len(o.features))
	for i, f := range o.features {
		f.Direct, f.HasDirect = 0, false
		ex[i] = Example{Features: f, Vouch: o.features[i].Direct > 0}
	}
	return ex
}
