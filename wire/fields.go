package wire

import (
	"bytes"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// Field limits.
const (
	MaxContextLen   = 64
	MaxReasonLen    = 512
	MaxEvidenceLen  = 512
	MaxAcctLen      = 320
	MaxAudiencePeer = 64
	NonceSize       = 16
	MinStrength     = 1
	MaxStrength     = 100
	// MaxClockSkew is how far in the future a creation time may lie.
	MaxClockSkew = 5 * time.Minute
)

// Kind says whether an attestation vouches for or warns about its subject.
type Kind string

// Kinds.
const (
	Vouch Kind = "vouch"
	Warn  Kind = "warn"
)

// Scope is the broad class of an Audience.
type Scope string

// Scopes.
const (
	// Private: the attestation never leaves its issuer's node.
	Private Scope = "private"
	// Peers: only the listed peers may receive it, on request.
	Peers Scope = "peers"
	// Public: it may be gossiped once its subject has consented.
	Public Scope = "public"
)

// Audience says who may receive an attestation.
type Audience struct {
	Scope Scope       `cbor:"scope"`
	Peers []PublicKey `cbor:"peers,omitempty"` // strictly ascending; only with Scope Peers
}

// PrivateAudience, PublicAudience: the common audiences.
var (
	PrivateAudience = Audience{Scope: Private}
	PublicAudience  = Audience{Scope: Public}
)

// PeersAudience returns an audience of the given peers, sorted and
// deduplicated.
func PeersAudience(peers ...PublicKey) Audience {
	ps := slices.Clone(peers)
	slices.SortFunc(ps, func(a, b PublicKey) int { return bytes.Compare(a[:], b[:]) })
	return Audience{Scope: Peers, Peers: slices.Compact(ps)}
}

// Allows reports whether peer may receive an attestation with audience a.
// A private attestation is allowed to nobody (its issuer already has it).
func (a Audience) Allows(peer PublicKey) bool {
	switch a.Scope {
	case Public:
		return true
	case Peers:
		_, ok := slices.BinarySearchFunc(a.Peers, peer, func(x, y PublicKey) int { return bytes.Compare(x[:], y[:]) })
		return ok
	}
	return false
}

// String returns "private", "public" or the comma-separated peer IDs.
func (a Audience) String() string {
	if a.Scope != Peers {
		return string(a.Scope)
	}
	s := make([]string, len(a.Peers))
	for i, p := range a.Peers {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// ParseAudience parses "private", "public", or a comma-separated list of
// peer IDs or did:keys.
func ParseAudience(s string) (Audience, error) {
	const op = "parse audience"
	switch s {
	case string(Private), "":
		return PrivateAudience, nil
	case string(Public):
		return PublicAudience, nil
	}
	var ps []PublicKey
	for part := range strings.SplitSeq(s, ",") {
		k, err := ParsePublicKey(strings.TrimSpace(part))
		if err != nil {
			return Audience{}, errorf(op, "audience", ErrInvalidField, "%q is neither private, public nor a peer ID", part)
		}
		ps = append(ps, k)
	}
	a := PeersAudience(ps...)
	if err := a.validate(); err != nil {
		return Audience{}, withOp(op, err)
	}
	return a, nil
}

func (a Audience) validate() error {
	switch a.Scope {
	case Private, Public:
		if len(a.Peers) != 0 {
			return errorf("", "audience", ErrInvalidField, "peers listed with scope %q", a.Scope)
		}
	case Peers:
		if len(a.Peers) == 0 || len(a.Peers) > MaxAudiencePeer {
			return errorf("", "audience", ErrInvalidField, "%d peers, want 1..%d", len(a.Peers), MaxAudiencePeer)
		}
		for i := 1; i < len(a.Peers); i++ {
			if bytes.Compare(a.Peers[i-1][:], a.Peers[i][:]) >= 0 {
				return errorf("", "audience", ErrInvalidField, "peers not strictly ascending")
			}
		}
		for _, p := range a.Peers {
			if p.IsZero() {
				return errorf("", "audience", ErrInvalidField, "zero peer key")
			}
		}
	default:
		return errorf("", "audience", ErrInvalidField, "unknown scope %q", a.Scope)
	}
	return nil
}

// Subject is whom an attestation is about: a node key, a Fediverse account,
// or both. At least one is set.
type Subject struct {
	Key  *PublicKey `cbor:"key,omitempty"`
	Acct string     `cbor:"acct,omitempty"` // normalised "acct:user@host"
}

// String returns the subject's text form: the peer ID, the acct URI, or
// both joined by a space.
func (s Subject) String() string {
	switch {
	case s.Key != nil && s.Acct != "":
		return s.Key.String() + " " + s.Acct
	case s.Key != nil:
		return s.Key.String()
	}
	return s.Acct
}

// Handle returns the account as "@user@host", or "" if s has none.
func (s Subject) Handle() string {
	if s.Acct == "" {
		return ""
	}
	return "@" + strings.TrimPrefix(s.Acct, "acct:")
}

// KeySubject and AcctSubject build subjects.
func KeySubject(k PublicKey) Subject { return Subject{Key: &k} }

// ParseSubject parses a peer ID, a did:key, or a Fediverse account written
// "@user@host", "user@host" or "acct:user@host".
func ParseSubject(s string) (Subject, error) {
	const op = "parse subject"
	s = strings.TrimSpace(s)
	if k, err := ParsePublicKey(s); err == nil {
		return KeySubject(k), nil
	}
	if strings.Contains(s, "@") {
		a, err := NormalizeAcct(s)
		if err != nil {
			return Subject{}, withOp(op, err)
		}
		return Subject{Acct: a}, nil
	}
	return Subject{}, errorf(op, "subject", ErrInvalidField,
		"%q is not a peer ID (12D3KooW...), a did:key, or an account (@user@host)", s)
}

func (s Subject) validate() error {
	if s.Key == nil && s.Acct == "" {
		return errorf("", "subject", ErrMissingField, "neither key nor acct")
	}
	if s.Key != nil && s.Key.IsZero() {
		return errorf("", "subject", ErrInvalidField, "zero key")
	}
	if s.Acct != "" {
		n, err := NormalizeAcct(s.Acct)
		if err != nil {
			return err
		}
		if n != s.Acct {
			return errorf("", "subject", ErrInvalidField, "acct %q is not normalised (want %q)", s.Acct, n)
		}
	}
	return nil
}

// NormalizeAcct returns the canonical "acct:user@host" form of a Fediverse
// account written "@user@host", "user@host" or "acct:user@host". User and
// host are lower-cased; the host may carry a port.
func NormalizeAcct(s string) (string, error) {
	const op = "parse account"
	in := s
	s = strings.TrimPrefix(strings.TrimPrefix(s, "acct:"), "@")
	user, host, ok := strings.Cut(s, "@")
	if !ok || len(in) > MaxAcctLen {
		return "", errorf(op, "acct", ErrInvalidField, "%q is not user@host", in)
	}
	user, host = strings.ToLower(user), strings.ToLower(host)
	if user == "" || len(user) > 64 || strings.IndexFunc(user, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')
	}) >= 0 {
		return "", errorf(op, "acct", ErrInvalidField, "bad user name in %q", in)
	}
	if !validHost(host) {
		return "", errorf(op, "acct", ErrInvalidField, "bad host in %q", in)
	}
	return "acct:" + user + "@" + host, nil
}

// validHost accepts a lower-case DNS name with an optional port.
func validHost(h string) bool {
	name, port, hasPort := strings.Cut(h, ":")
	if hasPort {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
			return false
		}
	}
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// ValidateContext checks a context name: 1 to 64 bytes of lower-case
// letters, digits and ".-_", in segments joined by ":" ("general",
// "expertise:go").
func ValidateContext(c string) error {
	if c == "" || len(c) > MaxContextLen {
		return errorf("", "context", ErrInvalidField, "%q: want 1..%d bytes", c, MaxContextLen)
	}
	for seg := range strings.SplitSeq(c, ":") {
		if seg == "" {
			return errorf("", "context", ErrInvalidField, "%q: empty segment", c)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
				return errorf("", "context", ErrInvalidField, "%q: only a-z 0-9 . - _ and : are allowed", c)
			}
		}
	}
	return nil
}

// validateText checks an optional free-text field: valid UTF-8, at most max
// bytes, no control characters.
func validateText(field, s string, max int) error {
	if len(s) > max {
		return errorf("", field, ErrInvalidField, "%d bytes, at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errorf("", field, ErrInvalidField, "not UTF-8")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return errorf("", field, ErrInvalidField, "control characters")
	}
	return nil
}

// validateEvidence accepts an http(s) URL or a CID.
func validateEvidence(s string) error {
	if s == "" {
		return nil
	}
	if err := validateText("evidence", s, MaxEvidenceLen); err != nil {
		return err
	}
	if _, err := cid.Decode(s); err == nil {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errorf("", "evidence", ErrInvalidField, "%q is neither an http(s) URL nor a CID", s)
	}
	return nil
}

// NewNonce returns a fresh random nonce.
func NewNonce(rand io.Reader) ([]byte, error) {
	n := make([]byte, NonceSize)
	if _, err := io.ReadFull(rand, n); err != nil {
		return nil, errorf("new nonce", "", ErrMissingField, "read random: %v", err)
	}
	return n, nil
}

// checkTimes validates created/expires against each other.
func checkTimes(created, expires uint64) error {
	if created == 0 {
		return errorf("", "created", ErrMissingField, "zero")
	}
	if created > 1<<40 { // year 36812: anything later is a unit error
		return errorf("", "created", ErrInvalidField, "%d is not Unix seconds", created)
	}
	if expires != 0 && expires <= created {
		return errorf("", "expires", ErrInvalidField, "expires %d is not after created %d", expires, created)
	}
	return nil
}

// checkNow applies the verification-time rules.
func checkNow(created, expires uint64, now time.Time) error {
	n := now.Unix()
	if n < 0 {
		n = 0
	}
	if created > uint64(n)+uint64(MaxClockSkew/time.Second) {
		return errorf("", "created", ErrFromFuture, "created %s, now %s", time.Unix(int64(created), 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if expires != 0 && uint64(n) >= expires {
		return errorf("", "expires", ErrExpired, "expired %s", time.Unix(int64(expires), 0).UTC().Format(time.RFC3339))
	}
	return nil
}
