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
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot draws every metric of res into dir, as PNG and SVG, and returns the
// files written (sorted):
//
//   - BEHAVIOUR-METRIC-vs-g: the metric against the number of attack
//     edges g (log scale), one line per size s, when the run swept g;
//   - BEHAVIOUR-METRIC-vs-s: against the size s, one line per g, when it
//     swept s;
//   - BEHAVIOUR-METRIC: one bar per engine, when it swept neither.
//
// With several engines (comparison mode) each figure has one panel per
// engine, side by side, on the same vertical scale. Error bars are one
// standard error of the mean over the viewpoints.
func Plot(res *Result, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type key struct{ behaviour, metric string }
	var keys []key
	byKey := map[key][]Row{}
	for _, r := range res.Rows {
		k := key{r.Behaviour, r.Metric}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	engines := res.Engines
	var files []string
	for _, k := range keys {
		rows := byKey[k]
		sizes := distinct(rows, func(r Row) int { return r.Size })
		gs := distinct(rows, func(r Row) int { return r.AttackEdges })
		lo, hi := yRange(rows)
		base := filepath.Join(dir, fileName(k.behaviour)+"-"+k.metric)
		title := k.behaviour + ": " + strings.ReplaceAll(k.metric, "_", " ")
		var figs []struct {
			name  string
			plots []*plot.Plot
		}
		if len(gs) >= 2 {
			ps, err := linePanels(rows, engines, title, "attack edges g", sizes, "s", lo, hi,
				func(r Row) int { return r.Size }, func(r Row) int { return r.AttackEdges })
			if err != nil {
				return nil, err
			}
			figs = append(figs, struct {
				name  string
				plots []*plot.Plot
			}{base + "-vs-g", ps})
		}
		if len(sizes) >= 2 {
			ps, err := linePanels(rows, engines, title, "size s", gs, "g", lo, hi,
				func(r Row) int { return r.AttackEdges }, func(r Row) int { return r.Size })
			if err != nil {
				return nil, err
			}
			figs = append(figs, struct {
				name  string
				plots []*plot.Plot
			}{base + "-vs-s", ps})
		}
		if len(gs) < 2 && len(sizes) < 2 {
			p, err := bars(rows, engines, title)
			if err != nil {
				return nil, err
			}
			figs = append(figs, struct {
				name  string
				plots []*plot.Plot
			}{base, []*plot.Plot{p}})
		}
		for _, f := range figs {
			written, err := Render(f.plots, f.name)
			if err != nil {
				return nil, err
			}
			files = append(files, written...)
		}
	}
	slices.Sort(files)
	return files, nil
}

func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
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

// yRange is the range of mean ± standard error over rows, padded.
func yRange(rows []Row) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if math.IsNaN(r.Mean) {
			continue
		}
		se := r.StdErr
		if math.IsNaN(se) {
			se = 0
		}
		lo, hi = min(lo, r.Mean-se), max(hi, r.Mean+se)
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	pad := (hi - lo) * 0.05
	if pad == 0 {
		pad = math.Max(math.Abs(hi)*0.05, 0.01)
	}
	return lo - pad, hi + pad
}

// errXYs are points with symmetric error bars.
type errXYs struct {
	plotter.XYs
	plotter.YErrors
}

// linePanels draws one panel per engine: the metric against x, one line
// per value of the series (s or g).
func linePanels(rows []Row, engines []string, title, xLabel string, series []int, seriesName string, lo, hi float64, seriesOf, xOf func(Row) int) ([]*plot.Plot, error) {
	var out []*plot.Plot
	xs := distinct(rows, xOf)
	logX := xs[0] > 0 && float64(xs[len(xs)-1])/float64(xs[0]) >= 20
	for _, e := range engines {
		p := plot.New()
		p.Title.Text = title
		if len(engines) > 1 {
			p.Title.Text = e + " — " + title
		}
		p.X.Label.Text = xLabel
		p.Y.Min, p.Y.Max = lo, hi
		if logX {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		p.Add(plotter.NewGrid())
		p.Legend.Top, p.Legend.Left = true, true
		for si, sv := range series {
			var pts errXYs
			for _, r := range rows {
				if r.Engine != e || seriesOf(r) != sv || math.IsNaN(r.Mean) {
					continue
				}
				se := r.StdErr
				if math.IsNaN(se) {
					se = 0
				}
				pts.XYs = append(pts.XYs, plotter.XY{X: float64(xOf(r)), Y: r.Mean})
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{se, se})
			}
			if len(pts.XYs) == 0 {
				continue
			}
			idx := make([]int, len(pts.XYs))
			for i := range idx {
				idx[i] = i
			}
			slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(pts.XYs[a].X, pts.XYs[b].X) })
			var sorted errXYs
			for _, i := range idx {
				sorted.XYs = append(sorted.XYs, pts.XYs[i])
				sorted.YErrors = append(sorted.YErrors, pts.YErrors[i])
			}
			l, s, err := plotter.NewLinePoints(sorted.XYs)
			if err != nil {
				return nil, err
			}
			c := plotutil.Color(si)
			l.Color, s.Color, s.Shape = c, c, plotutil.Shape(si)
			eb, err := plotter.NewYErrorBars(sorted)
			if err != nil {
				return nil, err
			}
			eb.Color = c
			p.Add(l, s, eb)
			label := fmt.Sprintf("%s = %d", seriesName, sv)
			if sv == 0 {
				label = seriesName + " as configured"
			}
			p.Legend.Add(label, l, s)
		}
		out = append(out, p)
	}
	return out, nil
}

// bars draws one bar per engine.
func bars(rows []Row, engines []string, title string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	var vals plotter.Values
	var errs plotter.YErrors
	var names []string
	for _, e := range engines {
		for _, r := range rows {
			if r.Engine == e {
				v, se := r.Mean, r.StdErr
				if math.IsNaN(v) {
					v, se = 0, 0
				}
				if math.IsNaN(se) {
					se = 0
				}
				vals = append(vals, v)
				errs = append(errs, struct{ Low, High float64 }{se, se})
				names = append(names, e)
			}
		}
	}
	if len(vals) == 0 {
		return p, nil
	}
	b, err := plotter.NewBarChart(vals, vg.Points(24))
	if err != nil {
		return nil, err
	}
	b.Color = color.RGBA{R: 70, G: 110, B: 180, A: 255}
	p.Add(plotter.NewGrid(), b)
	var pts errXYs
	for i, v := range vals {
		pts.XYs = append(pts.XYs, plotter.XY{X: float64(i), Y: v})
	}
	pts.YErrors = errs
	eb, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return nil, err
	}
	p.Add(eb)
	p.NominalX(names...)
	return p, nil
}

// Render writes the panels side by side as base.png and base.svg (the
// protocol level draws its figures with it too).
func Render(panels []*plot.Plot, base string) ([]string, error) {
	w := vg.Length(len(panels)) * 4.5 * vg.Inch
	h := 3.5 * vg.Inch
	draw1 := func(c draw.Canvas) {
		tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align([][]*plot.Plot{panels}, tiles, c)
		for i, p := range panels {
			p.Draw(canvases[0][i])
		}
	}
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))
	draw1(draw.New(img))
	svg := vgsvg.New(w, h)
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
