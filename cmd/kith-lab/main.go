// Command kith-lab is kith with the research lab's commands: eval, sim,
// bench and model train --public beside everything kith does; see
// `kith-lab --help`. The node's binary, cmd/kith, links none of the lab.
// All of the work is in packages cli and cli/lab.
package main

import (
	"context"
	"os"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/cli/lab"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Program{Name: "kith-lab", Extend: lab.Extend}.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
