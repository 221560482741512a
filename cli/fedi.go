package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/fedi"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/wire"
)

// The Fediverse commands: kith link, kith verify, kith fedi login, kith
// fedi import, kith fedi apply. The owner service (package owner) does the
// work and keeps the state in the vault; these commands parse flags and
// print.

func (a *app) linkCommand() *cobra.Command {
	var setField bool
	var out string
	cmd := &cobra.Command{
		Use:   "link <@you@your.instance>",
		Short: "Link this node to your Fediverse account (a signed statement plus a profile field)",
		Long: `Sign an identity link from this node's key to your Fediverse account, keep it in
the store (kith export carries it to others), and print the exact text to put
in a profile field named "kith". With --set-field, and after kith fedi login,
kith sets the field itself and checks the link both ways.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, handle, err := owner.ParseAcct(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.withService(ctx, func(svc api.Service) error {
				res, err := svc.Link(ctx, api.LinkRequest{Acct: acct, SetField: setField})
				if err != nil {
					return err
				}
				if out != "" {
					if err := atomicfile.Write(out, res.Bundle, 0o644); err != nil {
						return fmt.Errorf("link: %w", err)
					}
				}
				if a.json {
					res.Bundle = nil
					return a.printJSON(res)
				}
				w := a.env.Stdout
				if res.FieldSet {
					fmt.Fprintf(w, "linked %s to this node (%s): profile field %q set and verified both ways\n", handle, res.PeerID, res.FieldName)
				} else {
					fmt.Fprintf(w, "signed a link from this node (%s) to %s\n", res.PeerID, handle)
					fmt.Fprintf(w, "add this profile field to %s:\n  name:  %s\n  value: %s\n", handle, res.FieldName, res.FieldValue)
				}
				_, err = fmt.Fprintf(w, "link %s\n", res.Link)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&setField, "set-field", false, "set the profile field through the instance API (needs kith fedi login)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "also write the link as a signed bundle to this file, for others to kith import")
	return cmd
}

func (a *app) verifyCommand() *cobra.Command {
	var linkFile string
	cmd := &cobra.Command{
		Use:   "verify <@user@host>",
		Short: "Check that an account and a node are linked both ways",
		Long: `Check the signed identity links your store holds for the account (from their
bundle, or --link FILE) against the account's "kith" profile field, as served
by your instance (after kith fedi login) or else by the account's own
instance. A verified link makes the account and the node one subject for
kith query; it is checked again after a week, and a removed field revokes it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, handle, err := owner.ParseAcct(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			req := api.VerifyRequest{Acct: acct}
			if linkFile != "" {
				objs, _, err := a.readBundle(linkFile)
				if err != nil {
					return err
				}
				for _, o := range objs {
					if l, ok := o.(*wire.IdentityLink); ok && l.Acct == acct {
						req.Links = append(req.Links, l.Raw())
					}
				}
				if len(req.Links) == 0 {
					return fmt.Errorf("verify: %s holds no identity link for %s", linkFile, handle)
				}
			}
			return a.withService(ctx, func(svc api.Service) error {
				v, err := svc.VerifyLink(ctx, req)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(v)
				}
				_, err = fmt.Fprintf(a.env.Stdout, "%s is linked to %s (%s): verified both ways at %s\n", handle, v.PeerID, v.DIDKey, v.Checked)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&linkFile, "link", "", "a bundle holding their identity link (from kith link --out)")
	return cmd
}

func (a *app) fediCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fedi",
		Short: "Connect to your Fediverse account: log in, import follows, blocks and mutes",
		Long: `Connect kith to your Fediverse account (Mastodon, GoToSocial, or any server with
the Mastodon client API). Instances are reached over https only; for a test
server on this machine, KITH_FEDI_HTTP_LOOPBACK=1 allows plain http to
localhost and 127.0.0.0/8.`,
	}
	cmd.AddCommand(a.fediLoginCommand(), a.fediImportCommand(), a.fediApplyCommand())
	return cmd
}

func (a *app) fediLoginCommand() *cobra.Command {
	var tokenStdin bool
	cmd := &cobra.Command{
		Use:   "login <@you@your.instance>",
		Short: "Authorise kith on your instance (OAuth, out-of-band code); the token stays in the vault",
		Long: `Register kith with your instance, print the page where you approve it, and read
the code the instance shows you from standard input. The access token is kept
in the vault and never printed. With --token-stdin, read an access token you
made yourself (read and write scopes) from standard input instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acct, handle, err := owner.ParseAcct(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// Find the instance first: a wrong account fails before
			// anything is typed.
			base, err := owner.Discover(ctx, acct, a.allowHTTP())
			if err != nil {
				return fmt.Errorf("login %s: %w", handle, err)
			}
			in := bufio.NewReader(a.env.Stdin)
			var token string
			if tokenStdin {
				if token, err = readLine(in); err != nil {
					return fmt.Errorf("login %s: reading the token: %w", handle, err)
				}
			} else {
				c := &fedi.Client{BaseURL: base, Domain: fediHost(acct)}
				app, err := c.RegisterApp(ctx, "kith", fedi.Scopes, "")
				if err != nil {
					return fmt.Errorf("login %s: %w", handle, err)
				}
				fmt.Fprintf(a.env.Stderr, "Open this page, approve kith, and paste the code it shows:\n\n  %s\n\ncode: ", app.AuthorizeURL())
				code, err := readLine(in)
				if err != nil {
					return fmt.Errorf("login %s: reading the code: %w", handle, err)
				}
				tok, err := c.ExchangeCode(ctx, app, code)
				if err != nil {
					return fmt.Errorf("login %s: %w", handle, err)
				}
				token = tok.AccessToken
			}
			if token == "" {
				return fmt.Errorf("login %s: empty token", handle)
			}
			return a.withService(ctx, func(svc api.Service) error {
				res, err := svc.FediLogin(ctx, api.FediLoginRequest{Acct: acct, Token: token})
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(res)
				}
				_, err = fmt.Fprintf(a.env.Stdout, "logged in as %s at %s (the token is kept in the vault)\n", handle, res.Instance)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&tokenStdin, "token-stdin", false, "read an existing access token from standard input")
	return cmd
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func (a *app) fediImportCommand() *cobra.Command {
	var (
		account, context string
		flags            = make([]string, len(owner.Relations))
		dryRun           bool
	)
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Turn your follows, blocks and mutes into private attestations",
		Long: `Read the accounts you follow, your followers, your blocks and your mutes (every
page) and sign one private attestation per account, by the mapping of the
flags (an account in several lists takes the first of block, mute, follow,
follower). Running it again changes only what changed: an account that left
the lists gets a retraction. Accounts you made your own statement about are
left alone. Everything is fetched and signed first, then stored at once: an
import either happens whole or not at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := api.FediImportRequest{Account: account, Context: context, Block: flags[0], Mute: flags[1],
				Follow: flags[2], Follower: flags[3], DryRun: dryRun}
			if err := owner.CheckImport(req); err != nil { // before anything is asked
				return err
			}
			ctx := cmd.Context()
			return a.withService(ctx, func(svc api.Service) error {
				res, err := svc.FediImport(ctx, req)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(res)
				}
				verb := "imported"
				if res.DryRun {
					verb = "would import"
				}
				fmt.Fprintf(a.env.Stdout, "%s from %s into %s: %d new, %d unchanged, %d retracted, %d left alone (your own statements), %d unusable names\n",
					verb, res.Account, res.Context, res.Added, res.Unchanged, res.Retracted, res.Skipped, res.Unusable)
				for _, r := range owner.Relations {
					if n, ok := res.Relations[r.Name]; ok {
						fmt.Fprintf(a.env.Stdout, "  %-8s %d\n", r.Name, n)
					}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&account, "account", "", "the logged-in account to import from (default: the last login)")
	f.StringVar(&context, "context", "general", "context of the attestations")
	for i, r := range owner.Relations {
		f.StringVar(&flags[i], r.Flag, r.Default, r.Help+": vouch:N, warn:N or off")
	}
	f.BoolVar(&dryRun, "dry-run", false, "fetch and compare, but store nothing")
	return cmd
}

// fediHost is the host of a normalised account.
func fediHost(acct string) string {
	_, host, _ := strings.Cut(strings.TrimPrefix(acct, "acct:"), "@")
	return host
}

func (a *app) fediApplyCommand() *cobra.Command {
	var (
		req api.FediApplyRequest
	)
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Mute (or block) on your own account the accounts you trust below a threshold",
		Long: `Turn your trust into your own Fediverse account's mutes, so every app you read
in, phones included, hides the accounts you trust below --below in --context:
kith mutes each one through your instance (or blocks it, --as block), and
undoes its own earlier mutes of accounts that are no longer below. Accounts you
muted or blocked yourself are left alone. kith records what it added, in the
vault: --undo removes exactly those and nothing you set by hand. --dry-run
prints the diff and changes nothing.

A mute is seen by you alone: nothing is published about anyone. A block also
keeps the account from seeing your posts, and it may notice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Below <= 0 || req.Below > 1 {
				return usagef("--below %v: want a number above 0 and at most 1", req.Below)
			}
			if req.Action != fedi.ActionMute && req.Action != fedi.ActionBlock {
				return usagef("--as %q: want mute or block", req.Action)
			}
			ctx := cmd.Context()
			return a.withViewService(ctx, func(svc api.Service) error {
				res, err := svc.FediApply(ctx, req)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(res)
				}
				w := a.env.Stdout
				would := ""
				if res.DryRun {
					would = "would "
				}
				for _, e := range res.Removed {
					fmt.Fprintf(w, "- %sun%s %s\n", would, e.Action, e.Acct)
				}
				for _, e := range res.Added {
					fmt.Fprintf(w, "+ %s%s %s (trust %.2f)\n", would, e.Action, e.Acct, *e.Score)
				}
				for _, u := range res.Unresolved {
					fmt.Fprintf(w, "? %s: your instance does not find this account\n", u)
				}
				if res.Undo {
					_, err = fmt.Fprintf(w, "%sundid %d of kith's mutes and blocks on %s\n", would, len(res.Removed), res.Account)
					return err
				}
				_, err = fmt.Fprintf(w, "%s: %s%s %d, %sundid %d, kept %d of kith's, left %d you set yourself (trust below %.2f in %s)\n",
					res.Account, would, res.Action, len(res.Added), would, len(res.Removed), res.Kept, res.ByHand, res.Below, res.Context)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Account, "account", "", "the logged-in account to apply to (default: the last login)")
	f.StringVar(&req.Context, "context", "general", "the context whose trust decides")
	f.Float64Var(&req.Below, "below", api.DefaultApplyBelow, "mute the accounts you trust below this")
	f.StringVar(&req.Action, "as", fedi.ActionMute, "mute or block")
	f.BoolVar(&req.DryRun, "dry-run", false, "print the diff and change nothing")
	f.BoolVar(&req.Undo, "undo", false, "remove every mute and block kith added, and nothing else")
	return cmd
}
