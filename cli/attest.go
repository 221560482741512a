package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
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
			if _, err := a.newAttestation(req, nil); err != nil {
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

// validateUnsigned checks an attestation's fields without a key, by signing
// it with a throwaway key whose public key stands in for the issuer.
func validateUnsigned(a *wire.Attestation) error {
	k := wire.NewPrivateKey([32]byte{0x6b, 0x69, 0x74, 0x68})
	if a.Subject.Key != nil && *a.Subject.Key == k.Public() {
		return nil
	}
	return a.Sign(k)
}

// parseExpiry turns a duration or a date into Unix seconds (0 = none).
func parseExpiry(s string, now time.Time) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	if n := len(s); n > 1 && strings.ContainsAny(s[n-1:], "dw") {
		v, err := strconv.ParseUint(s[:n-1], 10, 32)
		if err == nil && v > 0 {
			unit := 24 * time.Hour
			if s[n-1] == 'w' {
				unit *= 7
			}
			return uint64(now.Add(time.Duration(v) * unit).Unix()), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return uint64(now.Add(d).Unix()), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return 0, usagef("--expires %s is in the past", s)
			}
			return uint64(t.Unix()), nil
		}
	}
	return 0, usagef("--expires %q: want a duration (90d, 12h, 2w) or a date (2027-01-31)", s)
}

func (a *app) retractCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "retract <cid>",
		Short: "Withdraw one of your attestations",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseCID(args[0])
			if err != nil {
				return err
			}
			if err := (&wire.Retraction{Target: wire.LinkTo(id), Created: 1, Reason: reason}).Sign(wire.NewPrivateKey([32]byte{1})); err != nil {
				return badInput("--reason", err)
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
