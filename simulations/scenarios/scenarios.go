package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/kith-net/kith/simulations/scenario"
)

//go:embed *.toml
var files embed.FS

// Names returns the names of the shipped scenarios, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // the embedded directory always reads
	}
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".toml"))
	}
	slices.Sort(out)
	return out
}

// Source returns the TOML text of a shipped scenario.
func Source(name string) ([]byte, error) {
	b, err := files.ReadFile(path.Clean(name) + ".toml")
	if err != nil {
		return nil, fmt.Errorf("scenarios: no shipped scenario %q (shipped: %s)", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Load parses a shipped scenario.
func Load(name string) (*scenario.Scenario, error) {
	b, err := Source(name)
	if err != nil {
		return nil, err
	}
	return scenario.Parse(b, name+".toml")
}

// Open returns the shipped scenario of that name, or else parses the file
// at that path: an argument containing a path separator or ending in
// .toml is always a file.
func Open(nameOrPath string) (*scenario.Scenario, error) {
	if !strings.ContainsRune(nameOrPath, os.PathSeparator) && !strings.HasSuffix(nameOrPath, ".toml") {
		return Load(nameOrPath)
	}
	return scenario.Load(nameOrPath)
}
