package cli

import (
	"context"
	"fmt"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/kith-net/kith/node/netsim"
)

// networkRow is one line of the network table of kith bench.
type networkRow struct {
	Name            string  `json:"name"`
	Nodes           int     `json:"nodes"`
	Proofs          int     `json:"proofs"`
	P50Millis       float64 `json:"p50_ms"`
	P99Millis       float64 `json:"p99_ms"`
	MessagesPerSent float64 `json:"messages_per_proof"`
	CPUPerDelivery  float64 `json:"cpu_ms_per_delivery"`
	// MarginalCPU leaves out what the idle network spends meanwhile.
	MarginalCPU float64 `json:"marginal_cpu_ms_per_delivery"`
}

// networkBench runs real nodes on an in-process mock network and measures
// the gossip of consented proofs: delivery latency to every node, gossip
// messages per proof, and CPU per delivered proof per node.
func (a *app) networkBench(ctx context.Context, re *regexp.Regexp) ([]networkRow, error) {
	const name = "network gossip 50 nodes"
	if !re.MatchString(name) {
		return nil, nil
	}
	fmt.Fprintf(a.env.Stderr, "measuring %s...\n", name)
	nw, err := netsim.New(ctx, netsim.Options{Nodes: 50, Degree: 8, Seed: 1})
	if err != nil {
		return nil, err
	}
	defer nw.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := nw.WaitMesh(wctx); err != nil {
		return nil, fmt.Errorf("network bench: gossip mesh: %w", err)
	}
	p, err := nw.MeasurePropagation(ctx, 100, 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	return []networkRow{{
		Name: name, Nodes: 50, Proofs: p.Proofs,
		P50Millis:       float64(p.Quantile(0.5).Microseconds()) / 1000,
		P99Millis:       float64(p.Quantile(0.99).Microseconds()) / 1000,
		MessagesPerSent: float64(p.Messages) / float64(p.Proofs),
		CPUPerDelivery:  float64(p.CPU.Microseconds()) / 1000 / float64(p.Deliveries),
		MarginalCPU:     float64((p.CPU - p.IdleCPU).Microseconds()) / 1000 / float64(p.Deliveries),
	}}, nil
}

func (a *app) printNetworkRows(rows []networkRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(a.env.Stdout)
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "network\tproofs\tp50 ms\tp99 ms\tmessages/proof\tCPU ms/delivery\tmarginal CPU ms/delivery\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.0f\t%.3f\t%.3f\t\n", r.Name, r.Proofs, r.P50Millis, r.P99Millis, r.MessagesPerSent, r.CPUPerDelivery, r.MarginalCPU)
	}
	return tw.Flush()
}
