package dataset

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary input to both edge-list parsers (and to format
// detection): parsing must never panic, every error must wrap ErrFormat
// (the reader itself cannot fail here), and a parsed dataset must be
// consistent: weights in [-1, 1], every edge between known nodes, the
// graph built from the listed edges.
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
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	formats := []Format{FormatAuto, FormatSNAP, FormatKONECT}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		format := formats[int(which)%len(formats)]
		d, err := Parse(bytes.NewReader(data), "fuzz", format)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		if d.Format != FormatSNAP && d.Format != FormatKONECT {
			t.Fatalf("format %q", d.Format)
		}
		if d.Graph.N() != len(d.IDs) || len(d.Index) != len(d.IDs) {
			t.Fatalf("%d nodes, %d ids, %d index entries", d.Graph.N(), len(d.IDs), len(d.Index))
		}
		if !(d.Scale >= 1 || d.Format == FormatSNAP && d.Scale > 0) || math.IsInf(d.Scale, 0) {
			t.Fatalf("scale %v", d.Scale)
		}
		for _, e := range d.Edges {
			if e.From == e.To || int(e.From) >= len(d.IDs) || int(e.To) >= len(d.IDs) || !(e.Weight >= -1 && e.Weight <= 1) {
				t.Fatalf("bad edge %+v", e)
			}
		}
		if d.Graph.M()+d.Duplicates != len(d.Edges) {
			t.Fatalf("%d graph edges + %d duplicates != %d listed", d.Graph.M(), d.Duplicates, len(d.Edges))
		}
	})
}

// FuzzParseLabels feeds arbitrary label files: no panic, errors wrap
// ErrFormat, labels are ±1 on known nodes.
func FuzzParseLabels(f *testing.F) {
	d, err := Parse(strings.NewReader("1,2,1\n2,3,-1\n3,1,5\n"), "g", FormatSNAP)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"215,+1\n132,-1\n", "node,label\n1,+1\n2,-1\n", "1 1\n3 -1\n", "1,0\n", ""} {
		f.Add([]byte(s))
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
