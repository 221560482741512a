package baseline

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/simulations/dataset"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

var (
	benchOnce  sync.Once
	benchOTC   *trust.Graph
	benchLarge *trust.Graph
	benchErr   error
)

func benchGraphs(b *testing.B) (otc, large *trust.Graph) {
	b.Helper()
	benchOnce.Do(func() {
		var d *dataset.Dataset
		d, benchErr = dataset.Load("../../testdata/bitcoin-otc/soc-sign-bitcoinotc.csv", dataset.FormatAuto)
		if benchErr != nil {
			return
		}
		benchOTC = d.Graph
		benchLarge = trusttest.Synthetic(100_000, 1_000_000, 1)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchOTC, benchLarge
}

// busiest returns the node with the most out-edges: a querier whose view
// reaches far.
func busiest(g *trust.Graph) trust.NodeID {
	best, bestD := trust.NodeID(0), -1
	for u := range trust.NodeID(g.N()) {
		if to, _ := g.Out(u); len(to) > bestD {
			best, bestD = u, len(to)
		}
	}
	return best
}

// BenchmarkPPR compares personalised PageRank by power iteration with its
// Monte Carlo estimate (10,000 walks), on Bitcoin OTC (5,881 nodes, 35,592
// edges) and on a synthetic graph of 100,000 nodes and 1,000,000 edges,
// from the busiest rater's view.
func BenchmarkPPR(b *testing.B) {
	otc, large := benchGraphs(b)
	for _, g := range []struct {
		name string
		g    *trust.Graph
	}{{"otc", otc}, {"synthetic-100k-1M", large}} {
		q := busiest(g.g)
		for _, s := range []trust.Scorer{
			must(NewPPR(DefaultPowerParams())),
			must(NewPPRMonteCarlo(DefaultWalkParams())),
		} {
			b.Run(g.name+"/"+s.Name(), func(b *testing.B) {
				dst := make([]float64, g.g.N())
				ctx := context.Background()
				start := time.Now()
				for b.Loop() {
					if err := s.Score(ctx, g.g, q, dst); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
			})
		}
	}
}

// BenchmarkScore times one Score call of every baseline on Bitcoin OTC.
func BenchmarkScore(b *testing.B) {
	otc, _ := benchGraphs(b)
	q := busiest(otc)
	for _, s := range []trust.Scorer{
		must(NewPageRank(DefaultPowerParams())),
		must(NewEigenTrust(DefaultEigenTrustParams())),
		must(NewPPR(DefaultPowerParams())),
		must(NewPPRMonteCarlo(DefaultWalkParams())),
		must(NewAppleseed(DefaultAppleseedParams())),
		must(NewMoleTrust(DefaultMoleTrustParams())),
		must(NewMeritRank(DefaultMeritRankParams())),
		must(NewFairnessGoodness(DefaultFairnessGoodnessParams())),
		NewMeanRating(),
	} {
		b.Run(s.Name(), func(b *testing.B) {
			dst := make([]float64, otc.N())
			for b.Loop() {
				if err := s.Score(context.Background(), otc, q, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFairnessGoodnessLeaveOneOut times the local leave-one-out
// update per edge on Bitcoin OTC.
func BenchmarkFairnessGoodnessLeaveOneOut(b *testing.B) {
	otc, _ := benchGraphs(b)
	edges := otc.Edges()[:2000]
	fg := must(NewFairnessGoodness(DefaultFairnessGoodnessParams()))
	out, ok := make([]float64, len(edges)), make([]bool, len(edges))
	start := time.Now()
	for b.Loop() {
		if err := fg.PredictWeights(context.Background(), otc, edges, true, out, ok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N*len(edges)), "µs/edge")
}
