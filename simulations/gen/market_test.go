package gen_test

import (
	"slices"
	"testing"

	"github.com/kith-net/kith/simulations/gen"
)

func TestMarketDeterministicAndShaped(t *testing.T) {
	p := gen.DefaultMarket
	p.Nodes, p.Edges = 2000, 12000
	a, err := gen.NewMarket(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gen.NewMarket(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Graph.Edges(), b.Graph.Edges()) || !slices.Equal(a.Bad, b.Bad) {
		t.Fatal("same seed, different markets")
	}
	if m := a.Graph.M(); m < p.Edges*9/10 || m > p.Edges {
		t.Fatalf("%d edges, want about %d", m, p.Edges)
	}
	// Bad actors are warned about far more often than honest people.
	var negBad, allBad, negGood, allGood float64
	for _, e := range a.Graph.Edges() {
		if a.Bad[e.To] {
			allBad++
			if e.Weight < 0 {
				negBad++
			}
		} else {
			allGood++
			if e.Weight < 0 {
				negGood++
			}
		}
	}
	if !(negBad/allBad > 2*negGood/allGood) {
		t.Fatalf("warning rate: bad %.2f, honest %.2f", negBad/allBad, negGood/allGood)
	}
	p.Seed++
	c, err := gen.NewMarket(p)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Graph.Edges(), c.Graph.Edges()) {
		t.Fatal("another seed gave the same market")
	}
}

func TestMarketValidate(t *testing.T) {
	for _, edit := range []func(*gen.MarketParams){
		func(p *gen.MarketParams) { p.Nodes = 1 },
		func(p *gen.MarketParams) { p.BadShare = 1.5 },
		func(p *gen.MarketParams) { p.Activity = 1 },
		func(p *gen.MarketParams) { p.Noise = -0.1 },
		func(p *gen.MarketParams) { p.CollusionBoost = 2 },
	} {
		p := gen.DefaultMarket
		edit(&p)
		if _, err := gen.NewMarket(p); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
}
