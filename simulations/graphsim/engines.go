package graphsim

import (
	"crypto/sha256"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/kith-net/kith/simulations/baseline"
	"github.com/kith-net/kith/simulations/eval"
	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// KithParams are the parameters of kith's engines ("kith", "kith-shared")
// a scenario can set in [params.kith] or [params.kith-shared].
type KithParams struct {
	// Restart and Epsilon are the propagation's (trust.PropagationParams).
	Restart float64
	Epsilon float64
	// PersonalL2 is the pull toward the shared model when "kith" refines
	// it on the querier's judgements.
	PersonalL2 float64
	// Model is a model file (trust.ParseModel), relative to the scenario
	// file; "" is the shipped model.
	Model string
}

// engineDef is one engine the simulator knows: its default parameters and
// how to build it from them.
type engineDef struct {
	name string
	// params returns a pointer to the default parameters (nil: none).
	params func() any
	build  func(p any, s *scenario.Scenario) (trust.Scorer, error)
}

func kithDef(name string, personalize bool) engineDef {
	return engineDef{name,
		func() any {
			return &KithParams{Restart: trust.DefaultPropagation.Restart, Epsilon: trust.DefaultPropagation.Epsilon, PersonalL2: trust.DefaultPersonalL2}
		},
		func(p any, s *scenario.Scenario) (trust.Scorer, error) {
			kp := p.(*KithParams)
			e := &trust.Engine{Propagation: trust.PropagationParams{Restart: kp.Restart, Epsilon: kp.Epsilon}, Personalize: personalize, PersonalL2: kp.PersonalL2}
			if err := e.Propagation.Validate(); err != nil {
				return nil, err
			}
			if !(kp.PersonalL2 > 0) {
				return nil, fmt.Errorf("personal_l2 %v: want > 0", kp.PersonalL2)
			}
			if kp.Model != "" {
				b, err := os.ReadFile(s.Resolve(kp.Model))
				if err != nil {
					return nil, err
				}
				if e.Model, err = trust.ParseModel(b); err != nil {
					return nil, err
				}
			}
			return e, nil
		}}
}

// baselineDef wraps a baseline constructor taking its parameter struct.
func baselineDef[P any, S trust.Scorer](name string, def func() P, build func(P) (S, error)) engineDef {
	return engineDef{name,
		func() any { p := def(); return &p },
		func(p any, _ *scenario.Scenario) (trust.Scorer, error) { return build(*p.(*P)) }}
}

// engineDefs lists the engines in report order: kith's own, then the
// baselines of simulations/eval under the same names (a test checks the
// lists agree).
var engineDefs = []engineDef{
	kithDef("kith", true),
	kithDef("kith-shared", false),
	baselineDef("ppr", baseline.DefaultPowerParams, baseline.NewPPR),
	baselineDef("ppr-mc", baseline.DefaultWalkParams, baseline.NewPPRMonteCarlo),
	baselineDef("meritrank", baseline.DefaultMeritRankParams, baseline.NewMeritRank),
	baselineDef("appleseed", baseline.DefaultAppleseedParams, baseline.NewAppleseed),
	baselineDef("moletrust", baseline.DefaultMoleTrustParams, baseline.NewMoleTrust),
	baselineDef("pagerank", baseline.DefaultPowerParams, baseline.NewPageRank),
	baselineDef("eigentrust", baseline.DefaultEigenTrustParams, baseline.NewEigenTrust),
	baselineDef("fairness-goodness", baseline.DefaultFairnessGoodnessParams, baseline.NewFairnessGoodness),
	{"mean-rating", nil, func(any, *scenario.Scenario) (trust.Scorer, error) { return baseline.NewMeanRating(), nil }},
}

// Engines returns every engine the simulator can compare, with their
// default parameters: kith's own ("kith", refining its model on the
// querier's own judgements; "kith-shared", the shipped model only), then
// the baselines of simulations/eval, with the same names as `kith eval`.
func Engines() []eval.Engine {
	var out []eval.Engine
	for _, d := range engineDefs {
		out = append(out, eval.Engine{Name: d.name, New: func() trust.Scorer {
			var p any
			if d.params != nil {
				p = d.params()
			}
			sc, err := d.build(p, &scenario.Scenario{})
			if err != nil {
				panic(err) // the defaults are valid
			}
			return sc
		}})
	}
	return out
}

// EngineNames lists the names Engines knows, in order.
func EngineNames() []string {
	var out []string
	for _, d := range engineDefs {
		out = append(out, d.name)
	}
	return out
}

func engineDefByName(name string) (engineDef, bool) {
	i := slices.IndexFunc(engineDefs, func(d engineDef) bool { return d.name == name })
	if i < 0 {
		return engineDef{}, false
	}
	return engineDefs[i], true
}

// EngineParams is one engine of a run with the parameters it ran with
// (every one, defaults included), by their scenario names.
type EngineParams struct {
	Engine string         `json:"engine"`
	Params map[string]any `json:"params,omitempty"`
	// Model, for kith's engines, is the SHA-256 of the ranking model's
	// canonical encoding and its provenance.
	Model           string `json:"model,omitempty"`
	ModelProvenance string `json:"model_provenance,omitempty"`
}

// newEngine builds engine name with the scenario's [params.NAME] applied
// and reports the parameters it used.
func newEngine(name string, s *scenario.Scenario) (trust.Scorer, EngineParams, error) {
	d, ok := engineDefByName(name)
	if !ok {
		return nil, EngineParams{}, fmt.Errorf("unknown engine %q (known: %s)", name, strings.Join(EngineNames(), ", "))
	}
	info := EngineParams{Engine: name}
	var p any
	set := s.Params[name]
	if d.params != nil {
		p = d.params()
		fields := paramFields(p)
		for k, v := range set {
			f, ok := fields[k]
			if !ok {
				return nil, info, fmt.Errorf("params.%s.%s: no such parameter (%s has %s)", name, k, name, strings.Join(sortedKeys(fields), ", "))
			}
			if err := assign(f, v); err != nil {
				return nil, info, fmt.Errorf("params.%s.%s: %w", name, k, err)
			}
		}
		info.Params = map[string]any{}
		for k, f := range fields {
			info.Params[k] = f.Interface()
		}
	} else if len(set) > 0 {
		return nil, info, fmt.Errorf("params.%s: %s has no parameters", name, name)
	}
	sc, err := d.build(p, s)
	if err != nil {
		return nil, info, fmt.Errorf("params.%s: %w", name, err)
	}
	if e, ok := sc.(*trust.Engine); ok {
		m := e.Model
		if m == nil {
			m = trust.DefaultModel()
		}
		b, err := m.Marshal()
		if err != nil {
			return nil, info, err
		}
		info.Model = fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		info.ModelProvenance = m.Provenance
	}
	return sc, info, nil
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// paramFields maps the snake_case names of a parameter struct's fields
// (embedded structs flattened: MeritRank's walks) to settable values.
func paramFields(p any) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(v.Field(i))
				continue
			}
			out[snake(f.Name)] = v.Field(i)
		}
	}
	walk(reflect.ValueOf(p).Elem())
	return out
}

// snake turns a Go field name into its scenario name: MaxIter, max_iter;
// PersonalL2, personal_l2.
func snake(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// assign sets a parameter from a TOML value.
func assign(f reflect.Value, v any) error {
	switch f.Kind() {
	case reflect.Float64:
		switch x := v.(type) {
		case float64:
			f.SetFloat(x)
		case int64:
			f.SetFloat(float64(x))
		default:
			return fmt.Errorf("want a number, not %v", v)
		}
	case reflect.Int, reflect.Int64:
		x, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want an integer, not %v", v)
		}
		f.SetInt(x)
	case reflect.Uint64:
		x, ok := v.(int64)
		if !ok || x < 0 {
			return fmt.Errorf("want a non-negative integer, not %v", v)
		}
		f.SetUint(uint64(x))
	case reflect.String:
		x, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, not %v", v)
		}
		f.SetString(x)
	case reflect.Bool:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, not %v", v)
		}
		f.SetBool(x)
	default:
		return fmt.Errorf("parameter of kind %s cannot be set", f.Kind())
	}
	return nil
}
