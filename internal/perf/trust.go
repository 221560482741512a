package perf

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/trust"
)

// TrustCases returns the trust engine's cases on g from the querier q: a
// bandwidth floor (one pass over the edges), a full personalised recompute,
// a warm query with its explanation, and the incremental update after one
// new attestation.
func TrustCases(g *trust.Graph, q trust.NodeID) []Case {
	ctx := context.Background()
	e := &trust.Engine{}
	return []Case{
		{Name: "edge pass (bandwidth floor)", Items: 1, Run: func(b *testing.B) {
			for b.Loop() {
				s := float32(0)
				for u := range trust.NodeID(g.N()) {
					to, w := g.Out(u)
					for i := range to {
						s += w[i] * float32(to[i]&1)
					}
				}
				_ = s
			}
		}},
		{Name: "full personalised recompute", Items: 1, Run: func(b *testing.B) {
			for b.Loop() {
				if _, err := trust.NewView(ctx, g, q, trust.PropagationParams{}); err != nil {
					fail(b, err)
				}
			}
		}},
		{Name: "query with explanation (warm)", Items: 1, Run: func(b *testing.B) {
			v, err := e.View(ctx, g, q)
			if err != nil {
				fail(b, err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Query(ctx, v, nil, trust.NodeID(rng.IntN(g.N()))); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{Name: "incremental update (one new vouch)", Items: 1, Run: func(b *testing.B) {
			v, err := trust.NewView(ctx, g, q, trust.PropagationParams{})
			if err != nil {
				fail(b, err)
			}
			to, _ := g.Out(q)
			u := q
			if len(to) > 0 {
				u = to[0]
			}
			rng := rand.New(rand.NewPCG(2, 2))
			for b.Loop() {
				ot, ow := v.Out(u)
				edits := make([]trust.Edit, 0, len(ot)+1)
				for i := range ot {
					edits = append(edits, trust.Edit{To: ot[i], Weight: float64(ow[i])})
				}
				if x := trust.NodeID(rng.IntN(g.N())); x != u {
					edits = append(edits, trust.Edit{To: x, Weight: 0.5})
				}
				if err := v.SetOut(ctx, u, edits); err != nil {
					fail(b, err)
				}
			}
		}},
	}
}

// QueryLatencies measures n warm queries with explanations and returns
// their latencies, sorted.
func QueryLatencies(g *trust.Graph, q trust.NodeID, n int) ([]time.Duration, error) {
	e := &trust.Engine{}
	v, err := e.View(context.Background(), g, q)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(3, 3))
	lat := make([]time.Duration, n)
	for i := range lat {
		t := trust.NodeID(rng.IntN(g.N()))
		start := time.Now()
		if _, err := e.Query(context.Background(), v, nil, t); err != nil {
			return nil, err
		}
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	return lat, nil
}

// ActiveQuerier picks a querier with many out-edges (but fewer than 200),
// as an active owner, among the first nodes.
func ActiveQuerier(g *trust.Graph) trust.NodeID {
	best, bestDeg := trust.NodeID(0), 0
	for u := range trust.NodeID(min(g.N(), 2000)) {
		if to, _ := g.Out(u); len(to) > bestDeg && len(to) < 200 {
			best, bestDeg = u, len(to)
		}
	}
	return best
}

// igraphScript times igraph's personalized_pagerank on an edge list: the
// same walk as kith's propagation (positive edges by weight, damping 1 −
// restart). It prints the best of reps runs in milliseconds.
const igraphScript = `
import sys, time, igraph
path, n, q, damping, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
edges, weights = [], []
with open(path) as f:
    for line in f:
        u, v, w = line.split()
        edges.append((int(u), int(v))); weights.append(float(w))
g = igraph.Graph(n=n, edges=edges, directed=True)
g.es["weight"] = weights
best = float("inf")
for _ in range(reps):
    t = time.perf_counter()
    g.personalized_pagerank(vertices=None, directed=True, damping=damping, reset_vertices=[q], weights="weight")
    best = min(best, time.perf_counter() - t)
print(best * 1000)
`

// ErrNoIgraph means python3-igraph is not installed.
var ErrNoIgraph = fmt.Errorf("perf: python3 with igraph not found (apt-get install python3-igraph)")

// IgraphPPR times igraph's personalised PageRank of q on g's positive edges,
// best of reps, in the same run as kith's cases. It needs /usr/bin/python3
// with igraph (Debian's python3-igraph).
func IgraphPPR(ctx context.Context, g *trust.Graph, q trust.NodeID, restart float64, reps int, dir string) (time.Duration, error) {
	py := "/usr/bin/python3"
	if err := exec.CommandContext(ctx, py, "-c", "import igraph").Run(); err != nil {
		return 0, ErrNoIgraph
	}
	path := filepath.Join(dir, "kith-igraph-edges.txt")
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	w := bufio.NewWriter(f)
	for u := range trust.NodeID(g.N()) {
		to, ws := g.Out(u)
		for i, v := range to {
			if ws[i] > 0 {
				fmt.Fprintf(w, "%d %d %g\n", u, v, ws[i])
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, py, "-c", igraphScript, path, strconv.Itoa(g.N()), strconv.Itoa(int(q)),
		strconv.FormatFloat(1-restart, 'f', -1, 64), strconv.Itoa(reps)).Output()
	if err != nil {
		return 0, fmt.Errorf("perf: igraph: %w", err)
	}
	ms, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("perf: igraph output %q: %w", out, err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}
