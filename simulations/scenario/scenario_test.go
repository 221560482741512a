package scenario

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimal = `name = "m"
[graph]
kind = "barabasi-albert"
nodes = 100
`

func TestDefaults(t *testing.T) {
	_, err := Parse([]byte(minimal+"[[behaviour]]\nkind = \"sybil\"\n[[behaviour]]\nkind = \"traitor\"\n"+"[sweep]\nsize = [1, 2]\n"), "m.toml")
	if err == nil || !strings.Contains(err.Error(), "steps: traitors need at least 2 steps") {
		t.Fatal("traitors with 1 step: want an error")
	}
	s, err := Parse([]byte("steps = 10\n"+minimal+"[[behaviour]]\nkind = \"sybil\"\n[[behaviour]]\nkind = \"traitor\"\n[sweep]\nsize = [1, 2]\nattack_edges = [5]\n"), "m.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Scenario{
		Name: "m", Seed: 1, Steps: 10, Step: Duration{time.Hour}, Viewpoints: 100, Engines: []string{"kith"},
		Graph: Graph{Kind: GraphBarabasiAlbert, Nodes: 100, Degree: 5, Reciprocity: 0.3, BadShare: 0.1, Noise: 0.05},
		Behaviours: []Behaviour{
			{Kind: Sybil, Size: 100, AttackEdges: 10, Victims: VictimsRandom, Degree: 10, AttackWeight: 0.5},
			{Kind: Traitor, Size: 1, Victims: VictimsRandom, AttackWeight: 0.5, TurnAt: 5, BadPerStep: 2, Threshold: 50},
		},
		Sweep: Sweep{[]Axis{{"size", []any{int64(1), int64(2)}}, {"attack_edges", []any{int64(5)}}}},
		File:  "m.toml",
	}
	s.lines = nil
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", *s, want)
	}
	cells := s.Cells()
	if len(cells) != 2 || cells[1].Label() != "size=2 attack_edges=5" || cells[1].Int("size") != 2 || cells[0].Int("viewpoints") != 0 {
		t.Fatalf("cells %+v", cells)
	}
	// The sweep's g does not apply to traitors.
	c1, err := s.At(cells[1])
	if err != nil {
		t.Fatal(err)
	}
	if b := c1.Behaviours[1]; b.Size != 2 || b.AttackEdges != 0 || c1.Behaviours[0].AttackEdges != 5 || len(c1.Sweep.Axes) != 0 {
		t.Fatalf("cell: %+v", c1)
	}
	if !s.GraphLevel() || len(s.ProtocolOnly()) != 0 {
		t.Fatal("levels")
	}
}

// TestErrors: every error names the file, the field and, where the key is
// in the file, its line.
func TestErrors(t *testing.T) {
	for _, c := range []struct {
		src, want string
	}{
		{"", "f.toml: invalid scenario: name: missing"},
		{`name = "Bad Name"`, `f.toml:1: invalid scenario: name: "Bad Name"`},
		{minimal + "degre = 3\n", `f.toml:5:1: invalid scenario: unknown field "graph.degre"`},
		{minimal + "degre = 3\nrewir = 1\n", `f.toml:6:1: unknown field "graph.rewir"`},
		{`name = "x"` + "\n[graph]\nkind = \"barabasi-albert\"\nnodes = \"ten\"\n", "f.toml:4:9: invalid scenario: graph.nodes"},
		{`name = "x"` + "\n[graph]\nkind = \"ring\"\n", `f.toml:3: invalid scenario: graph.kind: "ring"`},
		{minimal + "[[behaviour]]\nkind = \"sybil\"\n[[behaviour]]\nkind = \"sybil\"\nattack_weight = 2.0\n", "f.toml:9: invalid scenario: behaviour[1].attack_weight: 2 outside (0, 1]"},
		{minimal + "[[behaviour]]\nkind = \"sybil\"\nvictims = \"all\"\n", `f.toml:7: invalid scenario: behaviour[0].victims: "all"`},
		{minimal + "[[behaviour]]\nkind = \"magic\"\n", `f.toml:6: invalid scenario: behaviour[0].kind: "magic"`},
		{minimal + "[[behaviour]]\nkind = \"collusion\"\nsize = 5000\n", "behaviour[0].size: 5000: a collusion group"},
		{minimal + "[[behaviour]]\nkind = \"sybil\"\n[sweep]\nsize = [10, 0]\n", "f.toml:8: invalid scenario: sweep.size[1]: 0 outside"},
		{minimal + "[sweep]\nsize = [10]\n", "sweep: a sweep over size or attack_edges needs at least one [[behaviour]]"},
		{minimal + "[sweep]\nconsent.grant = [0.5, 1.5]\n", "f.toml:6: invalid scenario: sweep.consent.grant: cell 1 (consent.grant=1.5): consent.grant: 1.5 outside [0, 1]"},
		{minimal + "[sweep]\ngraph.nodez = [5]\n", "sweep.graph.nodez: cell 0 (graph.nodez=5): no field graph.nodez"},
		{minimal + "[sweep]\ngraph.nodes = [5.5]\n", "sweep.graph.nodes: cell 0 (graph.nodes=5.5): graph.nodes"},
		{minimal + "[sweep]\nname = [\"a\"]\n", "sweep.name: name cannot be swept"},
		{minimal + "[sweep]\nseed = 3\n", "sweep.seed: want a list of values"},
		{minimal + "[sweep]\nseed = []\n", "sweep.seed: an axis needs at least one value"},
		{minimal + "[sweep]\nseed = [1, 1]\n", "sweep.seed[1]: 1 given twice"},
		{minimal + "[sweep]\n\"behaviour[3].size\" = [1]\n", "the scenario has 0 behaviours"},
		{minimal + "[[goal]]\ncompare = \"<=\"\n", "goal[0].metric: missing"},
		{minimal + "[[goal]]\nmetric = \"x\"\ncompare = \"≤\"\n", `goal[0].compare: "≤"`},
		{minimal + "[[goal]]\nmetric = \"x\"\ncompare = \"<\"\nwhere = { seed = 2 }\n", "goal[0].where: seed is not swept"},
		{minimal + "[[goal]]\nmetric = \"x\"\ncompare = \"<\"\nwhere = { seed = 2 }\n[sweep]\nseed = [1, 3]\n", "goal[0].where: seed = 2 is not a value of the sweep"},
		{minimal + "[[goal]]\nmetric = \"x\"\ncompare = \"<\"\nlevel = \"protocol\"\nengine = \"kith\"\n", "a protocol-level goal has no engine"},
		{minimal + "[network]\nloss = 1.5\n", "f.toml:6: invalid scenario: network.loss: 1.5 outside [0, 1)"},
		{minimal + "[network]\nlatency = \"soon\"\n", "f.toml:6:11: invalid scenario"},
		{minimal + "[network]\nlatency = \"2m\"\n", "network.latency: 2m0s is longer than a minute"},
		{"steps = 10\n" + minimal + "[[network.partition]]\nat = 5\nheal = 3\n", "f.toml:8: invalid scenario: network.partition[0].heal: 3 outside at+1..steps"},
		{minimal + "[churn]\nrate = nan\n", "churn.rate: NaN outside [0, 1]"},
		{minimal + "[consent]\nhops = -1\n", "consent.hops: -1 is negative"},
		{minimal + "rewire = 0.5\n", "graph.rewire: only watts-strogatz rewires"},
		{`name = "x"` + "\n[graph]\nkind = \"dataset\"\n", "graph.path: missing"},
		{`name = "x"` + "\n[graph]\nkind = \"dataset\"\npath = \"a\"\nnodes = 5\n", "a dataset graph takes only path, format and labels"},
		{minimal + "[[behaviour]]\nkind = \"sybil\"\nturn_at = 3\n", "only traitors take turn_at"},
		{minimal + "[[behaviour]]\nkind = \"sybil\"\nattack = \"invalid\"\n", "behaviour[0].attack: only eclipse takes attack"},
		{minimal + "[[behaviour]]\nkind = \"eclipse\"\nattack = \"dos\"\n", `behaviour[0].attack: "dos": want withhold, invalid, ihave or graft`},
		{"steps = 10\n" + minimal + "[[behaviour]]\nkind = \"eclipse\"\nattack = \"graft\"\nattack_at = 10\n", "behaviour[0].attack_at: 10 outside 0..steps-1 (9)"},
		{minimal + "[[behaviour]]\nkind = \"eclipse\"\nattack_at = -1\n", "behaviour[0].attack_at: -1 outside"},
		{minimal + "[[behaviour]]\nkind = \"eclipse\"\njoin = \"early\"\n", `behaviour[0].join: "early": want after or boot`},
		{"engines = [\"kith\", \"kith\"]\n" + minimal, "f.toml:1: invalid scenario: engines[1]: empty or duplicate"},
		{"viewpoints = -1\n" + minimal, "f.toml:1: invalid scenario: viewpoints: -1 outside"},
		{"name = \"x\"\nname = \"y\"\n", "f.toml:2:1: invalid scenario"},
	} {
		_, err := Parse([]byte(c.src), "f.toml")
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
}

func TestProtocolLevel(t *testing.T) {
	s, err := Parse([]byte(`name = "p"
steps = 10
[graph]
kind = "watts-strogatz"
nodes = 50
[[behaviour]]
kind = "eclipse"
[network]
latency = "25ms"
loss = 0.01
[[network.partition]]
at = 2
heal = 4
[churn]
rate = 0.1
[consent]
grant = 0.5
revoke = 0.1
hops = 2
`), "p.toml")
	if err != nil {
		t.Fatal(err)
	}
	if s.GraphLevel() {
		t.Fatal("an eclipse-only scenario is protocol level")
	}
	want := []string{"behaviour[0] (eclipse)", "network latency", "network loss", "network partitions", "churn", "consent.revoke"}
	if got := s.ProtocolOnly(); !reflect.DeepEqual(got, want) {
		t.Fatalf("protocol-only parts %q, want %q", got, want)
	}
	if s.Network.Latency.Duration != 25*time.Millisecond || s.Network.Partitions[0].Groups != 2 || s.Churn.Downtime != 1 || s.Behaviours[0].Degree != 100 {
		t.Fatalf("defaults: %+v %+v %+v", s.Network, s.Churn, s.Behaviours[0])
	}
}

// roundTrip encodes a parsed scenario and parses it again: the defaults
// are a fixed point.
func roundTrip(t *testing.T, s *Scenario) {
	t.Helper()
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b, s.File)
	if err != nil {
		t.Fatalf("re-parse of\n%s\n: %v", b, err)
	}
	x, y := *s, *back
	x.lines, y.lines = nil, nil
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("round trip changed the scenario:\n%+v\n%+v\n%s", x, y, b)
	}
}

func TestRoundTrip(t *testing.T) {
	s, err := Parse([]byte("steps = 4\n"+minimal+"[[behaviour]]\nkind = \"traitor\"\n[network]\nlatency = \"1s\"\n[[network.partition]]\nat = 1\nheal = 2\n"), "r.toml")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > MaxSize {
			return
		}
		s, err := Parse(b, "fuzz.toml")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		roundTrip(t, s)
	})
}

const swept = `name = "w"
[graph]
kind = "barabasi-albert"
nodes = 100
[[behaviour]]
kind = "sybil"
[[behaviour]]
kind = "slander"
[consent]
public = 0.5
[params.ppr]
damping = 0.9

[[goal]]
name = "g1"
metric = "victim_rank_drop"
behaviour = "slander"
compare = "<="
threshold = 5
where = { attack_edges = [1, 10], "behaviour.victims" = "near" }

[sweep]
attack_edges = [1, 10, 100]
behaviour.victims = ["random", "near"]
"behaviour[1].targets" = [3]
consent.grant = [0, 0.5]
params.ppr.damping = [0.5, 0.85]
seed = [7, 8]
`

// TestSweep: a sweep over any field, in file order, the first axis
// outermost; every cell is a valid scenario of its own.
func TestSweep(t *testing.T) {
	s, err := Parse([]byte(swept), "w.toml")
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, a := range s.Sweep.Axes {
		fields = append(fields, a.Field)
	}
	want := []string{"attack_edges", "behaviour.victims", "behaviour[1].targets", "consent.grant", "params.ppr.damping", "seed"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("axes %q, want %q", fields, want)
	}
	cells := s.Cells()
	if len(cells) != 3*2*1*2*2*2 {
		t.Fatalf("%d cells", len(cells))
	}
	last := cells[len(cells)-1]
	if got := last.Label(); got != "attack_edges=100 behaviour.victims=near behaviour[1].targets=3 consent.grant=0.5 params.ppr.damping=0.85 seed=8" {
		t.Fatalf("last cell %q", got)
	}
	if cells[1].Label() != "attack_edges=1 behaviour.victims=random behaviour[1].targets=3 consent.grant=0 params.ppr.damping=0.5 seed=8" {
		t.Fatalf("cell 1: %q (the last axis is the innermost)", cells[1].Label())
	}
	cs, err := s.At(last)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Seed != 8 || cs.Consent.Grant != 0.5 || cs.Consent.Public != 0.5 || cs.Params["ppr"]["damping"] != 0.85 ||
		cs.Behaviours[0].Victims != "near" || cs.Behaviours[1].Victims != "near" || cs.Behaviours[1].Targets != 3 ||
		cs.Behaviours[0].AttackEdges != 100 || cs.Behaviours[1].AttackEdges != 100 || len(cs.Sweep.Axes) != 0 || cs.Goals != nil || cs.File != "w.toml" {
		t.Fatalf("cell scenario %+v", cs)
	}
	// Goals apply to the cells their where names.
	g := s.Goals[0]
	if g.Engine != "kith" || g.Level != LevelGraph {
		t.Fatalf("goal defaults %+v", g)
	}
	applies := 0
	for _, c := range cells {
		if g.Applies(c) {
			applies++
			if v, _ := c.Value("behaviour.victims"); v != "near" || c.Int("attack_edges") > 10 {
				t.Fatalf("goal applies to %s", c.Label())
			}
		}
	}
	if applies != 2*8 {
		t.Fatalf("goal applies to %d cells", applies)
	}
	if got := g.String(); got != `g1: victim_rank_drop <= 5 (slander, kith, attack_edges in [1 10], behaviour.victims = near)` {
		t.Fatalf("goal text %q", got)
	}
	roundTrip(t, s)
	// The encoding keeps the axes' order.
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b, "w.toml")
	if err != nil {
		t.Fatal(err)
	}
	if back.Cells()[1].Label() != cells[1].Label() {
		t.Fatalf("encoded sweep reordered:\n%s", b)
	}
}

func TestGoalJudge(t *testing.T) {
	g := Goal{Compare: "<=", Threshold: 5}
	for _, c := range []struct {
		v, lo, hi float64
		status    string
		sure      bool
	}{
		{4, 3, 4.5, Met, true},
		{4, 3, 6, Met, false},
		{7, 6, 8, Missed, true},
		{5, 5, 5, Met, true},
		{5, math.NaN(), math.NaN(), Met, false},
		{math.NaN(), math.NaN(), math.NaN(), Undefined, false},
	} {
		o := Outcome{Value: c.v, Low: c.lo, High: c.hi}
		o.Judge(g)
		if o.Status != c.status || o.Sure != c.sure {
			t.Errorf("%v [%v, %v]: %s sure %v, want %s %v", c.v, c.lo, c.hi, o.Status, o.Sure, c.status, c.sure)
		}
	}
	for _, c := range []struct {
		cmp  string
		x    float64
		want bool
	}{{"<", 5, false}, {">=", 5, true}, {">", 6, true}, {"==", 5, true}, {"==", 4, false}} {
		if got := (Goal{Compare: c.cmp, Threshold: 5}).Holds(c.x); got != c.want {
			t.Errorf("%v %s 5: %v", c.x, c.cmp, got)
		}
	}
}

func TestPortable(t *testing.T) {
	s, err := Parse([]byte("name = \"d\"\n[graph]\nkind = \"dataset\"\npath = \"data/x.csv\"\nlabels = \"gt.csv\"\n"), "/tmp/exp/d.toml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Portable()
	if err != nil {
		t.Fatal(err)
	}
	if p.Graph.Path != "/tmp/exp/data/x.csv" || p.Graph.Labels != "/tmp/exp/gt.csv" || s.Graph.Path != "data/x.csv" {
		t.Fatalf("%q %q %q", p.Graph.Path, p.Graph.Labels, s.Graph.Path)
	}
}

// TestJudgeGoals: absolute and relative goals over the cells they name.
func TestJudgeGoals(t *testing.T) {
	s, err := Parse([]byte(minimal+`[[behaviour]]
kind = "sybil"
[[goal]]
metric = "captured_trust"
compare = "<="
threshold = 1.05
relative_to = { size = 100 }
[[goal]]
metric = "captured_trust"
compare = "<"
threshold = 0.5
where = { attack_edges = 10 }
[[goal]]
metric = "accuracy"
level = "protocol"
compare = ">"
threshold = 0
[[goal]]
metric = "gain"
compare = "<="
threshold = 1
relative_to = { size = 1000 }
relation = "difference"
[sweep]
size = [100, 1000]
attack_edges = [1, 10]
`), "j.toml")
	if err != nil {
		t.Fatal(err)
	}
	// captured = g/10 + s/10000: not flat in s within 5 % anywhere.
	measure := func(g Goal, c int) (Measure, bool) {
		cell := s.Cells()[c]
		if g.Metric == "gain" {
			return Measure{Value: float64(cell.Int("size")) / 100, N: 3}, true
		}
		v := float64(cell.Int("attack_edges"))/10 + float64(cell.Int("size"))/10000
		return Measure{Value: v, Low: v - 0.01, High: v + 0.01, N: 3}, cell.Int("size") != 999
	}
	out := s.JudgeGoals(LevelGraph, measure)
	var got []string
	for _, o := range out {
		got = append(got, fmt.Sprintf("%d %s %s %.4g %v", o.Goal, o.Cell, o.Status, o.Value, o.Sure))
	}
	want := []string{
		"0 size=1000 attack_edges=1 missed 1.818 false",
		"0 size=1000 attack_edges=10 missed 1.089 false",
		"1 size=100 attack_edges=10 missed 1.01 true",
		"1 size=1000 attack_edges=10 missed 1.1 true",
		"3 size=100 attack_edges=1 met -9 false",
		"3 size=100 attack_edges=10 met -9 false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out[0].Text, "captured_trust / captured_trust at size = 100 <= 1.05") || out[0].Note != "0.2 against 0.11" {
		t.Fatalf("relative goal text %q note %q", out[0].Text, out[0].Note)
	}
}
