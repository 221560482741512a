package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

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
	// A reader that fails is reported as such, not as malformed input.
	broken := errors.New("disk on fire")
	if _, err := Parse(iotest.ErrReader(broken), "x", FormatAuto); !errors.Is(err, broken) || errors.Is(err, ErrFormat) {
		t.Errorf("failing reader: err = %v", err)
	}
	if _, err := Parse(io.MultiReader(strings.NewReader("1 2\n"), iotest.ErrReader(broken)), "x", FormatKONECT); !errors.Is(err, broken) || errors.Is(err, ErrFormat) {
		t.Errorf("reader failing after a line: err = %v", err)
	}
	half := gz(t, strings.Repeat("1 2 1\n", 1000))
	if _, err := Parse(io.MultiReader(bytes.NewReader(half[:len(half)/2]), iotest.ErrReader(broken)), "x", FormatAuto); !errors.Is(err, broken) || errors.Is(err, ErrFormat) {
		t.Errorf("reader failing inside a gzip stream: err = %v", err)
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
	if lz, err := ParseLabels(bytes.NewReader(gz(t, "node,label\n1,+1\n3,-1\n")), "l.gz", d); err != nil || !maps.Equal(lz, l) {
		t.Errorf("gzip labels %v, %v; want %v", lz, err, l)
	}
	if _, err := ParseLabels(bytes.NewReader([]byte{0x1f, 0x8b, 8}), "l.gz", d); err == nil || !errors.Is(err, ErrFormat) {
		t.Errorf("truncated gzip labels: err = %v", err)
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

func TestLoadBitcoinAlpha(t *testing.T) {
	d, err := Load("../../testdata/bitcoin-alpha/soc-sign-bitcoinalpha.csv", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	// SNAP publishes 3,783 nodes and 24,186 edges, 93% positive.
	if d.Format != FormatSNAP || d.Gzip || d.Graph.N() != 3783 || d.Graph.M() != 24186 || d.SelfLoops != 0 || d.Duplicates != 0 || d.Scale != 10 {
		t.Fatalf("Alpha: format %s gzip %v, %d nodes, %d edges, %d self-loops, %d duplicates, scale %v", d.Format, d.Gzip, d.Graph.N(), d.Graph.M(), d.SelfLoops, d.Duplicates, d.Scale)
	}
	// First line: 7188,1,10,1407470400.
	e := d.Edges[0]
	if d.IDs[e.From] != "7188" || d.IDs[e.To] != "1" || e.Weight != 1 || e.Time != 1407470400 {
		t.Errorf("first edge %+v (%s->%s)", e, d.IDs[e.From], d.IDs[e.To])
	}
	if neg := countNegative(d.Edges); neg != 1536 {
		t.Errorf("%d negative edges, want 1536", neg)
	}
}

func TestLoadEpinionsGzip(t *testing.T) {
	d, err := Load("../../testdata/epinions/soc-sign-epinions.txt.gz", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	// SNAP publishes 131,828 nodes and 841,372 edges; 573 of the edges are
	// self-loops (KONECT's loop count), which the graph drops.
	if d.Format != FormatKONECT || !d.Gzip || d.Header || d.Graph.N() != 131828 || len(d.Edges) != 841372-573 || d.SelfLoops != 573 || d.Duplicates != 0 || d.Scale != 1 {
		t.Fatalf("Epinions: format %s gzip %v header %v, %d nodes, %d edges (%d listed), %d self-loops, %d duplicates, scale %v",
			d.Format, d.Gzip, d.Header, d.Graph.N(), d.Graph.M(), len(d.Edges), d.SelfLoops, d.Duplicates, d.Scale)
	}
	// 123,705 of the 841,372 lines are -1 (KONECT: negativity 14.7%), 35
	// of them self-loops.
	if neg := countNegative(d.Edges); neg != 123705-35 {
		t.Errorf("%d negative edges", neg)
	}
	// First edge line: 0 1 -1, no time.
	e := d.Edges[0]
	if d.IDs[e.From] != "0" || d.IDs[e.To] != "1" || e.Weight != -1 || e.Time != 0 {
		t.Errorf("first edge %+v (%s->%s)", e, d.IDs[e.From], d.IDs[e.To])
	}
}

func TestLoadWikiElec(t *testing.T) {
	d, err := Load("../../testdata/wiki-elec/wikiElec.ElecBs3.txt.gz", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	// 2,794 elections, 114,040 V records: 83,962 support, 23,118 oppose,
	// 6,960 neutral.
	if d.Format != FormatWikiElec || !d.Gzip || d.Neutral != 6960 || len(d.Edges)+d.SelfLoops != 83962+23118 || d.Scale != 1 {
		t.Fatalf("wiki-Elec: format %s gzip %v, %d neutral, %d edges listed, %d self-loops, scale %v", d.Format, d.Gzip, d.Neutral, len(d.Edges), d.SelfLoops, d.Scale)
	}
	// The graph has SNAP's wiki-Vote counts, 103,689 edges among 7,115
	// voters and candidates, plus 79 users whose only votes are neutral or
	// for themselves; 58 self-votes (KONECT's loop count) and 3,333 votes
	// superseded by a later vote of the same voter on the same candidate
	// (candidates who ran more than once).
	if d.Graph.N() != 7115+79 || d.Graph.M() != 103689 || d.SelfLoops != 58 || d.Duplicates != 3333 {
		t.Errorf("wiki-Elec: %d nodes, %d edges, %d self-loops, %d duplicates", d.Graph.N(), d.Graph.M(), d.SelfLoops, d.Duplicates)
	}
	touched := map[trust.NodeID]bool{}
	for _, e := range d.Graph.Edges() {
		touched[e.From], touched[e.To] = true, true
	}
	if len(touched) != 7115 {
		t.Errorf("%d nodes with an edge, want 7115", len(touched))
	}
	// The first vote: "V 1 3 2004-09-14 16:26:00 ludraman" for candidate 30.
	e := d.Edges[0]
	if d.IDs[e.From] != "3" || d.IDs[e.To] != "30" || e.Weight != 1 || e.Time != time.Date(2004, 9, 14, 16, 26, 0, 0, time.UTC).Unix() {
		t.Errorf("first edge %+v (%s->%s)", e, d.IDs[e.From], d.IDs[e.To])
	}
}

func countNegative(edges []trust.Edge) int {
	neg := 0
	for _, e := range edges {
		if e.Weight < 0 {
			neg++
		}
	}
	return neg
}

// gz compresses s.
func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseGzip(t *testing.T) {
	const snap = "a,b,5,1\nb,c,-10,2\n"
	plain, err := Parse(strings.NewReader(snap), "plain", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	// Recognised by content, whatever the name, in every format.
	for _, format := range []Format{FormatAuto, FormatSNAP} {
		d, err := Parse(bytes.NewReader(gz(t, snap)), "no-suffix", format)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Gzip || plain.Gzip || d.Format != FormatSNAP || !slices.Equal(d.Edges, plain.Edges) || !slices.Equal(d.IDs, plain.IDs) {
			t.Errorf("%s: gzip %v, format %s, edges %v, want %v", format, d.Gzip, d.Format, d.Edges, plain.Edges)
		}
	}
	// Concatenated gzip members are one stream (as gunzip reads them).
	two := append(gz(t, "a,b,5,1\n"), gz(t, "b,c,-10,2\n")...)
	if d, err := Parse(bytes.NewReader(two), "two", FormatAuto); err != nil || !slices.Equal(d.Edges, plain.Edges) {
		t.Errorf("two members: %v, %v", d, err)
	}
	// A file on disk, as Load reads it.
	path := filepath.Join(t.TempDir(), "net.csv.gz")
	if err := os.WriteFile(path, gz(t, snap), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := Load(path, FormatAuto); err != nil || d.Name != "net.csv.gz" || !d.Gzip || d.Graph.M() != 2 {
		t.Errorf("Load: %+v, %v", d, err)
	}

	full := gz(t, strings.Repeat("1 2 1\n", 1000))
	elec := gz(t, strings.Repeat(wikiElecSample, 500))
	corrupt := slices.Clone(full)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 trailer
	bad := map[string][]byte{
		"magic only":  {0x1f, 0x8b},
		"bad header":  {0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 0},
		"truncated":   full[:len(full)/2],
		"bad crc":     corrupt,
		"bad deflate": append(slices.Clone(full[:10]), 0xff, 0xff, 0xff, 0xff),
		// The read error, not "input ends inside an election".
		"truncated wiki-Elec": elec[:len(elec)/2],
	}
	for name, data := range bad {
		if _, err := Parse(bytes.NewReader(data), "x", FormatAuto); err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "gzip") {
			t.Errorf("%s: err = %v, want a gzip ErrFormat", name, err)
		}
	}
}

const wikiElecSample = `# Wikipedia elections (http://cs.stanford.edu/people/jure/pubs/triads-chi10.pdf). Data format:
#   V: <vote(1:support, 0:neutral, -1:oppose)> <user_id> <time> <username>
E	1
T	2004-09-21 01:15:53
U	30	cjcurrie
N	32	andyl
V	1	3	2004-09-14 16:26:00	ludraman
V	-1	25	2004-09-14 16:53:00	blankfaze
V	0	26	2004-09-14 22:18:00	grunt
V	1	30	2004-09-15 00:00:00	cjcurrie

E	0
T	2005-01-01 00:00:00
U	25	blankfaze
N	-1	UNKNOWN
V	-1	3	2004-12-30 10:00:00	ludraman
E	1
T	2006-01-01 00:00:00
U	25	blankfaze
N	-1	UNKNOWN
V	1	3	2005-12-30 10:00:00	ludraman
E	0
T	2006-02-01 00:00:00
U	99	nobody
N	-1	UNKNOWN
`

func TestParseWikiElec(t *testing.T) {
	for _, src := range []string{wikiElecSample, strings.ReplaceAll(wikiElecSample, "\n", "\r\n")} {
		d, err := Parse(strings.NewReader(src), "elec", FormatAuto)
		if err != nil {
			t.Fatal(err)
		}
		if d.Format != FormatWikiElec || d.Neutral != 1 || d.SelfLoops != 1 || d.Duplicates != 1 || d.Scale != 1 || d.Header {
			t.Fatalf("format %s, %d neutral, %d self-loops, %d duplicates, scale %v", d.Format, d.Neutral, d.SelfLoops, d.Duplicates, d.Scale)
		}
		// Nodes in order of first vote: voter then candidate; the neutral
		// voter 26 is named; candidate 99, who got no vote, is not.
		if want := []string{"3", "30", "25", "26"}; !slices.Equal(d.IDs, want) {
			t.Errorf("IDs %v, want %v", d.IDs, want)
		}
		at := func(s string) int64 {
			tm, err := time.Parse(time.DateTime, s)
			if err != nil {
				t.Fatal(err)
			}
			return tm.Unix()
		}
		want := []trust.Edge{
			{From: 0, To: 1, Weight: 1, Time: at("2004-09-14 16:26:00")},
			{From: 2, To: 1, Weight: -1, Time: at("2004-09-14 16:53:00")},
			{From: 0, To: 2, Weight: -1, Time: at("2004-12-30 10:00:00")},
			{From: 0, To: 2, Weight: 1, Time: at("2005-12-30 10:00:00")},
		}
		if !slices.Equal(d.Edges, want) {
			t.Errorf("edges %v, want %v", d.Edges, want)
		}
		if w, ok := d.Graph.Weight(0, 2); !ok || w != 1 {
			t.Errorf("3 -> 25 kept %v, want the later support", w)
		}
	}
	if d, err := Parse(strings.NewReader(wikiElecSample), "elec", FormatKONECT); err == nil {
		t.Errorf("read as KONECT: %d edges", len(d.Edges))
	}
}

func TestParseWikiElecErrors(t *testing.T) {
	const head = "E\t1\nT\t2004-09-21 01:15:53\nU\t30\tc\nN\t32\tn\n"
	cases := map[string]string{
		head + "V\t2\t3\t2004-09-14 16:26:00\tx\n":  ":5: vote \"2\"",
		head + "V\t+1\t3\t2004-09-14 16:26:00\tx\n": ":5: vote \"+1\"",
		head + "V\t1\t3\t14 Sep 2004\tx\n":          ":5: time \"14 Sep 2004\"",
		head + "V\t1\t\t2004-09-14 16:26:00\tx\n":   `:5: record "V\t1\t\t2004`,
		head + "V\t1\t3\n":                          `:5: record "V\t1\t3"`,
		head + "X\t1\n":                             ":5: record \"X\"",
		head + "T\t2004-09-21 01:15:53\n":           ":5: T record where V was expected",
		"E\t1\nU\t30\tc\n":                          ":2: U record where T was expected",
		"E\t2\nT\t2004-09-21 01:15:53\n":            `:1: record "E\t2"`,
		"E\t1\nT\tyesterday\n":                      ":2: time \"yesterday\"",
		"E\t1\nT\t2004-09-21 01:15:53\nU\t\tc\n":    `:3: record "U\t\tc"`,
		"E\t1\nT\t2004-09-21 01:15:53\nU\t30\tc\n":  "ends inside an election, before its N record",
		"V\t1\t3\t2004-09-14 16:26:00\tx\n":         ":1: V record where E was expected",
		"# only a comment\n":                        "no edges",
		head + "V\t1\t3\t2004-09-14 16:26:00\t" + strings.Repeat("x", MaxLineLen) + "\n": ":5: line longer than",
		"E\t1\nT\t2004-09-21 01:15:53\nU\t30\t" + strings.Repeat("x", MaxLineLen) + "\n": ":3: line longer than",
	}
	for src, want := range cases {
		_, err := Parse(strings.NewReader(src), "x", FormatWikiElec)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want an ErrFormat containing %q", truncate(src), err, want)
		}
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]Format{
		"# c\n\nE\t1\nT\t2004-09-21 01:15:53\n": FormatWikiElec,
		"E\t1\nT\t2004-09-21 01:15:53\r\n":      FormatWikiElec,
		"E 1\nT 2\n":                            FormatKONECT, // an edge list with nodes named E and T
		"E\t1\n2\t3\n":                          FormatKONECT,
		"# c\n0\t1\t-1\n":                       FormatKONECT, // SNAP soc-sign-epinions
		"% sym\n1 2\n":                          FormatKONECT,
		"# c\n1,2,3,4\n":                        FormatSNAP,
	}
	for head, want := range cases {
		if got, err := Detect([]byte(head)); err != nil || got != want {
			t.Errorf("Detect(%q) = %s, %v; want %s", head, got, err, want)
		}
	}
}
