package trusttest

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kith-net/kith/trust"
)

// Options tune the conformance suite to a scorer's documented contract.
type Options struct {
	// NoEvidence reports whether the scorer may answer NoEvidence for v
	// from q's view in g. Nil means Unreachable: only the querier itself
	// and the nodes q has no directed path to.
	NoEvidence func(g *trust.Graph, q, v trust.NodeID) bool
	// New, if set, builds a fresh scorer with the same parameters; the
	// suite then also checks that fresh instances agree bit for bit.
	New func() trust.Scorer
	// Large is the graph of the cancellation test; nil means a synthetic
	// graph of 30,000 nodes and 300,000 edges.
	Large *trust.Graph
}

// Never allows NoEvidence nowhere (global scorers that score every node).
func Never(*trust.Graph, trust.NodeID, trust.NodeID) bool { return false }

// NotQuerier allows NoEvidence for every node but the querier (sampling or
// horizon-limited scorers whose reach depends on more than the graph's
// shape).
func NotQuerier(_ *trust.Graph, q, v trust.NodeID) bool { return v != q }

// Unreachable allows NoEvidence for the querier itself (its trust in
// itself is no question) and for the nodes q has no directed path to, over
// edges of any sign.
func Unreachable(g *trust.Graph, q, v trust.NodeID) bool { return v == q || !reaches(g, q, v, false) }

// UnreachablePositive allows NoEvidence for the querier itself and for the
// nodes q has no directed path to over positive edges.
func UnreachablePositive(g *trust.Graph, q, v trust.NodeID) bool {
	return v == q || !reaches(g, q, v, true)
}

// NotRated allows NoEvidence for the nodes that received no edge
// (global scorers built on received ratings).
func NotRated(g *trust.Graph, _, v trust.NodeID) bool {
	from, _ := g.In(v)
	return len(from) == 0
}

func reaches(g *trust.Graph, q, v trust.NodeID, positive bool) bool {
	seen := make([]bool, g.N())
	seen[q] = true
	stack := []trust.NodeID{q}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if u == v {
			return true
		}
		to, w := g.Out(u)
		for i, x := range to {
			if !seen[x] && (!positive || w[i] > 0) {
				seen[x] = true
				stack = append(stack, x)
			}
		}
	}
	return false
}

// The graphs of the suite.
const (
	mixedGraph = `a -> b 0.8; b -> c 0.5; c -x d 0.8; d -> a 0.3; a -> e 0.1
		e -x b 0.4; f -> a; b -> f 0.2; c -> g 0; g -> h 1; h -> g 0.6
		i -x a 1; j`
	negativeGraph = `a -x b 0.5; b -x c 1; c -x a 0.2; a -x d 0.9; e`
	isolatedGraph = `q; a -> b 0.5; b -> c; c -> a 0.9; b -x d`
)

var (
	largeOnce  sync.Once
	largeGraph *trust.Graph
)

// Run is RunWith with the default options.
func Run(t *testing.T, s trust.Scorer) { RunWith(t, s, Options{}) }

// RunWith checks the contract of trust.Scorer:
//
//   - Name is not empty; Score rejects a dst of the wrong length, a querier
//     outside the graph and the empty graph with an error, without
//     panicking;
//   - Score fills every entry of dst (of len N) with a finite score, or
//     with NoEvidence only where Options.NoEvidence allows it, for every
//     querier of small graphs with mixed signs, zero weights, cycles and
//     isolated nodes, an isolated querier, a negative-only graph and a
//     single node;
//   - it leaves the graph unchanged;
//   - it is deterministic: the same call twice (and on a fresh instance,
//     with Options.New) gives the same bits;
//   - concurrent calls on one value (different and equal queriers) give
//     the serial results (run with -race to check for data races);
//   - it honours ctx on a large graph: with a context already cancelled it
//     returns an error wrapping context.Canceled; with a deadline already
//     passed, one wrapping context.DeadlineExceeded; and with a context
//     that is cancelled right after the scorer's first look at it (through
//     Err or Done), it still returns an error wrapping context.Canceled,
//     that is, it looks again during the work.
func RunWith(t *testing.T, s trust.Scorer, o Options) {
	t.Helper()
	if o.NoEvidence == nil {
		o.NoEvidence = Unreachable
	}
	if s.Name() == "" {
		t.Errorf("Name() is empty")
	}
	ctx := context.Background()

	t.Run("bad-arguments", func(t *testing.T) {
		empty, err := trust.NewGraph(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		noPanic(t, "empty graph", func() error { return s.Score(ctx, empty, 0, nil) }, true)
		g, _ := MustParse(t, mixedGraph)
		noPanic(t, "short dst", func() error { return s.Score(ctx, g, 0, make([]float64, g.N()-1)) }, true)
		noPanic(t, "querier -1", func() error { return s.Score(ctx, g, -1, make([]float64, g.N())) }, true)
		noPanic(t, "querier N", func() error { return s.Score(ctx, g, trust.NodeID(g.N()), make([]float64, g.N())) }, true)
	})

	for _, c := range []struct{ name, src string }{
		{"mixed", mixedGraph},
		{"negative-only", negativeGraph},
		{"isolated-querier", isolatedGraph},
		{"single-node", "a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, _ := MustParse(t, c.src)
			before := g.Edges()
			for q := range trust.NodeID(g.N()) {
				dst := scoreChecked(t, s, g, q, o)
				again := scoreChecked(t, s, g, q, o)
				if dst != nil && again != nil && !sameBits(dst, again) {
					t.Errorf("querier %d: two calls differ: %v vs %v", q, dst, again)
				}
				if o.New != nil && dst != nil {
					if fresh := scoreChecked(t, o.New(), g, q, o); fresh != nil && !sameBits(dst, fresh) {
						t.Errorf("querier %d: a fresh instance differs: %v vs %v", q, dst, fresh)
					}
				}
			}
			if after := g.Edges(); !equalEdges(before, after) {
				t.Errorf("Score changed the graph")
			}
		})
	}

	t.Run("concurrent", func(t *testing.T) {
		g := Synthetic(2000, 12000, 7)
		queriers := []trust.NodeID{0, 1, 2, 3, 0, 1, 2, 3}
		want := make([][]float64, len(queriers))
		for i, q := range queriers {
			want[i] = scoreChecked(t, s, g, q, o)
		}
		got := make([][]float64, len(queriers))
		errs := make([]error, len(queriers))
		var wg sync.WaitGroup
		for i, q := range queriers {
			wg.Go(func() {
				got[i] = make([]float64, g.N())
				errs[i] = s.Score(ctx, g, q, got[i])
			})
		}
		wg.Wait()
		for i := range queriers {
			if errs[i] != nil {
				t.Errorf("concurrent Score(%d): %v", queriers[i], errs[i])
			} else if want[i] != nil && !sameBits(want[i], got[i]) {
				t.Errorf("concurrent Score(%d) differs from the serial one", queriers[i])
			}
		}
	})

	t.Run("cancellation", func(t *testing.T) {
		g := o.Large
		if g == nil {
			largeOnce.Do(func() { largeGraph = Synthetic(30000, 300000, 11) })
			g = largeGraph
		}
		dst := make([]float64, g.N())
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Score(cctx, g, 0, dst); !errors.Is(err, context.Canceled) {
			t.Errorf("with a cancelled context: err = %v, want context.Canceled", err)
		}
		dctx, cancel2 := context.WithDeadline(ctx, time.Unix(0, 0))
		defer cancel2()
		if err := s.Score(dctx, g, 0, dst); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("with a passed deadline: err = %v, want context.DeadlineExceeded", err)
		}
		lctx := &lateCancel{Context: ctx, after: 1, done: make(chan struct{})}
		if err := s.Score(lctx, g, 0, dst); !errors.Is(err, context.Canceled) {
			t.Errorf("with a context cancelled after the first check: err = %v, want context.Canceled (does Score check ctx during the work?)", err)
		}
	})
}

// lateCancel reports itself cancelled from the (after+1)-th call of Err or
// Done on: a deterministic stand-in for "cancelled while working".
type lateCancel struct {
	context.Context
	after int64
	calls atomic.Int64
	once  sync.Once
	done  chan struct{}
}

func (c *lateCancel) tick() bool {
	if c.calls.Add(1) > c.after {
		c.once.Do(func() { close(c.done) })
		return true
	}
	return false
}

func (c *lateCancel) Done() <-chan struct{} {
	c.tick()
	return c.done
}

func (c *lateCancel) Err() error {
	if c.tick() {
		return context.Canceled
	}
	return nil
}

func noPanic(t *testing.T, what string, f func() error, wantErr bool) {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic: %v", what, r)
			}
		}()
		err = f()
	}()
	if wantErr && err == nil {
		t.Errorf("%s: no error", what)
	}
}

// scoreChecked scores from q and checks the output; it returns nil after a
// failure.
func scoreChecked(t *testing.T, s trust.Scorer, g *trust.Graph, q trust.NodeID, o Options) []float64 {
	t.Helper()
	dst := make([]float64, g.N())
	for i := range dst {
		dst[i] = math.Inf(1) // sentinel: Score must overwrite every entry
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("Score(q=%d): panic: %v", q, r)
				err = errors.New("panic")
			}
		}()
		err = s.Score(context.Background(), g, q, dst)
	}()
	if err != nil {
		t.Errorf("Score(q=%d): %v", q, err)
		return nil
	}
	ok := true
	for v, x := range dst {
		switch {
		case math.IsInf(x, 0):
			t.Errorf("Score(q=%d)[%d] = %v: infinite or not filled", q, v, x)
			ok = false
		case math.IsNaN(x) && !o.NoEvidence(g, q, trust.NodeID(v)):
			t.Errorf("Score(q=%d)[%d] = NoEvidence where the scorer's contract does not allow it", q, v)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return dst
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func equalEdges(a, b []trust.Edge) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
