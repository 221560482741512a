package web

import (
	"fmt"

	"github.com/kith-net/kith/api"
)

// graph is the paths of an answer laid out for a small SVG drawing: one
// column per hop from "you" (left) to the subject (right), one row per
// person first seen on a path.
type graph struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
	Label         string // the drawing in words, for screen readers
}

type graphNode struct {
	X, Y  int
	Name  string
	Short string
	You   bool
	End   bool
}

type graphEdge struct {
	X1, Y1, X2, Y2 int
	Width          string // stroke width from the path's strength
}

const (
	colW   = 200
	rowH   = 56
	margin = 24
)

// layoutPaths lays out at most the first six paths.
func layoutPaths(paths []api.Path) *graph {
	if len(paths) > 6 {
		paths = paths[:6]
	}
	g := &graph{}
	at := map[string]int{} // name -> node index
	rows := map[int]int{}  // column -> rows used
	maxCol := 0
	for _, p := range paths {
		maxCol = max(maxCol, len(p.Nodes)-1)
	}
	place := func(name string, col int, end bool) int {
		if i, ok := at[name]; ok {
			return i
		}
		if end {
			col = maxCol // the subject sits at the far right
		}
		row := rows[col]
		rows[col]++
		short := name
		if len(short) > 18 {
			short = short[:10] + "…" + short[len(short)-5:]
		}
		g.Nodes = append(g.Nodes, graphNode{X: margin + col*colW + 75, Y: margin + row*rowH + 16, Name: name, Short: short,
			You: name == "you", End: end})
		at[name] = len(g.Nodes) - 1
		return at[name]
	}
	for _, p := range paths {
		prev := -1
		for i, name := range p.Nodes {
			cur := place(name, i, i == len(p.Nodes)-1)
			if prev >= 0 {
				a, b := g.Nodes[prev], g.Nodes[cur]
				g.Edges = append(g.Edges, graphEdge{X1: a.X + 75, Y1: a.Y, X2: b.X - 75, Y2: b.Y,
					Width: fmt.Sprintf("%.1f", 1+4*p.Strength)})
			}
			prev = cur
		}
	}
	maxRows := 1
	for _, n := range rows {
		maxRows = max(maxRows, n)
	}
	g.Width = 2*margin + (maxCol+1)*colW
	g.Height = 2*margin + maxRows*rowH - 24
	g.Label = fmt.Sprintf("%d path(s) of vouches from you to them", len(paths))
	return g
}
