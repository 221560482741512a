package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/wire"
)

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printViews prints attestations as a table or, with --json, as a JSON
// array; one attestation alone prints as a single object when asList is
// false (the output of vouch and warn).
func (a *app) printViews(views []api.Attestation, asList bool, self string) error {
	if a.json {
		if !asList && len(views) == 1 {
			return a.printJSON(views[0])
		}
		return a.printJSON(views)
	}
	if !asList && len(views) == 1 {
		v := views[0]
		_, err := fmt.Fprintf(a.env.Stdout, "%s %s in %s (strength %d, audience %s%s)\ncid %s\n",
			v.Kind, v.Subject, v.Context, v.Strength, v.Audience, expiryNote(v), v.CID)
		return err
	}
	if len(views) == 0 {
		_, err := fmt.Fprintln(a.env.Stdout, "no attestations")
		return err
	}
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tISSUER\tSUBJECT\tCONTEXT\tSTRENGTH\tAUDIENCE\tCREATED\tSTATE\tCID")
	for _, v := range views {
		issuer := v.Issuer
		if issuer == self {
			issuer = "you"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", v.Kind, issuer, v.Subject, v.Context, v.Strength,
			shortAudience(v.Audience), v.Created[:10], v.State, v.CID)
	}
	return tw.Flush()
}

func expiryNote(v api.Attestation) string {
	if v.Expires == "" {
		return ""
	}
	return ", until " + v.Expires
}

func shortAudience(s string) string {
	if len(s) > 24 {
		return s[:21] + "..."
	}
	return s
}

func (a *app) listCommand() *cobra.Command {
	var by, about, context, kind string
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List attestations in the local store",
		Long: `List attestations in the local store, oldest first.

--by takes "me", a peer ID or a did:key; --about takes any subject form
(peer ID, did:key, @user@host). Retracted attestations are hidden unless --all.
The STATE column (and "state" in --json) says whether a statement counts:
active; retracted or expired; or superseded, when its issuer made a later
statement about the same subject in the same context (only the latest counts).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind != "" && kind != api.KindVouch && kind != api.KindWarn {
				return usagef("--kind %q: want vouch or warn", kind)
			}
			if limit < 0 {
				return usagef("--limit %d: want 0 or more", limit)
			}
			if context != "" {
				if err := wire.ValidateContext(context); err != nil {
					return owner.BadInput("--context", err)
				}
			}
			if by != "" && by != "me" {
				if _, err := wire.ParsePublicKey(by); err != nil {
					return usagef("--by %q: want me, a peer ID (12D3KooW...) or a did:key", by)
				}
			}
			if about != "" {
				if _, err := wire.ParseSubject(about); err != nil {
					return owner.BadInput("--about", err)
				}
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				vs, err := svc.Attestations(cmd.Context(), api.ListRequest{By: by, About: about, Context: context, Kind: kind, All: all})
				if err != nil {
					return err
				}
				if limit > 0 && len(vs) > limit {
					vs = vs[:limit]
				}
				return a.printViews(vs, true, a.selfID())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&by, "by", "", `issuer: "me", a peer ID or a did:key`)
	f.StringVar(&about, "about", "", "subject: a peer ID, a did:key or @user@host")
	f.StringVar(&context, "context", "", "only this context")
	f.StringVar(&kind, "kind", "", "only vouch or warn")
	f.BoolVar(&all, "all", false, "include retracted attestations")
	f.IntVar(&limit, "limit", 0, "at most this many (0 = all)")
	return cmd
}
