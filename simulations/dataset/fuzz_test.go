package dataset

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kith-net/kith/trust"
)

// FuzzParse feeds arbitrary input, plain or gzip-compressed, to both
// edge-list parsers (and to format detection): parsing must never panic
// and must satisfy parseChecked.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"6,2,4,1289241911.72836\n6,5,2,1289241941.53378\n1,15,-10,1289243140.39049\n",
		"source_id target_id trust_value\n1 1 .8\n1 2 1\n2 3 0.6\n",
		"% sym weighted\n% 3 3\n1 2 0.6 100\n2 3 1\n",
		"a b\nb c\n",
		"1,2,3\n",
		"1 2 1e308\n2 1 -1e308\n",
		"",
	} {
		for which := range uint8(3) {
			f.Add([]byte(s), which)
			f.Add(gz(f, s), which)
		}
	}
	formats := []Format{FormatAuto, FormatSNAP, FormatKONECT}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		parseChecked(t, data, formats[int(which)%len(formats)])
	})
}

// FuzzParseLabels feeds arbitrary label files, plain or gzip-compressed: no
// panic, errors wrap ErrFormat, labels are ±1 on known nodes.
func FuzzParseLabels(f *testing.F) {
	d, err := Parse(strings.NewReader("1,2,1\n2,3,-1\n3,1,5\n"), "g", FormatSNAP)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"215,+1\n132,-1\n", "node,label\n1,+1\n2,-1\n", "1 1\n3 -1\n", "1,0\n", ""} {
		f.Add([]byte(s))
		f.Add(gz(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLabels(bytes.NewReader(data), "fuzz", d)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		for n, v := range l {
			if int(n) >= d.Graph.N() || (v != 1 && v != -1) {
				t.Fatalf("label %d for node %d", v, n)
			}
		}
	})
}

// FuzzParseWikiElec feeds arbitrary input to the wiki-Elec parser, alone
// and through detection: no panic, errors wrap ErrFormat, a parsed dataset
// is consistent and has only ±1 votes, unscaled.
func FuzzParseWikiElec(f *testing.F) {
	for _, s := range []string{
		wikiElecSample,
		strings.ReplaceAll(wikiElecSample, "\n", "\r\n"),
		"E\t1\nT\t2004-09-21 01:15:53\nU\t30\tc\nN\t-1\tUNKNOWN\nV\t0\t3\t2004-09-14 16:26:00\tx\n",
		"E\t1\nT\t2004-09-21 01:15:53\nU\t30\tc\nN\t32\tn\nV\t1\t4963\t2061-11-17 01:04:00\t0l1\n",
		"E\t1\nT\t2004-09-21 01:15:53\nU\t30\tc\nN\t32\tn\nV\t-1\t2706\t2006-04-06 21:59:00\teivind_f_\xc3yangen\n",
		"E\t1\nV\t1\t3\t2004-09-14 16:26:00\tx\n",
		"",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, auto bool) {
		format := FormatWikiElec
		if auto {
			format = FormatAuto
		}
		d := parseChecked(t, data, format)
		if d == nil || d.Format != FormatWikiElec {
			return
		}
		if d.Scale != 1 || d.Header {
			t.Fatalf("scale %v, header %v", d.Scale, d.Header)
		}
		for _, e := range d.Edges {
			if e.Weight != 1 && e.Weight != -1 {
				t.Fatalf("vote weight %v", e.Weight)
			}
		}
	})
}

// parseChecked parses data as the fuzz targets do: an error must wrap
// ErrFormat (the reader itself cannot fail), and then the result is nil;
// a dataset must pass checkDataset.
func parseChecked(t *testing.T, data []byte, format Format) *Dataset {
	t.Helper()
	d, err := Parse(bytes.NewReader(data), "fuzz", format)
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("error without ErrFormat: %v", err)
		}
		return nil
	}
	checkDataset(t, d)
	return d
}

// checkDataset checks what every parsed dataset must satisfy: weights in
// [-1, 1], every edge between known nodes and no self-loop, the graph
// built from the listed edges.
func checkDataset(t *testing.T, d *Dataset) {
	t.Helper()
	if d.Format != FormatSNAP && d.Format != FormatKONECT && d.Format != FormatWikiElec {
		t.Fatalf("format %q", d.Format)
	}
	if d.Graph.N() != len(d.IDs) || len(d.Index) != len(d.IDs) {
		t.Fatalf("%d nodes, %d ids, %d index entries", d.Graph.N(), len(d.IDs), len(d.Index))
	}
	for i, id := range d.IDs {
		if d.Index[id] != trust.NodeID(i) {
			t.Fatalf("Index[%q] = %d, want %d", id, d.Index[id], i)
		}
	}
	if !(d.Scale >= 1 || d.Format == FormatSNAP && d.Scale > 0) || math.IsInf(d.Scale, 0) {
		t.Fatalf("scale %v", d.Scale)
	}
	for _, e := range d.Edges {
		if e.From == e.To || int(e.From) >= len(d.IDs) || int(e.To) >= len(d.IDs) || !(e.Weight >= -1 && e.Weight <= 1) {
			t.Fatalf("bad edge %+v", e)
		}
	}
	if d.Graph.M()+d.Duplicates != len(d.Edges) || d.SelfLoops < 0 || d.Neutral < 0 {
		t.Fatalf("%d graph edges + %d duplicates != %d listed (%d self-loops, %d neutral)", d.Graph.M(), d.Duplicates, len(d.Edges), d.SelfLoops, d.Neutral)
	}
	if d.Format != FormatWikiElec && d.Neutral != 0 {
		t.Fatalf("%d neutral votes in %s", d.Neutral, d.Format)
	}
}
