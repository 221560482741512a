// Command kith runs a kith node and its tools; see `kith --help`. All of the
// work is in package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kith-net/kith/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
