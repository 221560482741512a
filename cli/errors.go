package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/wire"
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

// fieldFlags names the command-line flag that sets each field wire
// validates.
var fieldFlags = map[string]string{
	"context": "--context", "strength": "--strength", "reason": "--reason", "evidence": "--evidence",
	"expires": "--expires", "audience": "--audience",
}

// badInput turns a wire error about something the user typed into a usage
// error that names the flag (or argument) and says what is wrong, without
// the package's internals. what names the input when the error does not
// ("subject", "--by", "the CID").
func badInput(what string, err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return usageError{fmt.Errorf("%s: %w", what, err)}
	}
	if f, ok := fieldFlags[we.Field]; ok {
		what = f
	}
	detail := we.Detail
	if detail == "" {
		detail = we.Err.Error()
	}
	switch what {
	case "subject", "--about":
		return usageError{fmt.Errorf("%s: %s; want a peer ID (12D3KooW...), a did:key (did:key:z6Mk...) or a Fediverse account (@user@host)", what, detail)}
	case "":
		return usageError{errors.New(detail)}
	}
	return usageError{fmt.Errorf("%s: %s", what, detail)}
}

// wireMessage renders a wire error for the user: what was refused and why,
// without the package prefix.
func wireMessage(we *wire.Error) string {
	var b strings.Builder
	if f, ok := fieldFlags[we.Field]; ok && we.Detail != "" {
		return f + ": " + we.Detail
	}
	if we.Field != "" {
		b.WriteString(we.Field + ": ")
	}
	b.WriteString(we.Err.Error())
	if we.Detail != "" {
		b.WriteString(": " + we.Detail)
	}
	return b.String()
}

// parseCID reads a CID the user typed.
func parseCID(s string) (cid.Cid, error) {
	c, err := wire.ParseCID(s)
	if err != nil {
		return cid.Undef, usagef("%q is not a CID (they look like bafyrei...; kith list shows them)", s)
	}
	return c, nil
}

// hinted is an error shown to the user as msg that still matches err
// (errors.Is, errors.As).
type hinted struct {
	msg string
	err error
}

func (h hinted) Error() string { return h.msg }
func (h hinted) Unwrap() error { return h.err }

// ownerError is apiError for the owner's bundle and Fediverse calls: an
// error that is not already the API's is shown to the owner as it is
// (unprocessable, exit 1), since it says what went wrong with their
// instance or file; none carries a secret.
func ownerError(err error) error {
	err = apiError(err)
	var ae *api.Error
	if err == nil || errors.As(err, &ae) {
		return err
	}
	return api.Errorf(api.CodeUnprocessable, "%s", oneLine(err.Error()))
}
