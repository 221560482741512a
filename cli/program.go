package cli

import (
	"io/fs"

	"github.com/spf13/cobra"
)

// Program is a kith command line: kith's own commands and, through
// Extend, those of another package. cmd/kith runs Program{} (Main), the
// node's binary; cmd/kith-lab runs the research lab's, Program{Name:
// "kith-lab", Extend: lab.Extend} (package cli/lab), so that the node's
// binary links none of the lab.
type Program struct {
	// Name is the command's name in its help, usage lines and errors; ""
	// means "kith".
	Name string
	// Extend, when set, adds commands to the tree made for each run, after
	// kith's own and before the command line is parsed: it may add
	// commands, and flags to kith's. Usage errors of what it adds are
	// typed (exit code 2) as kith's are. An error ends the run with exit
	// code 1.
	Extend func(root *cobra.Command, app App) error
}

func (p Program) name() string {
	if p.Name == "" {
		return "kith"
	}
	return p.Name
}

// App is the shared plumbing of one run, for the commands an Extend adds:
// the environment, the global flags, and kith's ways of printing.
type App struct{ a *app }

// Env is the run's environment.
func (x App) Env() Env { return x.a.env }

// JSON reports whether --json was given; read it when the command runs,
// after the command line was parsed.
func (x App) JSON() bool { return x.a.json }

// PrintJSON prints v as indented JSON on standard output, as every --json
// output of kith is printed.
func (x App) PrintJSON(v any) error { return x.a.printJSON(v) }

// Progress returns a function that draws a progress bar of what on
// standard error when it is a terminal, and nothing otherwise. It is safe
// to call from several goroutines.
func (x App) Progress(what string) func(done, total int) { return x.a.progress(what) }

// AddSchemas gives commands the Extend added the schemas of their --json
// output, for `kith schema`, as cli/schema gives kith's own: files holds
// schema/NAME.schema.json (JSON Schema, draft 2020-12), and byCommand maps
// a command's path without the program's name ("bench") to its NAME.
func (x App) AddSchemas(files fs.FS, byCommand map[string]string) { x.a.addSchemas(files, byCommand) }

// Usage marks err as an error in how a command was called: Main reports it
// with exit code 2. errors.Is and errors.As still see err.
func Usage(err error) error { return usageError{err} }

// Usagef returns an error in how a command was called (Usage).
func Usagef(format string, args ...any) error { return usagef(format, args...) }

// labCommands are the commands of the research lab's binary (cmd/kith-lab)
// that kith's own does not have: kith names the binary that has them when
// one is asked for.
var labCommands = []string{"bench", "eval", "sim"}
