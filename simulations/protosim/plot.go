package protosim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"github.com/kith-net/kith/simulations/graphsim"
)

// Plot draws every run's timeline into dir as PNG and SVG and returns the
// files written: NAME[-CELL]-timeline, two panels against time (the steps
// and the drain after them): the share of (proof, node) pairs delivered,
// the share of nodes up and the partition; each node's mean send rate; and
// the mean number of peers a node is connected to.
// A run that fell behind its clock says so in its title.
func Plot(rep *Report, dir string) ([]string, error) {
	var files []string
	caption := graphsim.Caption(rep.Provenance.Software, rep.Provenance.Scenario, rep.Clock+" time")
	for _, r := range rep.Runs {
		cell := ""
		for _, f := range rep.Axes {
			cell += " " + f + "=" + r.Cell[f]
		}
		fs, err := plotRun(r, strings.TrimSpace(cell), dir, caption+fmt.Sprintf(" · seed %d", r.Seed))
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

func plotRun(r *Result, cell, dir, caption string) ([]string, error) {
	if len(r.Timeline) == 0 {
		return nil, fmt.Errorf("protosim: %s has no timeline to plot", r.Scenario)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	delivered := make(plotter.XYs, len(r.Timeline))
	up := make(plotter.XYs, len(r.Timeline))
	split := make(plotter.XYs, len(r.Timeline))
	// The send rate over each step (the first tick's bytes include the
	// start-up, over no full step, so the rate starts at the second).
	rate := make(plotter.XYs, 0, len(r.Timeline))
	peers := make(plotter.XYs, len(r.Timeline))
	var prevT float64
	var prevB int64
	for i, t := range r.Timeline {
		delivered[i] = plotter.XY{X: t.Seconds, Y: t.Delivered}
		up[i] = plotter.XY{X: t.Seconds, Y: float64(t.Up) / float64(max(r.Nodes, 1))}
		peers[i] = plotter.XY{X: t.Seconds, Y: t.Peers}
		split[i] = plotter.XY{X: t.Seconds}
		if t.Partitioned {
			split[i].Y = 1
		}
		if dt := t.Seconds - prevT; i > 0 && dt > 0 {
			rate = append(rate, plotter.XY{X: t.Seconds, Y: float64(t.BytesSent-prevB) / dt / float64(max(r.Nodes, 1)) / 1000})
		}
		prevT, prevB = t.Seconds, t.BytesSent
	}
	p1 := plot.New()
	p1.Title.Text = fmt.Sprintf("%s: %d nodes, %.0f ms, loss %.0f%%", r.Scenario, r.Nodes, ms(r.Latency), 100*r.Loss)
	if cell != "" {
		p1.Title.Text += "\n" + cell
	}
	if r.Clock == ClockVirtual {
		p1.Title.Text += " (virtual time)"
	}
	if r.FellBehind {
		p1.Title.Text += fmt.Sprintf("\nFELL %.0f %% BEHIND real time: timings include this machine's queueing", 100*r.ClockBehind)
	}
	p1.X.Label.Text = "time (s)"
	p1.Y.Label.Text = "share"
	// The legend goes above the shares (which sit at 1 most of the time
	// and at 0 before the first proof), over an axis ticked to 1 only.
	p1.Y.Min, p1.Y.Max = 0, 1.45
	p1.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25}, {Value: 0.5, Label: "0.5"}, {Value: 0.75}, {Value: 1, Label: "1"}})
	p1.Legend.Top = true
	p1.Legend.Left = true
	if err := plotutil.AddLines(p1, "proofs delivered", delivered, "nodes up", up, "partitioned", split); err != nil {
		return nil, err
	}
	// One line each below: the axis names it, no legend over the data.
	p2 := plot.New()
	p2.Title.Text = "bandwidth: UDP payload"
	p2.X.Label.Text = "time (s)"
	p2.Y.Label.Text = "kB/s sent per node"
	if err := plotutil.AddLines(p2, rate); err != nil {
		return nil, err
	}
	name := r.Scenario
	if cell != "" {
		name += "-" + graphsim.FileName(cell)
	}
	p3 := plot.New()
	p3.Title.Text = "connections"
	p3.X.Label.Text = "time (s)"
	p3.Y.Label.Text = "peers per node (mean)"
	if err := plotutil.AddLines(p3, peers); err != nil {
		return nil, err
	}
	return graphsim.Render([]*plot.Plot{p1, p2, p3}, filepath.Join(dir, name+"-timeline"), caption)
}
