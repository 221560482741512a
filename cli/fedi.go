package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
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

// Link implements api.Service: sign (or reuse) the owner's identity link
// to an account, store it, and with SetField put it in the profile.
func (l *localService) Link(ctx context.Context, req api.LinkRequest) (api.LinkResult, error) {
	acct, handle, err := parseAcct(req.Acct)
	if err != nil {
		return api.LinkResult{}, apiError(err)
	}
	l.viewMu.Lock()
	defer l.viewMu.Unlock()
	a, s := l.a, l.s
	now := a.env.Now()
	var link *wire.IdentityLink
	existing, err := s.store.LinksByKey(ctx, s.key.Public())
	if err != nil {
		return api.LinkResult{}, err
	}
	for _, lk := range existing {
		if lk.Acct == acct && lk.Verify(now) == nil {
			link = lk
		}
	}
	if link == nil {
		if link, err = fedi.NewLink(s.key, acct, now); err != nil {
			return api.LinkResult{}, ownerError(err)
		}
	}
	var lg *fediLogin
	if req.SetField {
		// Fail before writing anything if the field cannot be set.
		if lg, err = s.login(acct); err != nil {
			return api.LinkResult{}, ownerError(err)
		}
	}
	if err := l.submit(ctx, link); err != nil {
		return api.LinkResult{}, err
	}
	b := wire.NewBundle(now, link)
	if err := b.Sign(s.key); err != nil {
		return api.LinkResult{}, err
	}
	text := fedi.ProfileText(s.key.Public())
	res := api.LinkResult{Acct: acct, PeerID: s.key.Public().String(), DIDKey: text, FieldName: fedi.FieldName, FieldValue: text,
		Link: link.CID().String(), Bundle: b.Raw()}
	if req.SetField {
		c := lg.client()
		if _, err := c.SetField(ctx, fedi.FieldName, text); err != nil {
			return api.LinkResult{}, ownerError(fmt.Errorf("link %s: set the profile field: %w (the signed link is stored; put the field in by hand)", handle, err))
		}
		v, err := fedi.Verify(ctx, c, acct, link, now)
		if err != nil {
			return api.LinkResult{}, ownerError(fmt.Errorf("link %s: the field was set but does not verify: %w", handle, err))
		}
		recs, err := s.linkRecords()
		if err != nil {
			return api.LinkResult{}, err
		}
		recs[acct] = linkRecord{Key: v.Key.String(), Link: link.CID().String(), Checked: v.CheckedAt, Verified: true}
		if err := s.setLinkRecords(recs); err != nil {
			return api.LinkResult{}, err
		}
		if err := s.saveSecrets(a.env.Rand); err != nil {
			return api.LinkResult{}, err
		}
		res.FieldSet, res.Verified = true, true
	}
	return res, nil
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

// VerifyLink implements api.Service: store the links given, check the
// account's links against its profile and keep the outcome in the vault.
func (l *localService) VerifyLink(ctx context.Context, req api.VerifyRequest) (api.VerifyResult, error) {
	acct, handle, err := parseAcct(req.Acct)
	if err != nil {
		return api.VerifyResult{}, apiError(err)
	}
	a, s := l.a, l.s
	var extra []wire.Object
	for _, raw := range req.Links {
		o, err := wire.Open(raw, a.env.Now())
		if err != nil {
			return api.VerifyResult{}, apiError(err)
		}
		lk, ok := o.(*wire.IdentityLink)
		if !ok || lk.Acct != acct {
			return api.VerifyResult{}, api.Errorf(api.CodeInvalid, "links: %s is not an identity link for %s", o.CID(), handle)
		}
		extra = append(extra, lk)
	}
	l.viewMu.Lock()
	defer l.viewMu.Unlock()
	if len(extra) > 0 {
		if _, err := s.store.Put(ctx, extra...); err != nil {
			return api.VerifyResult{}, err
		}
	}
	rec, v, err := a.checkLinks(ctx, s, acct)
	if !rec.Checked.IsZero() {
		recs, rerr := s.linkRecords()
		if rerr != nil {
			return api.VerifyResult{}, rerr
		}
		recs[acct] = rec
		if rerr := s.setLinkRecords(recs); rerr != nil {
			return api.VerifyResult{}, rerr
		}
		if rerr := s.saveSecrets(a.env.Rand); rerr != nil {
			return api.VerifyResult{}, rerr
		}
	}
	if err != nil {
		return api.VerifyResult{}, ownerError(err)
	}
	return api.VerifyResult{Acct: acct, PeerID: v.Key.String(), DIDKey: v.Key.DIDKey(), Verified: true,
		Checked: v.CheckedAt.UTC().Format(time.RFC3339), Link: rec.Link}, nil
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
			// Find the instance first: a wrong account fails before
			// anything is typed.
			base, err := a.discover(ctx, acct)
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
				c := &fedi.Client{BaseURL: base, Domain: acctHost(acct)}
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

// FediLogin implements api.Service: check that the token is the
// account's, and keep it in the vault as the default login.
func (l *localService) FediLogin(ctx context.Context, req api.FediLoginRequest) (api.FediLoginResult, error) {
	acct, handle, err := parseAcct(req.Acct)
	if err != nil {
		return api.FediLoginResult{}, apiError(err)
	}
	a, s := l.a, l.s
	base, err := a.discover(ctx, acct)
	if err != nil {
		return api.FediLoginResult{}, ownerError(fmt.Errorf("login %s: %w", handle, err))
	}
	c := &fedi.Client{BaseURL: base, Domain: acctHost(acct), Token: req.Token}
	me, err := c.VerifyCredentials(ctx)
	if err != nil {
		return api.FediLoginResult{}, ownerError(fmt.Errorf("login %s: checking the token: %w", handle, err))
	}
	got, err := wire.NormalizeAcct(me.FullAcct(acctHost(acct)))
	if err != nil || got != acct {
		return api.FediLoginResult{}, ownerError(fmt.Errorf("login %s: the token belongs to @%s", handle, me.FullAcct(acctHost(acct))))
	}
	b, err := json.Marshal(fediLogin{Acct: acct, Base: base, Token: req.Token, AccountID: me.ID})
	if err != nil {
		return api.FediLoginResult{}, err
	}
	l.viewMu.Lock()
	defer l.viewMu.Unlock()
	if s.secrets.Extra == nil {
		s.secrets.Extra = map[string][]byte{}
	}
	s.secrets.Extra[fediTokenPrefix+acct] = b
	s.secrets.Extra[fediAccountKey] = []byte(acct)
	if err := s.saveSecrets(a.env.Rand); err != nil {
		return api.FediLoginResult{}, err
	}
	return api.FediLoginResult{Acct: acct, Instance: base, AccountID: me.ID}, nil
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
			req := api.FediImportRequest{Account: account, Context: context, Block: flags[0], Mute: flags[1],
				Follow: flags[2], Follower: flags[3], DryRun: dryRun}
			if _, _, err := parseImportRequest(req); err != nil { // before anything is asked
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

// parseImportRequest checks a fedi import request and returns its mappings
// (in the order of relations) and the owner account ("" = the default).
func parseImportRequest(req api.FediImportRequest) ([]mapping, string, error) {
	given := []string{req.Block, req.Mute, req.Follow, req.Follower}
	mappings := make([]mapping, len(relations))
	for i, r := range relations {
		v := given[i]
		if v == "" {
			v = r.def
		}
		m, err := parseMapping(r.flag, v)
		if err != nil {
			return nil, "", err
		}
		mappings[i] = m
	}
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	if err := wire.ValidateContext(req.Context); err != nil {
		return nil, "", badInput("--context", err)
	}
	owner := ""
	if req.Account != "" {
		n, _, err := parseAcct(req.Account)
		if err != nil {
			return nil, "", err
		}
		owner = n
	}
	return mappings, owner, nil
}

// FediImport implements api.Service.
func (l *localService) FediImport(ctx context.Context, req api.FediImportRequest) (api.FediImportResult, error) {
	mappings, owner, err := parseImportRequest(req)
	if err != nil {
		return api.FediImportResult{}, apiError(err)
	}
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	l.viewMu.Lock()
	defer l.viewMu.Unlock()
	lg, err := l.s.login(owner)
	if err != nil {
		return api.FediImportResult{}, ownerError(err)
	}
	res, objs, err := l.a.planImport(ctx, l.s, lg, req.Context, mappings)
	if err != nil {
		return api.FediImportResult{}, ownerError(err)
	}
	if !req.DryRun && len(objs) > 0 {
		if err := l.submit(ctx, objs...); err != nil {
			return api.FediImportResult{}, ownerError(fmt.Errorf("import: %w (nothing was imported)", err))
		}
	}
	res.DryRun = req.DryRun
	return res, nil
}

// planImport fetches the lists and returns the signed objects that bring
// the store in line with them. It writes nothing.
func (a *app) planImport(ctx context.Context, s *session, lg *fediLogin, context string, mappings []mapping) (api.FediImportResult, []wire.Object, error) {
	_, handle, _ := parseAcct(lg.Acct)
	res := api.FediImportResult{Account: handle, Context: context, Relations: map[string]int{}}
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
