package scenario

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
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
		Sweep: Sweep{Size: []int{1, 2}, AttackEdges: []int{5}},
		File:  "m.toml",
	}
	s.lines = nil
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", *s, want)
	}
	if got := s.Cells(); !reflect.DeepEqual(got, []Cell{{1, 5}, {2, 5}}) {
		t.Fatalf("cells %v", got)
	}
	// The sweep's g does not apply to traitors.
	if b := s.Cells()[1].In(s.Behaviours[1]); b.Size != 2 || b.AttackEdges != 0 {
		t.Fatalf("traitor in cell: %+v", b)
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
		{minimal + "[sweep]\nsize = [10]\n", "sweep: a sweep needs at least one [[behaviour]]"},
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
	b, err := toml.Marshal(s)
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
