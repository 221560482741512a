package recon

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoNetworking: recon works over any io.ReadWriter; it must not depend
// on libp2p or on the node that runs it.
func TestNoNetworking(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/libp2p/") || dep == "github.com/kith-net/kith/node" {
			t.Errorf("recon imports %s", dep)
		}
	}
}
