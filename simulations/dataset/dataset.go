// Package dataset loads public signed, weighted trust networks into a
// trust.Graph, for evaluation and benchmarks.
//
// Two edge-list formats are read:
//
//   - FormatSNAP, the Stanford SNAP signed networks (e.g. soc-sign-bitcoinotc):
//     one edge per line, comma separated "source,target,rating[,time]", no
//     header. Lines starting with '#' are comments. Ratings are scaled to
//     [-1, 1] by dividing by the largest |rating| in the file (10 for Bitcoin
//     OTC).
//   - FormatKONECT, the Koblenz Network Collection "out.*" files (e.g.
//     out.advogato): whitespace separated "source target [weight [time]]";
//     lines starting with '%' are comments. A missing weight is 1. Weights
//     already inside [-1, 1] are kept as they are (Advogato's 0.6/0.8/1.0);
//     otherwise they are divided by the largest |weight| in the file.
//
// In both formats the first non-comment line is skipped as a header when
// none of its fields is a number (our Advogato copy starts with
// "source_id target_id trust_value"). Anything else that does not parse is
// an error naming the file and line. FormatAuto picks the format from the
// content: '%' comments or whitespace-separated fields mean KONECT, commas
// mean SNAP.
//
// External node identifiers are kept as strings (Dataset.IDs) and mapped to
// dense trust.NodeIDs in order of first appearance, so the same file always
// gives the same graph. Self-loops are dropped and counted; when a (source,
// target) pair occurs more than once the graph keeps the latest (by time,
// then by position), as trust.NewGraph does, and the duplicates are counted.
// Nodes that a format declares but no edge mentions (KONECT's isolated
// vertices) do not appear: the graph has the nodes the edges name.
//
// Timestamps are Unix seconds; fractional seconds (SNAP) are truncated and
// file order breaks ties (Dataset.Edges is in file order).
package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kith-net/kith/trust"
)

// Format names an edge-list format.
type Format string

// The formats Load reads.
const (
	FormatAuto   Format = "auto"
	FormatSNAP   Format = "snap"
	FormatKONECT Format = "konect"
)

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("malformed input")

// MaxLineLen is the longest line the parsers accept.
const MaxLineLen = 1 << 16

// Dataset is a loaded network: the graph plus what is needed to map its
// nodes back to the file and to replay it in time order.
type Dataset struct {
	Name   string // base name of the file, or the name given to Parse
	Format Format // the format actually parsed (never FormatAuto)
	Graph  *trust.Graph

	// IDs[n] is the external identifier of node n; Index is the inverse.
	IDs   []string
	Index map[string]trust.NodeID

	// Edges are the edges in file order, self-loops dropped, weights
	// scaled; duplicates are still present here (the graph keeps the
	// latest of each pair).
	Edges []trust.Edge

	Scale      float64 // the divisor applied to the raw weights (1 if none)
	SelfLoops  int     // self-loops dropped
	Duplicates int     // edges superseded by a later edge of the same pair
	Header     bool    // whether a header line was skipped
}

// Load reads the network at path in the given format (FormatAuto or "" to
// detect it).
func Load(path string, format Format) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	d, err := Parse(f, filepath.Base(path), format)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Detect guesses the format of an edge list from its first bytes.
func Detect(head []byte) (Format, error) {
	for _, line := range bytes.Split(head, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		switch {
		case s == "":
			continue
		case strings.HasPrefix(s, "%"):
			return FormatKONECT, nil
		case strings.HasPrefix(s, "#"):
			continue
		case strings.Contains(s, ","):
			return FormatSNAP, nil
		case len(strings.Fields(s)) >= 2:
			return FormatKONECT, nil
		default:
			return "", fmt.Errorf("dataset: cannot detect the format from %q: %w", truncate(s), ErrFormat)
		}
	}
	return "", fmt.Errorf("dataset: cannot detect the format of an empty input: %w", ErrFormat)
}

// rawEdge is an edge before ID mapping and scaling.
type rawEdge struct {
	from, to trust.NodeID
	w        float64
	t        int64
}

// Parse reads a network from r. name is used in error messages and as
// Dataset.Name.
func Parse(r io.Reader, name string, format Format) (*Dataset, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format == "" || format == FormatAuto {
		head, _ := br.Peek(8 << 10) // a short read is fine: err is io.EOF or the reader's, seen again below
		f, err := Detect(head)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", name, err)
		}
		format = f
	}
	if format != FormatSNAP && format != FormatKONECT {
		return nil, fmt.Errorf("dataset: %s: unknown format %q", name, format)
	}
	d := &Dataset{Name: name, Format: format, Index: make(map[string]trust.NodeID)}
	node := func(id string) (trust.NodeID, error) {
		if n, ok := d.Index[id]; ok {
			return n, nil
		}
		if len(d.IDs) >= math.MaxInt32 {
			return 0, fmt.Errorf("too many nodes")
		}
		n := trust.NodeID(len(d.IDs))
		d.IDs = append(d.IDs, id)
		d.Index[id] = n
		return n, nil
	}

	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	var raw []rawEdge
	maxAbs := 0.0
	lineNo := 0
	seenData := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "%") || strings.HasPrefix(line, "#") {
			continue
		}
		var fields []string
		if format == FormatSNAP {
			fields = strings.Split(line, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
		} else {
			fields = strings.Fields(line)
		}
		if !seenData {
			seenData = true
			if isHeader(fields) {
				d.Header = true
				continue
			}
		}
		e, err := parseFields(fields, format)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s:%d: %w", name, lineNo, err)
		}
		from, err := node(e.from)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s:%d: %w", name, lineNo, err)
		}
		to, err := node(e.to)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s:%d: %w", name, lineNo, err)
		}
		if from == to {
			d.SelfLoops++
			continue
		}
		maxAbs = max(maxAbs, math.Abs(e.w))
		raw = append(raw, rawEdge{from: from, to: to, w: e.w, t: e.t})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("dataset: %s:%d: line longer than %d bytes: %w", name, lineNo+1, MaxLineLen, ErrFormat)
		}
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	if len(d.IDs) == 0 {
		return nil, fmt.Errorf("dataset: %s: no edges: %w", name, ErrFormat)
	}

	d.Scale = 1
	if format == FormatSNAP && maxAbs > 0 || maxAbs > 1 {
		d.Scale = maxAbs
	}
	d.Edges = make([]trust.Edge, len(raw))
	for i, e := range raw {
		w := e.w / d.Scale
		w = min(1, max(-1, w)) // guard against rounding just outside [-1, 1]
		d.Edges[i] = trust.Edge{From: e.from, To: e.to, Weight: w, Time: e.t}
	}
	g, err := trust.NewGraph(len(d.IDs), d.Edges)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	d.Graph = g
	d.Duplicates = len(d.Edges) - g.M()
	return d, nil
}

// stringEdge is one parsed line before ID mapping.
type stringEdge struct {
	from, to string
	w        float64
	t        int64
}

func isHeader(fields []string) bool {
	for _, f := range fields {
		if _, err := strconv.ParseFloat(f, 64); err == nil {
			return false
		}
	}
	return true
}

func parseFields(fields []string, format Format) (stringEdge, error) {
	var e stringEdge
	minF, maxF := 2, 4
	if format == FormatSNAP {
		minF = 3
	}
	if len(fields) < minF || len(fields) > maxF {
		return e, fmt.Errorf("%d fields, want %d to %d: %w", len(fields), minF, maxF, ErrFormat)
	}
	e.from, e.to = fields[0], fields[1]
	if e.from == "" || e.to == "" {
		return e, fmt.Errorf("empty node identifier: %w", ErrFormat)
	}
	e.w = 1
	if len(fields) >= 3 {
		w, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return e, fmt.Errorf("weight %q: %w (%w)", truncate(fields[2]), ErrFormat, err)
		}
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return e, fmt.Errorf("weight %q is not finite: %w", truncate(fields[2]), ErrFormat)
		}
		e.w = w
	}
	if len(fields) == 4 {
		t, err := strconv.ParseFloat(fields[3], 64)
		if err != nil {
			return e, fmt.Errorf("time %q: %w (%w)", truncate(fields[3]), ErrFormat, err)
		}
		if math.IsNaN(t) || t < math.MinInt64 || t >= math.MaxInt64 {
			return e, fmt.Errorf("time %q out of range: %w", truncate(fields[3]), ErrFormat)
		}
		e.t = int64(t)
	}
	return e, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Labels maps nodes to a class: +1 (benign, trusted) or -1 (fraudulent).
type Labels map[trust.NodeID]int

// LoadLabels reads a "node,label" file (label +1 or -1, e.g. the REV2
// ground truth otc_gt.csv) and maps its nodes into d. Blank lines and lines
// starting with '#' or '%' are skipped, and so is a first line with no
// numeric label (a header). A node that d does not contain, a repeated node
// or any other label is an error with its line number.
func LoadLabels(path string, d *Dataset) (Labels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: labels: %w", err)
	}
	defer f.Close()
	return ParseLabels(f, filepath.Base(path), d)
}

// ParseLabels is LoadLabels on a reader.
func ParseLabels(r io.Reader, name string, d *Dataset) (Labels, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	labels := make(Labels)
	lineNo := 0
	seenData := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "%") {
			continue
		}
		var fields []string
		if strings.Contains(line, ",") {
			fields = strings.Split(line, ",")
		} else {
			fields = strings.Fields(line)
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("dataset: %s:%d: %d fields, want 2 (node,label): %w", name, lineNo, len(fields), ErrFormat)
		}
		label, err := strconv.Atoi(strings.TrimPrefix(fields[1], "+"))
		if !seenData {
			seenData = true
			if err != nil {
				continue // header
			}
		}
		if err != nil || (label != 1 && label != -1) {
			return nil, fmt.Errorf("dataset: %s:%d: label %q, want +1 or -1: %w", name, lineNo, truncate(fields[1]), ErrFormat)
		}
		n, ok := d.Index[fields[0]]
		if !ok {
			return nil, fmt.Errorf("dataset: %s:%d: node %q is not in %s: %w", name, lineNo, truncate(fields[0]), d.Name, ErrFormat)
		}
		if _, dup := labels[n]; dup {
			return nil, fmt.Errorf("dataset: %s:%d: node %q labelled twice: %w", name, lineNo, truncate(fields[0]), ErrFormat)
		}
		labels[n] = label
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("dataset: %s:%d: line longer than %d bytes: %w", name, lineNo+1, MaxLineLen, ErrFormat)
		}
		return nil, fmt.Errorf("dataset: %s:%d: %w", name, lineNo+1, err)
	}
	return labels, nil
}

// FromGraph wraps a graph built elsewhere (a simulation, a synthetic
// generator) as a Dataset, with node i named "i".
func FromGraph(name string, g *trust.Graph) *Dataset {
	d := &Dataset{Name: name, Format: "graph", Graph: g, Index: make(map[string]trust.NodeID, g.N()), Scale: 1}
	d.IDs = make([]string, g.N())
	for i := range d.IDs {
		d.IDs[i] = strconv.Itoa(i)
		d.Index[d.IDs[i]] = trust.NodeID(i)
	}
	d.Edges = g.Edges()
	return d
}
