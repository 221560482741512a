package fedi

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; branch with errors.Is. Their text has no package
// prefix: it follows the operation in a "fedi: ..." message.
var (
	// ErrUnauthorized: 401, the token is missing, wrong, or revoked.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: 403, the token lacks a scope or the account may not
	// see this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: 404 (or 410), no such account or endpoint.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited: 429 (or 503) after the allowed retries, or the
	// server asked for a longer wait than Client.MaxWait.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: another 4xx or 5xx answer.
	ErrServer = errors.New("server error")
	// ErrMalformed: the answer could not be read (bad JSON, missing
	// fields, oversized, a bad Link header).
	ErrMalformed = errors.New("malformed response")
	// ErrUnreachable: the instance could not be reached (DNS, connection,
	// TLS, timeout).
	ErrUnreachable = errors.New("instance unreachable")

	// ErrNoField: the account has no profile field naming a kith key.
	ErrNoField = errors.New("no kith field in the profile")
	// ErrKeyMismatch: the account's kith field names a different key than
	// the link.
	ErrKeyMismatch = errors.New("profile field names another key")
	// ErrBadLink: the signed identity link is invalid (signature, times,
	// or it names another account).
	ErrBadLink = errors.New("invalid identity link")
)

// HTTPError is an unsuccessful HTTP answer. It unwraps to the sentinel of
// its status.
type HTTPError struct {
	Op         string        // what was being done ("lookup", "following", ...)
	Method     string        // HTTP method
	URL        string        // request URL without query secrets
	Status     int           // HTTP status code
	Message    string        // the server's "error" text, if any
	RetryAfter time.Duration // for 429/503: how long the server asked to wait
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("fedi: %s: %s %s: HTTP %d %s", e.Op, e.Method, e.URL, e.Status, statusSentinel(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Unwrap returns the sentinel for the status.
func (e *HTTPError) Unwrap() error { return statusSentinel(e.Status) }

func statusSentinel(status int) error {
	switch status {
	case 401:
		return ErrUnauthorized
	case 403:
		return ErrForbidden
	case 404, 410:
		return ErrNotFound
	case 429, 503:
		return ErrRateLimited
	}
	return ErrServer
}
