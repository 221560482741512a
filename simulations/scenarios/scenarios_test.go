package scenarios

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kith-net/kith/simulations/scenario"
)

// TestShipped: every shipped scenario parses, is named after its file, and
// the library holds the attacks the simulator promises.
func TestShipped(t *testing.T) {
	names := Names()
	for _, want := range []string{"sybil", "sybil-near", "slander", "self-promotion", "whitewash", "collusion", "oscillation", "eclipse", "partition"} {
		if !slices.Contains(names, want) {
			t.Errorf("no shipped scenario %q", want)
		}
	}
	for _, n := range names {
		s, err := Load(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if s.Name != n || s.Description == "" {
			t.Errorf("%s: name %q, description %q", n, s.Name, s.Description)
		}
		protocol := n == "eclipse" || n == "eclipse-active" || n == "eclipse-boot" || n == "eclipse-control" || n == "partition" || n == "scale-500" || n == "scale-1000"
		if s.GraphLevel() == protocol {
			t.Errorf("%s: graph level %v", n, s.GraphLevel())
		}
		// Every shipped scenario states its goals, of its own level.
		if len(s.Goals) == 0 {
			t.Errorf("%s states no goal", n)
		}
		for _, g := range s.Goals {
			if (g.Level == scenario.LevelProtocol) != protocol {
				t.Errorf("%s: goal %s at the %s level", n, g, g.Level)
			}
		}
	}
	// Issue 23's goals are in the scenarios that measure them.
	for _, c := range []struct{ scenario, goal string }{
		{"sybil-near", "near: accepted_per_attack_edge <= 5 (sybil, kith)"},
		{"sybil-near", "near: captured_trust <= 0.01 (sybil, kith, attack_edges = 10)"},
		{"slander", "S3: victim_rank_drop <= 5 (slander, kith, attack_edges in [1 10])"},
		{"whitewash", "S4: whitewash_benefit <= 0 (whitewash, kith)"},
		{"oscillation", "S5: undetected_share <= 0.1 (traitor, kith)"},
	} {
		s, err := Load(c.scenario)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, g := range s.Goals {
			if g.Behaviour == "" {
				g.Behaviour = s.Behaviours[0].Kind
			}
			texts = append(texts, g.String())
		}
		if !slices.Contains(texts, c.goal) {
			t.Errorf("%s lacks the goal %q (has %q)", c.scenario, c.goal, texts)
		}
	}
	near, _ := Load("sybil-near")
	if b := near.Behaviours[0]; b.Victims != scenario.VictimsNear || b.Size != 1000 || near.Graph.Nodes != 5000 || near.Graph.Kind != scenario.GraphBarabasiAlbert ||
		!slices.Equal(near.Sweep.Ints(scenario.FieldAttackEdges), []int{1, 10, 100}) {
		t.Errorf("sybil-near is not issue 23's set-up: %+v %+v", b, near.Sweep)
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open("sybil"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("nope"); err == nil || !strings.Contains(err.Error(), "shipped: collusion") {
		t.Fatalf("got %v", err)
	}
	src, err := Source("slander")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "mine.toml")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(p)
	if err != nil || s.Name != "slander" || s.File != p {
		t.Fatalf("open file: %v, %+v", err, s)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("missing file opened")
	}
	_ = scenario.ErrInvalid
}
