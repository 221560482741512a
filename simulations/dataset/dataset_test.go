package dataset

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kith-net/kith/trust"
)

func TestLoadBitcoinOTC(t *testing.T) {
	d, err := Load("../../testdata/bitcoin-otc/soc-sign-bitcoinotc.csv", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != FormatSNAP || d.Graph.N() != 5881 || d.Graph.M() != 35592 || d.SelfLoops != 0 || d.Duplicates != 0 || d.Scale != 10 {
		t.Fatalf("OTC: format %s, %d nodes, %d edges, %d self-loops, %d duplicates, scale %v", d.Format, d.Graph.N(), d.Graph.M(), d.SelfLoops, d.Duplicates, d.Scale)
	}
	// First line: 6,2,4,1289241911.72836.
	e := d.Edges[0]
	if d.IDs[e.From] != "6" || d.IDs[e.To] != "2" || math.Abs(e.Weight-0.4) > 1e-12 || e.Time != 1289241911 {
		t.Errorf("first edge %+v (%s->%s)", e, d.IDs[e.From], d.IDs[e.To])
	}
	neg := 0
	for _, e := range d.Edges {
		if e.Weight < 0 {
			neg++
		}
		if e.Weight < -1 || e.Weight > 1 || e.Weight == 0 {
			t.Fatalf("weight %v", e.Weight)
		}
	}
	if neg != 3563 {
		t.Errorf("%d negative edges, want 3563", neg)
	}
	labels, err := LoadLabels("../../testdata/bitcoin-otc/otc_gt.csv", d)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, l := range labels {
		if l > 0 {
			pos++
		}
	}
	if len(labels) != 316 || pos != 136 {
		t.Errorf("%d labels, %d benign; want 316 and 136", len(labels), pos)
	}
	if labels[d.Index["215"]] != 1 {
		t.Errorf("node 215 should be benign")
	}
}

func TestLoadAdvogato(t *testing.T) {
	d, err := Load("../../testdata/advogato/out.advogato", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	// 51,127 lines of edges, 3,992 of them self-loops; ids 4749 and 5315
	// appear in no edge.
	if d.Format != FormatKONECT || !d.Header || d.SelfLoops != 3992 || d.Graph.M() != 51127-3992 || d.Graph.N() != 6539 || d.Scale != 1 {
		t.Fatalf("Advogato: format %s header %v, %d nodes, %d edges, %d self-loops, scale %v", d.Format, d.Header, d.Graph.N(), d.Graph.M(), d.SelfLoops, d.Scale)
	}
	levels := map[float64]int{}
	for _, e := range d.Edges {
		levels[math.Round(e.Weight*10)/10]++
	}
	if len(levels) != 3 || levels[0.6] == 0 || levels[0.8] == 0 || levels[1] == 0 {
		t.Errorf("levels %v, want 0.6, 0.8, 1.0", levels)
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, src string
		format    Format
		n, m      int
		weights   []float64
	}{
		{"snap", "a,b,5\nb,c,-10,100\n# comment\n\nc,a,2,7.9\n", FormatAuto, 3, 3, []float64{0.5, -1, 0.2}},
		{"snap header", "source,target,rating,time\n1,2,3,4\n", FormatSNAP, 2, 1, []float64{1}},
		{"konect", "% sym weighted\n% 3 3\n1 2 0.6\n2 3 1\n3\t1\t0.8\t12\n", FormatAuto, 3, 3, []float64{0.6, 1, 0.8}},
		{"konect unweighted", "1 2\n2 1\n", FormatAuto, 2, 2, []float64{1, 1}},
		{"konect scaled", "1 2 4\n2 3 -2\n", FormatKONECT, 3, 2, []float64{1, -0.5}},
		{"konect header", "from to\n1 2\n", FormatAuto, 2, 1, []float64{1}},
		{"self-loop and duplicate", "1 1 1\n1 2 0.5 1\n1 2 0.8 2\n", FormatKONECT, 2, 1, []float64{0.5, 0.8}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse(strings.NewReader(c.src), c.name, c.format)
			if err != nil {
				t.Fatal(err)
			}
			if d.Graph.N() != c.n || d.Graph.M() != c.m || len(d.Edges) != len(c.weights) {
				t.Fatalf("%d nodes, %d edges (%d listed); want %d, %d (%d)", d.Graph.N(), d.Graph.M(), len(d.Edges), c.n, c.m, len(c.weights))
			}
			for i, w := range c.weights {
				if math.Abs(d.Edges[i].Weight-w) > 1e-12 {
					t.Errorf("edge %d weight %v, want %v", i, d.Edges[i].Weight, w)
				}
			}
		})
	}
	d, _ := Parse(strings.NewReader("1 1 1\n1 2 0.5 1\n1 2 0.8 2\n"), "x", FormatKONECT)
	if d.SelfLoops != 1 || d.Duplicates != 1 {
		t.Errorf("self-loops %d, duplicates %d; want 1 and 1", d.SelfLoops, d.Duplicates)
	}
	if w, _ := d.Graph.Weight(d.Index["1"], d.Index["2"]); math.Abs(w-0.8) > 1e-6 {
		t.Errorf("duplicate pair kept weight %v, want the later 0.8", w)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		format    Format
		want      string
	}{
		{"empty", "", FormatAuto, "empty input"},
		{"only comments", "% x\n", FormatKONECT, "no edges"},
		{"bad weight", "1,2,3,4\n1,2,x,4\n", FormatSNAP, "x:2: weight \"x\""},
		{"nan weight", "1 2 NaN\n", FormatKONECT, "not finite"},
		{"inf weight", "1 2 3\n1 3 +Inf\n", FormatKONECT, ":2: weight"},
		{"bad time", "1,2,3,later\n", FormatSNAP, ":1: time"},
		{"too few snap fields", "1,2,3\n1,2\n", FormatSNAP, ":2: 2 fields"},
		{"too many fields", "1 2 3 4 5\n", FormatKONECT, ":1: 5 fields"},
		{"empty id", "1,,3\n", FormatSNAP, "empty node"},
		{"unknown format", "1 2\n", "graphml", "unknown format"},
		{"undetectable", "x\n", FormatAuto, "cannot detect"},
		{"long line", "1 2 " + strings.Repeat("1", MaxLineLen+1) + "\n", FormatKONECT, "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.src), "x", c.format)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if c.name != "unknown format" && !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v does not wrap ErrFormat", err)
			}
		})
	}
	if _, err := Load("does-not-exist.csv", FormatAuto); err == nil {
		t.Errorf("loading a missing file succeeded")
	}
}

func TestLabels(t *testing.T) {
	d, err := Parse(strings.NewReader("1,2,1\n2,3,-1\n"), "g", FormatSNAP)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLabels(strings.NewReader("node,label\n1,+1\n3,-1\n\n# x\n"), "l", d)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[d.Index["1"]] != 1 || l[d.Index["3"]] != -1 {
		t.Errorf("labels %v", l)
	}
	for src, want := range map[string]string{
		"1,+1\n9,-1\n": "l:2: node \"9\" is not in g",
		"1,+1\n1,-1\n": "l:2: node \"1\" labelled twice",
		"1,0\n":        "l:1: label \"0\"",
		"1,+1\n2,x\n":  "l:2: label \"x\"",
		"1,+1,3\n":     "l:1: 3 fields",
	} {
		if _, err := ParseLabels(strings.NewReader(src), "l", d); err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
	}
}

func TestFromGraph(t *testing.T) {
	g, err := trust.NewGraph(3, []trust.Edge{{From: 0, To: 2, Weight: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	d := FromGraph("g", g)
	if d.Graph != g || len(d.IDs) != 3 || d.Index["2"] != 2 || len(d.Edges) != 1 {
		t.Errorf("FromGraph: %+v", d)
	}
}
