package trusttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/kith-net/kith/trust"
)

func TestParse(t *testing.T) {
	g, id, err := Parse("a -> b 1.0; b -> c 0.5; c -x d 0.8\n# comment\nd -> a @42; e; c -x a")
	if err != nil {
		t.Fatal(err)
	}
	if g.N() != 5 || g.M() != 5 {
		t.Fatalf("N=%d M=%d, want 5 and 5", g.N(), g.M())
	}
	for i, n := range []string{"a", "b", "c", "d", "e"} {
		if id[n] != trust.NodeID(i) {
			t.Errorf("%s = %d, want %d (order of first appearance)", n, id[n], i)
		}
	}
	for _, c := range []struct {
		u, v string
		w    float64
	}{{"a", "b", 1}, {"b", "c", 0.5}, {"c", "d", -0.8}, {"d", "a", 1}, {"c", "a", -1}} {
		w, ok := g.Weight(id[c.u], id[c.v])
		if !ok || math.Abs(w-c.w) > 1e-6 {
			t.Errorf("%s->%s = %v (%v), want %v", c.u, c.v, w, ok, c.w)
		}
	}
	if ts := g.OutTimes(id["d"]); len(ts) != 1 || ts[0] != 42 {
		t.Errorf("time of d->a = %v, want 42", ts)
	}
	for _, bad := range []string{"a => b", "a -> b 2", "a -> b -0.5", "a -> a", "a -> b 0.5 0.6 0.7 @1", "a -> b @x", "-a -> b", "a b"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSynthetic(t *testing.T) {
	g := Synthetic(1000, 8000, 3)
	if g.N() != 1000 || g.M() != 8000 {
		t.Fatalf("N=%d M=%d", g.N(), g.M())
	}
	h := Synthetic(1000, 8000, 3)
	ge, he := g.Edges(), h.Edges()
	for i := range ge {
		if ge[i] != he[i] {
			t.Fatalf("same seed, different graphs at edge %d", i)
		}
	}
	neg, maxOut := 0, 0
	for u := range trust.NodeID(g.N()) {
		to, w := g.Out(u)
		maxOut = max(maxOut, len(to))
		for _, x := range w {
			if x < 0 {
				neg++
			}
		}
	}
	if neg < 500 || neg > 1100 {
		t.Errorf("%d negative edges of 8000, want about 10%%", neg)
	}
	if maxOut < 80 {
		t.Errorf("largest out-degree %d: degrees are not heavy-tailed", maxOut)
	}
	if other := Synthetic(1000, 8000, 4); other.Edges()[0] == ge[0] && other.Edges()[1] == ge[1] && other.Edges()[2] == ge[2] {
		t.Errorf("seeds 3 and 4 give the same edges")
	}
	if _, err := SyntheticWith(SyntheticParams{Nodes: 3, Edges: 4}); err == nil {
		t.Errorf("3 nodes with 4 edges accepted")
	}
}

func TestPredicates(t *testing.T) {
	g, id := MustParse(t, "q -> a; a -x b; c -> q; d")
	for _, c := range []struct {
		name string
		f    func(*trust.Graph, trust.NodeID, trust.NodeID) bool
		v    string
		want bool
	}{
		{"unreachable q", Unreachable, "q", true},
		{"unreachable a", Unreachable, "a", false},
		{"unreachable b", Unreachable, "b", false},
		{"unreachable c", Unreachable, "c", true},
		{"positive b", UnreachablePositive, "b", true},
		{"positive a", UnreachablePositive, "a", false},
		{"never", Never, "d", false},
		{"not querier q", NotQuerier, "q", false},
		{"not querier d", NotQuerier, "d", true},
		{"not rated a", NotRated, "a", false},
		{"not rated c", NotRated, "c", true},
	} {
		if got := c.f(g, id["q"], id[c.v]); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLateCancel(t *testing.T) {
	c := &lateCancel{Context: context.Background(), after: 1, done: make(chan struct{})}
	if c.Err() != nil {
		t.Fatalf("cancelled at the first look")
	}
	select {
	case <-c.Done():
	default:
		t.Fatalf("Done not closed at the second look")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v after cancellation", c.Err())
	}
}

// inDegree is a minimal correct scorer: the number of vouches a node
// received within q's reach, NoEvidence elsewhere.
type inDegree struct{}

func (inDegree) Name() string { return "in-degree" }

func (inDegree) Score(ctx context.Context, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if len(dst) != g.N() || q < 0 || int(q) >= g.N() {
		return fmt.Errorf("in-degree: bad arguments")
	}
	seen := make([]bool, g.N())
	seen[q] = true
	order := []trust.NodeID{q}
	for i := 0; i < len(order); i++ {
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("in-degree: %w", err)
			}
		}
		to, _ := g.Out(order[i])
		for _, v := range to {
			if !seen[v] {
				seen[v] = true
				order = append(order, v)
			}
		}
	}
	for v := range dst {
		dst[v] = trust.NoEvidence
		if seen[v] && trust.NodeID(v) != q {
			from, _ := g.In(trust.NodeID(v))
			dst[v] = float64(len(from))
		}
	}
	return nil
}

func TestRunOnACorrectScorer(t *testing.T) {
	RunWith(t, inDegree{}, Options{New: func() trust.Scorer { return inDegree{} }})
}
