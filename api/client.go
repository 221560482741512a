package api

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
	"strings"
	"time"
)

// maxResponseBytes caps a response body the Client reads.
const maxResponseBytes = MaxBundleBytes/3*4 + 1<<20

// Client is a Service over HTTP: each method is one request to a Server. An
// error response comes back as an *Error with the server's status, code and
// message; a transport failure as a wrapped net error. A Client is safe for
// concurrent use.
type Client struct {
	base  string // scheme://host, no trailing slash
	token string
	hc    *http.Client
}

var _ Service = (*Client)(nil)

// NewClient returns a Client for the API at baseURL with the bearer token.
// baseURL is "http://127.0.0.1:PORT" (or another http URL), or
// "unix:/path/to/socket" for a unix socket. httpClient may be nil: the
// default client follows no redirects and has a 2-minute timeout. For a
// unix URL, a copy of httpClient is used with a transport that dials the
// socket.
func NewClient(baseURL, token string, httpClient *http.Client) (*Client, error) {
	if token == "" {
		return nil, errors.New("api: NewClient: empty token")
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, errors.New("api: NewClient: malformed token")
	}
	var hc http.Client
	if httpClient != nil {
		hc = *httpClient
	} else {
		hc = http.Client{
			Timeout: 2 * time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("api: NewClient: %w", err)
	}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return nil, fmt.Errorf("api: NewClient: %q names no socket", baseURL)
		}
		hc.Transport = &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			MaxIdleConns:    4,
			IdleConnTimeout: 30 * time.Second,
		}
		return &Client{base: "http://localhost", token: token, hc: &hc}, nil
	case "http", "https":
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("api: NewClient: %q: want scheme://host:port", baseURL)
		}
		return &Client{base: u.Scheme + "://" + u.Host, token: token, hc: &hc}, nil
	}
	return nil, fmt.Errorf("api: NewClient: %q: want an http:// or unix: URL", baseURL)
}

// do sends one request. body, when not nil, is sent as JSON; out, when not
// nil, receives the decoded response.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("api: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("api: %s %s: reading response: %w", method, path, err)
	}
	if len(b) > maxResponseBytes {
		return &Error{Status: resp.StatusCode, Code: CodeBadResponse, Message: "response too large"}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return DecodeError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &Error{Status: resp.StatusCode, Code: CodeBadResponse,
			Message: fmt.Sprintf("%s %s: undecodable response: %v", method, path, err)}
	}
	return nil
}

// DecodeError turns an error response (status and body) into an *Error:
// the server's code and message when the body is the API's JSON error, a
// code derived from the status otherwise.
func DecodeError(status int, body []byte) *Error {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error != nil && eb.Error.Code != "" {
		return &Error{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	code := CodeBadResponse
	for c, s := range codeStatus {
		if s == status {
			code = c
			break
		}
	}
	return &Error{Status: status, Code: code,
		Message: fmt.Sprintf("server answered %d %s", status, http.StatusText(status))}
}

// Status implements Service.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, "GET", "/v1/status", nil, nil, &st)
	return st, err
}

// Peers implements Service.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var ps []Peer
	err := c.do(ctx, "GET", "/v1/peers", nil, nil, &ps)
	return ps, err
}

// Query implements Service.
func (c *Client) Query(ctx context.Context, req QueryRequest) (QueryResult, error) {
	var q QueryResult
	err := c.do(ctx, "GET", "/v1/query", req.values(), nil, &q)
	return q, err
}

// Rank implements Service.
func (c *Client) Rank(ctx context.Context, req RankRequest) ([]RankRow, error) {
	var rows []RankRow
	err := c.do(ctx, "GET", "/v1/rank", req.values(), nil, &rows)
	if rows == nil && err == nil {
		rows = []RankRow{}
	}
	return rows, err
}

// Attestations implements Service.
func (c *Client) Attestations(ctx context.Context, req ListRequest) ([]Attestation, error) {
	var as []Attestation
	err := c.do(ctx, "GET", "/v1/attestations", req.values(), nil, &as)
	return as, err
}

// Attest implements Service.
func (c *Client) Attest(ctx context.Context, req AttestRequest) (Attestation, error) {
	var a Attestation
	err := c.do(ctx, "POST", "/v1/attestations", nil, req, &a)
	return a, err
}

// Retract implements Service.
func (c *Client) Retract(ctx context.Context, req RetractRequest) (Retraction, error) {
	var r Retraction
	err := c.do(ctx, "POST", "/v1/retractions", nil, req, &r)
	return r, err
}

// Consents implements Service.
func (c *Client) Consents(ctx context.Context) ([]ConsentRequest, error) {
	var cs []ConsentRequest
	err := c.do(ctx, "GET", "/v1/consents", nil, nil, &cs)
	return cs, err
}

// Approve implements Service.
func (c *Client) Approve(ctx context.Context, cid string) (ConsentRequest, error) {
	return c.consentAction(ctx, cid, "approve")
}

// Decline implements Service.
func (c *Client) Decline(ctx context.Context, cid string) (ConsentRequest, error) {
	return c.consentAction(ctx, cid, "decline")
}

// Withdraw implements Service.
func (c *Client) Withdraw(ctx context.Context, cid string) (ConsentRequest, error) {
	return c.consentAction(ctx, cid, "withdraw")
}

func (c *Client) consentAction(ctx context.Context, cid, action string) (ConsentRequest, error) {
	if err := checkCID(cid); err != nil {
		return ConsentRequest{}, err
	}
	var cr ConsentRequest
	err := c.do(ctx, "POST", "/v1/consents/"+cid+"/"+action, nil, struct{}{}, &cr)
	return cr, err
}

// Metrics implements Service. It reads the JSON form, which has names and
// values only: the help texts and types are in the Prometheus form.
func (c *Client) Metrics(ctx context.Context) ([]Metric, error) {
	var m map[string]float64
	if err := c.do(ctx, "GET", "/v1/metrics", url.Values{"format": {"json"}}, nil, &m); err != nil {
		return nil, err
	}
	return metricsOf(m), nil
}
