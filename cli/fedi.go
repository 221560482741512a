package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/fedi"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// The Fediverse commands: kith link, kith verify, kith fedi login, kith
// fedi import. Their state lives in the vault's Extra map:
//
//	fedi:token:<acct>  the login of one account (fediLogin as JSON)
//	fedi:account       the acct of the last login: the default account
//	fedi:links         verified identity links (map acct -> linkRecord, JSON)
//
// Tokens are never printed. Instances are reached over https; the variable
// KITH_FEDI_HTTP_LOOPBACK=1 allows plain http to loopback hosts (tests,
// a local GoToSocial).
const (
	fediTokenPrefix = "fedi:token:"
	fediAccountKey  = "fedi:account"
	fediLinksKey    = "fedi:links"
	// linkTTL is how long a verified link counts before it is checked
	// again.
	linkTTL = 7 * 24 * time.Hour
	// importMarker starts the reason of every attestation kith fedi import
	// makes; the rest names the relation and the account.
	importMarker = "fedi import: "
)

// fediLogin is what kith fedi login keeps in the vault.
type fediLogin struct {
	Acct      string `json:"acct"` // normalised "acct:user@host"
	Base      string `json:"base"` // the instance's API origin
	Token     string `json:"token"`
	AccountID string `json:"account_id"`
}

// linkRecord is the owner's knowledge of one account's link.
type linkRecord struct {
	Key      string    `json:"key"`  // peer ID
	Link     string    `json:"link"` // CID of the IdentityLink
	Checked  time.Time `json:"checked"`
	Verified bool      `json:"verified"`
	Error    string    `json:"error,omitempty"` // why it is not verified
}

func (a *app) allowHTTP() bool {
	v, _ := a.env.LookupEnv("KITH_FEDI_HTTP_LOOPBACK")
	return v == "1"
}

// parseAcct normalises a command-line account.
func parseAcct(s string) (acct, handle string, err error) {
	n, err := wire.NormalizeAcct(s)
	if err != nil {
		return "", "", usageError{err}
	}
	return n, "@" + strings.TrimPrefix(n, "acct:"), nil
}

func acctHost(acct string) string {
	_, host, _ := strings.Cut(strings.TrimPrefix(acct, "acct:"), "@")
	return host
}

// discover finds the API origin serving acct through WebFinger on its host.
// An http origin is accepted only for loopback hosts with
// KITH_FEDI_HTTP_LOOPBACK=1.
func (a *app) discover(ctx context.Context, acct string) (string, error) {
	base, err := fedi.InstanceURL(acctHost(acct), a.allowHTTP())
	if err != nil {
		return "", err
	}
	j, err := (&fedi.Client{BaseURL: base}).WebFinger(ctx, acct)
	if err != nil {
		return "", err
	}
	origin, err := j.APIOrigin()
	if err != nil {
		return "", err
	}
	host := strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")
	if want, _ := fedi.InstanceURL(host, a.allowHTTP()); want != origin {
		return "", fmt.Errorf("fedi: %s is served at %s, which is not https", acct, origin)
	}
	return origin, nil
}

// login returns the stored login of acct ("" = the default account).
func (s *session) login(acct string) (*fediLogin, error) {
	if acct == "" {
		b, ok := s.secrets.Extra[fediAccountKey]
		if !ok {
			return nil, errors.New("not logged in to a Fediverse account (run kith fedi login @you@your.instance)")
		}
		acct = string(b)
	}
	b, ok := s.secrets.Extra[fediTokenPrefix+acct]
	if !ok {
		return nil, fmt.Errorf("not logged in as @%s (run kith fedi login @%[1]s)", strings.TrimPrefix(acct, "acct:"))
	}
	var l fediLogin
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("the vault's login for %s: %w", acct, err)
	}
	return &l, nil
}

func (l *fediLogin) client() *fedi.Client {
	return &fedi.Client{BaseURL: l.Base, Token: l.Token, Domain: acctHost(l.Acct)}
}

// lookuper returns how to read acct's profile: through the owner's own
// instance when logged in (it fetches remote accounts with signed
// requests), else unauthenticated on the account's own instance.
func (a *app) lookuper(ctx context.Context, s *session, acct string) (fedi.Lookuper, error) {
	if l, err := s.login(""); err == nil {
		return l.client(), nil
	}
	base, err := a.discover(ctx, acct)
	if err != nil {
		return nil, err
	}
	return &fedi.Client{BaseURL: base, Domain: acctHost(acct)}, nil
}

func (s *session) linkRecords() (map[string]linkRecord, error) {
	recs := map[string]linkRecord{}
	if b, ok := s.secrets.Extra[fediLinksKey]; ok {
		if err := json.Unmarshal(b, &recs); err != nil {
			return nil, fmt.Errorf("the vault's link records: %w", err)
		}
	}
	return recs, nil
}

func (s *session) setLinkRecords(recs map[string]linkRecord) error {
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	if s.secrets.Extra == nil {
		s.secrets.Extra = map[string][]byte{}
	}
	s.secrets.Extra[fediLinksKey] = b
	return nil
}

// checkLinks verifies the identity links the store holds for acct, newest
// first, and returns the record to keep: verified with the first link that
// holds both ways, else not verified with the most telling error (a field
// naming another key, over a missing field, over anything else).
func (a *app) checkLinks(ctx context.Context, s *session, acct string) (linkRecord, *fedi.Verification, error) {
	links, err := s.store.Links(ctx, acct)
	if err != nil {
		return linkRecord{}, nil, err
	}
	_, handle, _ := parseAcct(acct)
	if len(links) == 0 {
		return linkRecord{}, nil, fmt.Errorf("no identity link for %s in your store: import their bundle (kith import) or pass --link FILE", handle)
	}
	lk, err := a.lookuper(ctx, s, acct)
	if err != nil {
		return linkRecord{}, nil, fmt.Errorf("verify %s: %w", handle, err)
	}
	now := a.env.Now()
	var firstErr error
	rank := func(err error) int {
		switch {
		case errors.Is(err, fedi.ErrKeyMismatch):
			return 3
		case errors.Is(err, fedi.ErrNoField):
			return 2
		case errors.Is(err, fedi.ErrBadLink):
			return 0
		}
		return 1
	}
	for _, l := range slices.Backward(links) {
		v, err := fedi.Verify(ctx, lk, acct, l, now)
		if err == nil {
			return linkRecord{Key: l.Key.String(), Link: l.CID().String(), Checked: now, Verified: true}, v, nil
		}
		if !isProfileAnswer(err) {
			// The instance could not be asked: nothing was learnt.
			if _, lerr := s.login(""); lerr != nil && errors.Is(err, fedi.ErrUnauthorized) {
				err = fmt.Errorf("%w (this instance does not show accounts without a login: run kith fedi login @you@your.instance)", err)
			}
			return linkRecord{}, nil, err
		}
		if firstErr == nil || rank(err) > rank(firstErr) {
			firstErr = err
		}
	}
	return linkRecord{Key: links[len(links)-1].Key.String(), Link: links[len(links)-1].CID().String(), Checked: now, Error: oneLine(firstErr.Error())}, nil, firstErr
}

// isProfileAnswer reports whether a verification failed on what the
// profile (or the link) says, rather than on reaching the instance.
func isProfileAnswer(err error) bool {
	return errors.Is(err, fedi.ErrKeyMismatch) || errors.Is(err, fedi.ErrNoField) ||
		errors.Is(err, fedi.ErrBadLink) || errors.Is(err, fedi.ErrNotFound)
}

// verifiedLinks returns the owner's verified links (acct -> key) for the
// trust engine. Records older than linkTTL are checked again; one whose
// profile no longer holds the key is revoked locally. A record that cannot
// be re-checked (instance unreachable) does not count until it can be.
func (a *app) verifiedLinks(ctx context.Context, s *session) (map[string]wire.PublicKey, error) {
	recs, err := s.linkRecords()
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	now := a.env.Now()
	out := map[string]wire.PublicKey{}
	changed := false
	for _, acct := range slices.Sorted(maps.Keys(recs)) {
		r := recs[acct]
		if !r.Verified {
			continue
		}
		if now.Sub(r.Checked) >= linkTTL {
			nr, _, err := a.checkLinks(ctx, s, acct)
			if err != nil && nr.Checked.IsZero() {
				fmt.Fprintf(a.env.Stderr, "kith: the link of @%s is due for a check and could not be checked: %s\n", strings.TrimPrefix(acct, "acct:"), oneLine(err.Error()))
				continue
			}
			if !nr.Verified {
				fmt.Fprintf(a.env.Stderr, "kith: the link of @%s no longer holds: %s\n", strings.TrimPrefix(acct, "acct:"), nr.Error)
			}
			recs[acct], r, changed = nr, nr, true
			if !r.Verified {
				continue
			}
		}
		k, err := wire.ParsePublicKey(r.Key)
		if err != nil {
			return nil, fmt.Errorf("the vault's link record of %s: %w", acct, err)
		}
		out[acct] = k
	}
	if changed {
		if err := s.setLinkRecords(recs); err != nil {
			return nil, err
		}
		if err := s.saveSecrets(a.env.Rand); err != nil {
			return nil, err
		}
	}
	return out, nil
}

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
			acct, handle, err := parseAcct(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.withSession(ctx, func(s *session) error {
				now := a.env.Now()
				var link *wire.IdentityLink
				existing, err := s.store.LinksByKey(ctx, s.key.Public())
				if err != nil {
					return err
				}
				for _, l := range existing {
					if l.Acct == acct && l.Verify(now) == nil {
						link = l
					}
				}
				if link == nil {
					if link, err = fedi.NewLink(s.key, acct, now); err != nil {
						return err
					}
				}
				var lg *fediLogin
				if setField {
					// Fail before writing anything if the field cannot be
					// set.
					if lg, err = s.login(acct); err != nil {
						return err
					}
				}
				if _, err := s.store.Put(ctx, link); err != nil {
					return err
				}
				if out != "" {
					b := wire.NewBundle(now, link)
					if err := b.Sign(s.key); err != nil {
						return err
					}
					if err := atomicfile.Write(out, b.Raw(), 0o644); err != nil {
						return fmt.Errorf("link: %w", err)
					}
				}
				text := fedi.ProfileText(s.key.Public())
				verified := false
				if setField {
					c := lg.client()
					if _, err := c.SetField(ctx, fedi.FieldName, text); err != nil {
						return fmt.Errorf("link %s: set the profile field: %w (the signed link is stored; put the field in by hand)", handle, err)
					}
					v, err := fedi.Verify(ctx, c, acct, link, now)
					if err != nil {
						return fmt.Errorf("link %s: the field was set but does not verify: %w", handle, err)
					}
					recs, err := s.linkRecords()
					if err != nil {
						return err
					}
					recs[acct] = linkRecord{Key: v.Key.String(), Link: link.CID().String(), Checked: v.CheckedAt, Verified: true}
					if err := s.setLinkRecords(recs); err != nil {
						return err
					}
					if err := s.saveSecrets(a.env.Rand); err != nil {
						return err
					}
					verified = true
				}
				if a.json {
					return a.printJSON(map[string]any{"acct": acct, "peer_id": s.key.Public().String(), "did_key": text,
						"field_name": fedi.FieldName, "field_value": text, "link": link.CID().String(), "field_set": setField, "verified": verified})
				}
				w := a.env.Stdout
				if setField {
					fmt.Fprintf(w, "linked %s to this node (%s): profile field %q set and verified both ways\n", handle, s.key.Public(), fedi.FieldName)
				} else {
					fmt.Fprintf(w, "signed a link from this node (%s) to %s\n", s.key.Public(), handle)
					fmt.Fprintf(w, "add this profile field to %s:\n  name:  %s\n  value: %s\n", handle, fedi.FieldName, text)
				}
				fmt.Fprintf(w, "link %s\n", link.CID())
				return nil
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
			acct, handle, err := parseAcct(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var extra []wire.Object
			if linkFile != "" {
				raw, err := os.ReadFile(linkFile)
				if err != nil {
					return fmt.Errorf("verify: %w", err)
				}
				now := a.env.Now()
				b, err := wire.DecodeBundle(raw)
				if err == nil {
					err = b.Verify(now)
				}
				var objs []wire.Object
				if err == nil {
					objs, err = b.OpenObjects(now)
				}
				if err != nil {
					return fmt.Errorf("verify: %s: %w", linkFile, err)
				}
				for _, o := range objs {
					if l, ok := o.(*wire.IdentityLink); ok && l.Acct == acct {
						extra = append(extra, l)
					}
				}
				if len(extra) == 0 {
					return fmt.Errorf("verify: %s holds no identity link for %s", linkFile, handle)
				}
			}
			return a.withSession(ctx, func(s *session) error {
				if len(extra) > 0 {
					if _, err := s.store.Put(ctx, extra...); err != nil {
						return err
					}
				}
				rec, v, err := a.checkLinks(ctx, s, acct)
				if !rec.Checked.IsZero() {
					recs, rerr := s.linkRecords()
					if rerr != nil {
						return rerr
					}
					recs[acct] = rec
					if rerr := s.setLinkRecords(recs); rerr != nil {
						return rerr
					}
					if rerr := s.saveSecrets(a.env.Rand); rerr != nil {
						return rerr
					}
				}
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]any{"acct": acct, "peer_id": v.Key.String(), "did_key": v.Key.DIDKey(),
						"verified": true, "checked": v.CheckedAt.UTC().Format(time.RFC3339), "link": rec.Link})
				}
				_, err = fmt.Fprintf(a.env.Stdout, "%s is linked to %s (%s): verified both ways at %s\n",
					handle, v.Key, v.Key.DIDKey(), v.CheckedAt.UTC().Format(time.RFC3339))
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
	cmd.AddCommand(a.fediLoginCommand(), a.fediImportCommand())
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
			acct, handle, err := parseAcct(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.withSession(ctx, func(s *session) error {
				base, err := a.discover(ctx, acct)
				if err != nil {
					return fmt.Errorf("login %s: %w", handle, err)
				}
				c := &fedi.Client{BaseURL: base, Domain: acctHost(acct)}
				in := bufio.NewReader(a.env.Stdin)
				var token string
				if tokenStdin {
					if token, err = readLine(in); err != nil {
						return fmt.Errorf("login %s: reading the token: %w", handle, err)
					}
				} else {
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
				c.Token = token
				me, err := c.VerifyCredentials(ctx)
				if err != nil {
					return fmt.Errorf("login %s: checking the token: %w", handle, err)
				}
				got, err := wire.NormalizeAcct(me.FullAcct(acctHost(acct)))
				if err != nil || got != acct {
					return fmt.Errorf("login %s: the token belongs to @%s", handle, me.FullAcct(acctHost(acct)))
				}
				b, err := json.Marshal(fediLogin{Acct: acct, Base: base, Token: token, AccountID: me.ID})
				if err != nil {
					return err
				}
				s.secrets.Extra[fediTokenPrefix+acct] = b
				s.secrets.Extra[fediAccountKey] = []byte(acct)
				if err := s.saveSecrets(a.env.Rand); err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]any{"acct": acct, "instance": base, "account_id": me.ID})
				}
				_, err = fmt.Fprintf(a.env.Stdout, "logged in as %s at %s (the token is kept in the vault)\n", handle, base)
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

// mapping is what one relation becomes: a kind and a strength, or nothing.
type mapping struct {
	kind     wire.Kind // "" = not imported
	strength uint64
}

func parseMapping(flag, s string) (mapping, error) {
	if s == "off" || s == "none" {
		return mapping{}, nil
	}
	k, n, ok := strings.Cut(s, ":")
	v, err := strconv.ParseUint(n, 10, 64)
	if !ok || (k != string(wire.Vouch) && k != string(wire.Warn)) || err != nil || v < wire.MinStrength || v > wire.MaxStrength {
		return mapping{}, usagef("--%s %q: want vouch:N or warn:N (N in %d..%d) or off", flag, s, wire.MinStrength, wire.MaxStrength)
	}
	return mapping{kind: wire.Kind(k), strength: v}, nil
}

// relations in precedence order: when an account is in several lists, the
// first one decides.
var relations = []struct {
	name, flag, def, help string
}{
	{"block", "block", "warn:60", "accounts you block"},
	{"mute", "mute", "warn:20", "accounts you mute"},
	{"follow", "follow", "vouch:30", "accounts you follow"},
	{"follower", "follower", "off", "accounts that follow you"},
}

func (a *app) fediImportCommand() *cobra.Command {
	var (
		account, context string
		flags            = make([]string, len(relations))
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
			mappings := make([]mapping, len(relations))
			for i, r := range relations {
				m, err := parseMapping(r.flag, flags[i])
				if err != nil {
					return err
				}
				mappings[i] = m
			}
			if err := wire.ValidateContext(context); err != nil {
				return usageError{err}
			}
			owner := ""
			if account != "" {
				n, _, err := parseAcct(account)
				if err != nil {
					return err
				}
				owner = n
			}
			ctx := cmd.Context()
			return a.withSession(ctx, func(s *session) error {
				lg, err := s.login(owner)
				if err != nil {
					return err
				}
				res, objs, err := a.planImport(ctx, s, lg, context, mappings)
				if err != nil {
					return err
				}
				if !dryRun && len(objs) > 0 {
					if _, err := s.store.Put(ctx, objs...); err != nil {
						return fmt.Errorf("import: %w (nothing was imported)", err)
					}
				}
				res.DryRun = dryRun
				if a.json {
					return a.printJSON(res)
				}
				verb := "imported"
				if dryRun {
					verb = "would import"
				}
				fmt.Fprintf(a.env.Stdout, "%s from %s into %s: %d new, %d unchanged, %d retracted, %d left alone (your own statements), %d unusable names\n",
					verb, res.Account, context, res.Added, res.Unchanged, res.Retracted, res.Skipped, res.Unusable)
				for _, r := range relations {
					if n, ok := res.Relations[r.name]; ok {
						fmt.Fprintf(a.env.Stdout, "  %-8s %d\n", r.name, n)
					}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&account, "account", "", "the logged-in account to import from (default: the last login)")
	f.StringVar(&context, "context", "general", "context of the attestations")
	for i, r := range relations {
		f.StringVar(&flags[i], r.flag, r.def, r.help+": vouch:N, warn:N or off")
	}
	f.BoolVar(&dryRun, "dry-run", false, "fetch and compare, but store nothing")
	return cmd
}

// importResult is the JSON answer of kith fedi import. Field names are
// stable.
type importResult struct {
	Account   string         `json:"account"`
	Context   string         `json:"context"`
	Relations map[string]int `json:"relations"` // accounts per relation, after precedence
	Added     int            `json:"added"`
	Unchanged int            `json:"unchanged"`
	Retracted int            `json:"retracted"`
	Skipped   int            `json:"skipped"`  // accounts with the owner's own statement
	Unusable  int            `json:"unusable"` // account names kith cannot store
	DryRun    bool           `json:"dry_run"`
}

// planImport fetches the lists and returns the signed objects that bring
// the store in line with them. It writes nothing.
func (a *app) planImport(ctx context.Context, s *session, lg *fediLogin, context string, mappings []mapping) (importResult, []wire.Object, error) {
	_, handle, _ := parseAcct(lg.Acct)
	res := importResult{Account: handle, Context: context, Relations: map[string]int{}}
	c := lg.client()
	me, err := c.VerifyCredentials(ctx)
	if err != nil {
		return res, nil, fmt.Errorf("import: %w", err)
	}
	fetch := map[string]func() ([]fedi.Account, error){
		"block":    func() ([]fedi.Account, error) { return c.Blocks(ctx) },
		"mute":     func() ([]fedi.Account, error) { return c.Mutes(ctx) },
		"follow":   func() ([]fedi.Account, error) { return c.Following(ctx, me.ID) },
		"follower": func() ([]fedi.Account, error) { return c.Followers(ctx, me.ID) },
	}
	type want struct {
		m        mapping
		relation string
	}
	wanted := map[string]want{}
	for i, r := range relations {
		if mappings[i].kind == "" {
			continue
		}
		accts, err := fetch[r.name]()
		if err != nil {
			return res, nil, fmt.Errorf("import: %w (nothing was imported)", err)
		}
		for _, fa := range accts {
			n, err := wire.NormalizeAcct(fa.FullAcct(acctHost(lg.Acct)))
			if err != nil || n == lg.Acct {
				res.Unusable++
				continue
			}
			if _, ok := wanted[n]; !ok {
				wanted[n] = want{mappings[i], r.name}
			}
		}
	}
	self := s.key.Public()
	mine, err := s.store.Attestations(ctx, store.Query{Issuer: &self, Context: context})
	if err != nil {
		return res, nil, err
	}
	suffix := " (" + handle + ")"
	imported := map[string][]*wire.Attestation{}
	// The owner's own statements: about the account, or about a node
	// key verifiably linked to it (the trust engine merges the two, and
	// the latest statement counts, so an import must not shadow them).
	recs, err := s.linkRecords()
	if err != nil {
		return res, nil, err
	}
	linkedAcct := map[string][]string{}
	for acct, r := range recs {
		if r.Verified {
			linkedAcct[r.Key] = append(linkedAcct[r.Key], acct)
		}
	}
	own := map[string]bool{}
	for _, att := range mine {
		switch {
		case att.Subject.Key == nil && strings.HasPrefix(att.Reason, importMarker):
			if strings.HasSuffix(att.Reason, suffix) {
				imported[att.Subject.Acct] = append(imported[att.Subject.Acct], att)
			}
		case att.Subject.Key != nil:
			for _, acct := range linkedAcct[att.Subject.Key.String()] {
				own[acct] = true
			}
			if att.Subject.Acct != "" {
				own[att.Subject.Acct] = true
			}
		default:
			own[att.Subject.Acct] = true
		}
	}
	now := a.env.Now()
	var objs []wire.Object
	retract := func(att *wire.Attestation, why string) error {
		r := &wire.Retraction{Target: wire.LinkTo(att.CID()), Created: uint64(now.Unix()), Reason: why}
		if err := r.Sign(s.key); err != nil {
			return err
		}
		objs = append(objs, r)
		res.Retracted++
		return nil
	}
	for _, acct := range slices.Sorted(maps.Keys(wanted)) {
		w := wanted[acct]
		res.Relations[w.relation]++
		if own[acct] {
			res.Skipped++
			continue
		}
		reason := importMarker + w.relation + suffix
		keep := false
		for _, old := range imported[acct] {
			if !keep && old.Kind == w.m.kind && old.Strength == w.m.strength && old.Reason == reason && old.Expires == 0 {
				keep = true
				continue
			}
			if err := retract(old, "fedi import: replaced"); err != nil {
				return res, nil, err
			}
		}
		if keep {
			res.Unchanged++
			continue
		}
		nonce, err := wire.NewNonce(a.env.Rand)
		if err != nil {
			return res, nil, err
		}
		att := &wire.Attestation{Subject: wire.Subject{Acct: acct}, Kind: w.m.kind, Context: context, Strength: w.m.strength,
			Reason: reason, Created: uint64(now.Unix()), Audience: wire.PrivateAudience, Nonce: nonce}
		if err := att.Sign(s.key); err != nil {
			return res, nil, fmt.Errorf("import %s: %w", acct, err)
		}
		objs = append(objs, att)
		res.Added++
	}
	for _, acct := range slices.Sorted(maps.Keys(imported)) {
		if _, ok := wanted[acct]; ok {
			continue
		}
		for _, old := range imported[acct] {
			if err := retract(old, "fedi import: no longer in "+handle+"'s lists"); err != nil {
				return res, nil, err
			}
		}
	}
	return res, objs, nil
}
