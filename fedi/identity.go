package fedi

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/kith-net/kith/wire"
)

// FieldName is the name of the profile field that carries the node key.
// Fields are matched by name with white space trimmed and ASCII letters
// compared without case ("Kith", " KITH "), never by Unicode case folding.
const FieldName = "kith"

// fieldNamed reports whether f's name is name (spec/fedi-link-v1.md §2).
func fieldNamed(f Field, name string) bool {
	n := strings.TrimSpace(f.Name)
	if len(n) != len(name) {
		return false
	}
	for i := 0; i < len(n); i++ {
		a, b := n[i], name[i]
		if a >= 'A' && a <= 'Z' {
			a += 'a' - 'A'
		}
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// ProfileText returns the exact text the owner puts in the profile field
// named FieldName: the node key as a did:key.
func ProfileText(k wire.PublicKey) string { return k.DIDKey() }

// NewLink returns an identity link from k to acct ("@user@host" or any form
// wire.NormalizeAcct takes), created at now and signed.
func NewLink(k *wire.PrivateKey, acct string, now time.Time) (*wire.IdentityLink, error) {
	n, err := wire.NormalizeAcct(acct)
	if err != nil {
		return nil, err
	}
	l := &wire.IdentityLink{Acct: n, Created: uint64(now.Unix())}
	if err := l.Sign(k); err != nil {
		return nil, err
	}
	return l, nil
}

// FieldText reduces a profile field value (HTML in the API's fields) to
// text: tags are dropped and character references decoded. A value without
// markup is returned as it is, after decoding.
func FieldText(v string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			b.WriteString(v)
			break
		}
		b.WriteString(v[:i])
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			// A lone '<' is text.
			b.WriteString(v[i:])
			break
		}
		if blockTag(v[i+1 : i+j]) {
			b.WriteByte(' ')
		}
		v = v[i+j+1:]
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}

// blockTag reports whether the tag (the text between < and >) separates
// words: paragraphs and line breaks do, inline tags such as Mastodon's
// <span class="invisible"> inside a link do not.
func blockTag(tag string) bool {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "/")
	name, _, _ := strings.Cut(tag, " ")
	name = strings.TrimSuffix(name, "/")
	for _, b := range []string{"p", "br", "div", "li", "ul", "ol", "blockquote"} {
		if fieldNamed(Field{Name: name}, b) {
			return true
		}
	}
	return false
}

// Claim is what an account's kith fields say.
type Claim struct {
	Keys    []wire.PublicKey // valid did:keys, in field order, without repeats
	Invalid []string         // kith field values that hold no valid did:key
}

// Claims reads the kith fields of a (Fields, and Source.Fields when present).
func Claims(a *Account) Claim {
	var c Claim
	seen := map[wire.PublicKey]bool{}
	scan := func(fs []Field) {
		for _, f := range fs {
			if !fieldNamed(f, FieldName) {
				continue
			}
			text := FieldText(f.Value)
			found := false
			for tok := range strings.FieldsSeq(text) {
				if !strings.HasPrefix(tok, "did:key:") {
					continue
				}
				k, err := wire.ParsePublicKey(strings.TrimRight(tok, ".,;)"))
				if err != nil {
					continue
				}
				found = true
				if !seen[k] {
					seen[k] = true
					c.Keys = append(c.Keys, k)
				}
			}
			if !found {
				c.Invalid = append(c.Invalid, clip(text))
			}
		}
	}
	scan(a.Fields)
	if a.Source != nil {
		scan(a.Source.Fields)
	}
	return c
}

// Lookuper finds an account; *Client is one (Resolve, through an instance
// that fetches remote accounts with signed requests).
type Lookuper interface {
	Resolve(ctx context.Context, acct string) (*Account, error)
}

// Verification is a link found valid in both directions.
type Verification struct {
	Acct      string         // normalised "acct:user@host"
	Key       wire.PublicKey // the node key
	Account   *Account       // as the instance served it
	CheckedAt time.Time
}

// Verify checks both directions of link for acct at time now: the link is
// validly signed by its key, names acct, and is neither expired nor
// future-dated; and the account, as l finds it, has a kith profile field
// holding the link's key as a did:key. It fails with ErrBadLink, ErrNoField
// (no kith field, or none holding a did:key), ErrKeyMismatch (kith fields
// holding only other keys), or l's error.
func Verify(ctx context.Context, l Lookuper, acct string, link *wire.IdentityLink, now time.Time) (*Verification, error) {
	n, err := wire.NormalizeAcct(acct)
	if err != nil {
		return nil, err
	}
	handle := "@" + strings.TrimPrefix(n, "acct:")
	if link == nil {
		return nil, fmt.Errorf("fedi: verify %s: %w: no link", handle, ErrBadLink)
	}
	if err := link.Verify(now); err != nil {
		return nil, fmt.Errorf("fedi: verify %s: %w: %w", handle, ErrBadLink, err)
	}
	if link.Acct != n {
		return nil, fmt.Errorf("fedi: verify %s: %w: the link names %s", handle, ErrBadLink, link.Acct)
	}
	a, err := l.Resolve(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := CheckClaim(handle, Claims(a), link.Key); err != nil {
		return nil, err
	}
	return &Verification{Acct: n, Key: link.Key, Account: a, CheckedAt: now}, nil
}

// CheckClaim reports whether claim names key: nil if it does, else an error
// wrapping ErrNoField or ErrKeyMismatch that says what the profile holds.
func CheckClaim(handle string, claim Claim, key wire.PublicKey) error {
	for _, k := range claim.Keys {
		if k == key {
			return nil
		}
	}
	if len(claim.Keys) > 0 {
		others := make([]string, len(claim.Keys))
		for i, k := range claim.Keys {
			others[i] = k.DIDKey()
		}
		return fmt.Errorf("fedi: verify %s: %w: its %q field claims %s, not %s",
			handle, ErrKeyMismatch, FieldName, strings.Join(others, ", "), key.DIDKey())
	}
	if len(claim.Invalid) > 0 {
		return fmt.Errorf("fedi: verify %s: %w: its %q field holds %q, not a did:key (want %s)",
			handle, ErrNoField, FieldName, claim.Invalid[0], key.DIDKey())
	}
	return fmt.Errorf("fedi: verify %s: %w: add a field named %q with the value %s",
		handle, ErrNoField, FieldName, key.DIDKey())
}
