package trust

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestContactSplitAddsUp: in the subject cut, the decomposition by the
// last contact a walk passed adds up to the cut's mass at every node but
// the owner, for random graphs
// and subjects (the decomposition is exact, up to the push thresholds and the float32
// transition shares of the main propagation).
func TestContactSplitAddsUp(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(23, 23))
	p := PropagationParams{Restart: 0.2, Epsilon: 1e-13, CutEpsilon: 1e-13}
	checked := 0
	for trial := range 300 {
		n := 3 + rng.IntN(25)
		var edges []Edge
		for u := range n {
			for range 1 + rng.IntN(4) {
				x := rng.IntN(n)
				if x == u {
					continue
				}
				w := 0.1 + 0.9*rng.Float64()
				if rng.Float64() < 0.2 {
					w = -w
				}
				edges = append(edges, Edge{From: NodeID(u), To: NodeID(x), Weight: w})
			}
		}
		g, err := NewGraph(n, dedupe(edges))
		if err != nil {
			t.Fatal(err)
		}
		q := NodeID(rng.IntN(n))
		v, err := NewView(ctx, g, q, p)
		if err != nil {
			t.Fatal(err)
		}
		// Hide one of the owner's statements, as Judgements does, half
		// of the time: the decomposition follows the owner's row.
		if to, w := v.Out(q); len(to) > 1 && trial%2 == 1 {
			var keep []Edit
			for i := 1; i < len(to); i++ {
				keep = append(keep, Edit{To: to[i], Weight: float64(w[i])})
			}
			if err := v.SetOut(ctx, q, keep); err != nil {
				t.Fatal(err)
			}
		}
		for s := range NodeID(n) {
			cut := v.cutAt(s)
			cs := cut.contactCut()
			for u := range NodeID(n) {
				if u == q || u == s {
					continue
				}
				sum := 0.0
				for j := range cs.s.contact {
					sum += cs.value(u, int32(j))
				}
				// The cut's mass is the uncut one plus a correction, and
				// the incremental update leaves float32-sized errors: the
				// tolerance is relative to the larger.
				if m := cut.mass(u); math.Abs(sum-m) > 1e-6*max(m, v.prop.mass[u])+1e-8 {
					t.Fatalf("trial %d, cut at %d: node %d has mass %v, its contacts' parts add up to %v", trial, s, u, m, sum)
				}
				checked++
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d nodes checked", checked)
	}
}

// dedupe keeps the last edge of each pair.
func dedupe(edges []Edge) []Edge {
	seen := map[[2]NodeID]int{}
	var out []Edge
	for _, e := range edges {
		k := [2]NodeID{e.From, e.To}
		if i, ok := seen[k]; ok {
			out[i] = e
			continue
		}
		seen[k] = len(out)
		out = append(out, e)
	}
	return out
}
