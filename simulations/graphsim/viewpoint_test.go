package graphsim

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/kith-net/kith/simulations/scenario"
)

// TestViewpointsCSV: viewpoints.csv holds the values every row's mean is
// taken over, one per viewpoint: their mean, count, standard error and
// 95 % interval (Student's t) are the row's.
func TestViewpointsCSV(t *testing.T) {
	s := small(t, shardSrc)
	s.Sweep = scenario.Sweep{}
	s.Sweep.Set(scenario.FieldAttackEdges, 1, 20)
	s.Sweep.Set("behaviour.victims", "random", "near")
	res := run(t, s, Options{Engines: []string{"kith-shared", "ppr-mc"}})
	var b bytes.Buffer
	if err := WriteViewpointsCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "scenario,behaviour,engine,seed,size,attack_edges,behaviour.victims,viewpoint,metric,value" {
		t.Fatalf("header %s", got)
	}
	vals := map[string][]float64{}
	queriers := map[string]bool{}
	for _, r := range recs[1:] {
		queriers[r[7]] = true
		k := strings.Join(append(r[1:7:7], r[8]), ",")
		if r[9] == "" {
			vals[k] = append(vals[k], math.NaN())
			continue
		}
		v, err := strconv.ParseFloat(r[9], 64)
		if err != nil {
			t.Fatal(err)
		}
		vals[k] = append(vals[k], v)
	}
	if len(queriers) != s.Viewpoints {
		t.Errorf("%d viewpoints in viewpoints.csv, want %d", len(queriers), s.Viewpoints)
	}
	checked := 0
	for _, row := range res.Rows {
		k := strings.Join([]string{row.Behaviour, row.Engine, strconv.FormatUint(row.Seed, 10), strconv.Itoa(row.Size), strconv.Itoa(row.AttackEdges), row.Cell[0], row.Metric}, ",")
		xs := vals[k]
		if len(xs) != s.Viewpoints {
			t.Fatalf("%s: %d values, want one per viewpoint (%d)", k, len(xs), s.Viewpoints)
		}
		var def []float64
		for _, x := range xs {
			if !math.IsNaN(x) {
				def = append(def, x)
			}
		}
		if row.N != len(def) {
			t.Errorf("%s: n %d, %d values defined", k, row.N, len(def))
		}
		if len(def) < 2 {
			continue
		}
		mean, ss := 0.0, 0.0
		for _, x := range def {
			mean += x / float64(len(def))
		}
		for _, x := range def {
			ss += (x - mean) * (x - mean)
		}
		se := math.Sqrt(ss/float64(len(def)-1)) / math.Sqrt(float64(len(def)))
		tq := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(def) - 1)}.Quantile(0.975)
		near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
		if !near(row.Mean, mean) || !near(row.StdErr, se) || !near(row.Low, mean-tq*se) || !near(row.High, mean+tq*se) {
			t.Errorf("%s: row mean %g ± %g [%g, %g], from the viewpoints %g ± %g [%g, %g]", k, row.Mean, row.StdErr, row.Low, row.High, mean, se, mean-tq*se, mean+tq*se)
		}
		checked++
	}
	if checked < len(res.Rows)/2 {
		t.Errorf("only %d of %d rows had two values or more", checked, len(res.Rows))
	}
}
