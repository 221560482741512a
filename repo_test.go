package kith

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Doc        string
	Deps       []string
	Name       string
}

func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json"}, args...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v: %s", err, stderr)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestLayering: the vocabulary packages never depend on networking code, so
// that the simulator and other implementations can use them alone.
func TestLayering(t *testing.T) {
	forbidden := []string{"github.com/libp2p/", "github.com/kith-net/kith/node", "github.com/kith-net/kith/cli"}
	var patterns []string
	for _, dir := range []string{"wire", "trust", "store", "vault"} {
		if _, err := os.Stat(dir); err == nil {
			patterns = append(patterns, "./"+dir+"/...")
		}
	}
	for _, p := range goList(t, patterns...) {
		for _, d := range p.Deps {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s imports %s: wire, trust, store and vault must not depend on %s", p.ImportPath, d, f)
				}
			}
		}
	}
}

// TestPackageDocs: every package states its contract in a package comment.
func TestPackageDocs(t *testing.T) {
	for _, p := range goList(t, "./...") {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package documentation", p.ImportPath)
		}
	}
}
