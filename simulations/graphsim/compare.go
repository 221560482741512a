package graphsim

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// CompareRow is one measured value of one run, for comparisons across runs
// and cells (`kith sim compare`): a Row with its run's name and every
// field that identifies its cell.
type CompareRow struct {
	Run, Scenario             string
	Behaviour, Engine, Metric string
	// Fields are size, attack_edges, seed and the swept fields, by name;
	// Order lists them in the order of the run's columns.
	Fields map[string]string
	Order  []string
	Mean   float64
	Low    float64
	High   float64
	N      int
}

// CompareRows returns the rows of a graph-level result for Compare.
func CompareRows(run string, res *Result) []CompareRow {
	var out []CompareRow
	order := append([]string{"size", "attack_edges", "seed"}, res.Axes...)
	for _, r := range res.Rows {
		f := map[string]string{"size": strconv.Itoa(r.Size), "attack_edges": strconv.Itoa(r.AttackEdges), "seed": strconv.FormatUint(r.Seed, 10)}
		for i, a := range res.Axes {
			f[a] = r.Cell[i]
		}
		out = append(out, CompareRow{Run: run, Scenario: r.Scenario, Behaviour: r.Behaviour, Engine: r.Engine, Metric: r.Metric,
			Fields: f, Order: order, Mean: r.Mean, Low: r.Low, High: r.High, N: r.N})
	}
	return out
}

// CompareOptions choose what Compare draws.
type CompareOptions struct {
	// X is the field on the horizontal axis ("" chooses: attack_edges,
	// size, then the swept fields, seed and run, the first that varies).
	X string
	// Series is the field that makes one line per value ("" chooses: run
	// when comparing runs, else the next field that varies).
	Series string
	// Metrics keeps only these metrics (nil: all).
	Metrics []string
	// Caption goes under every figure.
	Caption string
}

// compareFields is every field rows vary over, in column order, with run
// last.
func compareFields(rows []CompareRow) []string {
	var out []string
	for _, r := range rows {
		for _, f := range r.Order {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return append(out, "run")
}

func (r CompareRow) field(f string) string {
	if f == "run" {
		return r.Run
	}
	return r.Fields[f]
}

// Compare draws the rows of one or more runs against each other into dir:
// for each behaviour, metric and combination of the fields that vary
// besides X and Series, one figure with a panel per engine (each with its
// own scales, logarithmic where values span decades), one line per value
// of Series, error bars the 95 % intervals. It returns the files written,
// sorted.
func Compare(rows []CompareRow, dir string, o CompareOptions) ([]string, error) {
	if o.Metrics != nil {
		rows = slices.DeleteFunc(slices.Clone(rows), func(r CompareRow) bool { return !slices.Contains(o.Metrics, r.Metric) })
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("graphsim: compare: no rows to draw")
	}
	fields := compareFields(rows)
	varies := func(f string) bool {
		first := rows[0].field(f)
		for _, r := range rows[1:] {
			if r.field(f) != first {
				return true
			}
		}
		return false
	}
	pick := func(skip string) string {
		for _, f := range []string{"attack_edges", "size"} {
			if f != skip && varies(f) {
				return f
			}
		}
		for _, f := range fields {
			if f != skip && varies(f) {
				return f
			}
		}
		return ""
	}
	x := o.X
	if x == "" {
		x = pick("")
	}
	if x == "" {
		x = "run"
	}
	if !slices.Contains(fields, x) {
		return nil, fmt.Errorf("graphsim: compare: no field %q (the runs have %s)", x, strings.Join(fields, ", "))
	}
	series := o.Series
	if series == "" {
		if x != "run" && varies("run") {
			series = "run"
		} else {
			series = pick(x)
		}
	}
	if series != "" && !slices.Contains(fields, series) {
		return nil, fmt.Errorf("graphsim: compare: no field %q (the runs have %s)", series, strings.Join(fields, ", "))
	}
	// determined reports whether f has one value for each value of by (a
	// run's seed, for its run): it then needs no figure of its own.
	determined := func(f, by string) bool {
		if by == "" {
			return false
		}
		seen := map[string]string{}
		for _, r := range rows {
			if v, ok := seen[r.field(by)]; ok && v != r.field(f) {
				return false
			}
			seen[r.field(by)] = r.field(f)
		}
		return true
	}
	var rest []string
	for _, f := range fields {
		if f != x && f != series && varies(f) && !determined(f, series) {
			rest = append(rest, f)
		}
	}
	numeric := true
	for _, r := range rows {
		if _, err := strconv.ParseFloat(r.field(x), 64); err != nil {
			numeric = false
		}
	}
	var xticks []string
	if !numeric {
		for _, r := range rows {
			if !slices.Contains(xticks, r.field(x)) {
				xticks = append(xticks, r.field(x))
			}
		}
	}
	xOf := func(r CompareRow) float64 {
		if numeric {
			v, _ := strconv.ParseFloat(r.field(x), 64)
			return v
		}
		return float64(slices.Index(xticks, r.field(x)))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type figKey struct{ behaviour, metric, rest string }
	var keys []figKey
	byKey := map[figKey][]CompareRow{}
	for _, r := range rows {
		var rv []string
		for _, f := range rest {
			rv = append(rv, f+"="+r.field(f))
		}
		k := figKey{r.Behaviour, r.Metric, strings.Join(rv, " ")}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	var files []string
	for _, k := range keys {
		fr := byKey[k]
		var scen, engines []string
		for _, r := range fr {
			if !slices.Contains(scen, r.Scenario) {
				scen = append(scen, r.Scenario)
			}
			if !slices.Contains(engines, r.Engine) {
				engines = append(engines, r.Engine)
			}
		}
		title := strings.Join(scen, ", ") + " · " + k.behaviour + ": " + strings.ReplaceAll(k.metric, "_", " ")
		if k.rest != "" {
			title += "\n" + k.rest
		}
		var panels []Panel
		for _, e := range engines {
			p := Panel{Title: e + ": " + title, X: x, Y: strings.ReplaceAll(k.metric, "_", " "), XTicks: xticks}
			var svals []string
			for _, r := range fr {
				if r.Engine == e && !slices.Contains(svals, r.field(series)) {
					svals = append(svals, r.field(series))
				}
			}
			for _, sv := range svals {
				sr := Series{}
				if series != "" {
					sr.Label = series + " = " + sv
				}
				for _, r := range fr {
					if r.Engine == e && r.field(series) == sv {
						sr.Points = append(sr.Points, Point{X: xOf(r), Y: r.Mean, Low: r.Low, High: r.High})
					}
				}
				p.Series = append(p.Series, sr)
			}
			panels = append(panels, p)
		}
		name := "compare-" + FileName(k.behaviour) + "-" + k.metric
		if k.rest != "" {
			name += "-" + FileName(strings.ReplaceAll(k.rest, " ", "-"))
		}
		name += "-vs-" + FileName(x)
		written, err := RenderPanels(panels, filepath.Join(dir, name), o.Caption)
		if err != nil {
			return nil, err
		}
		files = append(files, written...)
	}
	slices.Sort(files)
	return files, nil
}

// WriteCompareCSV writes the rows of every run compared as one tidy table:
// run, scenario, behaviour, engine, every field, metric, mean, interval,
// n.
func WriteCompareCSV(w io.Writer, rows []CompareRow) error {
	fields := compareFields(rows)
	fields = fields[:len(fields)-1] // run has its own column
	cw := csv.NewWriter(w)
	h := append([]string{"run", "scenario", "behaviour", "engine"}, fields...)
	if err := cw.Write(append(h, "metric", "mean", "ci95_low", "ci95_high", "n")); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Run, r.Scenario, r.Behaviour, r.Engine}
		for _, f := range fields {
			rec = append(rec, r.Fields[f])
		}
		rec = append(rec, r.Metric, num(r.Mean), num(r.Low), num(r.High), strconv.Itoa(r.N))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
