package fedi

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: fedi is a plain net/http client of the instance API; it never
// depends on libp2p, the node, the store or the command line.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, f := range []string{"github.com/libp2p/", "github.com/kith-net/kith/node", "github.com/kith-net/kith/store", "github.com/kith-net/kith/cli"} {
			if strings.HasPrefix(d, f) {
				t.Errorf("fedi depends on %s", d)
			}
		}
	}
}
