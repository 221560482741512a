package wire

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
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
		k, err := ParsePublicKey(trimSpace(part))
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
			if err := checkKey("audience", p); err != nil {
				return err
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
	s = trimSpace(s)
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
		return errorf("", "subject", ErrInvalidField, "neither key nor acct")
	}
	if s.Key != nil {
		if err := checkKey("subject", *s.Key); err != nil {
			return err
		}
	}
	if s.Acct != "" {
		return checkAcct("subject", s.Acct)
	}
	return nil
}

// checkAcct checks that an account inside an object is in normalised form.
func checkAcct(field, acct string) error {
	n, err := NormalizeAcct(acct)
	if err == nil && n != acct {
		err = errorf("", field, ErrInvalidField, "acct %q is not normalised (want %q)", acct, n)
	}
	if err != nil {
		return withField(field, err)
	}
	return nil
}

// MaxUserLen and MaxHostLen cap the parts of an account.
const (
	MaxUserLen = 64
	MaxHostLen = 253 // the host name, without the port: the DNS limit
)

// NormalizeAcct returns the canonical "acct:user@host" form of a Fediverse
// account written "@user@host", "user@host" or "acct:user@host" (the
// scheme in any case), after trimming white space. Only ASCII is accepted,
// and only A-Z is folded to lower case: a non-ASCII character that folds
// to an ASCII one (U+212A KELVIN SIGN to "k") is an error, not a second
// spelling of a name. The rules are spec/wire-v1.md §2.
func NormalizeAcct(s string) (string, error) {
	const op = "parse account"
	in := s
	s = trimSpace(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", errorf(op, "acct", ErrInvalidField, "%q: only ASCII is allowed", in)
		}
	}
	s = asciiLower(s)
	if rest, ok := strings.CutPrefix(s, "acct:"); ok {
		s = rest
	} else {
		s = strings.TrimPrefix(s, "@")
	}
	user, host, ok := strings.Cut(s, "@")
	if !ok {
		return "", errorf(op, "acct", ErrInvalidField, "%q is not user@host", in)
	}
	if user == "" || len(user) > MaxUserLen || strings.IndexFunc(user, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')
	}) >= 0 {
		return "", errorf(op, "acct", ErrInvalidField, "bad user name in %q: 1..%d of a-z 0-9 _ . -", in, MaxUserLen)
	}
	if err := checkHost(host); err != "" {
		return "", errorf(op, "acct", ErrInvalidField, "bad host in %q: %s", in, err)
	}
	n := "acct:" + user + "@" + host
	if len(n) > MaxAcctLen {
		return "", errorf(op, "acct", ErrInvalidField, "%q is %d bytes normalised, at most %d", in, len(n), MaxAcctLen)
	}
	return n, nil
}

// textSpace is the white space a text form may have at either end
// (spec/wire-v1.md §10): ASCII only, U+0009–U+000D and U+0020. Other
// Unicode spaces (U+00A0, U+2003, ...) are not trimmed, so an input that
// holds one is not a key and, being non-ASCII, not an account.
const textSpace = "\t\n\v\f\r "

func trimSpace(s string) string { return strings.Trim(s, textSpace) }

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// checkHost checks a lower-case DNS name with an optional port and says
// what is wrong, or "".
func checkHost(h string) string {
	name, port, hasPort := strings.Cut(h, ":")
	if hasPort {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
			return "the port must be 1..65535 in decimal without leading zeros"
		}
	}
	if err := checkDNSName(name); err != "" {
		return err
	}
	return ""
}

// checkDNSName checks a host name: 1..253 bytes of labels of a-z 0-9 -
// (1..63 bytes, no hyphen first or last) joined by dots. A name whose last
// label is all digits must be an IPv4 address in dotted decimal (four
// labels of 0..255 without leading zeros), as test servers on 127.0.0.1
// use; "example.123" or "999.1.1.1" is neither a name nor an address.
func checkDNSName(name string) string {
	if name == "" || len(name) > MaxHostLen {
		return "the host name must be 1.." + itoa(MaxHostLen) + " bytes"
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "a label must be 1..63 bytes, without a hyphen first or last"
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "a label holds only a-z 0-9 -"
			}
		}
	}
	if allDigits(labels[len(labels)-1]) {
		if len(labels) != 4 {
			return "the last label is all digits, and the host is not an IPv4 address"
		}
		for _, l := range labels {
			n, err := strconv.Atoi(l)
			if !allDigits(l) || err != nil || n > 255 || strconv.Itoa(n) != l {
				return "the last label is all digits, and the host is not an IPv4 address"
			}
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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
// bytes, and no character from forbiddenRune.
func validateText(field, s string, max int) error {
	if len(s) > max {
		return errorf("", field, ErrInvalidField, "%d bytes, at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errorf("", field, ErrInvalidField, "not UTF-8")
	}
	if i := strings.IndexFunc(s, forbiddenRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return errorf("", field, ErrInvalidField, "character U+%04X at byte %d is not allowed", r, i)
	}
	return nil
}

// forbiddenRune reports the characters free text may not hold (§5.1): the
// C0 and C1 controls and DEL, the line and paragraph separators, and the
// twelve bidirectional formatting characters of Unicode's UAX #9, which
// can make displayed text read differently from its bytes. The list is
// fixed code points, independent of the Unicode version.
func forbiddenRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// validateEvidence accepts an http(s) URL or a CIDv1 in its text form
// (§5.1).
func validateEvidence(s string) error {
	if s == "" {
		return nil
	}
	if err := validateText("evidence", s, MaxEvidenceLen); err != nil {
		return err
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		if err := checkURL(s); err != "" {
			return errorf("", "evidence", ErrInvalidField, "%q: %s", s, err)
		}
		return nil
	}
	if c, err := cid.Decode(s); err == nil && c.Version() == 1 && c.String() == s {
		return nil
	}
	return errorf("", "evidence", ErrInvalidField, "%q is neither an http(s) URL nor a CIDv1 in base32 (b...)", s)
}

// checkURL checks the URL grammar of §5.1:
//
//	("http" / "https") "://" host [":" port] [("/" / "?" / "#") rest]
//
// where host is a DNS name as for accounts, and rest holds only RFC 3986
// characters (unreserved, sub-delims, ":" "@" "/" "?", one "#" at most,
// "%" followed by two hex digits).
func checkURL(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if err := checkHost(rest[:end]); err != "" {
		return err
	}
	hashes := 0
	tail := rest[end:]
	for i := 0; i < len(tail); i++ {
		c := tail[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
		case c == '#':
			hashes++
			if hashes > 1 {
				return "a second '#'"
			}
		case c == '%':
			if i+2 >= len(tail) || !isHex(tail[i+1]) || !isHex(tail[i+2]) {
				return "'%' not followed by two hex digits"
			}
			i += 2
		default:
			return fmt.Sprintf("character %q is not allowed in a URL", c)
		}
	}
	return ""
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// NewNonce returns a fresh random nonce.
func NewNonce(rand io.Reader) ([]byte, error) {
	n := make([]byte, NonceSize)
	if _, err := io.ReadFull(rand, n); err != nil {
		return nil, errorf("new nonce", "", ErrMissingField, "read random: %v", err)
	}
	return n, nil
}

// MaxTime bounds every time field: Unix seconds below 2^40 (year 36812;
// anything later is a unit error, such as milliseconds).
const MaxTime = 1 << 40

// checkTimes validates created/expires: 1 <= created < expires < MaxTime
// (expires 0 means absent).
func checkTimes(created, expires uint64) error {
	if created == 0 || created >= MaxTime {
		return errorf("", "created", ErrInvalidField, "%d is not Unix seconds in 1..2^40-1", created)
	}
	if expires != 0 && (expires <= created || expires >= MaxTime) {
		return errorf("", "expires", ErrInvalidField, "expires %d is not in created+1..2^40-1 (created %d)", expires, created)
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
