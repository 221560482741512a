package graphsim

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// TestPanelScales: each panel takes its scales from its own values, and an
// axis is logarithmic where they span decades.
func TestPanelScales(t *testing.T) {
	wide := Panel{Title: "pagerank", Series: []Series{{Points: []Point{{X: 1, Y: 3, Low: 2, High: 4}, {X: 10, Y: 950, Low: 900, High: 1000}, {X: 1000, Y: 9455, Low: 9400, High: 9500}}}}}
	flat := Panel{Title: "kith", Series: []Series{{Points: []Point{{X: 1, Y: 0, Low: 0, High: 0.001}, {X: 10, Y: 0.01, Low: 0.005, High: 0.02}, {X: 15, Y: 0.04, Low: 0.03, High: 0.05}}}}}
	pw, err := panelPlot(wide)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := panelPlot(flat)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pw.Y.Scale.(plot.LogScale); !ok {
		t.Error("values from 3 to 9,455: the y axis is not logarithmic")
	}
	if _, ok := pw.X.Scale.(plot.LogScale); !ok {
		t.Error("x from 1 to 1,000: the x axis is not logarithmic")
	}
	if _, ok := pf.Y.Scale.(plot.LogScale); ok {
		t.Error("values with a 0: the y axis is logarithmic")
	}
	if _, ok := pf.X.Scale.(plot.LogScale); ok {
		t.Error("x from 1 to 15 (under 20 times): the x axis is logarithmic")
	}
	if pf.Y.Max > 0.1 || pw.Y.Max < 9500 || pw.Y.Min > 3 {
		t.Errorf("scales not each panel's own: kith %g to %g, pagerank %g to %g", pf.Y.Min, pf.Y.Max, pw.Y.Min, pw.Y.Max)
	}
	one, err := panelPlot(Panel{XTicks: []string{"kith"}, FromZero: true, Series: []Series{{Points: []Point{{X: 0, Y: 3.2, Low: 2.9, High: 3.5}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if one.Y.Min != 0 || one.Y.Max < 3.5 {
		t.Errorf("a panel of one mean from %g to %g, want from 0", one.Y.Min, one.Y.Max)
	}
	cat, err := panelPlot(Panel{XTicks: []string{"random", "near"}, Series: []Series{{Points: []Point{{X: 0, Y: 1}, {X: 1, Y: 50}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.X.Scale.(plot.LogScale); ok {
		t.Error("a categorical x axis is logarithmic")
	}
}

// TestPlotFiles: Plot writes a 300 dpi PNG beside each SVG, titles naming
// the scenario and the cell, a caption naming the build, and a panel per
// engine also for a cell that swept neither s nor g.
func TestPlotFiles(t *testing.T) {
	row := func(engine, victims string, g int, mean float64) Row {
		return Row{Scenario: "placement", Behaviour: "sybil", Engine: engine, Seed: 1, Size: 100, AttackEdges: g, Cell: []string{victims},
			Metric: MetricAcceptedPerEdge, Mean: mean, Low: mean * 0.9, High: mean * 1.1, N: 10}
	}
	res := &Result{Scenario: "placement", Level: "graph", Seed: 1, Viewpoints: 10, Engines: []string{"kith", "pagerank"}, Axes: []string{"behaviour.victims"},
		Provenance: Provenance{Software: Software{Commit: "0123456789abcdef", Go: "go1.x"}, Scenario: "sha256:feedfacecafe0000"},
		Rows:       []Row{row("kith", "near", 10, 3.2), row("pagerank", "near", 10, 9455)}}
	dir := t.TempDir()
	if d := os.Getenv("KITH_PLOT_DIR"); d != "" {
		dir = d
	}
	files, err := Plot(res, dir)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "sybil-accepted_per_attack_edge-behaviour.victims=near")
	if len(files) != 2 || files[0] != base+".png" || files[1] != base+".svg" {
		t.Fatalf("files %v", files)
	}
	f, err := os.Open(base + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Two panels of 4.5 by 3.5 inches and a caption of 0.22 inch, at 300 dpi.
	if b := img.Bounds(); b.Dx() != 2*4.5*DPI || b.Dy() != int((3.5+0.22)*DPI) {
		t.Errorf("PNG %d by %d pixels, want %d by %d (300 dpi)", b.Dx(), b.Dy(), int(2*4.5*DPI), int((3.5+0.22)*DPI))
	}
	svg, err := os.ReadFile(base + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kith: placement · sybil: accepted per attack edge", "pagerank: placement · sybil: accepted per attack edge", "behaviour.victims=near", "kith 0123456789ab · go1.x · scenario feedfacecafe"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("the SVG has no %q", want)
		}
	}
}
