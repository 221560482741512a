// Command cmd writes spec/vectors/wire-v1.json from package vectorgen.
// Run it from the repository root: go run ./wire/internal/vectorgen/cmd
package main

import (
	"fmt"
	"os"

	"github.com/kith-net/kith/wire/internal/vectorgen"
)

func main() {
	path := "spec/vectors/wire-v1.json"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := os.WriteFile(path, vectorgen.JSON(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
