package graphsim

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/kith-net/kith/simulations/scenario"
)

func tinyPopulation(t testing.TB, nodes int) *Population {
	t.Helper()
	s, err := scenario.Parse([]byte("name = \"g\"\n[graph]\nkind = \"barabasi-albert\"\nnodes = "+strconv.Itoa(nodes)+"\ndegree = 3\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPopulation(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGraphFile: a population survives the graph file exactly, its digest
// is stable, and damage is refused.
func TestGraphFile(t *testing.T) {
	p := tinyPopulation(t, 200)
	var b bytes.Buffer
	if err := WriteGraph(&b, p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGraph(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Now != p.Now || !reflect.DeepEqual(back.Truth, p.Truth) || !reflect.DeepEqual(back.Graph.Edges(), p.Graph.Edges()) || back.Graph.N() != p.Graph.N() {
		t.Fatal("the population changed through its file")
	}
	d1, err := GraphDigest(p)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := GraphDigest(back)
	if d1 != d2 || d1 != digest(b.Bytes()) {
		t.Fatalf("digests %s %s %s", d1, d2, digest(b.Bytes()))
	}
	if bpe := float64(b.Len()) / float64(p.Graph.M()); bpe > 12 {
		t.Errorf("%.1f bytes per edge", bpe)
	}
	raw := b.Bytes()
	for name, bad := range map[string][]byte{
		"flipped":   flip(raw, len(raw)/2),
		"truncated": raw[:len(raw)-5],
		"trailing":  append(bytes.Clone(raw), 0),
		"magic":     flip(raw, 0),
		"empty":     nil,
	} {
		if _, err := ReadGraph(bytes.NewReader(bad)); !errors.Is(err, ErrGraphFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}

// FuzzReadGraph: any input is read or refused with ErrGraphFile, never a
// panic, and what is read writes back to the same bytes.
func FuzzReadGraph(f *testing.F) {
	var b bytes.Buffer
	if err := WriteGraph(&b, tinyPopulation(f, 30)); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(graphMagic + "\x01\x02\x01\x00\x01\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadGraph(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrGraphFile) {
				t.Fatalf("error %v does not wrap ErrGraphFile", err)
			}
			return
		}
		var out bytes.Buffer
		if err := WriteGraph(&out, p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatal("a graph file read and written again changed")
		}
	})
}
