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
	t.Logf("p50 %v p99 %v, %.1f messages per proof of %d bytes", p.Quantile(0.5), p.Quantile(0.99), float64(p.Messages)/float64(p.Proofs), p.Bytes)
	if p.Bytes < proofBytes*9/10 || p.Bytes > proofBytes*11/10 {
		t.Errorf("proofs of %d bytes: set proofBytes, the reference's payload size, to it", p.Bytes)
	}
}

func TestPlain(t *testing.T) {
	ctx := context.Background()
	p, err := MeasurePlain(ctx, PlainOptions{Nodes: 12, Degree: 4, Size: 600, Seed: 1}, 3, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p.Deliveries != 3*11 || p.Proofs != 3 || p.Bytes != 600 {
		t.Fatalf("%d deliveries of %d messages of %d bytes, want 33 of 3 of 600", p.Deliveries, p.Proofs, p.Bytes)
	}
	if p.Messages < 11 || p.CPU <= 0 {
		t.Fatalf("%d gossip messages and %v CPU for 3 messages to 11 hosts", p.Messages, p.CPU)
	}
	if _, err := MeasurePlain(ctx, PlainOptions{Nodes: 1, Size: 600}, 3, 0); err == nil {
		t.Fatal("a one-host network was accepted")
	}
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
		all.add(p)
	}
	b.StopTimer()
	b.ReportMetric(float64(all.Bytes), "bytes/proof")
	all.report(b)
}

// proofBytes is about the gossip payload of a proof MeasurePropagation
// publishes (TestPropagation checks it).
const proofBytes = 500

// BenchmarkPlainGossipsub50 is BenchmarkPropagation50's reference:
// go-libp2p-pubsub with its defaults (messages signed by the publisher's
// host key) but for flood publishing, which kith's nodes use too, on the
// same mock network and topology, with payloads of a proof's size and no
// kith code.
func BenchmarkPlainGossipsub50(b *testing.B) {
	ctx := context.Background()
	var all Propagation
	for i := range b.N {
		p, err := MeasurePlain(ctx, PlainOptions{Nodes: 50, Degree: 8, Size: proofBytes, Seed: 3 + uint64(i)}, 100, 100*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		all.add(p)
	}
	all.report(b)
}

func (p *Propagation) add(q Propagation) {
	p.Proofs += q.Proofs
	p.Latencies = append(p.Latencies, q.Latencies...)
	p.Messages += q.Messages
	p.CPU += q.CPU
	p.IdleCPU += q.IdleCPU
	p.Deliveries += q.Deliveries
	p.Bytes = q.Bytes
}

func (p *Propagation) report(b *testing.B) {
	sortDurations(p.Latencies)
	b.ReportMetric(float64(p.Quantile(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p.Quantile(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(p.Messages)/float64(p.Proofs), "msgs/proof")
	b.ReportMetric(float64(p.CPU.Microseconds())/1000/float64(p.Deliveries), "cpu-ms/delivery")
	b.ReportMetric(float64((p.CPU-p.IdleCPU).Microseconds())/1000/float64(p.Deliveries), "marginal-cpu-ms/delivery")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
}

func testLogger() *slog.Logger {
	if os.Getenv("KITH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}
