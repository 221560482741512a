// Package dataset loads public signed, weighted trust networks into a
// trust.Graph, for evaluation and benchmarks.
//
// Three formats are read:
//
//   - FormatSNAP, the Stanford SNAP signed networks in CSV (e.g.
//     soc-sign-bitcoinotc, soc-sign-bitcoinalpha): one edge per line, comma
//     separated "source,target,rating[,time]", no header. Lines starting
//     with '#' are comments. Ratings are scaled to [-1, 1] by dividing by the
//     largest |rating| in the file (10 for Bitcoin OTC and Alpha).
//   - FormatKONECT, whitespace-separated edge lists: the Koblenz Network
//     Collection "out.*" files (e.g. out.advogato) and SNAP's tab-separated
//     signed lists (e.g. soc-sign-epinions.txt): "source target [weight
//     [time]]"; lines starting with '%' or '#' are comments. A missing
//     weight is 1. Weights already inside [-1, 1] are kept as they are
//     (Advogato's 0.6/0.8/1.0, Epinions' ±1); otherwise they are divided by
//     the largest |weight| in the file.
//   - FormatWikiElec, SNAP's Wikipedia adminship elections
//     (wikiElec.ElecBs3.txt): tab-separated records, one election after the
//     other: "E result", "T close time", "U candidate-id name", "N
//     nominator-id name", then one "V vote voter-id time name" per vote
//     (vote 1 support, 0 neutral, -1 oppose; times "2006-01-02 15:04:05",
//     read as UTC). Each vote is an edge from the voter to the candidate
//     with weight ±1 at the time of the vote; neutral votes carry no sign and
//     are dropped and counted (Dataset.Neutral), their voters and candidates
//     still named. The nomination and the result are not edges. Lines
//     starting with '#' are comments; records out of that order are an error.
//
// In the edge-list formats the first non-comment line is skipped as a header
// when none of its fields is a number (our Advogato copy starts with
// "source_id target_id trust_value"). Anything else that does not parse is
// an error naming the file and line. FormatAuto picks the format from the
// content: an "E" record followed by a "T" record means wiki-Elec; then '%'
// comments or whitespace-separated fields mean KONECT, commas mean SNAP.
//
// Input compressed with gzip is decompressed on the fly, whatever the file
// is called: Parse (and ParseLabels) recognise it by its magic bytes (1f 8b);
// Dataset.Gzip records it. A corrupt or truncated stream is an ErrFormat
// error.
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
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kith-net/kith/trust"
)

// Format names an input format.
type Format string

// The formats Load reads.
const (
	FormatAuto     Format = "auto"
	FormatSNAP     Format = "snap"
	FormatKONECT   Format = "konect"
	FormatWikiElec Format = "wiki-elec"
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
	Gzip   bool   // whether the input was gzip-compressed
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
	Neutral    int     // neutral votes dropped (FormatWikiElec)
	Header     bool    // whether a header line was skipped
}

// Load reads the network at path in the given format (FormatAuto or "" to
// detect it), gzip-compressed or not.
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

// Detect guesses the format of a network from its first (uncompressed)
// bytes.
func Detect(head []byte) (Format, error) {
	var records []string // the first two lines that are neither blank nor '#' comments
	for _, line := range bytes.Split(head, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		switch {
		case s == "" || strings.HasPrefix(s, "#"):
			continue
		case strings.HasPrefix(s, "%") && len(records) == 0:
			return FormatKONECT, nil
		}
		if records = append(records, s); len(records) == 2 {
			break
		}
	}
	if len(records) == 0 {
		return "", fmt.Errorf("dataset: cannot detect the format of an empty input: %w", ErrFormat)
	}
	first := records[0]
	switch {
	case isElectionRecord(first) && len(records) == 2 && strings.HasPrefix(records[1], "T\t"):
		return FormatWikiElec, nil
	case strings.Contains(first, ","):
		return FormatSNAP, nil
	case len(strings.Fields(first)) >= 2:
		return FormatKONECT, nil
	}
	return "", fmt.Errorf("dataset: cannot detect the format from %q: %w", truncate(first), ErrFormat)
}

// isElectionRecord reports whether s is a wiki-Elec "E 0|1" record.
func isElectionRecord(s string) bool {
	return s == "E\t0" || s == "E\t1"
}

// rawEdge is an edge before scaling.
type rawEdge struct {
	from, to trust.NodeID
	w        float64
	t        int64
}

// builder maps identifiers to nodes and collects edges for any format.
type builder struct {
	d      *Dataset
	raw    []rawEdge
	maxAbs float64
}

func (b *builder) node(id string) (trust.NodeID, error) {
	d := b.d
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

// add records an edge, naming its nodes; a self-loop is counted and
// dropped.
func (b *builder) add(from, to string, w float64, t int64) error {
	f, err := b.node(from)
	if err != nil {
		return err
	}
	u, err := b.node(to)
	if err != nil {
		return err
	}
	if f == u {
		b.d.SelfLoops++
		return nil
	}
	b.maxAbs = max(b.maxAbs, math.Abs(w))
	b.raw = append(b.raw, rawEdge{from: f, to: u, w: w, t: t})
	return nil
}

// finish scales the weights and builds the graph.
func (b *builder) finish() error {
	d := b.d
	d.Scale = 1
	if d.Format == FormatSNAP && b.maxAbs > 0 || b.maxAbs > 1 {
		d.Scale = b.maxAbs
	}
	d.Edges = make([]trust.Edge, len(b.raw))
	for i, e := range b.raw {
		w := e.w / d.Scale
		w = min(1, max(-1, w)) // guard against rounding just outside [-1, 1]
		d.Edges[i] = trust.Edge{From: e.from, To: e.to, Weight: w, Time: e.t}
	}
	g, err := trust.NewGraph(len(d.IDs), d.Edges)
	if err != nil {
		return err
	}
	d.Graph = g
	d.Duplicates = len(d.Edges) - g.M()
	return nil
}

// Parse reads a network from r, gzip-compressed or not. name is used in
// error messages and as Dataset.Name.
func Parse(r io.Reader, name string, format Format) (*Dataset, error) {
	if format == "" {
		format = FormatAuto
	}
	switch format {
	case FormatAuto, FormatSNAP, FormatKONECT, FormatWikiElec:
	default:
		return nil, fmt.Errorf("dataset: %s: unknown format %q", name, format)
	}
	br, gz, err := input(r)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	if format == FormatAuto {
		head, err := br.Peek(8 << 10)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, fmt.Errorf("dataset: %s: %w", name, err)
		}
		f, err := Detect(head)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", name, err)
		}
		format = f
	}
	d := &Dataset{Name: name, Format: format, Gzip: gz, Index: make(map[string]trust.NodeID)}
	b := &builder{d: d}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	lines := &lineReader{sc: sc}
	if format == FormatWikiElec {
		err = parseWikiElec(lines, b)
	} else {
		err = parseEdgeList(lines, b)
	}
	if serr := lines.err(); serr != nil {
		err = serr // the input could not be read to its end: that, not what the parser made of it
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %s:%d: %w", name, lines.n, err)
	}
	if len(d.IDs) == 0 {
		return nil, fmt.Errorf("dataset: %s: no edges: %w", name, ErrFormat)
	}
	if err := b.finish(); err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	return d, nil
}

// lineReader numbers the lines of a scanner.
type lineReader struct {
	sc *bufio.Scanner
	n  int // number of the current line
}

func (l *lineReader) next() (string, bool) {
	if !l.sc.Scan() {
		return "", false
	}
	l.n++
	return l.sc.Text(), true
}

// err is the scanner's error (nil while next returns true); when there is
// one, the line number becomes that of the line that could not be read.
func (l *lineReader) err() error {
	err := l.sc.Err()
	if err == nil {
		return nil
	}
	l.n++
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("line longer than %d bytes: %w", MaxLineLen, ErrFormat)
	}
	return err
}

// input buffers r and, when it starts with gzip's magic bytes (1f 8b),
// decompresses it; gz tells which.
func input(r io.Reader) (br *bufio.Reader, gz bool, err error) {
	br = bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, false, err // Peek hands a read error over once: it would not come again
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, false, fmt.Errorf("gzip: %w", gzipError(err))
	}
	// zr needs no Close: it holds nothing but its error, and checks the
	// checksum when it reaches io.EOF.
	return bufio.NewReaderSize(gzipErrors{zr}, 64<<10), true, nil
}

// gzipErrors marks the errors of a gzip stream that mean corrupt input.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip: %w", gzipError(err))
	}
	return n, err
}

func gzipError(err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w (%w)", ErrFormat, err)
	}
	return err
}

// parseEdgeList reads the SNAP and KONECT edge lists.
func parseEdgeList(lines *lineReader, b *builder) error {
	format := b.d.Format
	seenData := false
	for {
		text, ok := lines.next()
		if !ok {
			return nil
		}
		line := strings.TrimSpace(text)
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
				b.d.Header = true
				continue
			}
		}
		e, err := parseFields(fields, format)
		if err != nil {
			return err
		}
		if err := b.add(e.from, e.to, e.w, e.t); err != nil {
			return err
		}
	}
}

// parseWikiElec reads SNAP's wiki-Elec election records.
func parseWikiElec(lines *lineReader, b *builder) error {
	// want is the record that must come next ('V' once in the votes,
	// where a new 'E' may also start).
	want := byte('E')
	candidate := ""
	for {
		text, ok := lines.next()
		if !ok {
			if want != 'E' && want != 'V' {
				return fmt.Errorf("input ends inside an election, before its %c record: %w", want, ErrFormat)
			}
			return nil
		}
		line := strings.TrimRight(text, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f[0]) != 1 || !strings.Contains("ETUNV", f[0]) {
			return fmt.Errorf("record %q, want E, T, U, N or V: %w", truncate(f[0]), ErrFormat)
		}
		kind := f[0][0]
		if kind != want && !(want == 'V' && kind == 'E') {
			return fmt.Errorf("%c record where %c was expected: %w", kind, want, ErrFormat)
		}
		switch kind {
		case 'E':
			if len(f) != 2 || (f[1] != "0" && f[1] != "1") {
				return fmt.Errorf("record %q, want E and 0 or 1: %w", truncate(line), ErrFormat)
			}
			want = 'T'
		case 'T':
			if len(f) != 2 {
				return fmt.Errorf("record T with %d fields, want 2: %w", len(f), ErrFormat)
			}
			if _, err := parseWikiElecTime(f[1]); err != nil {
				return err
			}
			want = 'U'
		case 'U', 'N':
			if len(f) < 2 || len(f) > 3 || f[1] == "" {
				return fmt.Errorf("record %q, want %c, a user id and a name: %w", truncate(line), kind, ErrFormat)
			}
			if kind == 'U' {
				candidate, want = f[1], 'N'
			} else {
				want = 'V'
			}
		case 'V':
			if len(f) < 4 || len(f) > 5 || f[2] == "" {
				return fmt.Errorf("record %q, want V, a vote, a user id, a time and a name: %w", truncate(line), ErrFormat)
			}
			vote, err := strconv.Atoi(f[1])
			if err != nil || vote < -1 || vote > 1 || strings.HasPrefix(f[1], "+") {
				return fmt.Errorf("vote %q, want 1, 0 or -1: %w", truncate(f[1]), ErrFormat)
			}
			t, err := parseWikiElecTime(f[3])
			if err != nil {
				return err
			}
			if vote == 0 {
				if _, err := b.node(f[2]); err != nil {
					return err
				}
				if _, err := b.node(candidate); err != nil {
					return err
				}
				b.d.Neutral++
				continue
			}
			if err := b.add(f[2], candidate, float64(vote), t); err != nil {
				return err
			}
		}
	}
}

func parseWikiElecTime(s string) (int64, error) {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		return 0, fmt.Errorf("time %q, want %s: %w", truncate(s), time.DateTime, ErrFormat)
	}
	return t.Unix(), nil
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
// or any other label is an error with its line number. The file may be
// gzip-compressed.
func LoadLabels(path string, d *Dataset) (Labels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: labels: %w", err)
	}
	defer f.Close()
	return ParseLabels(f, filepath.Base(path), d)
}

// ParseLabels is LoadLabels on a reader (gzip-compressed or not).
func ParseLabels(r io.Reader, name string, d *Dataset) (Labels, error) {
	br, _, err := input(r)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	sc := bufio.NewScanner(br)
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
