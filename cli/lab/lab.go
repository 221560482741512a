// Package lab is the research lab's command line: the commands of
// kith-lab (cmd/kith-lab) that kith, the node's binary, does not have.
// They evaluate trust engines (eval), run the simulator (sim), measure the
// node's parts on this machine (bench) and train the model kith ships
// (model train --public, --synthetic).
//
// Extend adds them to kith's command tree (cli.Program); everything else,
// the flags, the printing and the exit codes, is package cli's. Nothing a
// node runs imports this package, so that the node's binary links none of
// the lab (simulations/, the plotting, the mock and simulated networks);
// repo_test.go holds that.
package lab

import (
	"embed"
	"errors"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/cli"
)

// schemaFiles are the JSON Schemas of the lab's --json outputs, in the
// layout of cli/schema.
//
//go:embed schema/*.schema.json
var schemaFiles embed.FS

// outputSchemas names the schema of each lab command's --json output, as
// cli's own table does; noSchemaYet in lab_test.go says why the others
// have none.
var outputSchemas = map[string]string{
	"bench": "bench",
}

// lab is the lab's commands of one run, over cli's shared plumbing.
type lab struct {
	cli.App
	env cli.Env
}

// Extend adds the lab's commands to root, kith's command tree: eval, sim
// and bench, and the shipped model's training (--public, --synthetic and
// their flags) to kith model train, which without them still refines the
// owner's model.
func Extend(root *cobra.Command, app cli.App) error {
	a := &lab{App: app, env: app.Env()}
	train, _, err := root.Find([]string{"model", "train"})
	if err != nil || train.CommandPath() != root.Name()+" model train" {
		return errors.New("lab: the command tree has no model train to extend")
	}
	a.extendModelTrain(train)
	root.AddCommand(a.evalCommand(), a.benchCommand(), a.simCommand())
	app.AddSchemas(schemaFiles, outputSchemas)
	return nil
}
