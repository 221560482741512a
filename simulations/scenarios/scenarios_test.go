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
	for _, want := range []string{"sybil", "slander", "self-promotion", "whitewash", "collusion", "oscillation", "eclipse", "partition"} {
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
		protocol := n == "eclipse" || n == "partition" || n == "scale-500"
		if s.GraphLevel() == protocol {
			t.Errorf("%s: graph level %v", n, s.GraphLevel())
		}
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
