package lab

import (
	"context"
	"fmt"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/kith-net/kith/node/netsim"
)

// networkRow is one line of the network table of kith-lab bench.
type networkRow struct {
	Name            string  `json:"name"`
	Nodes           int     `json:"nodes"`
	Proofs          int     `json:"proofs"`
	Bytes           int     `json:"bytes_per_proof"`
	P50Millis       float64 `json:"p50_ms"`
	P99Millis       float64 `json:"p99_ms"`
	MessagesPerSent float64 `json:"messages_per_proof"`
	CPUPerDelivery  float64 `json:"cpu_ms_per_delivery"`
	// MarginalCPU leaves out what the idle network spends meanwhile.
	MarginalCPU float64 `json:"marginal_cpu_ms_per_delivery"`
}

// networkBench runs real nodes on an in-process mock network and measures
// the gossip of consented proofs: delivery latency to every node, gossip
// messages per proof, and CPU per delivered proof per node. Beside it, in
// the same run, the reference: plain gossipsub (messages signed by the
// publisher's host key) on the same network and topology, with payloads
// of a proof's size.
func (a *lab) networkBench(ctx context.Context, re *regexp.Regexp) ([]networkRow, error) {
	const (
		name  = "network gossip 50 nodes"
		plain = "plain gossipsub 50 nodes (reference)"
	)
	var rows []networkRow
	bytes := 500 // a proof's gossip payload, if the kith case is not run
	if re.MatchString(name) {
		fmt.Fprintf(a.env.Stderr, "measuring %s...\n", name)
		p, err := measureNetwork(ctx)
		if err != nil {
			return nil, err
		}
		rows = append(rows, newNetworkRow(name, 50, p))
		bytes = p.Bytes
	}
	if re.MatchString(plain) {
		fmt.Fprintf(a.env.Stderr, "measuring %s...\n", plain)
		p, err := netsim.MeasurePlain(ctx, netsim.PlainOptions{Nodes: 50, Degree: 8, Size: bytes, Seed: 1}, 100, 20*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("network bench: %w", err)
		}
		rows = append(rows, newNetworkRow(plain, 50, p))
	}
	return rows, nil
}

// measureNetwork measures 100 proofs on 50 kith nodes, one every 20 ms.
func measureNetwork(ctx context.Context) (netsim.Propagation, error) {
	nw, err := netsim.New(ctx, netsim.Options{Nodes: 50, Degree: 8, Seed: 1})
	if err != nil {
		return netsim.Propagation{}, err
	}
	defer nw.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := nw.WaitMesh(wctx); err != nil {
		return netsim.Propagation{}, fmt.Errorf("network bench: gossip mesh: %w", err)
	}
	return nw.MeasurePropagation(ctx, 100, 20*time.Millisecond)
}

func newNetworkRow(name string, nodes int, p netsim.Propagation) networkRow {
	return networkRow{
		Name: name, Nodes: nodes, Proofs: p.Proofs, Bytes: p.Bytes,
		P50Millis:       float64(p.Quantile(0.5).Microseconds()) / 1000,
		P99Millis:       float64(p.Quantile(0.99).Microseconds()) / 1000,
		MessagesPerSent: float64(p.Messages) / float64(p.Proofs),
		CPUPerDelivery:  float64(p.CPU.Microseconds()) / 1000 / float64(p.Deliveries),
		MarginalCPU:     float64((p.CPU - p.IdleCPU).Microseconds()) / 1000 / float64(p.Deliveries),
	}
}

func (a *lab) printNetworkRows(rows []networkRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(a.env.Stdout)
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "network\tproofs\tbytes\tp50 ms\tp99 ms\tmessages/proof\tCPU ms/delivery\tmarginal CPU ms/delivery\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.0f\t%.3f\t%.3f\t\n", r.Name, r.Proofs, r.Bytes, r.P50Millis, r.P99Millis, r.MessagesPerSent, r.CPUPerDelivery, r.MarginalCPU)
	}
	return tw.Flush()
}
