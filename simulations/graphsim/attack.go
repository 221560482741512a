package graphsim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// group is one behaviour injected into a cell's graph.
type group struct {
	label string // the behaviour's kind, "#2" etc. when a kind repeats
	b     scenario.Behaviour
	// ids are the identities the group controls (Sybils, colluders,
	// slanderers, promoters and the promoted, whitewashers' new keys).
	ids []trust.NodeID
	// attack is the number of attack edges actually placed.
	attack int
	// subjects: slander targets; the promoted identity; whitewashers'
	// old identities (new ones in fresh, aligned); traitors.
	subjects []trust.NodeID
	fresh    []trust.NodeID
}

// world is the honest population with what the runner derives from it
// once: victims by choice, the shared edge list.
type world struct {
	pop      *Population
	edges    []trust.Edge   // the honest edges
	vouchers []trust.NodeID // members who vouch for someone
	byFame   []trust.NodeID // members by positive in-degree, most first
	badOnes  []trust.NodeID // members who misbehave, most warned first
	posIn    []int
	negIn    []int
}

func newWorld(p *Population) *world {
	g := p.Graph
	n := g.N()
	w := &world{pop: p, edges: g.Edges(), posIn: make([]int, n), negIn: make([]int, n)}
	for u := range trust.NodeID(n) {
		to, ws := g.Out(u)
		vouches := false
		for i, x := range ws {
			if x > 0 {
				vouches = true
				w.posIn[to[i]]++
			} else if x < 0 {
				w.negIn[to[i]]++
			}
		}
		if vouches {
			w.vouchers = append(w.vouchers, u)
		}
	}
	w.byFame = make([]trust.NodeID, n)
	for i := range w.byFame {
		w.byFame[i] = trust.NodeID(i)
	}
	slices.SortStableFunc(w.byFame, func(a, b trust.NodeID) int { return cmp.Compare(w.posIn[b], w.posIn[a]) })
	for v := range trust.NodeID(n) {
		if p.Truth[v] < 0 && w.negIn[v] > 0 {
			w.badOnes = append(w.badOnes, v)
		}
	}
	if len(w.badOnes) == 0 { // no ground truth: the most warned-about members
		for v := range trust.NodeID(n) {
			if w.negIn[v] > w.posIn[v] {
				w.badOnes = append(w.badOnes, v)
			}
		}
	}
	slices.SortStableFunc(w.badOnes, func(a, b trust.NodeID) int { return cmp.Compare(w.negIn[b], w.negIn[a]) })
	return w
}

// victims chooses k honest members to give attack edges, by the choice of
// b.Victims (near: around the querier q).
func (w *world) victims(choice string, k int, q trust.NodeID, rng *rand.Rand) []trust.NodeID {
	var vs []trust.NodeID
	switch choice {
	case scenario.VictimsRandom:
		for _, p := range rng.Perm(len(w.vouchers))[:min(k, len(w.vouchers))] {
			vs = append(vs, w.vouchers[p])
		}
	case scenario.VictimsTargeted:
		vs = slices.Clone(w.byFame[:min(k, len(w.byFame))])
	case scenario.VictimsNear:
		vs = eval.Nearest(w.pop.Graph, q, k, rng)
	}
	slices.Sort(vs)
	return vs
}

// cellGraphs are the graphs of one cell (and, with near victims or
// consent, one viewpoint). The attack is split in two: base holds the
// honest ratings and every edge the attackers' own identities give; attack
// holds the edges honest members give them (attack edges, a whitewasher's
// regained vouches), and treason[k] the warnings traitors' partners give
// at step turn+k. final is base with the attack edges, steps[k] final with
// the treason up to step turn+k: they are built only for engines that need
// a whole graph (kith's engine applies the edges to its view
// incrementally, as a node does when attestations arrive).
type cellGraphs struct {
	groups  []group
	base    *trust.Graph
	attack  []trust.Edge
	treason [][]trust.Edge
	turn    int
	final   *trust.Graph
	steps   []*trust.Graph
	// honest, with consent, is the honest graph as the querier's node
	// holds it (nil: the population's graph).
	honest *trust.Graph
	// incremental: kith's engines apply the attack edges to their view
	// (few of them); otherwise they score final and steps whole.
	incremental bool
	// separable is true when no attacker identity rates an honest member:
	// base then scores honest members as the honest graph does (the
	// attackers are unreachable without the attack edges), and serves as
	// the reference view.
	separable bool
}

// incrementalShare: kith's engines apply the attack edges to a view one
// by one when there is at most one per incrementalShare nodes. An edit
// costs about a full propagation divided by a few hundred on a graph of
// 100,000 nodes (less on smaller ones), so beyond this a fresh view of
// the whole attacked graph is cheaper.
const incrementalShare = 500

// build injects every behaviour of s, the scenario of one sweep cell, into
// the honest graph. q is the querier for near victims and is never chosen
// as a victim or subject (-1 for none). rngFor derives the generator of
// one named purpose. wholeGraphs builds final and steps.
//
// The random streams are named by the behaviour and the cell's swept size
// and attack edges (0 where not swept), not by the other swept fields:
// cells that differ only in, say, their victims' placement or an engine
// parameter draw the same Sybil regions.
func (w *world) build(s *scenario.Scenario, cell scenario.Cell, q trust.NodeID, rngFor func(string) *rand.Rand, wholeGraphs bool) (*cellGraphs, error) {
	n := w.pop.Graph.N()
	next := trust.NodeID(n)
	alloc := func(k int) []trust.NodeID {
		ids := make([]trust.NodeID, k)
		for i := range ids {
			ids[i] = next
			next++
		}
		return ids
	}
	t0 := w.pop.Now // the behaviours are in place at step 0
	edges := slices.Clone(w.edges)
	var attack []trust.Edge
	separable := true
	var groups []group
	counts := map[string]int{}
	type treason struct {
		g   int // index in groups
		rng *rand.Rand
	}
	var traitors []treason
	for bi, b := range s.Behaviours {
		if b.Kind == scenario.Eclipse {
			continue
		}
		counts[b.Kind]++
		label := b.Kind
		if counts[b.Kind] > 1 {
			label = fmt.Sprintf("%s#%d", b.Kind, counts[b.Kind])
		}
		nearQ := trust.NodeID(-1)
		if b.Victims == scenario.VictimsNear {
			nearQ = q
		}
		purpose := fmt.Sprintf("behaviour/%d/%d/%d/%d", bi, cell.Int(scenario.FieldSize), cell.Int(scenario.FieldAttackEdges), nearQ)
		rng := rngFor(purpose)
		gr := group{label: label, b: b}
		// The attack edges come from a stream of their own that depends on
		// neither s nor g (common random numbers): cells that differ in s
		// are attacked from the same victims, so that comparing them (S1(b):
		// capture flat in s) measures s and not another draw of victims, and
		// a cell's g victims include those of every smaller g.
		arng := rngFor(fmt.Sprintf("behaviour/%d/attack/%d", bi, nearQ))
		attackTo := func(targets []trust.NodeID) {
			for _, v := range w.victims(b.Victims, b.AttackEdges, q, arng) {
				attack = append(attack, trust.Edge{From: v, To: targets[arng.IntN(len(targets))], Weight: b.AttackWeight, Time: t0})
				gr.attack++
			}
		}
		switch b.Kind {
		case scenario.Sybil:
			gr.ids = alloc(b.Size)
			// Each Sybil vouches for deg distinct random others (the region
			// of simulations/eval's Inject), drawn by rejection when deg is small
			// beside s and by a partial shuffle otherwise.
			deg := min(b.Degree, b.Size-1)
			picked := make(map[int]bool, deg)
			for i, u := range gr.ids {
				var js []int
				if deg*4 <= b.Size {
					clear(picked)
					for len(js) < deg {
						if j := rng.IntN(b.Size); j != i && !picked[j] {
							picked[j] = true
							js = append(js, j)
						}
					}
				} else {
					for _, j := range rng.Perm(b.Size - 1)[:deg] {
						if j >= i {
							j++
						}
						js = append(js, j)
					}
				}
				for _, j := range js {
					edges = append(edges, trust.Edge{From: u, To: gr.ids[j], Weight: 1, Time: t0})
				}
			}
			attackTo(gr.ids)
		case scenario.Collusion:
			gr.ids = alloc(b.Size)
			for _, u := range gr.ids {
				for _, v := range gr.ids {
					if u != v {
						edges = append(edges, trust.Edge{From: u, To: v, Weight: 1, Time: t0})
					}
				}
			}
			attackTo(gr.ids)
		case scenario.Slander:
			gr.ids = alloc(b.Size)
			if b.TargetChoice == scenario.VictimsTargeted {
				for _, v := range w.byFame {
					if len(gr.subjects) == b.Targets {
						break
					}
					if w.pop.Truth[v] > 0 && v != q {
						gr.subjects = append(gr.subjects, v)
					}
				}
			} else {
				var pool []trust.NodeID
				for v := range trust.NodeID(n) {
					if w.pop.Truth[v] > 0 && w.posIn[v] > 0 && v != q {
						pool = append(pool, v)
					}
				}
				for _, p := range rng.Perm(len(pool))[:min(b.Targets, len(pool))] {
					gr.subjects = append(gr.subjects, pool[p])
				}
			}
			slices.Sort(gr.subjects)
			separable = false
			for _, u := range gr.ids {
				for _, v := range gr.ids {
					if u != v {
						edges = append(edges, trust.Edge{From: u, To: v, Weight: 1, Time: t0})
					}
				}
				for _, v := range gr.subjects {
					edges = append(edges, trust.Edge{From: u, To: v, Weight: -1, Time: t0})
				}
			}
			attackTo(gr.ids)
		case scenario.SelfPromotion:
			gr.ids = alloc(b.Size + 1)
			promoted := gr.ids[b.Size]
			gr.subjects = []trust.NodeID{promoted}
			for _, u := range gr.ids[:b.Size] {
				edges = append(edges, trust.Edge{From: u, To: promoted, Weight: 1, Time: t0})
			}
			attackTo(gr.ids[:b.Size])
		case scenario.Whitewash:
			for _, v := range w.badOnes {
				if len(gr.subjects) == b.Size {
					break
				}
				if v != q {
					gr.subjects = append(gr.subjects, v)
				}
			}
			gr.fresh = alloc(len(gr.subjects))
			gr.ids = gr.fresh
			separable = false
			g := w.pop.Graph
			for i, old := range gr.subjects {
				// The new key rates the same people as the old one did,
				// and regains g vouches.
				to, ws := g.Out(old)
				for j, v := range to {
					edges = append(edges, trust.Edge{From: gr.fresh[i], To: v, Weight: float64(ws[j]), Time: t0})
				}
				for _, v := range w.victims(b.Victims, b.AttackEdges, q, rng) {
					if v != old {
						attack = append(attack, trust.Edge{From: v, To: gr.fresh[i], Weight: b.AttackWeight, Time: t0})
						gr.attack++
					}
				}
			}
		case scenario.Traitor:
			for _, v := range w.victims(b.Victims, b.Size+1, q, rng) {
				if len(gr.subjects) < b.Size && v != q && w.pop.Truth[v] > 0 {
					gr.subjects = append(gr.subjects, v)
				}
			}
			traitors = append(traitors, treason{len(groups), rng})
		}
		groups = append(groups, gr)
	}
	total := int(next)
	// With consent, q's node holds only part of the cell's attestations.
	var cv *consentView
	var honestEdges []trust.Edge
	if s.Consent != nil && q >= 0 {
		cv = newConsentView(*s.Consent, s.Seed, n, q, edges, attack)
		edges, attack, honestEdges = cv.filter(edges), cv.filter(attack), cv.filter(w.edges)
	}
	base, err := trust.NewGraph(total, edges)
	if err != nil {
		return nil, err
	}
	cg := &cellGraphs{base: base, attack: attack, groups: groups, separable: separable, incremental: len(attack)*incrementalShare <= total}
	if cv != nil {
		if cg.honest, err = trust.NewGraph(n, honestEdges); err != nil {
			return nil, err
		}
	}
	wholeGraphs = wholeGraphs || !cg.incremental
	if wholeGraphs {
		if cg.final, err = trust.NewGraph(total, append(edges, attack...)); err != nil {
			return nil, err
		}
	}
	if len(traitors) == 0 {
		return cg, nil
	}
	// Treason: from the turn on, every step each traitor cheats
	// bad_per_step partners, who warn about it; partners are the members
	// who vouched for it, in random order, then anyone.
	turn := s.Steps
	for _, t := range traitors {
		turn = min(turn, groups[t.g].b.TurnAt)
	}
	cg.turn = turn
	partners := make([][][]trust.NodeID, len(traitors))
	for ti, t := range traitors {
		gr := groups[t.g]
		partners[ti] = make([][]trust.NodeID, len(gr.subjects))
		for i, v := range gr.subjects {
			from, ws := w.pop.Graph.In(v)
			var ps []trust.NodeID
			for j, u := range from {
				if ws[j] > 0 && u != q {
					ps = append(ps, u)
				}
			}
			t.rng.Shuffle(len(ps), func(a, b int) { ps[a], ps[b] = ps[b], ps[a] })
			need := (s.Steps - gr.b.TurnAt) * gr.b.BadPerStep
			if len(ps) < need {
				in := make(map[trust.NodeID]bool, len(ps))
				for _, u := range ps {
					in[u] = true
				}
				for _, p := range t.rng.Perm(n) {
					if len(ps) >= need {
						break
					}
					if u := trust.NodeID(p); u != v && u != q && !in[u] {
						ps = append(ps, u)
					}
				}
			}
			partners[ti][i] = ps
		}
	}
	all := append(edges, attack...)
	for k := turn; k < s.Steps; k++ {
		at := w.pop.Now + int64(k+1)*int64(s.Step.Seconds())
		var step []trust.Edge
		for ti, t := range traitors {
			gr := groups[t.g]
			if k < gr.b.TurnAt {
				continue
			}
			for i, v := range gr.subjects {
				for range gr.b.BadPerStep {
					ps := partners[ti][i]
					if len(ps) == 0 {
						break
					}
					step = append(step, trust.Edge{From: ps[0], To: v, Weight: -1, Time: at})
					partners[ti][i] = ps[1:]
				}
			}
		}
		if cv != nil {
			step = cv.filter(step)
		}
		cg.treason = append(cg.treason, step)
		if wholeGraphs {
			all = append(all, step...)
			g, err := trust.NewGraph(total, all)
			if err != nil {
				return nil, err
			}
			cg.steps = append(cg.steps, g)
		}
	}
	return cg, nil
}
