package fedi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits and defaults.
const (
	// MaxResponseSize bounds every response body.
	MaxResponseSize = 4 << 20
	// DefaultMaxRetries is how often a 429 or 503 is retried.
	DefaultMaxRetries = 3
	// DefaultMaxWait is the longest wait the client accepts from a server.
	DefaultMaxWait = 2 * time.Minute
	// DefaultTimeout is the per-request timeout of the default HTTP client.
	DefaultTimeout = 30 * time.Second
	// PageLimit is the page size asked for on paged lists (the servers'
	// maximum is 80).
	PageLimit = 80
	// MaxPages bounds one paged listing.
	MaxPages = 2000
)

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// Client calls one instance's client API. Configure it, then use it; the
// zero value is not usable (BaseURL is required).
type Client struct {
	// BaseURL is the instance's origin, "https://example.social" (see
	// InstanceURL). Only its scheme and host are used.
	BaseURL string
	// Domain qualifies the bare acct of the instance's local accounts
	// ("alice" -> "alice@Domain"). Empty: the host of BaseURL.
	Domain string
	// Token is the OAuth bearer token; empty for unauthenticated calls.
	Token string
	// HTTP sends the requests; nil means a client with DefaultTimeout.
	HTTP *http.Client
	// MaxRetries bounds the retries of a 429 or 503: 0 means
	// DefaultMaxRetries, negative means none.
	MaxRetries int
	// MaxWait is the longest single wait the client accepts; a server that
	// asks for longer gets ErrRateLimited at once. 0 means DefaultMaxWait.
	MaxWait time.Duration
	// Now is the clock (X-RateLimit-Reset, HTTP dates); nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// UserAgent is sent with every request; empty means "kith".
	UserAgent string
}

// InstanceURL returns the origin of the instance serving host ("example.social"
// or "localhost:18080") over https, or over plain http when allowHTTP is set
// and host is a loopback name or address. Anything else is an error.
func InstanceURL(host string, allowHTTP bool) (string, error) {
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return "", fmt.Errorf("fedi: bad instance host %q", host)
	}
	if allowHTTP && IsLoopback(host) {
		return "http://" + host, nil
	}
	return "https://" + host, nil
}

// IsLoopback reports whether host (with an optional port) names the
// loopback interface: "localhost", 127.0.0.0/8, or ::1.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (c *Client) base() (*url.URL, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("fedi: bad base URL %q: want https://host", c.BaseURL)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func (c *Client) domain() string {
	if c.Domain != "" {
		return c.Domain
	}
	if u, err := c.base(); err == nil {
		return u.Host
	}
	return ""
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one API call.
type request struct {
	op     string     // for messages
	method string     // GET, POST, PATCH
	path   string     // "/api/v1/..."
	query  url.Values // may be nil
	form   url.Values // form body (POST, PATCH), may be nil
	auth   bool       // send the bearer token
}

// do runs r, retrying 429/503 as the server asks, and decodes a successful
// JSON answer into out (unless out is nil). It returns the answer's headers.
func (c *Client) do(ctx context.Context, r request, out any) (http.Header, error) {
	base, err := c.base()
	if err != nil {
		return nil, err
	}
	u := *base
	u.Path = r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	if r.auth && c.Token == "" {
		return nil, fmt.Errorf("fedi: %s: %w: no access token (log in first)", r.op, ErrUnauthorized)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	retries := c.MaxRetries
	if retries == 0 {
		retries = DefaultMaxRetries
	}
	maxWait := c.MaxWait
	if maxWait == 0 {
		maxWait = DefaultMaxWait
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if r.form != nil {
			body = strings.NewReader(r.form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
		if err != nil {
			return nil, fmt.Errorf("fedi: %s: %w", r.op, err)
		}
		req.Header.Set("Accept", "application/json")
		ua := c.UserAgent
		if ua == "" {
			ua = "kith"
		}
		req.Header.Set("User-Agent", ua)
		if r.form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if r.auth {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("fedi: %s: %w", r.op, ctx.Err())
			}
			return nil, fmt.Errorf("fedi: %s: %w: %s %s: %w", r.op, ErrUnreachable, r.method, shown, unwrapURLError(err))
		}
		raw, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
		resp.Body.Close()
		if rerr != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("fedi: %s: %w", r.op, ctx.Err())
			}
			return nil, fmt.Errorf("fedi: %s: %w: reading the answer: %w", r.op, ErrUnreachable, rerr)
		}
		if len(raw) > MaxResponseSize {
			return nil, fmt.Errorf("fedi: %s: %w: answer larger than %d bytes", r.op, ErrMalformed, MaxResponseSize)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return nil, fmt.Errorf("fedi: %s: %w: %s %s: %w", r.op, ErrMalformed, r.method, shown, err)
				}
			}
			return resp.Header, nil
		}
		herr := &HTTPError{Op: r.op, Method: r.method, URL: shown, Status: resp.StatusCode, Message: serverMessage(raw)}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			return nil, herr
		}
		wait, asked := retryWait(resp.Header, c.now())
		if !asked {
			wait = time.Second << attempt
		}
		herr.RetryAfter = wait
		if retries < 0 || attempt >= retries || wait > maxWait {
			return nil, herr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("fedi: %s: waiting to retry: %w", r.op, err)
		}
	}
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats
// the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// serverMessage extracts the error text of a Mastodon-style error body
// ({"error": "...", "error_description": "..."}), else a short plain-text
// body.
func serverMessage(raw []byte) string {
	var e struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(raw, &e) == nil {
		msg, _ := e.Error.(string)
		if e.Description != "" && e.Description != msg {
			if msg != "" {
				msg += ": "
			}
			msg += e.Description
		}
		return clip(msg)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '<' {
		return ""
	}
	return clip(string(raw))
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// retryWait reads how long a 429/503 answer asks to wait: Retry-After
// (seconds or an HTTP date), else X-RateLimit-Reset (an ISO 8601 time as
// Mastodon sends, or Unix seconds). asked is false when neither is usable.
func retryWait(h http.Header, now time.Time) (wait time.Duration, asked bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return clampWait(time.Duration(min(n, 1<<31)) * time.Second), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return clampWait(t.Sub(now)), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00"} {
			if t, err := time.Parse(layout, v); err == nil {
				return clampWait(t.Sub(now)), true
			}
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return clampWait(time.Unix(n, 0).Sub(now)), true
		}
	}
	return 0, false
}

func clampWait(d time.Duration) time.Duration { return max(d, 0) }
