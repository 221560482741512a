package scenario

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Limits on sweeps.
const (
	// MaxCells caps the points of a sweep (the product of its axes).
	MaxCells = 100_000
	// MaxAxisValues caps the values of one axis.
	MaxAxisValues = 10_000
)

// Shorthand sweep fields: every behaviour's size, and every behaviour's
// attack edges (traitors excepted: they take none).
const (
	FieldSize        = "size"
	FieldAttackEdges = "attack_edges"
	FieldSeed        = "seed"
)

// Sweep is the [sweep] section: axes over fields of the scenario, measured
// at every point of their product (a cell). The first axis is the
// outermost.
type Sweep struct {
	Axes []Axis
}

// Axis is one swept field and its values.
//
// Field is a path into the scenario file: "seed", "steps", "graph.nodes",
// "consent.grant", "params.ppr.damping", "behaviour.victims" (that field
// of every behaviour), "behaviour[1].attack_weight" (of the second one),
// or the shorthands "size" and "attack_edges" (every behaviour's s and g;
// traitors take no attack edges). Values are int64, float64, string or
// bool, as TOML decodes them.
type Axis struct {
	Field  string
	Values []any
}

// Has reports whether the sweep has an axis over field.
func (w Sweep) Has(field string) bool { return w.axis(field) >= 0 }

func (w Sweep) axis(field string) int {
	return slices.IndexFunc(w.Axes, func(a Axis) bool { return a.Field == field })
}

// Ints returns the values of an integer axis (nil if there is none).
func (w Sweep) Ints(field string) []int {
	i := w.axis(field)
	if i < 0 {
		return nil
	}
	var out []int
	for _, v := range w.Axes[i].Values {
		if x, ok := v.(int64); ok {
			out = append(out, int(x))
		}
	}
	return out
}

// Set replaces (or adds, last) the axis over field.
func (w *Sweep) Set(field string, values ...any) {
	for i, v := range values {
		if x, ok := v.(int); ok {
			values[i] = int64(x)
		}
	}
	if i := w.axis(field); i >= 0 {
		w.Axes[i].Values = values
		return
	}
	w.Axes = append(w.Axes, Axis{field, values})
}

// Cell is one point of a sweep: a value for each of its axes. A scenario
// without a sweep has one cell with no values.
type Cell struct {
	Index  int
	Fields []string
	Values []any
}

// Value returns the cell's value of field, formatted, and whether the
// sweep has that axis.
func (c Cell) Value(field string) (string, bool) {
	i := slices.Index(c.Fields, field)
	if i < 0 {
		return "", false
	}
	return FormatValue(c.Values[i]), true
}

// Int returns the cell's integer value of field, 0 if not swept.
func (c Cell) Int(field string) int {
	i := slices.Index(c.Fields, field)
	if i < 0 {
		return 0
	}
	x, _ := c.Values[i].(int64)
	return int(x)
}

// Label is "field=value" for each axis, space separated ("" for the one
// cell of a scenario without a sweep).
func (c Cell) Label() string {
	var parts []string
	for i, f := range c.Fields {
		parts = append(parts, f+"="+FormatValue(c.Values[i]))
	}
	return strings.Join(parts, " ")
}

// FormatValue writes a sweep value canonically: integers in decimal,
// floats in the shortest form that reads back exactly, strings as they
// are.
func FormatValue(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// Cells returns the sweep's points, the first axis outermost.
func (s *Scenario) Cells() []Cell {
	var fields []string
	total := 1
	for _, a := range s.Sweep.Axes {
		fields = append(fields, a.Field)
		total *= len(a.Values)
	}
	out := make([]Cell, 0, total)
	idx := make([]int, len(s.Sweep.Axes))
	for c := range total {
		vals := make([]any, len(idx))
		for i, k := range idx {
			vals[i] = s.Sweep.Axes[i].Values[k]
		}
		out = append(out, Cell{Index: c, Fields: fields, Values: vals})
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(s.Sweep.Axes[i].Values) {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// At returns the scenario of one cell: the sweep's values applied to the
// scenario as parsed (its defaults filled), without the sweep, validated.
// Defaults that follow from another field (a traitor's turn_at from
// steps) were filled from the scenario's own values: a sweep over steps
// keeps them.
func (s *Scenario) At(c Cell) (*Scenario, error) {
	base, err := s.document()
	if err != nil {
		return nil, err
	}
	return s.at(base, c)
}

// CellScenarios returns the scenario of every cell, in order.
func (s *Scenario) CellScenarios() ([]*Scenario, error) {
	base, err := s.document()
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	for _, c := range s.Cells() {
		cs, err := s.at(base, c)
		if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	return out, nil
}

// document is the scenario without its sweep as a TOML tree.
func (s *Scenario) document() (map[string]any, error) {
	c := *s
	c.Sweep = Sweep{}
	b, err := c.Encode()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := toml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("scenario: re-reading its own encoding: %w", err)
	}
	return m, nil
}

func (s *Scenario) at(base map[string]any, c Cell) (*Scenario, error) {
	if len(c.Fields) == 0 {
		cs := *s
		cs.Sweep, cs.Goals = Sweep{}, nil
		return &cs, nil
	}
	doc := deepCopy(base).(map[string]any)
	delete(doc, "goal") // goals are judged across the cells, on the whole scenario
	for i, f := range c.Fields {
		if err := set(doc, f, c.Values[i]); err != nil {
			return nil, bad("sweep."+f, "%v", err)
		}
	}
	b, err := toml.Marshal(doc)
	if err != nil {
		return nil, bad("sweep", "cell %s: %v", c.Label(), err)
	}
	cs, err := parseCell(b, s.File)
	if err != nil {
		return nil, bad("sweep."+c.Fields[0], "cell %d (%s): %v", c.Index, c.Label(), err)
	}
	return cs, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

var indexRE = regexp.MustCompile(`^([a-z_]+)\[(\d+)\]$`)

// set assigns v at a field path of a decoded scenario document.
func set(doc map[string]any, field string, v any) error {
	switch field {
	case FieldSize, FieldAttackEdges:
		bs, _ := doc["behaviour"].([]any)
		if len(bs) == 0 {
			return fmt.Errorf("the scenario has no behaviour")
		}
		for _, b := range bs {
			m := b.(map[string]any)
			if field == FieldAttackEdges && m["kind"] == Traitor {
				continue
			}
			m[field] = v
		}
		return nil
	}
	parts := strings.Split(field, ".")
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("empty part in %q", field)
		}
	}
	switch parts[0] {
	case "name", "description", "engines", "goal", "sweep":
		return fmt.Errorf("%s cannot be swept", parts[0])
	}
	// behaviour.F: every behaviour; behaviour[i].F: one.
	if parts[0] == "behaviour" || indexRE.MatchString(parts[0]) {
		bs, _ := doc["behaviour"].([]any)
		targets := bs
		if m := indexRE.FindStringSubmatch(parts[0]); m != nil {
			if m[1] != "behaviour" {
				return fmt.Errorf("only behaviours are indexed")
			}
			i, _ := strconv.Atoi(m[2])
			if i >= len(bs) {
				return fmt.Errorf("the scenario has %d behaviours", len(bs))
			}
			targets = bs[i : i+1]
		}
		if len(targets) == 0 || len(parts) != 2 {
			return fmt.Errorf("want behaviour.FIELD or behaviour[i].FIELD with at least one behaviour")
		}
		for _, b := range targets {
			b.(map[string]any)[parts[1]] = v
		}
		return nil
	}
	m := doc
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if _, exists := m[p]; exists {
				return fmt.Errorf("%s is not a table", p)
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
	return nil
}

// sweepOf reads a decoded [sweep] table: nested tables are paths
// (consent.grant), every leaf a list of values; axes in file order.
func (s *Scenario) sweepOf(raw map[string]any) (Sweep, error) {
	var axes []Axis
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			switch v := m[k].(type) {
			case map[string]any:
				if err := walk(path, v); err != nil {
					return err
				}
			case []any:
				for i, x := range v {
					switch y := x.(type) {
					case int64, string, bool:
					case float64:
						if math.IsNaN(y) || math.IsInf(y, 0) {
							return bad(fmt.Sprintf("sweep.%s[%d]", path, i), "%v is not a number", y)
						}
					default:
						return bad(fmt.Sprintf("sweep.%s[%d]", path, i), "want a number, a string or a boolean, not %T", x)
					}
				}
				axes = append(axes, Axis{path, v})
			default:
				return bad("sweep."+path, "want a list of values")
			}
		}
		return nil
	}
	if err := walk("", raw); err != nil {
		return Sweep{}, err
	}
	// File order (sorted by name above, then stably by line).
	slices.SortStableFunc(axes, func(a, b Axis) int {
		return s.lines["sweep."+a.Field] - s.lines["sweep."+b.Field]
	})
	return Sweep{axes}, nil
}

func (w *Sweep) validate() error {
	total := 1
	for _, a := range w.Axes {
		at := "sweep." + a.Field
		if len(a.Values) == 0 {
			return bad(at, "an axis needs at least one value")
		}
		if len(a.Values) > MaxAxisValues {
			return bad(at, "%d values; at most %d", len(a.Values), MaxAxisValues)
		}
		seen := map[string]bool{}
		for i, v := range a.Values {
			if a.Field == FieldSize || a.Field == FieldAttackEdges || a.Field == FieldSeed {
				if x, ok := v.(int64); !ok || x < 1 || x > MaxNodes && a.Field != FieldSeed {
					return bad(fmt.Sprintf("%s[%d]", at, i), "%s outside 1..%d", FormatValue(v), MaxNodes)
				}
			}
			if f := FormatValue(v); seen[f] {
				return bad(fmt.Sprintf("%s[%d]", at, i), "%s given twice", f)
			} else {
				seen[f] = true
			}
		}
		total *= len(a.Values)
		if total > MaxCells {
			return bad(at, "the sweep has more than %d cells", MaxCells)
		}
	}
	return nil
}

// encodeSweep writes the [sweep] section, axes in order, each field as
// one quoted key.
func (w Sweep) encode(b *bytes.Buffer) error {
	if len(w.Axes) == 0 {
		return nil
	}
	b.WriteString("\n[sweep]\n")
	for _, a := range w.Axes {
		line, err := toml.Marshal(map[string][]any{a.Field: a.Values})
		if err != nil {
			return fmt.Errorf("scenario: sweep.%s: %w", a.Field, err)
		}
		b.Write(line)
	}
	return nil
}
