package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

type testServer struct {
	fake  *fakeService
	srv   *Server
	addr  string // host:port or socket path
	url   string // base URL for NewClient
	token string
}

// startServer serves a fresh fake on ln (a loopback listener when nil) until
// the test ends, and checks that Serve returned cleanly.
func startServer(t *testing.T, ln net.Listener, opts ServerOptions) *testServer {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	tok := opts.Token
	fake := newFake()
	srv, err := NewServer(fake, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ln == nil {
		ln, err = Listen(context.Background(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	ts := &testServer{fake: fake, srv: srv, addr: ln.Addr().String(), token: tok}
	ts.url = baseURL(ln.Addr())
	return ts
}

func (ts *testServer) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(ts.url, ts.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawReq is one HTTP request written byte for byte, so that tests control
// the Host header (or its absence), the request line and every header.
type rawReq struct {
	method, target string
	proto          string // default HTTP/1.1
	host           *string
	headers        [][2]string
	body           string
}

func strp(s string) *string { return &s }

func (r rawReq) bytes() []byte {
	proto := r.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	var b strings.Builder
	b.WriteString(r.method + " " + r.target + " " + proto + "\r\n")
	if r.host != nil {
		b.WriteString("Host: " + *r.host + "\r\n")
	}
	for _, h := range r.headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if r.body != "" || r.method == "POST" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(r.body)
	return []byte(b.String())
}

// send writes r on a new connection to addr and reads the response.
func send(t *testing.T, network, addr string, r rawReq) (*http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(r.bytes()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: reading response: %v", r.method, r.target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// routeTarget gives a request target and a valid body for each route.
func routeTarget(rt Route) (target, body string) {
	switch rt.Pattern {
	case "/v1/query":
		return "/v1/query?subject=%40bob%40example.social&context=general", ""
	case "/v1/rank":
		return "/v1/rank?context=spam&bottom=true&limit=5", ""
	case "/v1/attestations":
		if rt.Method == "POST" {
			return rt.Pattern, `{"kind":"vouch","subject":"@bob@example.social","strength":80}`
		}
		return "/v1/attestations?by=me", ""
	case "/v1/retractions":
		return rt.Pattern, `{"cid":"bafyreitarget","reason":"mistake"}`
	case "/v1/export":
		return "/v1/export?public_only=true", ""
	case "/v1/import":
		return rt.Pattern, `{"bundle":"oQEC"}`
	case "/v1/fedi/verify":
		return rt.Pattern, `{"acct":"@bob@example.social"}`
	case "/v1/fedi/link":
		return rt.Pattern, `{"acct":"@alice@example.social","set_field":true}`
	case "/v1/fedi/login":
		return rt.Pattern, `{"acct":"@alice@example.social","token":"secret-token"}`
	case "/v1/fedi/import":
		return rt.Pattern, `{"context":"general","follow":"vouch:30","dry_run":true}`
	case "/v1/model":
		return "/v1/model?context=spam", ""
	case "/v1/model/train":
		return rt.Pattern, `{"context":"spam"}`
	case "/v1/fedi/apply":
		return rt.Pattern, `{"context":"spam","below":0.2,"dry_run":true}`
	case "/v1/query/batch":
		return rt.Pattern, `{"subjects":["@bob@example.social","12D3KooWX"],"context":"spam"}`
	case "/v1/ext/pair":
		return rt.Pattern, `{"code":"not-a-pairing-code"}`
	case "/v1/ui/login", "/v1/ui/pair":
		return rt.Pattern, `{}`
	}
	if strings.Contains(rt.Pattern, "{cid}") {
		return strings.Replace(rt.Pattern, "{cid}", "bafyreiconsent", 1), `{}`
	}
	return rt.Pattern, ""
}

// serviceMetrics leaves out the Server's own metrics (Access.Metrics).
func serviceMetrics(ms []Metric) []Metric {
	var out []Metric
	for _, m := range ms {
		if !strings.HasPrefix(m.Name, "kith_api_refused_") && m.Name != "kith_extensions_paired" {
			out = append(out, m)
		}
	}
	return out
}
