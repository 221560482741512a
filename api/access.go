package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kith-net/kith/internal/atomicfile"
)

// Access holds the local API's credentials other than the bearer token:
// one-time login codes for the web page (kith ui), one-time pairing codes
// for the browser extension (kith ui --pair), the extension tokens that
// pairing hands out, and the counts of refused requests, by reason. It is
// safe for concurrent use; one Access is shared by the Server and the web
// page's handler.
//
// Codes live in memory only and expire after CodeTTL; each is good for one
// use. Extension tokens are 256 random bits; only their SHA-256 digests
// are kept, in PairingsFile (mode 0600) when AccessOptions.Dir is set, each
// bound to the extension origin (chrome-extension://ID or
// moz-extension://UUID) that paired.
type Access struct {
	mu       sync.Mutex
	now      func() time.Time
	rand     io.Reader
	file     string // "" keeps pairings in memory
	logins   map[tokenDigest]time.Time
	pairs    map[tokenDigest]time.Time
	paired   []pairing
	refusals map[string]int64
}

// pairing is one paired extension.
type pairing struct {
	Digest  string    `json:"digest"` // hex SHA-256 of the token
	Origin  string    `json:"origin"`
	Created time.Time `json:"created"`
}

// AccessOptions configures NewAccess.
type AccessOptions struct {
	// Dir is the data directory that keeps PairingsFile; "" keeps the
	// pairings in memory (tests).
	Dir string
	// Now is the clock (default time.Now); Rand the source of codes and
	// tokens (default crypto/rand).
	Now  func() time.Time
	Rand io.Reader
}

// PairingsFile names the file of paired extensions in the data directory.
const PairingsFile = "ext-pairings.json"

// CodeTTL is how long a login or pairing code is good for.
const CodeTTL = 5 * time.Minute

// maxPairings bounds the paired extensions kept; pairing again past it
// forgets the oldest.
const maxPairings = 16

// Refusal reasons counted by Access (kith_api_refused_total and friends,
// see Metrics).
const (
	RefusedHost    = "host"    // a foreign Host header (DNS rebinding)
	RefusedOrigin  = "origin"  // a foreign Origin or Sec-Fetch-Site (cross-site)
	RefusedToken   = "token"   // a missing or wrong bearer token
	RefusedCSRF    = "csrf"    // a web page change without its CSRF token
	RefusedSession = "session" // a web page request without a session
	RefusedLogin   = "login"   // a used, expired or unknown login code
	RefusedPairing = "pairing" // an extension request without a pairing
)

// NewAccess returns an Access, reading the paired extensions from Dir.
func NewAccess(opts AccessOptions) (*Access, error) {
	a := &Access{now: opts.Now, rand: opts.Rand, logins: map[tokenDigest]time.Time{}, pairs: map[tokenDigest]time.Time{},
		refusals: map[string]int64{}}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	if opts.Dir != "" {
		a.file = filepath.Join(opts.Dir, PairingsFile)
		b, err := readPrivateFile(a.file, 1<<20)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("api: pairings: %w", err)
		default:
			if err := json.Unmarshal(b, &a.paired); err != nil {
				return nil, fmt.Errorf("api: pairings %s: %w", a.file, err)
			}
		}
	}
	return a, nil
}

// randomToken is 256 random bits, base64url without padding.
func (a *Access) randomToken() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(a.rand, b[:]); err != nil {
		return "", fmt.Errorf("api: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (a *Access) newCode(m map[tokenDigest]time.Time) (string, time.Time, error) {
	code, err := a.randomToken()
	if err != nil {
		return "", time.Time{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for d, exp := range m { // forget expired codes
		if !now.Before(exp) {
			delete(m, d)
		}
	}
	exp := now.Add(CodeTTL)
	m[digestToken(code)] = exp
	return code, exp, nil
}

func (a *Access) redeem(m map[tokenDigest]time.Time, code string) bool {
	d := digestToken(code)
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := m[d]
	delete(m, d) // one use, whatever the outcome
	return ok && a.now().Before(exp)
}

// NewLoginCode returns a one-time code for the web page's login URL.
func (a *Access) NewLoginCode() (string, time.Time, error) { return a.newCode(a.logins) }

// RedeemLogin reports whether code is a login code not used before and
// not expired, and uses it up.
func (a *Access) RedeemLogin(code string) bool { return a.redeem(a.logins, code) }

// NewPairingCode returns a one-time code the browser extension trades
// for its token.
func (a *Access) NewPairingCode() (string, time.Time, error) { return a.newCode(a.pairs) }

// IsExtensionOrigin reports whether o is a browser extension's origin
// (chrome-extension://ID or moz-extension://UUID): a web page can never
// send one.
func IsExtensionOrigin(o string) bool {
	for _, p := range []string{"chrome-extension://", "moz-extension://"} {
		if id, ok := strings.CutPrefix(o, p); ok && id != "" && !strings.ContainsAny(id, "/:@?#") {
			return true
		}
	}
	return false
}

// Pair trades a pairing code for an extension token bound to origin. It
// fails when the code is used, expired or unknown, or origin is not an
// extension's.
func (a *Access) Pair(code, origin string) (string, error) {
	if !a.redeem(a.pairs, code) {
		return "", Errorf(CodeUnauthorized, "this pairing code was used, has expired or is unknown: run kith ui --pair again")
	}
	if !IsExtensionOrigin(origin) {
		return "", Errorf(CodeForbidden, "forbidden: pairing is for the kith browser extension only")
	}
	tok, err := a.randomToken()
	if err != nil {
		return "", err
	}
	d := digestToken(tok)
	a.mu.Lock()
	defer a.mu.Unlock()
	paired := append(slices.Clone(a.paired), pairing{Digest: fmt.Sprintf("%x", d[:]), Origin: origin, Created: a.now().UTC()})
	if len(paired) > maxPairings {
		paired = paired[len(paired)-maxPairings:]
	}
	if a.file != "" {
		b, err := json.MarshalIndent(paired, "", "  ")
		if err != nil {
			return "", err
		}
		if err := atomicfile.Write(a.file, append(b, '\n'), 0o600); err != nil {
			return "", fmt.Errorf("api: pairings: %w", err)
		}
	}
	a.paired = paired
	return tok, nil
}

// Paired reports whether tok is an extension token and origin is empty or
// the origin it was paired from.
func (a *Access) Paired(tok, origin string) bool {
	d := digestToken(tok)
	hex := fmt.Sprintf("%x", d[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	found := false
	for _, p := range a.paired {
		if subtle.ConstantTimeCompare([]byte(p.Digest), []byte(hex)) == 1 && (origin == "" || origin == p.Origin) {
			found = true
		}
	}
	return found
}

// Pairings is how many extensions are paired.
func (a *Access) Pairings() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.paired)
}

// Refuse counts one refused request.
func (a *Access) Refuse(reason string) {
	a.mu.Lock()
	a.refusals[reason]++
	a.mu.Unlock()
}

// Refused returns how many requests were refused for reason.
func (a *Access) Refused(reason string) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refusals[reason]
}

// Metrics are the refusal counts, one counter per reason
// (kith_api_refused_host_total, ...), and the paired extensions.
func (a *Access) Metrics() []Metric {
	a.mu.Lock()
	defer a.mu.Unlock()
	help := map[string]string{
		RefusedHost:    "Requests refused for a foreign Host header (DNS rebinding).",
		RefusedOrigin:  "Requests refused for a foreign Origin or Sec-Fetch-Site (cross-site).",
		RefusedToken:   "Requests refused for a missing or wrong bearer token.",
		RefusedCSRF:    "Web page changes refused for a missing or wrong CSRF token.",
		RefusedSession: "Web page requests refused without a session.",
		RefusedLogin:   "Web page logins refused: the login code was used, expired or unknown.",
		RefusedPairing: "Extension requests refused: no pairing, or a used, expired or unknown pairing code.",
	}
	var out []Metric
	for _, r := range []string{RefusedHost, RefusedOrigin, RefusedToken, RefusedCSRF, RefusedSession, RefusedLogin, RefusedPairing} {
		out = append(out, Metric{Name: "kith_api_refused_" + r + "_total", Help: help[r], Kind: Counter, Value: float64(a.refusals[r])})
	}
	out = append(out, Metric{Name: "kith_extensions_paired", Help: "Browser extensions paired with this node.", Kind: Gauge, Value: float64(len(a.paired))})
	return out
}
