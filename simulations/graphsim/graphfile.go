package graphsim

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"slices"

	"github.com/kith-net/kith/trust"
)

// The simulator's graph file (spec/sim-graph-v1.md): a population (its
// honest graph, ground truth and time of step 0) in a compact binary form
// that every shard of a run reads instead of generating or parsing it.
const (
	graphMagic   = "KITHSIMG"
	graphVersion = 1
	// MaxGraphNodes and MaxGraphEdges bound what ReadGraph accepts.
	MaxGraphNodes = 100_000_000
	MaxGraphEdges = 2_000_000_000
)

// ErrGraphFile is wrapped by every error about a malformed graph file.
var ErrGraphFile = errors.New("graphsim: graph file")

// WriteGraph writes a population in the graph file format.
func WriteGraph(w io.Writer, p *Population) error {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10)
	var buf [binary.MaxVarintLen64]byte
	uv := func(x uint64) { bw.Write(buf[:binary.PutUvarint(buf[:], x)]) }
	sv := func(x int64) { bw.Write(buf[:binary.PutVarint(buf[:], x)]) }
	g := p.Graph
	n := g.N()
	if len(p.Truth) != n {
		return fmt.Errorf("graphsim: write graph: %d truths for %d nodes", len(p.Truth), n)
	}
	bw.WriteString(graphMagic)
	uv(graphVersion)
	uv(uint64(n))
	uv(uint64(g.M()))
	sv(p.Now)
	for _, t := range p.Truth {
		switch t {
		case 1:
			bw.WriteByte(1)
		case -1:
			bw.WriteByte(2)
		default:
			bw.WriteByte(0)
		}
	}
	for u := range trust.NodeID(n) {
		to, ws := g.Out(u)
		ts := g.OutTimes(u)
		uv(uint64(len(to)))
		prev := int64(-1)
		for i, v := range to {
			uv(uint64(int64(v) - prev - 1)) // strictly increasing
			prev = int64(v)
			binary.LittleEndian.PutUint32(buf[:4], math.Float32bits(ws[i]))
			bw.Write(buf[:4])
			sv(ts[i] - p.Now)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}

// GraphDigest is the SHA-256 of a population's graph file.
func GraphDigest(p *Population) (string, error) {
	h := sha256.New()
	if err := WriteGraph(h, p); err != nil {
		return "", err
	}
	// WriteGraph ends with the digest of what precedes it; the digest of
	// the whole file is that of the content and its checksum.
	return fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}

// SaveGraph writes a population to a file.
func SaveGraph(path string, p *Population) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("graphsim: %w", err)
	}
	if err := WriteGraph(f, p); err != nil {
		f.Close()
		return fmt.Errorf("graphsim: %s: %w", path, err)
	}
	return f.Close()
}

// IsGraphFile reports whether b starts like a graph file.
func IsGraphFile(b []byte) bool { return bytes.HasPrefix(b, []byte(graphMagic)) }

// tailHash hashes what passes through it except the last sha256.Size
// bytes read so far: once the stream is read to its end, the hash covers
// the content and not the checksum after it.
type tailHash struct {
	r    io.Reader
	h    hash.Hash
	tail []byte
}

func (t *tailHash) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	all := append(t.tail, p[:n]...)
	if k := len(all) - sha256.Size; k > 0 {
		t.h.Write(all[:k])
		all = all[k:]
	}
	t.tail = slices.Clone(all)
	return n, err
}

// ReadGraph reads a graph file, checking its structure and its checksum.
func ReadGraph(r io.Reader) (*Population, error) {
	h := sha256.New()
	hr := bufio.NewReaderSize(&tailHash{r: r, h: h}, 64<<10)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrGraphFile, fmt.Sprintf(format, args...))
	}
	magic := make([]byte, len(graphMagic))
	if _, err := io.ReadFull(hr, magic); err != nil || string(magic) != graphMagic {
		return nil, fail("not a graph file")
	}
	uv := func(what string) (uint64, error) {
		x, err := binary.ReadUvarint(hr)
		if err != nil {
			return 0, fail("%s: %v", what, err)
		}
		return x, nil
	}
	ver, err := uv("version")
	if err != nil {
		return nil, err
	}
	if ver != graphVersion {
		return nil, fail("version %d, want %d", ver, graphVersion)
	}
	n64, err := uv("nodes")
	if err != nil {
		return nil, err
	}
	m64, err := uv("edges")
	if err != nil {
		return nil, err
	}
	if n64 > MaxGraphNodes || m64 > MaxGraphEdges {
		return nil, fail("%d nodes, %d edges: at most %d and %d", n64, m64, MaxGraphNodes, MaxGraphEdges)
	}
	now, err := binary.ReadVarint(hr)
	if err != nil {
		return nil, fail("time: %v", err)
	}
	n := int(n64)
	// Read in chunks and grow as the data comes: a lying header cannot
	// make us allocate more than the file holds.
	var truth []int8
	chunk := make([]byte, 4<<10)
	for len(truth) < n {
		k := min(len(chunk), n-len(truth))
		if _, err := io.ReadFull(hr, chunk[:k]); err != nil {
			return nil, fail("truth: %v", err)
		}
		for _, b := range chunk[:k] {
			switch b {
			case 0:
				truth = append(truth, 0)
			case 1:
				truth = append(truth, 1)
			case 2:
				truth = append(truth, -1)
			default:
				return nil, fail("node %d: truth %d", len(truth), b)
			}
		}
	}
	var edges []trust.Edge
	var w4 [4]byte
	for u := range n {
		d, err := uv("degree")
		if err != nil {
			return nil, err
		}
		if d > m64-uint64(len(edges)) {
			return nil, fail("node %d: degree %d beyond the %d edges", u, d, m64)
		}
		prev := int64(-1)
		for range d {
			gap, err := uv("edge")
			if err != nil {
				return nil, err
			}
			v := prev + 1 + int64(gap)
			if gap >= n64 || v >= int64(n) {
				return nil, fail("node %d: edge to %d of %d nodes", u, v, n)
			}
			prev = v
			if _, err := io.ReadFull(hr, w4[:]); err != nil {
				return nil, fail("weight: %v", err)
			}
			wt := math.Float32frombits(binary.LittleEndian.Uint32(w4[:]))
			if !(wt >= -1 && wt <= 1) {
				return nil, fail("node %d: weight %v", u, wt)
			}
			dt, err := binary.ReadVarint(hr)
			if err != nil {
				return nil, fail("time: %v", err)
			}
			if v == int64(u) {
				return nil, fail("node %d: self-loop", u)
			}
			edges = append(edges, trust.Edge{From: trust.NodeID(u), To: trust.NodeID(v), Weight: float64(wt), Time: now + dt})
		}
	}
	if uint64(len(edges)) != m64 {
		return nil, fail("%d edges, header says %d", len(edges), m64)
	}
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(hr, sum); err != nil {
		return nil, fail("checksum: %v", err)
	}
	if _, err := hr.ReadByte(); err != io.EOF {
		return nil, fail("data after the checksum")
	}
	if !bytes.Equal(sum, h.Sum(nil)) {
		return nil, fail("checksum mismatch: the file is damaged")
	}
	g, err := trust.NewGraph(n, edges)
	if err != nil {
		return nil, fail("%v", err)
	}
	return &Population{Graph: g, Truth: truth, Now: now}, nil
}

// LoadGraph reads a graph file.
func LoadGraph(path string) (*Population, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("graphsim: %w", err)
	}
	defer f.Close()
	p, err := ReadGraph(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
