package netsim

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

func TestPropagation(t *testing.T) {
	ctx := context.Background()
	nw, err := New(ctx, Options{Nodes: 16, Degree: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := nw.WaitMesh(wctx); err != nil {
		t.Fatal(err)
	}
	p, err := nw.MeasurePropagation(wctx, 3, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p.Deliveries != 3*15 {
		t.Fatalf("%d deliveries, want %d", p.Deliveries, 3*15)
	}
	if p.Messages < 15 {
		t.Fatalf("%d gossip messages for 3 proofs to 15 nodes", p.Messages)
	}
	t.Logf("p50 %v p99 %v, %.1f messages per proof", p.Quantile(0.5), p.Quantile(0.99), float64(p.Messages)/float64(p.Proofs))
}

// The resync goal: a 50-node network in two halves that cannot reach each
// other for 60 s while both publish proofs; once the halves are joined,
// every proof reaches every node within 30 s, though gossip has long
// forgotten them. KITH_PARTITION_SECONDS overrides the 60 s; -short uses
// 3 s.
func TestPartitionHeal50(t *testing.T) {
	const n = 50
	hold := 60 * time.Second
	if testing.Short() {
		hold = 3 * time.Second
	}
	if s := os.Getenv("KITH_PARTITION_SECONDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		hold = time.Duration(v) * time.Second
	}
	var left, right []int
	for i := 0; i < n; i++ {
		if i < n/2 {
			left = append(left, i)
		} else {
			right = append(right, i)
		}
	}
	ctx := context.Background()
	nw, err := New(ctx, Options{Nodes: n, Degree: 6, Seed: 2, Latency: 5 * time.Millisecond, Apart: [][]int{left, right}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if err := nw.WaitMesh(wctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	start := time.Now()
	var ids []cid.Cid
	for k := 0; k < 5; k++ {
		for _, side := range [][]int{left, right} {
			i, j := side[(3*k)%len(side)], side[(3*k+7)%len(side)]
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			a, c, _, err := nw.Proof(pctx, i, j, fmt.Sprintf("partition %d", k))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.CID(), c.CID())
		}
	}
	time.Sleep(time.Until(start.Add(hold))) // the partition lasts hold; nothing to wait for
	for k, id := range ids {
		if h := nw.Holders(ctx, id); h > n/2 {
			var where []int
			for i, st := range nw.Stores {
				if ok, _ := st.Has(ctx, id); ok {
					where = append(where, i)
				}
			}
			t.Fatalf("object %d (%s) crossed the partition: on %d nodes %v", k, id, h, where)
		}
	}
	healed := time.Now()
	if err := nw.Join(6); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = nw.Wait(hctx, func() bool {
		for _, id := range ids {
			if nw.Holders(ctx, id) != n {
				return false
			}
		}
		return true
	})
	if err != nil {
		missing := 0
		for _, id := range ids {
			missing += n - nw.Holders(ctx, id)
		}
		t.Fatalf("not converged 30 s after healing: %d (object, node) pairs missing", missing)
	}
	t.Logf("partition of %v; %d nodes converged %v after healing", hold, n, time.Since(healed).Round(time.Millisecond))
}

// BenchmarkPropagation50 measures gossip of consented proofs on a 50-node
// network: delivery latency p50/p99, gossip messages per proof and CPU per
// delivered proof per node (all nodes share this process's CPU).
func BenchmarkPropagation50(b *testing.B) {
	ctx := context.Background()
	nw, err := New(ctx, Options{Nodes: 50, Degree: 8, Seed: 3})
	if err != nil {
		b.Fatal(err)
	}
	defer nw.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := nw.WaitMesh(wctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var all Propagation
	for range b.N {
		p, err := nw.MeasurePropagation(ctx, 100, 100*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		all.Proofs += p.Proofs
		all.Latencies = append(all.Latencies, p.Latencies...)
		all.Messages += p.Messages
		all.CPU += p.CPU
		all.IdleCPU += p.IdleCPU
		all.Deliveries += p.Deliveries
	}
	b.StopTimer()
	slicesSort(all.Latencies)
	b.ReportMetric(float64(all.Quantile(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all.Quantile(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all.Messages)/float64(all.Proofs), "msgs/proof")
	b.ReportMetric(float64(all.CPU.Microseconds())/1000/float64(all.Deliveries), "cpu-ms/delivery")
	b.ReportMetric(float64((all.CPU-all.IdleCPU).Microseconds())/1000/float64(all.Deliveries), "marginal-cpu-ms/delivery")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
}

func slicesSort(d []time.Duration) { sortDurations(d) }

func testLogger() *slog.Logger {
	if os.Getenv("KITH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}
