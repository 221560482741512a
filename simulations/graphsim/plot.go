package graphsim

import (
	"bufio"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// DPI is the resolution of the PNG figures (the SVG beside each is
// resolution-free).
const DPI = 300

// Plot draws every metric of res into dir, as PNG and SVG, and returns the
// files written (sorted):
//
//   - BEHAVIOUR-METRIC[-CELL]-vs-g: the metric against the number of
//     attack edges g, one line per size s, when the run swept g;
//   - BEHAVIOUR-METRIC[-CELL]-vs-s: against the size s, one line per g,
//     when it swept s;
//   - BEHAVIOUR-METRIC[-CELL]: each engine's mean and interval, when it
//     swept neither.
//
// CELL names the values of the other swept fields (one figure each; `kith
// sim compare` draws them against each other). Each engine has a panel of
// its own, with its own vertical scale; an axis is logarithmic when its
// values span two decades or more (the x axis: 20 times). Error bars are
// the 95 % intervals of the means over the viewpoints. Titles name the
// scenario and the cell; a caption names the build and the seed.
func Plot(res *Result, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type key struct{ behaviour, metric, cell string }
	var keys []key
	byKey := map[key][]Row{}
	for _, r := range res.Rows {
		k := key{r.Behaviour, r.Metric, strings.Join(r.Cell, "\x00")}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	caption := Caption(res.Provenance.Software, res.Provenance.Scenario, fmt.Sprintf("seed %d, %d viewpoints", res.Seed, res.Viewpoints))
	var files []string
	for _, k := range keys {
		rows := byKey[k]
		cell := cellLabel(res.Axes, rows[0].Cell)
		title := res.Scenario + " · " + k.behaviour + ": " + strings.ReplaceAll(k.metric, "_", " ")
		if cell != "" {
			title += "\n" + cell
		}
		base := filepath.Join(dir, FileName(k.behaviour)+"-"+k.metric)
		if cell != "" {
			base += "-" + FileName(strings.ReplaceAll(cell, " ", "-"))
		}
		sizes := distinct(rows, func(r Row) int { return r.Size })
		gs := distinct(rows, func(r Row) int { return r.AttackEdges })
		var figs []struct {
			name   string
			panels []Panel
		}
		line := func(suffix, xLabel, seriesName string, seriesOf, xOf func(Row) int) {
			var ps []Panel
			for _, e := range res.Engines {
				p := Panel{Title: title, X: xLabel, Y: strings.ReplaceAll(k.metric, "_", " ")}
				if len(res.Engines) > 1 {
					p.Title = e + ": " + title
				}
				for _, sv := range distinct(rows, seriesOf) {
					label := fmt.Sprintf("%s = %d", seriesName, sv)
					if sv == 0 {
						label = seriesName + " as configured"
					}
					sr := Series{Label: label}
					for _, r := range rows {
						if r.Engine == e && seriesOf(r) == sv {
							sr.Points = append(sr.Points, Point{X: float64(xOf(r)), Y: r.Mean, Low: r.Low, High: r.High})
						}
					}
					p.Series = append(p.Series, sr)
				}
				ps = append(ps, p)
			}
			figs = append(figs, struct {
				name   string
				panels []Panel
			}{base + suffix, ps})
		}
		if len(gs) >= 2 {
			line("-vs-g", "attack edges g", "s", func(r Row) int { return r.Size }, func(r Row) int { return r.AttackEdges })
		}
		if len(sizes) >= 2 {
			line("-vs-s", "size s", "g", func(r Row) int { return r.AttackEdges }, func(r Row) int { return r.Size })
		}
		if len(gs) < 2 && len(sizes) < 2 {
			figs = append(figs, struct {
				name   string
				panels []Panel
			}{base, engineDots(rows, res.Engines, title, k.metric)})
		}
		for _, f := range figs {
			written, err := RenderPanels(f.panels, f.name, caption)
			if err != nil {
				return nil, err
			}
			files = append(files, written...)
		}
	}
	slices.Sort(files)
	return files, nil
}

// Caption is the line under a figure: the build, the scenario's digest and
// what else identifies the run.
func Caption(sw Software, scenarioDigest, more string) string {
	commit := sw.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if sw.Modified {
		commit += "+modified"
	}
	d := strings.TrimPrefix(scenarioDigest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	parts := []string{"kith " + commit, sw.Go}
	if d != "" {
		parts = append(parts, "scenario "+d)
	}
	if more != "" {
		parts = append(parts, more)
	}
	return strings.Join(parts, " · ")
}

func cellLabel(axes, vals []string) string {
	var parts []string
	for i, f := range axes {
		parts = append(parts, f+"="+vals[i])
	}
	return strings.Join(parts, " ")
}

// FileName makes s safe as part of a file name: lower-case letters,
// digits and - _ . = kept, brackets dropped, anything else a dash.
func FileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '=':
			return r
		case r == '[' || r == ']':
			return -1
		}
		return '-'
	}, s)
}

func distinct(rows []Row, f func(Row) int) []int {
	var out []int
	for _, r := range rows {
		out = append(out, f(r))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Panel is one plot of a figure: lines with error bars.
type Panel struct {
	Title, X, Y string
	Series      []Series
	// XTicks, if set, names the x positions 0, 1, ... (a categorical
	// axis).
	XTicks []string
	// FromZero starts a linear y axis at 0 when no value is negative (a
	// panel of one mean, whose interval alone would hide its magnitude).
	FromZero bool
}

// Series is one line of a panel.
type Series struct {
	Label  string
	Points []Point
}

// Point is one mean with its interval (Low, High NaN: no error bar). NaN
// means are skipped.
type Point struct{ X, Y, Low, High float64 }

// spans reports whether the values are positive and span at least ratio.
func spans(vals []float64, ratio float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		if v <= 0 {
			return false
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return hi > 0 && hi/lo >= ratio
}

// RenderPanels draws panels side by side (each with its own scales) as
// base.png and base.svg.
func RenderPanels(panels []Panel, base, caption string) ([]string, error) {
	var ps []*plot.Plot
	for _, pn := range panels {
		p, err := panelPlot(pn)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return Render(ps, base, caption)
}

// panelPlot makes one panel: its scales from its own values, logarithmic
// where they span two decades (the x axis: 20 times).
func panelPlot(pn Panel) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.Title
	p.X.Label.Text, p.Y.Label.Text = pn.X, pn.Y
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	var xs, ys []float64
	for _, sr := range pn.Series {
		for _, pt := range sr.Points {
			if !math.IsNaN(pt.Y) {
				xs, ys = append(xs, pt.X), append(ys, pt.Y)
			}
		}
	}
	logX := pn.XTicks == nil && spans(xs, 20)
	logY := spans(ys, 100)
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	floor := math.Inf(1)
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		for _, y := range ys {
			floor = min(floor, y/2)
		}
		p.Y.Label.Text += " (log)"
	}
	if pn.XTicks != nil {
		p.NominalX(pn.XTicks...)
	}
	labelled := 0
	for si, sr := range pn.Series {
		var pts errXYs
		sorted := slices.Clone(sr.Points)
		slices.SortStableFunc(sorted, func(a, b Point) int { return cmp.Compare(a.X, b.X) })
		for _, pt := range sorted {
			if math.IsNaN(pt.Y) {
				continue
			}
			lo, hi := pt.Low, pt.High
			if math.IsNaN(lo) || math.IsNaN(hi) {
				lo, hi = pt.Y, pt.Y
			}
			if logY {
				lo = max(lo, floor)
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: pt.X, Y: pt.Y})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{pt.Y - lo, hi - pt.Y})
		}
		if len(pts.XYs) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return nil, err
		}
		c := plotutil.Color(si)
		l.Color, s.Color, s.Shape = c, c, plotutil.Shape(si)
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, err
		}
		eb.Color = c
		p.Add(l, s, eb)
		if sr.Label != "" {
			p.Legend.Add(sr.Label, l, s)
			labelled++
		}
	}
	if pn.FromZero && !logY && p.Y.Min > 0 {
		p.Y.Min = 0
	}
	if pn.FromZero && p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min + 1
	}
	// Room above the data for the legend (top left).
	if n := labelled; n > 0 && len(ys) > 0 {
		lo, hi := p.Y.Min, p.Y.Max
		room := 0.12 * float64(n+1)
		if logY {
			p.Y.Max = math.Exp(math.Log(hi) + room*(math.Log(hi)-math.Log(lo)))
		} else if hi > lo {
			p.Y.Max = hi + room*(hi-lo)
		}
	}
	return p, nil
}

// errXYs are points with error bars.
type errXYs struct {
	plotter.XYs
	plotter.YErrors
}

// engineDots draws each engine's mean and interval in a panel of its own
// (a run that swept neither s nor g): engines far apart, such as kith's
// few accepted Sybils beside global PageRank's thousands, each keep a
// readable scale.
func engineDots(rows []Row, engines []string, title, metric string) []Panel {
	var ps []Panel
	for _, e := range engines {
		p := Panel{Title: title, X: "engine", Y: strings.ReplaceAll(metric, "_", " "), XTicks: []string{e}, FromZero: true}
		if len(engines) > 1 {
			p.Title = e + ": " + title
		}
		var sr Series
		for _, r := range rows {
			if r.Engine == e {
				sr.Points = append(sr.Points, Point{X: 0, Y: r.Mean, Low: r.Low, High: r.High})
			}
		}
		p.Series = append(p.Series, sr)
		ps = append(ps, p)
	}
	return ps
}

// Render writes the plots side by side as base.png (DPI dots per inch) and
// base.svg, with the caption under them (the protocol level draws its
// figures with it too).
func Render(panels []*plot.Plot, base, caption string) ([]string, error) {
	w := vg.Length(len(panels)) * 4.5 * vg.Inch
	h := 3.5 * vg.Inch
	capH := vg.Length(0)
	if caption != "" {
		capH = 0.22 * vg.Inch
	}
	draw1 := func(c draw.Canvas) {
		if caption != "" {
			sty := draw.TextStyle{Color: color.Gray{Y: 90}, Font: font.From(plot.DefaultFont, 7), Handler: plot.DefaultTextHandler}
			sty.XAlign = draw.XLeft
			c.FillText(sty, vg.Point{X: c.Min.X + vg.Millimeter*2, Y: c.Min.Y + capH/3}, caption)
			c = draw.Crop(c, 0, 0, capH, 0)
		}
		tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align([][]*plot.Plot{panels}, tiles, c)
		for i, p := range panels {
			p.Draw(canvases[0][i])
		}
	}
	img := vgimg.NewWith(vgimg.UseWH(w, h+capH), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	draw1(draw.New(img))
	svg := vgsvg.New(w, h+capH)
	draw1(draw.New(svg))
	var out []string
	write := func(path string, to func(f *bufio.Writer) error) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		if err := to(bw); err != nil {
			f.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(base+".png", func(b *bufio.Writer) error { _, err := vgimg.PngCanvas{Canvas: img}.WriteTo(b); return err }); err != nil {
		return nil, err
	}
	out = append(out, base+".png")
	if err := write(base+".svg", func(b *bufio.Writer) error { _, err := svg.WriteTo(b); return err }); err != nil {
		return nil, err
	}
	out = append(out, base+".svg")
	return out, nil
}
