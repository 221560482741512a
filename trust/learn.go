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
