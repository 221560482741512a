package cli

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// schemaFiles are the JSON Schemas (draft 2020-12) of the commands' --json
// output, one file per output shape in cli/schema/.
//
//go:embed schema/*.schema.json
var schemaFiles embed.FS

// outputSchemas names the schema of each command's --json output, by the
// command's path without "kith". (The commands a Program's Extend adds
// bring their own: App.AddSchema.) To give a command one: write
// cli/schema/NAME.schema.json, add the command here, and run its --json
// output through checkSchema in schema_test.go.
var outputSchemas = map[string]string{
	"init":             "id",
	"id":               "id",
	"vouch":            "attestation",
	"warn":             "attestation",
	"list":             "list",
	"retract":          "retract",
	"export":           "export",
	"import":           "import",
	"status":           "status",
	"peers":            "peers",
	"consent list":     "consents",
	"consent approve":  "consent",
	"consent decline":  "consent",
	"consent withdraw": "consent",
	"run":              "run",
	"link":             "link",
	"verify":           "verify",
	"fedi login":       "fedi-login",
	"fedi import":      "fedi-import",
	"fedi apply":       "fedi-apply",
	"key backup":       "key-backup",
	"version":          "version",
	"man":              "man",
	"query":            "query",
	"rank":             "rank",
	"model show":       "model",
	"model train":      "model",
	"ui":               "ui",
}

// schemaSource is where one command's output schema is: files holds
// schema/NAME.schema.json.
type schemaSource struct {
	files fs.FS
	name  string
}

// addSchemas adds the schemas byCommand names (command path → NAME) from
// files.
func (a *app) addSchemas(files fs.FS, byCommand map[string]string) {
	if a.schemas == nil {
		a.schemas = map[string]schemaSource{}
	}
	for c, name := range byCommand {
		a.schemas[c] = schemaSource{files, name}
	}
}

// schemaOf returns the schema of a command path ("consent list").
func (a *app) schemaOf(command string) ([]byte, error) {
	src, ok := a.schemas[command]
	if !ok {
		return nil, usagef("%s %s has no JSON schema; %s schema lists those that have", a.name, command, a.name)
	}
	return fs.ReadFile(src.files, "schema/"+src.name+".schema.json")
}

func (a *app) schemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema [command]",
		Short: "Print the JSON Schema of a command's --json output (kith schema consent list)",
		Long: `Print the JSON Schema (draft 2020-12) of a command's --json output, or, with no
command, list the commands that have one. Field names in these outputs are
stable: a script can rely on every field the schema marks required.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, c := range slices.Sorted(maps.Keys(a.schemas)) {
					fmt.Fprintf(a.env.Stdout, "%s %-18s %s.schema.json\n", a.name, c, a.schemas[c].name)
				}
				return nil
			}
			b, err := a.schemaOf(strings.Join(args, " "))
			if err != nil {
				return err
			}
			_, err = a.env.Stdout.Write(b)
			return err
		},
	}
}
