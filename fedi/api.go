package fedi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kith-net/kith/wire"
)

// Account is the part of a Mastodon/GoToSocial account entity kith reads.
type Account struct {
	ID          string  `json:"id"`
	Username    string  `json:"username"`
	Acct        string  `json:"acct"` // "user" (local) or "user@domain"
	DisplayName string  `json:"display_name"`
	Locked      bool    `json:"locked"`
	Bot         bool    `json:"bot"`
	URL         string  `json:"url"`
	Fields      []Field `json:"fields"`
	// Source is only in verify_credentials and update_credentials
	// answers: the owner's own plain-text values.
	Source *Source `json:"source,omitempty"`
}

// Field is a profile field. Value is HTML in Account.Fields and plain text
// in Source.Fields.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// VerifiedAt is the instance's rel=me check time (Mastodon; always
	// null on GoToSocial), as the server wrote it.
	VerifiedAt *string `json:"verified_at,omitempty"`
}

// Verified returns when the instance verified the field's link, if it did.
func (f Field) Verified() (time.Time, bool) {
	if f.VerifiedAt == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *f.VerifiedAt)
	return t, err == nil
}

// Source holds the owner's plain-text profile values.
type Source struct {
	Note   string  `json:"note"`
	Fields []Field `json:"fields"`
}

// FullAcct returns the account as "user@domain", qualifying a local
// account's bare acct with domain.
func (a *Account) FullAcct(domain string) string {
	if strings.Contains(a.Acct, "@") {
		return a.Acct
	}
	return a.Acct + "@" + domain
}

func (a *Account) check(op string) error {
	if a.ID == "" || a.Acct == "" {
		return fmt.Errorf("fedi: %s: %w: account without id or acct", op, ErrMalformed)
	}
	return nil
}

// JRD is a WebFinger answer (RFC 7033).
type JRD struct {
	Subject string    `json:"subject"`
	Aliases []string  `json:"aliases"`
	Links   []JRDLink `json:"links"`
}

// JRDLink is one link of a JRD.
type JRDLink struct {
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
	Href string `json:"href,omitempty"`
}

// Self returns the account's ActivityPub actor URL (rel="self" with an
// activity+json or ld+json type), or "".
func (j *JRD) Self() string {
	for _, l := range j.Links {
		if l.Rel == "self" && (strings.Contains(l.Type, "activity+json") || strings.Contains(l.Type, "ld+json")) {
			return l.Href
		}
	}
	return ""
}

// ProfilePage returns the account's profile page URL, or "".
func (j *JRD) ProfilePage() string {
	for _, l := range j.Links {
		if l.Rel == "http://webfinger.net/rel/profile-page" {
			return l.Href
		}
	}
	return ""
}

// APIOrigin returns the origin ("https://host") serving the account: the
// origin of its actor URL. On a split-domain instance (accounts @example.com
// served by social.example.com) it differs from the acct's host.
func (j *JRD) APIOrigin() (string, error) {
	self := j.Self()
	if self == "" {
		return "", fmt.Errorf("%w: WebFinger answer for %s has no self link", ErrMalformed, j.Subject)
	}
	u, err := url.Parse(self)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%w: WebFinger self link %q is not an http(s) URL", ErrMalformed, self)
	}
	return u.Scheme + "://" + u.Host, nil
}

// splitAcct normalises an account ("@user@host", "user@host", "acct:...")
// and returns "user@host".
func splitAcct(acct string) (string, error) {
	n, err := wire.NormalizeAcct(acct)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(n, "acct:"), nil
}

// WebFinger asks the client's instance about acct (RFC 7033). The JRD's
// subject must name the account asked for (or an alias of it).
func (c *Client) WebFinger(ctx context.Context, acct string) (*JRD, error) {
	ua, err := splitAcct(acct)
	if err != nil {
		return nil, err
	}
	var j JRD
	if _, err := c.do(ctx, request{op: "webfinger " + ua, method: "GET", path: "/.well-known/webfinger",
		query: url.Values{"resource": {"acct:" + ua}}}, &j); err != nil {
		return nil, err
	}
	if j.Subject == "" {
		return nil, fmt.Errorf("fedi: webfinger %s: %w: no subject", ua, ErrMalformed)
	}
	return &j, nil
}

// Lookup returns the account acct ("user@host"; a local account may also
// be given as "user") as the client's instance knows it. It does not fetch
// unknown remote accounts; see Resolve.
func (c *Client) Lookup(ctx context.Context, acct string) (*Account, error) {
	q := strings.TrimPrefix(strings.TrimPrefix(acct, "acct:"), "@")
	op := "lookup " + q
	var a Account
	if _, err := c.do(ctx, request{op: op, method: "GET", path: "/api/v1/accounts/lookup",
		query: url.Values{"acct": {q}}, auth: c.Token != ""}, &a); err != nil {
		return nil, err
	}
	if err := a.check(op); err != nil {
		return nil, err
	}
	return &a, nil
}

// Resolve returns the account acct, asking the instance to fetch it from
// its home server if it does not know it yet (search with resolve=true,
// which needs a token). The answer must be the account asked for.
func (c *Client) Resolve(ctx context.Context, acct string) (*Account, error) {
	want, err := splitAcct(acct)
	if err != nil {
		return nil, err
	}
	a, err := c.Lookup(ctx, want)
	if err == nil || !isNotFound(err) || c.Token == "" {
		if err == nil {
			err = c.sameAcct("lookup "+want, a, want)
		}
		return a, err
	}
	op := "resolve " + want
	var res struct {
		Accounts []Account `json:"accounts"`
	}
	if _, err := c.do(ctx, request{op: op, method: "GET", path: "/api/v2/search",
		query: url.Values{"q": {"@" + want}, "type": {"accounts"}, "resolve": {"true"}, "limit": {"5"}}, auth: true}, &res); err != nil {
		return nil, err
	}
	for i := range res.Accounts {
		r := &res.Accounts[i]
		if r.check(op) == nil && sameAccount(r.FullAcct(c.domain()), want) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("fedi: %s: %w: the instance found no such account", op, ErrNotFound)
}

func (c *Client) sameAcct(op string, a *Account, want string) error {
	if got := a.FullAcct(c.domain()); !sameAccount(got, want) {
		return fmt.Errorf("fedi: %s: %w: the instance answered with account %s", op, ErrMalformed, got)
	}
	return nil
}

// sameAccount reports whether the account an instance answered with, got
// ("user@domain"), is want: equal after normalisation (spec/fedi-link-v1.md
// §4). Normalisation folds ASCII only, so an answer spelled with a
// character that Unicode folds to ASCII (U+212A to "k") is another account.
func sameAccount(got, want string) bool {
	g, err1 := wire.NormalizeAcct(got)
	w, err2 := wire.NormalizeAcct(want)
	return err1 == nil && err2 == nil && g == w
}

func isNotFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && (he.Status == 404 || he.Status == 410)
}

// VerifyCredentials returns the token's own account, with Source.
func (c *Client) VerifyCredentials(ctx context.Context) (*Account, error) {
	const op = "verify credentials"
	var a Account
	if _, err := c.do(ctx, request{op: op, method: "GET", path: "/api/v1/accounts/verify_credentials", auth: true}, &a); err != nil {
		return nil, err
	}
	if err := a.check(op); err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateFields replaces the token owner's profile fields with fields
// (update_credentials with fields_attributes, form-encoded, which both
// Mastodon and GoToSocial accept) and returns the updated account.
func (c *Client) UpdateFields(ctx context.Context, fields []Field) (*Account, error) {
	const op = "update profile fields"
	form := url.Values{}
	for i, f := range fields {
		form.Set("fields_attributes["+strconv.Itoa(i)+"][name]", f.Name)
		form.Set("fields_attributes["+strconv.Itoa(i)+"][value]", f.Value)
	}
	var a Account
	if _, err := c.do(ctx, request{op: op, method: "PATCH", path: "/api/v1/accounts/update_credentials", form: form, auth: true}, &a); err != nil {
		return nil, err
	}
	if err := a.check(op); err != nil {
		return nil, err
	}
	return &a, nil
}

// SetField sets the token owner's profile field name to value, keeping the
// other fields (their plain-text source values) and their order; a field of
// the same name (compared case-insensitively) is replaced, else the field is
// appended. It returns the updated account.
func (c *Client) SetField(ctx context.Context, name, value string) (*Account, error) {
	me, err := c.VerifyCredentials(ctx)
	if err != nil {
		return nil, err
	}
	current := me.Fields
	if me.Source != nil && len(me.Source.Fields) == len(me.Fields) {
		current = me.Source.Fields
	}
	fields := make([]Field, 0, len(current)+1)
	replaced := false
	for _, f := range current {
		v := f.Value
		if me.Source == nil {
			v = FieldText(v)
		}
		if fieldNamed(f, name) {
			if replaced {
				continue
			}
			v, replaced = value, true
		}
		fields = append(fields, Field{Name: f.Name, Value: v})
	}
	if !replaced {
		fields = append(fields, Field{Name: name, Value: value})
	}
	return c.UpdateFields(ctx, fields)
}

// Following lists the accounts id follows, all pages.
func (c *Client) Following(ctx context.Context, id string) ([]Account, error) {
	return c.list(ctx, "following", "/api/v1/accounts/"+url.PathEscape(id)+"/following")
}

// Followers lists the accounts following id, all pages.
func (c *Client) Followers(ctx context.Context, id string) ([]Account, error) {
	return c.list(ctx, "followers", "/api/v1/accounts/"+url.PathEscape(id)+"/followers")
}

// Blocks lists the accounts the token owner blocks, all pages.
func (c *Client) Blocks(ctx context.Context) ([]Account, error) {
	return c.list(ctx, "blocks", "/api/v1/blocks")
}

// Mutes lists the accounts the token owner mutes, all pages.
func (c *Client) Mutes(ctx context.Context) ([]Account, error) {
	return c.list(ctx, "mutes", "/api/v1/mutes")
}

// list fetches every page of an account list: it follows the Link header's
// rel="next" (its query only, on the same path) until there is none, a page
// is empty, or a next link repeats.
func (c *Client) list(ctx context.Context, op, path string) ([]Account, error) {
	var all []Account
	q := url.Values{"limit": {strconv.Itoa(PageLimit)}}
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == MaxPages {
			return nil, fmt.Errorf("fedi: %s: %w: more than %d pages", op, ErrMalformed, MaxPages)
		}
		var items []Account
		h, err := c.do(ctx, request{op: op, method: "GET", path: path, query: q, auth: true}, &items)
		if err != nil {
			return nil, err
		}
		for i := range items {
			if err := items[i].check(op); err != nil {
				return nil, err
			}
		}
		all = append(all, items...)
		if len(items) == 0 {
			return all, nil
		}
		next, ok, err := NextQuery(strings.Join(h.Values("Link"), ", "))
		if err != nil {
			return nil, fmt.Errorf("fedi: %s: %w", op, err)
		}
		if !ok {
			return all, nil
		}
		key := next.Encode()
		if seen[key] {
			return all, nil
		}
		seen[key] = true
		q = next
	}
}

// Relationship actions kith fedi apply takes on the token owner's
// account (the Mastodon client API; GoToSocial has the same routes).
const (
	ActionMute  = "mute"
	ActionBlock = "block"
)

// Act mutes or blocks (action ActionMute or ActionBlock) the account id
// for the token owner; undo unmutes or unblocks it. A mute hides the
// account from the owner alone and tells nobody; a block also stops it
// from seeing the owner's posts. Mutes are permanent and include
// notifications.
func (c *Client) Act(ctx context.Context, id, action string, undo bool) error {
	if action != ActionMute && action != ActionBlock {
		return fmt.Errorf("fedi: %q is not mute or block", action)
	}
	verb := action
	if undo {
		verb = "un" + action
	}
	op := verb + " " + id
	var form url.Values
	if action == ActionMute && !undo {
		form = url.Values{"notifications": {"true"}}
	}
	_, err := c.do(ctx, request{op: op, method: "POST", path: "/api/v1/accounts/" + url.PathEscape(id) + "/" + verb, form: form, auth: true}, nil)
	return err
}
