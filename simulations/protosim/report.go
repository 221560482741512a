package protosim

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/kith-net/kith/simulations/graphsim"
	"github.com/kith-net/kith/simulations/scenario"
)

// Report is a protocol-level run of a scenario: one Result per cell of its
// sweep (one for a scenario without a sweep), the goals checked on them,
// and what produced them. It is results.json at the protocol level.
type Report struct {
	Scenario string `json:"scenario"`
	Level    string `json:"level"` // "protocol"
	Clock    string `json:"clock"`
	// Axes are the swept fields, one column each in the CSV files.
	Axes       []string            `json:"axes,omitempty"`
	Provenance graphsim.Provenance `json:"provenance"`
	Goals      []scenario.Outcome  `json:"goals,omitempty"`
	Runs       []*Result           `json:"runs"`
}

// PartialFormat names the format of a protocol-level shard's results.
const PartialFormat = "kith-sim-protocol-partial/1"

// Partial is what one shard of a protocol-level run measured: the cells
// whose index is I modulo N.
type Partial struct {
	Format   string            `json:"format"`
	Level    string            `json:"level"`
	Scenario string            `json:"scenario"` // the effective scenario's encoding
	Digest   string            `json:"scenario_sha256"`
	Shard    graphsim.Shard    `json:"shard"`
	Software graphsim.Software `json:"software"`
	Clock    string            `json:"clock"`
	Runs     []CellRun         `json:"runs"`
}

// CellRun is the run of one cell.
type CellRun struct {
	Cell   int     `json:"cell"`
	Result *Result `json:"result"`
}

// Runner runs one cell's scenario: Run in real time, RunVirtual in
// virtual time.
type Runner func(ctx context.Context, s *scenario.Scenario, o Options) (*Result, error)

// RunShard runs the cells of shard sh of s's sweep with run, one after the
// other. Each cell's run is independent of the others: its scenario (the
// sweep's values applied, its own seed) fixes its workload.
func RunShard(ctx context.Context, s *scenario.Scenario, o Options, sh graphsim.Shard, clock string, run Runner) (*Partial, error) {
	if err := sh.Validate(); err != nil {
		return nil, err
	}
	enc, err := s.Encode()
	if err != nil {
		return nil, err
	}
	if _, err := scenario.Parse(enc, s.File); err != nil {
		return nil, fmt.Errorf("protosim: the scenario as changed does not validate: %w", err)
	}
	cells, err := s.CellScenarios()
	if err != nil {
		return nil, err
	}
	for _, cs := range cells {
		if err := check(cs, clock == ClockVirtual); err != nil {
			return nil, err
		}
	}
	if err := checkGoals(s); err != nil {
		return nil, err
	}
	d, err := graphsim.ScenarioDigest(s)
	if err != nil {
		return nil, err
	}
	part := &Partial{Format: PartialFormat, Level: Level, Scenario: string(enc), Digest: d, Shard: sh, Software: graphsim.Build(), Clock: clock}
	for c, cs := range cells {
		if c%sh.N != sh.I {
			continue
		}
		res, err := run(ctx, cs, o)
		if err != nil {
			return nil, fmt.Errorf("protosim: cell %d (%s): %w", c, s.Cells()[c].Label(), err)
		}
		res.Cell = cellMap(s.Cells()[c])
		part.Runs = append(part.Runs, CellRun{c, res})
	}
	return part, nil
}

func cellMap(c scenario.Cell) map[string]string {
	if len(c.Fields) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, f := range c.Fields {
		m[f], _ = c.Value(f)
	}
	return m
}

// Merge joins the shards of one run (in any order) into its report.
func Merge(parts []*Partial) (*Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("protosim: merge: no partial results")
	}
	p0 := parts[0]
	n := p0.Shard.N
	have := make([]bool, max(n, 0))
	for _, p := range parts {
		switch {
		case p.Format != PartialFormat || p.Level != Level:
			return nil, fmt.Errorf("protosim: merge: format %q level %q", p.Format, p.Level)
		case p.Digest != p0.Digest:
			return nil, fmt.Errorf("protosim: merge: shard %s ran another scenario", p.Shard)
		case p.Software != p0.Software:
			return nil, fmt.Errorf("protosim: merge: shard %s ran another build (%s, not %s)", p.Shard, p.Software, p0.Software)
		case p.Clock != p0.Clock:
			return nil, fmt.Errorf("protosim: merge: shard %s ran in %s time, shard %s in %s time", p.Shard, p.Clock, p0.Shard, p0.Clock)
		case p.Shard.N != n || p.Shard.Validate() != nil:
			return nil, fmt.Errorf("protosim: merge: shard %s of a run in %d", p.Shard, n)
		case have[p.Shard.I]:
			return nil, fmt.Errorf("protosim: merge: shard %s given twice", p.Shard)
		}
		have[p.Shard.I] = true
	}
	if i := slices.Index(have, false); i >= 0 {
		return nil, fmt.Errorf("protosim: merge: shard %d/%d missing", i, n)
	}
	s, err := scenario.Parse([]byte(p0.Scenario), "")
	if err != nil {
		return nil, fmt.Errorf("protosim: merge: %w", err)
	}
	if d, err := graphsim.ScenarioDigest(s); err != nil || d != p0.Digest {
		return nil, fmt.Errorf("protosim: merge: the scenario does not match its digest")
	}
	cells := s.Cells()
	runs := make([]*Result, len(cells))
	for _, p := range parts {
		for _, cr := range p.Runs {
			if cr.Cell < 0 || cr.Cell >= len(cells) || cr.Cell%n != p.Shard.I || runs[cr.Cell] != nil || cr.Result == nil {
				return nil, fmt.Errorf("protosim: merge: shard %s has cell %d, not its own", p.Shard, cr.Cell)
			}
			runs[cr.Cell] = cr.Result
		}
	}
	if i := slices.Index(runs, nil); i >= 0 {
		return nil, fmt.Errorf("protosim: merge: cell %d missing", i)
	}
	rep := &Report{Scenario: s.Name, Level: Level, Clock: p0.Clock, Runs: runs,
		Provenance: graphsim.Provenance{Software: p0.Software, Scenario: p0.Digest}}
	for _, a := range s.Sweep.Axes {
		rep.Axes = append(rep.Axes, a.Field)
	}
	rep.Goals = judge(s, runs)
	return rep, nil
}

// Metric is one figure of a run, by its name in the CSV.
type Metric struct {
	Name  string
	Value float64
}

func b01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Metrics lists a run's figures in CSV order (booleans as 0 and 1).
func (r *Result) Metrics() []Metric {
	ms := func(d time.Duration) float64 { return ms(d) }
	return []Metric{
		{"nodes", float64(r.Nodes)}, {"attackers", float64(r.Attackers)}, {"steps", float64(r.Steps)}, {"step_s", r.Step.Seconds()},
		{"latency_ms", ms(r.Latency)}, {"jitter", r.Jitter}, {"loss", r.Loss}, {"bandwidth_mbit", r.BandwidthMbit},
		{"attestations", float64(r.Attestations)}, {"private", float64(r.Private)}, {"requested", float64(r.Requested)},
		{"requests_lost", float64(r.RequestsLost)}, {"granted", float64(r.Granted)}, {"declined", float64(r.Declined)},
		{"withdrawn", float64(r.Withdrawn)}, {"skipped_down", float64(r.SkippedDown)}, {"restarts", float64(r.Restarts)},
		{"proofs", float64(r.Proofs)}, {"stranded", float64(r.Stranded)}, {"expected", float64(r.Expected)}, {"delivered", float64(r.Delivered)},
		{"delivery", r.Delivery}, {"latency_p50_ms", ms(r.LatencyP50)}, {"latency_p99_ms", ms(r.LatencyP99)}, {"latency_max_ms", ms(r.LatencyMax)},
		{"withdrawals_expected", float64(r.WithdrawalsExpected)}, {"withdrawals_delivered", float64(r.WithdrawalsDelivered)},
		{"stale_holders", float64(r.StaleHolders)}, {"heal_convergence_s", r.HealConvergence.Seconds()}, {"converged", b01(r.Converged)},
		{"bytes_sent", float64(r.BytesSent)}, {"bytes_per_node_second", r.BytesPerNodeSecond}, {"bytes_per_delivery", r.BytesPerDelivery},
		{"packets_lost", r.PacketsLost}, {"private_leaks", float64(r.PrivateLeaks)}, {"unconsented_leaks", float64(r.UnconsentedLeaks)},
		{"attacker_connections", float64(r.AttackerConns)}, {"peers_trusted", r.PeersTrusted},
		{"attackers_graylisted", r.Graylisted}, {"graylist_pairs", float64(r.GraylistPairs)}, {"graylist_p50_s", r.GraylistP50.Seconds()},
		{"graylist_max_s", r.GraylistMax.Seconds()}, {"honest_graylisted", float64(r.HonestGraylisted)},
		{"attack_latency_p99_ms", ms(r.AttackLatencyP99)}, {"duration_s", r.Duration.Seconds()}, {"drained_s", r.Drained.Seconds()},
		{"max_lag_s", r.MaxLag.Seconds()}, {"clock_behind", r.ClockBehind}, {"fell_behind", b01(r.FellBehind)},
	}
}

// MetricNames lists the protocol-level metrics.
func MetricNames() []string {
	var out []string
	for _, m := range (&Result{}).Metrics() {
		out = append(out, m.Name)
	}
	return out
}

func checkGoals(s *scenario.Scenario) error {
	names := MetricNames()
	for i, g := range s.Goals {
		if g.Level == scenario.LevelProtocol && !slices.Contains(names, g.Metric) {
			return fmt.Errorf("protosim: scenario %s: goal[%d].metric: %q is not a protocol-level metric (%v)", s.Name, i, g.Metric, names)
		}
	}
	return nil
}

// judge checks the protocol-level goals on every cell they apply to.
func judge(s *scenario.Scenario, runs []*Result) []scenario.Outcome {
	return s.JudgeGoals(scenario.LevelProtocol, func(g scenario.Goal, c int) (scenario.Measure, bool) {
		m := scenario.Measure{Value: math.NaN(), Low: math.NaN(), High: math.NaN(), N: 1}
		for _, x := range runs[c].Metrics() {
			if x.Name == g.Metric {
				m.Value = x.Value
			}
		}
		if runs[c].FellBehind {
			m.Note = fmt.Sprintf("the run fell %.0f %% behind its clock: its timings include this machine's queueing", 100*runs[c].ClockBehind)
		}
		return m, true
	})
}

func (rep *Report) cellValues(r *Result) []string {
	var out []string
	for _, f := range rep.Axes {
		out = append(out, r.Cell[f])
	}
	return out
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// WriteCSV writes the report as one tidy table: a row per (cell, metric),
// the value numeric (booleans 0 or 1).
func WriteCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	h := append([]string{"scenario", "seed", "clock"}, rep.Axes...)
	if err := cw.Write(append(h, "metric", "value")); err != nil {
		return err
	}
	for _, r := range rep.Runs {
		for _, m := range r.Metrics() {
			rec := append([]string{r.Scenario, strconv.FormatUint(r.Seed, 10), r.Clock}, rep.cellValues(r)...)
			if err := cw.Write(append(rec, m.Name, num(m.Value))); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTimelineCSV writes every run's timeline: a row per step and one
// after the drain.
func WriteTimelineCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	h := append([]string{"scenario", "seed", "clock"}, rep.Axes...)
	if err := cw.Write(append(h, "step", "seconds", "up", "partitioned", "proofs", "delivered", "bytes_sent", "peers", "behind_s", "approved", "latency_p50_ms", "latency_p99_ms", "drain")); err != nil {
		return err
	}
	for _, r := range rep.Runs {
		for _, t := range r.Timeline {
			rec := append([]string{r.Scenario, strconv.FormatUint(r.Seed, 10), r.Clock}, rep.cellValues(r)...)
			rec = append(rec, strconv.Itoa(t.Step), num(t.Seconds), strconv.Itoa(t.Up), num(b01(t.Partitioned)), strconv.Itoa(t.Proofs),
				num(t.Delivered), strconv.FormatInt(t.BytesSent, 10), num(t.Peers), num(t.BehindS),
				strconv.Itoa(t.Approved), num(t.LatencyP50MS), num(t.LatencyP99MS), num(b01(t.Drain)))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadJSON reads a report written by WriteJSON (for `kith sim plot` and
// `kith sim compare`).
func ReadJSON(r io.Reader) (*Report, error) {
	var x struct {
		Report
		Runs []json.RawMessage `json:"runs"`
	}
	if err := json.NewDecoder(r).Decode(&x); err != nil {
		return nil, fmt.Errorf("protosim: results: %w", err)
	}
	if x.Level != Level {
		return nil, fmt.Errorf("protosim: results of level %q, not %q", x.Level, Level)
	}
	rep := x.Report
	rep.Runs = nil
	for _, raw := range x.Runs {
		res, err := readResult(raw)
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, res)
	}
	return &rep, nil
}

// WritePartial writes a shard's runs as JSON.
func WritePartial(w io.Writer, p *Partial) error { return json.NewEncoder(w).Encode(p) }

// ReadPartial reads what WritePartial wrote.
func ReadPartial(r io.Reader) (*Partial, error) {
	var x struct {
		Partial
		Runs []struct {
			Cell   int             `json:"cell"`
			Result json.RawMessage `json:"result"`
		} `json:"runs"`
	}
	if err := json.NewDecoder(r).Decode(&x); err != nil {
		return nil, fmt.Errorf("protosim: read partial: %w", err)
	}
	p := x.Partial
	p.Runs = nil
	for _, cr := range x.Runs {
		res, err := readResult(cr.Result)
		if err != nil {
			return nil, err
		}
		p.Runs = append(p.Runs, CellRun{cr.Cell, res})
	}
	return &p, nil
}

// CompareRows returns a report's figures for graphsim.Compare: engine
// "node", behaviour "network", the fields seed and the swept ones.
func CompareRows(run string, rep *Report) []graphsim.CompareRow {
	var out []graphsim.CompareRow
	order := append([]string{"seed"}, rep.Axes...)
	for _, r := range rep.Runs {
		f := map[string]string{"seed": strconv.FormatUint(r.Seed, 10)}
		for k, v := range r.Cell {
			f[k] = v
		}
		for _, m := range r.Metrics() {
			out = append(out, graphsim.CompareRow{Run: run, Scenario: r.Scenario, Behaviour: "network", Engine: "node", Metric: m.Name,
				Fields: f, Order: order, Mean: m.Value, Low: math.NaN(), High: math.NaN(), N: 1})
		}
	}
	return out
}
