package kith

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Doc        string
	Deps       []string
	Imports    []string
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

// layers states what each part of the tree may not depend on, directly or
// through other packages. The engine a node runs (wire, store, vault,
// trust, node, owner, api, fedi) never depends on the research lab under
// simulations/, nor on the command line; wire, store, vault and trust never
// depend on networking code, nor does the owner service; node takes its
// stores as interfaces and never depends on the badger back end.
var layers = []struct {
	dir       string   // a directory of the module, with everything below it
	forbidden []string // import path prefixes none of its packages may depend on
}{
	{"wire", []string{libp2p, kith + "store", kith + "vault", kith + "trust", kith + "node", kith + "simulations", kith + "cli", kith + "api", kith + "fedi"}},
	{"vault", []string{libp2p, kith + "wire", kith + "store", kith + "trust", kith + "node", kith + "simulations", kith + "cli", kith + "api", kith + "fedi"}},
	{"store", []string{libp2p, kith + "vault", kith + "trust", kith + "node", kith + "simulations", kith + "cli", kith + "api", kith + "fedi"}},
	{"trust", []string{libp2p, kith + "store", kith + "vault", kith + "node", kith + "simulations", kith + "cli", kith + "api", kith + "fedi"}},
	{"node", []string{kith + "simulations", kith + "cli", kith + "api", kith + "fedi", kith + "store/badger"}},
	{"api", []string{kith + "simulations", kith + "cli", kith + "node"}},
	{"owner", []string{libp2p, kith + "simulations", kith + "cli", kith + "node"}},
	{"web", []string{libp2p, kith + "simulations", kith + "cli", kith + "node"}},
	{"fedi", []string{libp2p, kith + "simulations", kith + "cli", kith + "node", kith + "api"}},
	{"simulations", []string{kith + "cli"}},
}

const (
	kith   = "github.com/kith-net/kith/"
	libp2p = "github.com/libp2p/"
)

// TestLayering holds the dependency direction of the tree (layers).
func TestLayering(t *testing.T) {
	for _, l := range layers {
		if _, err := os.Stat(l.dir); err != nil {
			t.Errorf("layer %s: %v", l.dir, err)
			continue
		}
		for _, p := range goList(t, "./"+l.dir+"/...") {
			for _, d := range append(slices.Clone(p.Imports), p.Deps...) {
				for _, f := range l.forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s depends on %s: %s/ must not depend on %s", p.ImportPath, d, l.dir, f)
					}
				}
			}
		}
	}
}

// labOnly are import path prefixes of the research lab and its tools: the
// simulations, the plotting, the mock and simulated networks, and the lab's
// command line.
var labOnly = []string{
	kith + "simulations",
	kith + "cli/lab",
	"gonum.org/v1/plot",
	"github.com/libp2p/go-libp2p/p2p/net/mock",
	"github.com/marcopolo/simnet",
}

// TestNodeBinaryLinksNoLab: the binary a node runs (cmd/kith) depends on
// none of the lab (labOnly); the lab's binary is cmd/kith-lab.
func TestNodeBinaryLinksNoLab(t *testing.T) {
	pkgs := goList(t, "./cmd/kith")
	if len(pkgs) != 1 {
		t.Fatalf("go list ./cmd/kith: %d packages", len(pkgs))
	}
	for _, d := range pkgs[0].Deps {
		for _, f := range labOnly {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("cmd/kith depends on %s: the node's binary must not link the lab (%s); the lab's commands belong in cli/lab and cmd/kith-lab", d, f)
			}
		}
	}
}

// unusedTransports are import path parts of the libp2p transports a node
// does not use (it speaks TCP and QUIC), and of what they bring: the
// WebRTC stack (pion), WebSocket, WebTransport and its HTTP/3.
var unusedTransports = []string{"websocket", "webtransport", "webrtc", "github.com/pion/"}

// TestNodeBinaryLinksOnlyItsTransports: cmd/kith links no WebSocket,
// WebTransport or WebRTC package (5.5 MB of the stripped binary when it did). The
// go-libp2p root package (libp2p.New, even NewWithoutDefaults) and its
// config package import them, so the node assembles its host from the
// parts (node/host.go); test code may still use libp2p.New.
func TestNodeBinaryLinksOnlyItsTransports(t *testing.T) {
	pkgs := goList(t, "./cmd/kith")
	if len(pkgs) != 1 {
		t.Fatalf("go list ./cmd/kith: %d packages", len(pkgs))
	}
	const root = "github.com/libp2p/go-libp2p"
	for _, d := range pkgs[0].Deps {
		if d == root || d == root+"/config" {
			t.Errorf("cmd/kith depends on %s, which links every libp2p transport; build hosts as node/host.go does", d)
		}
		for _, u := range unusedTransports {
			if strings.Contains(d, u) {
				t.Errorf("cmd/kith depends on %s: the node's binary must link no WebSocket, WebTransport or WebRTC package", d)
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
