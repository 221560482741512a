package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kith-net/kith/api"
)

// Exit codes. Scripts rely on them; README's "Using kith" lists them.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command failed; nothing was written
	ExitUsage   = 2 // the command was called wrongly (a bad flag, argument or value)
	// ExitInterrupted is the code after SIGINT (Ctrl-C), as shells report
	// a process a signal ended: 128 + the signal's number. SIGTERM gives
	// 143.
	ExitInterrupted = 130
)

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Interrupted is the cause of a context SignalContext cancelled: the
// signal that arrived.
type Interrupted struct{ Signal os.Signal }

func (e *Interrupted) Error() string { return "interrupted (" + e.Signal.String() + ")" }

// exitCode is the code Main returns for err, returned by a command run
// under ctx.
func exitCode(ctx context.Context, err error) int {
	var intr *Interrupted
	if errors.As(context.Cause(ctx), &intr) {
		if n, ok := intr.Signal.(syscall.Signal); ok {
			return 128 + int(n)
		}
		return ExitInterrupted
	}
	var ue usageError
	if errors.As(err, &ue) || api.ErrorCode(err) == api.CodeInvalid {
		return ExitUsage
	}
	return ExitFailure
}

// typeUsageErrors makes every error cobra finds in a command line (unknown
// commands and flags, bad flag values, wrong argument counts) a
// usageError, on c and every command below it. Group commands (kith,
// kith consent, ...) print their help when called alone and refuse an
// unknown subcommand.
func typeUsageErrors(c *cobra.Command) {
	if c.Parent() == nil {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{flagError(err)} })
	}
	switch {
	case !c.Runnable() && c.HasSubCommands():
		c.SuggestionsMinimumDistance = 2
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if !cmd.HasParent() && slices.Contains(labCommands, args[0]) {
				return usageError{fmt.Errorf("%s: it is in the research lab's binary, kith-lab (go build ./cmd/kith-lab)", msg)}
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
			}
			return usageError{fmt.Errorf("%s; see %s --help", msg, cmd.CommandPath())}
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	case c.Args != nil:
		inner := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := inner(cmd, args); err != nil {
				return usageError{fmt.Errorf("%s: %w (usage: %s)", cmd.CommandPath(), err, cmd.UseLine())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		typeUsageErrors(sub)
	}
}

// flagError rewrites pflag's errors about a flag's value in words.
func flagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err
	}
	f := ive.GetFlag()
	want := "a valid " + f.Value.Type()
	switch t := f.Value.Type(); {
	case strings.HasPrefix(t, "uint"):
		want = "a whole number, 0 or more"
	case strings.HasPrefix(t, "int"):
		want = "a whole number"
	case strings.HasPrefix(t, "float"):
		want = "a number"
	case t == "bool":
		want = "true or false"
	case t == "duration":
		want = "a duration such as 30s, 5m or 2h"
	}
	return fmt.Errorf("--%s %q: want %s", f.Name, ive.GetValue(), want)
}

// hinted is an error shown to the user as msg that still matches err
// (errors.Is, errors.As).
type hinted struct {
	msg string
	err error
}

func (h hinted) Error() string { return h.msg }
func (h hinted) Unwrap() error { return h.err }
