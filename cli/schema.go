package cli

import (
	"embed"
	"fmt"
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
// command's path without "kith". To give a command one: write
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
	"bench":            "bench",
	"query":            "query",
	"rank":             "rank",
	"model show":       "model",
	"model train":      "model",
	"ui":               "ui",
}

// schemaOf returns the schema file of a command path ("consent list").
func schemaOf(command string) ([]byte, string, error) {
	name, ok := outputSchemas[command]
	if !ok {
		return nil, "", usagef("kith %s has no JSON schema; kith schema lists those that have", command)
	}
	b, err := schemaFiles.ReadFile("schema/" + name + ".schema.json")
	return b, name, err
}

func (a *app) schemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema [command]",
		Short: "Print the JSON Schema of a command's --json output (kith schema consent list)",
		Long: `Print the JSON Schema (draft 2020-12) of a command's --json output, or, with no
command, list the commands that have one. Field names in these outputs are
stable: a script can rely on every field the schema marks required.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cmds := make([]string, 0, len(outputSchemas))
				for c := range outputSchemas {
					cmds = append(cmds, c)
				}
				slices.Sort(cmds)
				for _, c := range cmds {
					fmt.Fprintf(a.env.Stdout, "kith %-18s %s.schema.json\n", c, outputSchemas[c])
				}
				return nil
			}
			b, _, err := schemaOf(strings.Join(args, " "))
			if err != nil {
				return err
			}
			_, err = a.env.Stdout.Write(b)
			return err
		},
	}
}
