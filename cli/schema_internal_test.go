package cli

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// noSchemaYet are the commands whose --json output has no schema yet, each
// with why. A new command must get a schema (outputSchemas) or a line here.
var noSchemaYet = map[string]string{
	"schema":     "prints a schema",
	"help":       "no JSON",
	"completion": "no JSON",
}

// TestEveryCommandHasASchema: every runnable command has a schema of its
// --json output or a reason why not, and every schema file is used.
func TestEveryCommandHasASchema(t *testing.T) {
	a := &app{env: Env{}, name: "kith"}
	a.addSchemas(schemaFiles, outputSchemas)
	root := a.rootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	used := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c == root {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "kith ")
		if strings.HasPrefix(path, "completion") {
			path = "completion"
		}
		name, ok := outputSchemas[path]
		if _, exempt := noSchemaYet[path]; !ok && !exempt {
			t.Errorf("kith %s has no JSON schema (outputSchemas) and no reason in noSchemaYet", path)
		}
		if ok {
			used[name] = true
			if _, err := a.schemaOf(path); err != nil {
				t.Errorf("kith %s: %v", path, err)
			}
		}
	}
	walk(root)
	files, err := fs.Glob(schemaFiles, "schema/*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "schema/"), ".schema.json")
		if !used[name] && name != "attestation" && name != "consent" { // referenced by list and consents
			t.Errorf("%s is no command's schema", f)
		}
	}
}
