package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/wire"
)

func (a *app) attestCommand(kind, short string) *cobra.Command {
	var (
		context, reason, evidence, expires, audience string
		strength                                     uint64
	)
	cmd := &cobra.Command{
		Use:   kind + " <subject>",
		Short: short,
		Long: short + `.

The subject is a peer ID (12D3KooW...), a did:key, or a Fediverse account
(@user@host). The attestation is signed with this node's key and stored
encrypted; its audience says who may ever receive it (default: private,
nobody).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strength < wire.MinStrength || strength > wire.MaxStrength {
				return usagef("--strength %d: want %d..%d", strength, wire.MinStrength, wire.MaxStrength)
			}
			req := api.AttestRequest{
				Kind: kind, Subject: args[0], Context: context, Strength: strength,
				Reason: reason, Evidence: evidence, Expires: expires, Audience: audience,
			}
			// Validate before unlocking, so bad input fails fast and
			// writes nothing.
			if _, err := owner.NewAttestation(req, nil, a.env.Now(), a.env.Rand); err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				v, err := svc.Attest(cmd.Context(), req)
				if err != nil {
					return err
				}
				return a.printViews([]api.Attestation{v}, false, "")
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&context, "context", "general", "context of the statement (general, spam, harassment, expertise:go, ...)")
	f.Uint64Var(&strength, "strength", 50, "strength 1..100")
	f.StringVar(&reason, "reason", "", "why (at most 512 bytes)")
	f.StringVar(&evidence, "evidence", "", "evidence: an http(s) URL or a CID")
	f.StringVar(&expires, "expires", "", "expiry: a duration (90d, 12h, 2w) or a date (2027-01-31, RFC 3339)")
	f.StringVar(&audience, "audience", "private", "who may receive it: private, public, or comma-separated peer IDs")
	return cmd
}

func (a *app) retractCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "retract <cid>",
		Short: "Withdraw one of your attestations",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := owner.ParseCID(args[0])
			if err != nil {
				return err
			}
			if err := (&wire.Retraction{Target: wire.LinkTo(id), Created: 1, Reason: reason}).Sign(wire.NewPrivateKey([32]byte{1})); err != nil {
				return owner.BadInput("--reason", err)
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				r, err := svc.Retract(cmd.Context(), api.RetractRequest{CID: args[0], Reason: reason})
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]string{"cid": r.CID, "target": r.Target})
				}
				_, err = fmt.Fprintf(a.env.Stdout, "retracted %s\nretraction %s\n", r.Target, r.CID)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (at most 512 bytes)")
	return cmd
}
