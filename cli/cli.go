package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kith-net/kith/vault"
)

// Env is everything a command takes from its surroundings. Tests build one;
// OSEnv returns the real one.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// LookupEnv reads environment variables.
	LookupEnv func(string) (string, bool)
	// Now is the clock.
	Now func() time.Time
	// Rand is the source of keys and nonces.
	Rand io.Reader
	// IsTerminal reports whether standard input is a terminal, and
	// ReadPassword shows prompt and reads a passphrase from it without
	// echo (turned off before the prompt shows), returning ctx's cause as
	// soon as ctx ends (Ctrl-C at the prompt). Both may be nil (no
	// interactive prompt).
	IsTerminal   func() bool
	ReadPassword func(ctx context.Context, prompt string) ([]byte, error)
	// KDF sets the vault's key derivation cost for `kith init`; the zero
	// value means vault.DefaultParams. Only tests lower it.
	KDF vault.Params
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	fd := int(os.Stdin.Fd())
	return Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		LookupEnv:  os.LookupEnv,
		Now:        time.Now,
		Rand:       rand.Reader,
		IsTerminal: func() bool { return term.IsTerminal(fd) },
		ReadPassword: func(ctx context.Context, prompt string) ([]byte, error) {
			return readPassword(ctx, fd, prompt, os.Stderr)
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// Main runs kith, the node's command, with args (without the program
// name) and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	return Program{}.Main(ctx, args, env)
}

// Main runs the program with args (without the program name) and returns
// the exit code.
func (p Program) Main(ctx context.Context, args []string, env Env) int {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Rand == nil {
		env.Rand = rand.Reader
	}
	if env.LookupEnv == nil {
		env.LookupEnv = func(string) (string, bool) { return "", false }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	name := p.name()
	a := &app{env: env, name: name}
	a.addSchemas(schemaFiles, outputSchemas)
	root := a.rootCommand()
	if p.Extend != nil {
		if err := p.Extend(root, App{a}); err != nil {
			fmt.Fprintf(env.Stderr, "%s: %s\n", name, oneLine(err.Error()))
			return ExitFailure
		}
	}
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	// After SetOut: the completion command binds its writer when made.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	typeUsageErrors(root)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(ctx, err)
	if code > 128 {
		fmt.Fprintf(env.Stderr, "%s: interrupted\n", name)
		return code
	}
	fmt.Fprintf(env.Stderr, "%s: %s\n", name, oneLine(err.Error()))
	return code
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// app holds the global flags and the environment of one invocation.
type app struct {
	env            Env
	name           string // the program's name: kith, kith-lab
	home           string
	passphraseFile string
	json           bool
	// schemas are where the schema of each command's --json output is,
	// by command path without the program's name: kith's own
	// (outputSchemas) and those a Program's Extend added.
	schemas map[string]schemaSource
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   a.name,
		Short: "kith: private, subjective reputation for the Fediverse, peer to peer",
		Long: `kith keeps your signed vouches and warnings about others in an encrypted store on
your own device, and computes how far you trust someone from your own point of
view only. Nothing private leaves the node.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// An empty --context never silently means the default.
			if f := cmd.Flags().Lookup("context"); f != nil && f.Changed && f.Value.String() == "" {
				return usagef("--context is empty: name a context (general, spam, expertise:go, ...) or leave the flag out")
			}
			return nil
		},
	}
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.home, "home", "", "kith home directory (default $KITH_HOME, else $XDG_DATA_HOME/kith or ~/.local/share/kith)")
	pf.StringVar(&a.passphraseFile, "passphrase-file", "", "read the vault passphrase from this file (default $KITH_PASSPHRASE, else prompt)")
	pf.BoolVar(&a.json, "json", false, "print JSON for scripts")
	root.AddCommand(
		a.initCommand(),
		a.idCommand(),
		a.attestCommand("vouch", "Sign a vouch for someone"),
		a.attestCommand("warn", "Sign a warning about someone"),
		a.retractCommand(),
		a.listCommand(),
		a.exportCommand(),
		a.importCommand(),
		a.queryCommand(),
		a.rankCommand(),
		a.modelCommand(),
		a.runCommand(),
		a.statusCommand(),
		a.peersCommand(),
		a.consentCommand(),
		a.linkCommand(), a.verifyCommand(), a.fediCommand(), a.uiCommand(),
		a.versionCommand(), a.manCommand(), a.keyCommand(), a.schemaCommand(),
	)
	return root
}
