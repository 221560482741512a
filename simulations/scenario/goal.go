package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The levels a goal is measured at.
const (
	LevelGraph    = "graph"
	LevelProtocol = "protocol"
)

// Goal is a [[goal]] of a scenario: what a metric must achieve for the
// scenario to be met. `kith sim run` checks every goal of its level in
// every cell it applies to and reports each as met or missed.
//
//	[[goal]]
//	name = "S3"                   # a label for reports
//	metric = "victim_rank_drop"   # a metric of the goal's level
//	behaviour = "slander"         # graph level: the rows' behaviour (default: see graphsim)
//	engine = "kith"               # graph level: the engine judged (default "kith")
//	compare = "<="                # <=, <, >=, > or ==
//	threshold = 5
//	where = { attack_edges = [1, 10] }   # only these cells (default: every cell)
//	note = "reliability S3"       # where the goal comes from
//
// A relative goal compares each cell with another cell of the sweep: the
// same cell with the fields of relative_to replaced, its value divided by
// the other's (relation = "ratio", the default) or less it ("difference"):
//
//	[[goal]]
//	name = "S1(b)"
//	metric = "captured_trust"
//	compare = "<="
//	threshold = 1.05              # ten times the Sybils capture < 5 % more
//	where = { size = 1000 }
//	relative_to = { size = 100 }
type Goal struct {
	Name      string  `toml:"name"`
	Level     string  `toml:"level"`
	Metric    string  `toml:"metric"`
	Behaviour string  `toml:"behaviour"`
	Engine    string  `toml:"engine"`
	Compare   string  `toml:"compare"`
	Threshold float64 `toml:"threshold"`
	// Where restricts the goal to the cells whose swept fields have these
	// values: a field of the sweep to a value or a list of values.
	Where map[string]any `toml:"where"`
	// RelativeTo makes the goal relative: swept fields to a single value
	// each, naming the cell each cell is compared with.
	RelativeTo map[string]any `toml:"relative_to"`
	// Relation is "ratio" (the default for a relative goal) or
	// "difference".
	Relation string `toml:"relation"`
	Note     string `toml:"note"`
}

// Holds reports whether x meets the goal (false for NaN).
func (g Goal) Holds(x float64) bool {
	switch g.Compare {
	case "<=":
		return x <= g.Threshold
	case "<":
		return x < g.Threshold
	case ">=":
		return x >= g.Threshold
	case ">":
		return x > g.Threshold
	case "==":
		return x == g.Threshold
	}
	return false
}

// Applies reports whether the goal concerns cell c.
func (g Goal) Applies(c Cell) bool {
	for f, want := range g.Where {
		got, ok := c.Value(f)
		if !ok {
			return false
		}
		if !slices.Contains(whereValues(want), got) {
			return false
		}
	}
	return true
}

// String is the goal as a sentence: "S3: victim_rank_drop <= 5 (kith, attack_edges in [1 10])".
func (g Goal) String() string {
	m := g.Metric
	if len(g.RelativeTo) > 0 {
		var ref []string
		for _, f := range sortedKeys(g.RelativeTo) {
			ref = append(ref, f+" = "+FormatValue(g.RelativeTo[f]))
		}
		op := "/"
		if g.Relation == RelationDifference {
			op = "-"
		}
		m = fmt.Sprintf("%s %s %s at %s", m, op, m, strings.Join(ref, ", "))
	}
	s := fmt.Sprintf("%s %s %s", m, g.Compare, FormatValue(g.Threshold))
	if g.Name != "" {
		s = g.Name + ": " + s
	}
	var ctx []string
	if g.Behaviour != "" {
		ctx = append(ctx, g.Behaviour)
	}
	if g.Engine != "" {
		ctx = append(ctx, g.Engine)
	}
	for _, f := range sortedKeys(g.Where) {
		vs := whereValues(g.Where[f])
		if len(vs) == 1 {
			ctx = append(ctx, f+" = "+vs[0])
		} else {
			ctx = append(ctx, fmt.Sprintf("%s in %v", f, vs))
		}
	}
	if len(ctx) > 0 {
		s += " ("
		for i, c := range ctx {
			if i > 0 {
				s += ", "
			}
			s += c
		}
		s += ")"
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func whereValues(v any) []string {
	if l, ok := v.([]any); ok {
		var out []string
		for _, x := range l {
			out = append(out, FormatValue(x))
		}
		return out
	}
	return []string{FormatValue(v)}
}

func (s *Scenario) validateGoals() error {
	if len(s.Goals) == 0 {
		s.Goals = nil
	}
	for i := range s.Goals {
		g := &s.Goals[i]
		at := fmt.Sprintf("goal[%d]", i)
		if g.Metric == "" {
			return bad(at+".metric", "missing")
		}
		switch g.Level {
		case "":
			g.Level = LevelGraph
			if !s.GraphLevel() {
				g.Level = LevelProtocol
			}
		case LevelGraph, LevelProtocol:
		default:
			return bad(at+".level", "%q: want graph or protocol", g.Level)
		}
		if g.Level == LevelGraph && g.Engine == "" {
			g.Engine = "kith"
		}
		if g.Level == LevelProtocol && (g.Engine != "" || g.Behaviour != "") {
			return bad(at+".engine", "a protocol-level goal has no engine or behaviour")
		}
		switch g.Compare {
		case "<=", "<", ">=", ">", "==":
		default:
			return bad(at+".compare", "%q: want <=, <, >=, > or ==", g.Compare)
		}
		if math.IsNaN(g.Threshold) || math.IsInf(g.Threshold, 0) {
			return bad(at+".threshold", "%v is not a number", g.Threshold)
		}
		if len(g.Where) == 0 {
			g.Where = nil
		}
		if len(g.RelativeTo) == 0 {
			g.RelativeTo = nil
		}
		switch g.Relation {
		case "":
			if g.RelativeTo != nil {
				g.Relation = RelationRatio
			}
		case RelationRatio, RelationDifference:
			if g.RelativeTo == nil {
				return bad(at+".relation", "only a goal relative_to another cell has a relation")
			}
		default:
			return bad(at+".relation", "%q: want ratio or difference", g.Relation)
		}
		for f, v := range g.RelativeTo {
			if _, ok := v.([]any); ok {
				return bad(at+".relative_to", "%s: one value, not a list", f)
			}
			if err := s.checkAxisValues(at+".relative_to", f, v); err != nil {
				return err
			}
		}
		for f, v := range g.Where {
			if err := s.checkAxisValues(at+".where", f, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkAxisValues checks that field is swept and has the values v.
func (s *Scenario) checkAxisValues(at, f string, v any) error {
	ai := s.Sweep.axis(f)
	if ai < 0 {
		return bad(at, "%s is not swept", f)
	}
	var have []string
	for _, x := range s.Sweep.Axes[ai].Values {
		have = append(have, FormatValue(x))
	}
	if l, ok := v.([]any); ok && len(l) == 0 {
		return bad(at, "%s: an empty list", f)
	}
	for _, w := range whereValues(v) {
		if !slices.Contains(have, w) {
			return bad(at, "%s = %s is not a value of the sweep (%v)", f, w, have)
		}
	}
	return nil
}

// The relations of a relative goal.
const (
	RelationRatio      = "ratio"
	RelationDifference = "difference"
)

// Measure is what a run measured for one goal in one cell.
type Measure struct {
	Value, Low, High float64
	N                int
	Note             string
}

// JudgeGoals checks the goals of one level in every cell each applies to.
// measure returns the goal's metric in cell c (false: not measured, "not
// run"). A relative goal divides (or subtracts) the measure of the cell it
// names; its interval is not known (NaN).
func (s *Scenario) JudgeGoals(level string, measure func(g Goal, c int) (Measure, bool)) []Outcome {
	var out []Outcome
	cells := s.Cells()
	find := func(c Cell, repl map[string]any) int {
		for i, d := range cells {
			same := true
			for j, f := range d.Fields {
				want := FormatValue(c.Values[j])
				if v, ok := repl[f]; ok {
					want = FormatValue(v)
				}
				if FormatValue(d.Values[j]) != want {
					same = false
					break
				}
			}
			if same {
				return i
			}
		}
		return -1
	}
	for gi, g := range s.Goals {
		if g.Level != level {
			continue
		}
		for c, cell := range cells {
			if !g.Applies(cell) {
				continue
			}
			o := Outcome{Goal: gi, Text: g.String(), Cell: cell.Label(), Value: math.NaN(), Low: math.NaN(), High: math.NaN()}
			m, ok := measure(g, c)
			if !ok {
				o.Status = NotRun
				out = append(out, o)
				continue
			}
			if g.RelativeTo != nil {
				r := find(cell, g.RelativeTo)
				if r == c {
					continue // the reference cell itself
				}
				ref, ok := measure(g, r)
				if !ok {
					o.Status = NotRun
					out = append(out, o)
					continue
				}
				v := m.Value / ref.Value
				if g.Relation == RelationDifference {
					v = m.Value - ref.Value
				}
				m = Measure{Value: v, Low: math.NaN(), High: math.NaN(), N: min(m.N, ref.N),
					Note: fmt.Sprintf("%.4g against %.4g", m.Value, ref.Value)}
			}
			o.Value, o.Low, o.High, o.N, o.Note = m.Value, m.Low, m.High, m.N, m.Note
			o.Judge(g)
			out = append(out, o)
		}
	}
	return out
}

// Status of a goal in one cell.
const (
	Met       = "met"
	Missed    = "missed"
	Undefined = "undefined" // the metric had no value (no viewpoint defined it)
	NotRun    = "not run"   // the run did not include the goal's engine or behaviour
)

// Outcome is a goal checked in one cell.
type Outcome struct {
	Goal int    `json:"goal"` // index in Scenario.Goals
	Text string `json:"text"` // Goal.String()
	Cell string `json:"cell"` // Cell.Label() ("" without a sweep)
	// Value is the measured mean, Low and High its 95 % interval (equal
	// to Value where there is a single measurement), N how many
	// viewpoints (or runs) gave it.
	Value  float64 `json:"-"`
	Low    float64 `json:"-"`
	High   float64 `json:"-"`
	N      int     `json:"n"`
	Status string  `json:"status"`
	// Sure says that the whole 95 % interval is on the side of Status,
	// not only the mean (false where there is no interval).
	Sure bool `json:"sure"`
	// Note qualifies the value (accepted_per_attack_edge at its cap).
	Note string `json:"note,omitempty"`
}

// Judge fills Status and Sure from Value, Low and High.
func (o *Outcome) Judge(g Goal) {
	if math.IsNaN(o.Value) {
		o.Status = Undefined
		return
	}
	o.Status = Missed
	if g.Holds(o.Value) {
		o.Status = Met
	}
	if math.IsNaN(o.Low) || math.IsNaN(o.High) {
		o.Sure = false
		return
	}
	o.Sure = g.Holds(o.Low) == g.Holds(o.Value) && g.Holds(o.High) == g.Holds(o.Value)
}

type outcomeJSON struct {
	Goal   int      `json:"goal"`
	Text   string   `json:"text"`
	Cell   string   `json:"cell"`
	Value  *float64 `json:"value"`
	Low    *float64 `json:"ci95_low"`
	High   *float64 `json:"ci95_high"`
	N      int      `json:"n"`
	Status string   `json:"status"`
	Sure   bool     `json:"sure"`
	Note   string   `json:"note,omitempty"`
}

func optional(x float64) *float64 {
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

// MarshalJSON writes undefined values as null.
func (o Outcome) MarshalJSON() ([]byte, error) {
	return json.Marshal(outcomeJSON{o.Goal, o.Text, o.Cell, optional(o.Value), optional(o.Low), optional(o.High), o.N, o.Status, o.Sure, o.Note})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	var j outcomeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*o = Outcome{j.Goal, j.Text, j.Cell, orNaN(j.Value), orNaN(j.Low), orNaN(j.High), j.N, j.Status, j.Sure, j.Note}
	return nil
}
