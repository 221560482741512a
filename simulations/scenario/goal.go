package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
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
	Note  string         `toml:"note"`
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
	s := fmt.Sprintf("%s %s %s", g.Metric, g.Compare, FormatValue(g.Threshold))
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
		for f, v := range g.Where {
			ai := s.Sweep.axis(f)
			if ai < 0 {
				return bad(at+".where", "%s is not swept", f)
			}
			var have []string
			for _, x := range s.Sweep.Axes[ai].Values {
				have = append(have, FormatValue(x))
			}
			if l, ok := v.([]any); ok && len(l) == 0 {
				return bad(at+".where", "%s: an empty list", f)
			}
			for _, w := range whereValues(v) {
				if !slices.Contains(have, w) {
					return bad(at+".where", "%s = %s is not a value of the sweep (%v)", f, w, have)
				}
			}
		}
	}
	return nil
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
	// Sure says that the whole interval is on the side of Status, not
	// only the mean.
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
	lo, hi := o.Low, o.High
	if math.IsNaN(lo) || math.IsNaN(hi) {
		lo, hi = o.Value, o.Value
	}
	o.Sure = g.Holds(lo) == g.Holds(o.Value) && g.Holds(hi) == g.Holds(o.Value)
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
