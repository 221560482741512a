// Command kith runs a kith node and its tools; see `kith --help`. All of the
// work is in package cli.
package main

import (
	"context"
	"os"

	"github.com/kith-net/kith/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
