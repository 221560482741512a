package eval

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ReliabilityPlotName is the file name of the reliability diagram of one
// (dataset, task, split).
func ReliabilityPlotName(dataset, task, split string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, dataset)
	return fmt.Sprintf("reliability-%s-%s-%s.png", clean, task, split)
}

func hasReliability(rows []Row) bool {
	for _, r := range rows {
		if r.Bucket == "all" && len(r.Reliability) > 0 {
			return true
		}
	}
	return false
}

// Report returns the files of a results directory: results.csv,
// report.md, and a reliability diagram (PNG, 200 dpi) for every task and
// split whose rows carry reliability bins, which report.md shows.
func Report(rows []Row) (map[string][]byte, error) {
	files := map[string][]byte{}
	var csv bytes.Buffer
	if err := WriteCSV(&csv, rows); err != nil {
		return nil, err
	}
	files["results.csv"] = csv.Bytes()
	type key struct{ ds, task, split string }
	var keys []key
	byKey := map[key][]Row{}
	for _, r := range rows {
		if r.Bucket != "all" || len(r.Reliability) == 0 {
			continue
		}
		k := key{r.Dataset, r.Task, r.Split}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	for _, k := range keys {
		b, err := reliabilityPlot(k.ds, k.task, k.split, byKey[k])
		if err != nil {
			return nil, err
		}
		files[ReliabilityPlotName(k.ds, k.task, k.split)] = b
	}
	var md bytes.Buffer
	if err := writeMarkdown(&md, rows, true); err != nil {
		return nil, err
	}
	files["report.md"] = md.Bytes()
	return files, nil
}

// reliabilityPlot draws observed against predicted positive rates, one
// line per engine, beside the diagonal of perfect calibration.
func reliabilityPlot(ds, task, split string, rows []Row) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, task %s, split %s: reliability", ds, task, split)
	p.X.Label.Text = "predicted probability of a positive judgement"
	p.Y.Label.Text = "observed share positive"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Add(plotter.NewGrid())
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	diag.Color = color.Gray{Y: 150}
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(diag)
	p.Legend.Add("perfect calibration", diag)
	for i, r := range rows {
		var pts plotter.XYs
		for _, b := range r.Reliability {
			if b.N > 0 {
				pts = append(pts, plotter.XY{X: b.MeanP, Y: b.Observed})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		c := plotutil.Color(i)
		l.Color, s.Color = c, c
		s.Shape = draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add(fmt.Sprintf("%s (ECE %.3f, n %d)", r.Engine, r.ECE, r.Covered), l, s)
	}
	p.Legend.Top, p.Legend.Left = true, true
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(6*vg.Inch, 5*vg.Inch), vgimg.UseDPI(200))}
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("eval: reliability plot: %w", err)
	}
	return buf.Bytes(), nil
}
