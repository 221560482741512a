package graphsim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/kith-net/kith/simulations/scenario"
)

// Result is the outcome of a graph-level run.
type Result struct {
	Scenario string `json:"scenario"`
	Level    string `json:"level"` // "graph"
	Seed     uint64 `json:"seed"`
	// Nodes, Edges and Viewpoints are those of the first population
	// (Populations lists every one when a sweep changes the graph or the
	// seed).
	Nodes      int      `json:"nodes"` // honest members
	Edges      int      `json:"edges"` // honest ratings
	Viewpoints int      `json:"viewpoints"`
	Engines    []string `json:"engines"`
	// Axes are the swept fields other than size, attack_edges and seed
	// (which have columns of their own): one column each.
	Axes        []string    `json:"axes,omitempty"`
	Populations []BatchInfo `json:"populations"`
	// Ignored lists the protocol-level parts of the scenario this run did
	// not simulate.
	Ignored    []string   `json:"ignored,omitempty"`
	Provenance Provenance `json:"provenance"`
	// Goals are the scenario's graph-level goals, checked in every cell
	// they apply to.
	Goals []scenario.Outcome `json:"goals,omitempty"`
	Rows  []Row              `json:"rows"`

	plan  *plan
	units []*decoded
}

// Provenance says what produced a result: the build, the effective
// scenario (its SHA-256; scenario.toml beside the results is its text),
// and every engine's parameters.
type Provenance struct {
	Software Software       `json:"software"`
	Scenario string         `json:"scenario_sha256"`
	Engines  []EngineParams `json:"engines"`
}

// reduce turns every viewpoint's values into the rows: per cell, engine
// and metric, the mean over the viewpoints, its standard error and 95 %
// interval.
func (p *plan) reduce(infos []*BatchInfo, units []*decoded, p0 *Partial) (*Result, error) {
	res := &Result{Scenario: p.s.Name, Level: "graph", Seed: p.s.Seed, Engines: slices.Clone(p.engines), Axes: p.axes,
		Ignored: p.s.ProtocolOnly(), Provenance: Provenance{Software: p0.Software, Scenario: p0.Digest, Engines: p.params},
		plan: p, units: units}
	for _, info := range infos {
		res.Populations = append(res.Populations, *info)
	}
	res.Nodes, res.Edges, res.Viewpoints = infos[0].Nodes, infos[0].Edges, infos[0].Viewpoints
	for c := range p.cells {
		b := p.batchOf[c]
		pb := p.batches[b]
		ci := slices.Index(pb.cells, c)
		vs := units[pb.offset : pb.offset+infos[b].Viewpoints]
		cellVals := p.cellValues(c)
		for e := range p.engines {
			var keys []metricKey
			seen := map[metricKey]bool{}
			for _, u := range vs {
				for _, m := range u.vals[ci][e] {
					if !seen[m.key] {
						seen[m.key] = true
						keys = append(keys, m.key)
					}
				}
			}
			for _, k := range keys {
				var xs []float64
				for _, u := range vs {
					for _, m := range u.vals[ci][e] {
						if m.key == k && !math.IsNaN(m.value) {
							xs = append(xs, m.value)
						}
					}
				}
				mean, se := meanStdErr(xs)
				lo, hi := interval(mean, se, len(xs))
				res.Rows = append(res.Rows, Row{
					Scenario: p.s.Name, Behaviour: k.label, Engine: p.engines[e], Seed: p.cellSc[c].Seed,
					Size: k.size, AttackEdges: k.attack, Cell: cellVals, Metric: k.metric, Mean: mean, StdErr: se, Low: lo, High: hi, N: len(xs), cell: c,
				})
			}
		}
	}
	res.Goals = p.judge(res.Rows)
	return res, nil
}

// cellValues are cell c's values of the plan's axes.
func (p *plan) cellValues(c int) []string {
	var out []string
	for _, f := range p.axes {
		v, _ := p.cells[c].Value(f)
		out = append(out, v)
	}
	return out
}

func meanStdErr(xs []float64) (mean, se float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
}

// interval is the 95 % confidence interval of a mean of n values with
// standard error se (Student's t with n-1 degrees of freedom); NaN for
// fewer than 2 values.
func interval(mean, se float64, n int) (lo, hi float64) {
	if n < 2 || math.IsNaN(se) {
		return math.NaN(), math.NaN()
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return mean - t*se, mean + t*se
}

// labels are the behaviour labels of a scenario's rows: each graph-level
// behaviour's kind ("sybil#2" for a second sybil group), in order.
func labels(s *scenario.Scenario) []string {
	var out []string
	counts := map[string]int{}
	for _, b := range s.Behaviours {
		if b.Kind == scenario.Eclipse {
			continue
		}
		counts[b.Kind]++
		l := b.Kind
		if counts[b.Kind] > 1 {
			l = fmt.Sprintf("%s#%d", b.Kind, counts[b.Kind])
		}
		out = append(out, l)
	}
	return out
}

// goalBehaviour is the behaviour a graph-level goal reads: its own, else
// "honest" for the honest metrics, else the scenario's only behaviour.
func goalBehaviour(g scenario.Goal, s *scenario.Scenario) (string, error) {
	if g.Behaviour != "" {
		return g.Behaviour, nil
	}
	if slices.Contains(honestMetrics, g.Metric) {
		return "honest", nil
	}
	ls := labels(s)
	if len(ls) == 1 {
		return ls[0], nil
	}
	return "", fmt.Errorf("behaviour: needed (the scenario has %v)", ls)
}

// checkGoals validates the graph-level goals against what the run
// measures.
func (p *plan) checkGoals() error {
	for i, g := range p.s.Goals {
		if g.Level != scenario.LevelGraph {
			continue
		}
		if !slices.Contains(Metrics, g.Metric) {
			return fmt.Errorf("goal[%d].metric: %q is not a graph-level metric (%v)", i, g.Metric, Metrics)
		}
		b, err := goalBehaviour(g, p.s)
		if err != nil {
			return fmt.Errorf("goal[%d].%w", i, err)
		}
		if b != "honest" && !slices.Contains(labels(p.s), b) {
			return fmt.Errorf("goal[%d].behaviour: %q is not a behaviour of the scenario (%v)", i, b, labels(p.s))
		}
		if _, ok := engineDefByName(g.Engine); !ok {
			return fmt.Errorf("goal[%d].engine: unknown engine %q", i, g.Engine)
		}
	}
	return nil
}

// judge checks every graph-level goal in every cell it applies to.
func (p *plan) judge(rows []Row) []scenario.Outcome {
	find := func(c int, engine, behaviour, metric string) *Row {
		for i := range rows {
			r := &rows[i]
			if r.cell == c && r.Engine == engine && r.Behaviour == behaviour && r.Metric == metric {
				return r
			}
		}
		return nil
	}
	return p.s.JudgeGoals(scenario.LevelGraph, func(g scenario.Goal, c int) (scenario.Measure, bool) {
		b, _ := goalBehaviour(g, p.s)
		r := find(c, g.Engine, b, g.Metric)
		if r == nil {
			return scenario.Measure{}, false
		}
		m := scenario.Measure{Value: r.Mean, Low: r.Low, High: r.High, N: r.N}
		if g.Metric == MetricAcceptedPerEdge {
			if capped := find(c, g.Engine, b, MetricAcceptedCapped); capped != nil && capped.Mean > 0 {
				m.Note = fmt.Sprintf("at its cap s/g (every identity accepted) from %.0f %% of viewpoints", 100*capped.Mean)
			}
		}
		return m, true
	})
}

// csvHeader is the first line of WriteCSV, the axes going between
// attack_edges and metric.
func (res *Result) csvHeader() []string {
	h := []string{"scenario", "behaviour", "engine", "seed", "size", "attack_edges"}
	h = append(h, res.Axes...)
	return append(h, "metric", "mean", "stderr", "ci95_low", "ci95_high", "n")
}

// WriteCSV writes the rows with a header (one tidy table across the
// sweep); undefined values are empty. Floats are written in the shortest
// form that reads back exactly, so the same result always gives the same
// bytes.
func WriteCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.csvHeader()); err != nil {
		return err
	}
	for _, r := range res.Rows {
		rec := []string{r.Scenario, r.Behaviour, r.Engine, strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Size), strconv.Itoa(r.AttackEdges)}
		rec = append(rec, r.Cell...)
		rec = append(rec, r.Metric, num(r.Mean), num(r.StdErr), num(r.Low), num(r.High), strconv.Itoa(r.N))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteViewpointsCSV writes one row per viewpoint and metric: the values
// the means are taken over, for distributions and intervals of one's own.
// Only a result from Run or Merge has them (not one read back from JSON).
func WriteViewpointsCSV(w io.Writer, res *Result) error {
	p := res.plan
	if p == nil {
		return fmt.Errorf("graphsim: this result holds no per-viewpoint values (it was read from JSON)")
	}
	cw := csv.NewWriter(w)
	h := []string{"scenario", "behaviour", "engine", "seed", "size", "attack_edges"}
	h = append(h, res.Axes...)
	if err := cw.Write(append(h, "viewpoint", "metric", "value")); err != nil {
		return err
	}
	for c := range p.cells {
		b := p.batchOf[c]
		pb := p.batches[b]
		ci := slices.Index(pb.cells, c)
		cellVals := p.cellValues(c)
		seed := strconv.FormatUint(p.cellSc[c].Seed, 10)
		for e, engine := range p.engines {
			for _, u := range res.units[pb.offset : pb.offset+res.Populations[b].Viewpoints] {
				for _, m := range u.vals[ci][e] {
					rec := []string{p.s.Name, m.key.label, engine, seed, strconv.Itoa(m.key.size), strconv.Itoa(m.key.attack)}
					rec = append(rec, cellVals...)
					rec = append(rec, strconv.Itoa(u.querier), m.key.metric, num(m.value))
					if err := cw.Write(rec); err != nil {
						return err
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// rowJSON is a Row with undefined values as null.
type rowJSON struct {
	Scenario    string            `json:"scenario"`
	Behaviour   string            `json:"behaviour"`
	Engine      string            `json:"engine"`
	Seed        uint64            `json:"seed"`
	Size        int               `json:"size"`
	AttackEdges int               `json:"attack_edges"`
	Cell        map[string]string `json:"cell,omitempty"`
	Metric      string            `json:"metric"`
	Mean        *float64          `json:"mean"`
	StdErr      *float64          `json:"stderr"`
	Low         *float64          `json:"ci95_low"`
	High        *float64          `json:"ci95_high"`
	N           int               `json:"n"`
}

func opt(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes the result with its rows' cells by field name.
func (res *Result) MarshalJSON() ([]byte, error) {
	type plain Result
	rows := make([]rowJSON, len(res.Rows))
	for i, r := range res.Rows {
		var cell map[string]string
		if len(r.Cell) > 0 {
			cell = map[string]string{}
			for j, f := range res.Axes {
				cell[f] = r.Cell[j]
			}
		}
		rows[i] = rowJSON{r.Scenario, r.Behaviour, r.Engine, r.Seed, r.Size, r.AttackEdges, cell, r.Metric, opt(r.Mean), opt(r.StdErr), opt(r.Low), opt(r.High), r.N}
	}
	return json.Marshal(struct {
		*plain
		Rows []rowJSON `json:"rows"`
	}{(*plain)(res), rows})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (res *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var x struct {
		*plain
		Rows []rowJSON `json:"rows"`
	}
	x.plain = (*plain)(res)
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	res.Rows = make([]Row, len(x.Rows))
	for i, j := range x.Rows {
		r := Row{Scenario: j.Scenario, Behaviour: j.Behaviour, Engine: j.Engine, Seed: j.Seed, Size: j.Size, AttackEdges: j.AttackEdges,
			Metric: j.Metric, Mean: orNaN(j.Mean), StdErr: orNaN(j.StdErr), Low: orNaN(j.Low), High: orNaN(j.High), N: j.N, cell: -1}
		for _, f := range res.Axes {
			r.Cell = append(r.Cell, j.Cell[f])
		}
		res.Rows[i] = r
	}
	return nil
}

// WriteJSON writes the whole result as one indented JSON object.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// ReadJSON reads what WriteJSON wrote.
func ReadJSON(r io.Reader) (*Result, error) {
	var res Result
	dec := json.NewDecoder(r)
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("graphsim: read result: %w", err)
	}
	if res.Level != "graph" {
		return nil, fmt.Errorf("graphsim: read result: level %q, want graph", res.Level)
	}
	return &res, nil
}
