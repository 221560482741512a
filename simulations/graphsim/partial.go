package graphsim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// PartialFormat names the format of a shard's results.
const PartialFormat = "kith-sim-partial/1"

// Partial is what one shard measured: every value of every viewpoint it
// ran (a few hundred bytes each), and enough about the run to check that
// the shards Merge joins belong together. It is written as JSON
// (WritePartial); floats read back exactly.
type Partial struct {
	Format string `json:"format"`
	Level  string `json:"level"`
	// Scenario is the effective scenario's encoding, Digest its SHA-256:
	// shards of one run have the same.
	Scenario string   `json:"scenario"`
	Digest   string   `json:"scenario_sha256"`
	Shard    Shard    `json:"shard"`
	Software Software `json:"software"`
	// Engines are the run's engines with their parameters.
	Engines []EngineParams `json:"engines"`
	// Batches are the populations this shard built.
	Batches []BatchInfo `json:"populations"`
	// Keys name the values of Units: Units[i].Values[c][e].K index Keys.
	Keys  []Key  `json:"keys"`
	Units []Unit `json:"units"`
}

// BatchInfo describes one population of a run: the cells of a sweep that
// share a graph, a seed and their viewpoints.
type BatchInfo struct {
	Index      int    `json:"index"`
	Seed       uint64 `json:"seed"`
	Nodes      int    `json:"nodes"` // honest members
	Edges      int    `json:"edges"` // honest ratings
	Viewpoints int    `json:"viewpoints"`
	// Graph is the SHA-256 of the population in the simulator's graph
	// file format (see WriteGraph): the same for every shard, and for a
	// run that generated it or loaded it from a file.
	Graph string `json:"graph_sha256"`
}

// Key names one metric of one behaviour in a cell.
type Key struct {
	Behaviour   string `json:"behaviour"`
	Size        int    `json:"size"`
	AttackEdges int    `json:"attack_edges"`
	Metric      string `json:"metric"`
}

// Unit is one viewpoint's values: Values[c][e] for the batch's c-th cell
// and the run's e-th engine.
type Unit struct {
	Index   int          `json:"index"` // in the run, batch after batch
	Batch   int          `json:"population"`
	Querier int          `json:"querier"` // the viewpoint's node
	Values  [][]unitVals `json:"values"`
}

type unitVals struct {
	K []int       `json:"k"`
	V []jsonFloat `json:"v"`
}

// jsonFloat is a float64 written as null when NaN.
type jsonFloat float64

func (x jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(x))
}

func (x *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*x = jsonFloat(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = jsonFloat(f)
	return nil
}

func digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// ScenarioDigest is the SHA-256 of a scenario's encoding with its dataset
// files named by their base names: the same for every shard of a run and
// for a reproduction from its scenario.toml, wherever the files are (the
// populations' own digests, BatchInfo.Graph, cover their content).
func ScenarioDigest(s *scenario.Scenario) (string, error) {
	c := *s
	for _, p := range []*string{&c.Graph.Path, &c.Graph.Labels} {
		if *p != "" {
			*p = filepath.Base(*p)
		}
	}
	b, err := c.Encode()
	if err != nil {
		return "", err
	}
	return digest(b), nil
}

func encodeUnit(index, batch int, q trust.NodeID, vals [][]metrics, keys map[metricKey]int, table *[]Key) Unit {
	u := Unit{Index: index, Batch: batch, Querier: int(q), Values: make([][]unitVals, len(vals))}
	for c := range vals {
		u.Values[c] = make([]unitVals, len(vals[c]))
		for e, ms := range vals[c] {
			var uv unitVals
			for _, m := range ms {
				k, ok := keys[m.key]
				if !ok {
					k = len(*table)
					keys[m.key] = k
					*table = append(*table, Key{m.key.label, m.key.size, m.key.attack, m.key.metric})
				}
				uv.K = append(uv.K, k)
				uv.V = append(uv.V, jsonFloat(m.value))
			}
			u.Values[c][e] = uv
		}
	}
	return u
}

// WritePartial writes a shard's values as JSON.
func WritePartial(w io.Writer, p *Partial) error {
	return json.NewEncoder(w).Encode(p)
}

// ReadPartial reads what WritePartial wrote.
func ReadPartial(r io.Reader) (*Partial, error) {
	var p Partial
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("graphsim: read partial: %w", err)
	}
	if p.Format != PartialFormat || p.Level != "graph" {
		return nil, fmt.Errorf("graphsim: read partial: format %q level %q, want %q graph", p.Format, p.Level, PartialFormat)
	}
	for _, u := range p.Units {
		for _, row := range u.Values {
			for _, uv := range row {
				if len(uv.K) != len(uv.V) {
					return nil, fmt.Errorf("graphsim: read partial: unit %d: %d keys for %d values", u.Index, len(uv.K), len(uv.V))
				}
				for _, k := range uv.K {
					if k < 0 || k >= len(p.Keys) {
						return nil, fmt.Errorf("graphsim: read partial: unit %d: key %d of %d", u.Index, k, len(p.Keys))
					}
				}
			}
		}
	}
	return &p, nil
}

// Merge joins the partial results of every shard of one run (in any
// order) into the run's result: the same, to the byte once written, as
// the run in one process.
func Merge(parts []*Partial) (*Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("graphsim: merge: no partial results")
	}
	p0 := parts[0]
	n := p0.Shard.N
	have := make([]bool, max(n, 0))
	for _, p := range parts {
		switch {
		case p.Digest != p0.Digest:
			return nil, fmt.Errorf("graphsim: merge: shard %s ran another scenario (%s, not %s)", p.Shard, p.Digest, p0.Digest)
		case p.Software != p0.Software:
			return nil, fmt.Errorf("graphsim: merge: shard %s ran another build (%s, not %s)", p.Shard, p.Software, p0.Software)
		case p.Shard.N != n || p.Shard.Validate() != nil:
			return nil, fmt.Errorf("graphsim: merge: shard %s of a run in %d", p.Shard, n)
		case have[p.Shard.I]:
			return nil, fmt.Errorf("graphsim: merge: shard %s given twice", p.Shard)
		}
		have[p.Shard.I] = true
	}
	if i := slices.Index(have, false); i >= 0 {
		return nil, fmt.Errorf("graphsim: merge: shard %d/%d missing (%d of %d given)", i, n, len(parts), n)
	}
	s, err := scenario.Parse([]byte(p0.Scenario), "")
	if err != nil {
		return nil, fmt.Errorf("graphsim: merge: %w", err)
	}
	if d, err := ScenarioDigest(s); err != nil || d != p0.Digest {
		return nil, fmt.Errorf("graphsim: merge: the scenario does not match its digest")
	}
	p, err := newPlan(s, p0.Engines)
	if err != nil {
		return nil, err
	}
	// The populations, each from whichever shard built it.
	infos := make([]*BatchInfo, len(p.batches))
	for _, part := range parts {
		for _, b := range part.Batches {
			if b.Index < 0 || b.Index >= len(infos) {
				return nil, fmt.Errorf("graphsim: merge: shard %s: population %d of %d", part.Shard, b.Index, len(infos))
			}
			if infos[b.Index] == nil {
				infos[b.Index] = &b
			} else if *infos[b.Index] != b {
				return nil, fmt.Errorf("graphsim: merge: shards disagree on population %d: %+v, %+v", b.Index, *infos[b.Index], b)
			}
		}
	}
	// Every unit, in order.
	units := make([]*decoded, p.units)
	for _, part := range parts {
		for _, u := range part.Units {
			if u.Index < 0 || u.Index >= p.units || u.Index%n != part.Shard.I || u.Batch != p.batchOfUnit(u.Index) {
				return nil, fmt.Errorf("graphsim: merge: shard %s has unit %d (population %d), not its own", part.Shard, u.Index, u.Batch)
			}
			if units[u.Index] != nil {
				return nil, fmt.Errorf("graphsim: merge: unit %d twice", u.Index)
			}
			d := &decoded{querier: u.Querier, vals: make([][]metrics, len(u.Values))}
			if len(u.Values) != len(p.batches[u.Batch].cells) {
				return nil, fmt.Errorf("graphsim: merge: unit %d has %d cells, want %d", u.Index, len(u.Values), len(p.batches[u.Batch].cells))
			}
			for c, row := range u.Values {
				if len(row) != len(p.engines) {
					return nil, fmt.Errorf("graphsim: merge: unit %d has %d engines, want %d", u.Index, len(row), len(p.engines))
				}
				d.vals[c] = make([]metrics, len(row))
				for e, uv := range row {
					for i, k := range uv.K {
						key := part.Keys[k]
						d.vals[c][e] = append(d.vals[c][e], metric{metricKey{key.Behaviour, key.Size, key.AttackEdges, key.Metric}, float64(uv.V[i])})
					}
				}
			}
			units[u.Index] = d
		}
	}
	for b, info := range infos {
		if info == nil {
			return nil, fmt.Errorf("graphsim: merge: no shard built population %d", b)
		}
		pb := p.batches[b]
		for k := range pb.nv {
			if (k < info.Viewpoints) != (units[pb.offset+k] != nil) {
				return nil, fmt.Errorf("graphsim: merge: population %d has %d viewpoints; unit %d %s", b, info.Viewpoints, pb.offset+k, map[bool]string{true: "present", false: "missing"}[units[pb.offset+k] != nil])
			}
		}
	}
	return p.reduce(infos, units, p0)
}

// decoded is one unit's values.
type decoded struct {
	querier int
	vals    [][]metrics // [cell in batch][engine]
}

func (p *plan) batchOfUnit(u int) int {
	for b := len(p.batches) - 1; b >= 0; b-- {
		if u >= p.batches[b].offset {
			return b
		}
	}
	return -1
}
