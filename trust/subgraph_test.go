package trust_test

import (
	"slices"
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

func TestWithoutEdge(t *testing.T) {
	g := trusttest.Synthetic(300, 2000, 1)
	edges := g.Edges()
	for i := 0; i < len(edges); i += 97 {
		e := edges[i]
		got := g.WithoutEdge(e.From, e.To)
		want := g.Without(func(x trust.Edge) bool { return x.From == e.From && x.To == e.To })
		if !slices.Equal(got.Edges(), want.Edges()) {
			t.Fatalf("edge %d->%d: out-adjacency differs", e.From, e.To)
		}
		for v := range trust.NodeID(g.N()) {
			f1, w1 := got.In(v)
			f2, w2 := want.In(v)
			if !slices.Equal(f1, f2) || !slices.Equal(w1, w2) {
				t.Fatalf("edge %d->%d: in-adjacency of %d differs", e.From, e.To, v)
			}
		}
		if _, ok := got.Weight(e.From, e.To); ok {
			t.Fatalf("edge %d->%d still there", e.From, e.To)
		}
		if got.M() != g.M()-1 {
			t.Fatalf("M = %d, want %d", got.M(), g.M()-1)
		}
	}
	if h := g.WithoutEdge(0, 0); h != g {
		t.Errorf("removing a non-edge copied the graph")
	}
	if _, ok := g.Weight(edges[0].From, edges[0].To); !ok {
		t.Errorf("the original graph lost an edge")
	}
}
