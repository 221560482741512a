package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip calls every Service method through Client and Server over a
// real loopback listener and checks what the fake received and what the
// client got back.
func TestRoundTrip(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	c := ts.client(t)
	ctx := context.Background()
	f := ts.fake

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PeerID != "12D3KooWSelf" || !st.Started.Equal(fakeStarted) || st.Peers != 2 || st.Objects != 7 ||
		st.API != "http://"+ts.addr || len(st.Addrs) != 1 || st.Topic != "/kith/proofs/1" {
		t.Errorf("Status: %+v", st)
	}

	ps, err := c.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Trust == nil || *ps[0].Trust != 0.75 || ps[1].Trust != nil || ps[1].Score != -3 || ps[1].Addrs == nil {
		t.Errorf("Peers: %+v", ps)
	}

	q := QueryRequest{Subject: "@bob@example.social", Context: "expertise:go"}
	qr, err := c.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if qr.Subject != "@bob@example.social" || qr.Score == nil || *qr.Score != 0.5 || qr.Explanation == nil ||
		len(qr.Explanation.Paths) != 1 || qr.Explanation.Vouchers == nil || f.lastArg() != q {
		t.Errorf("Query: %+v, fake got %+v", qr, f.lastArg())
	}

	for _, rr := range []RankRequest{{}, {Context: "spam", Bottom: true, Limit: 7}} {
		rows, err := c.Rank(ctx, rr)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Subject != "@a@b.c" || rows[0].Summary == "" || f.lastArg() != rr {
			t.Errorf("Rank: %+v, fake got %+v, want %+v", rows, f.lastArg(), rr)
		}
	}

	as, err := c.Attestations(ctx, ListRequest{})
	if err != nil || as == nil || len(as) != 0 {
		t.Errorf("Attestations (empty): %#v %v", as, err)
	}

	req := AttestRequest{Kind: KindWarn, Subject: "12D3KooWX", Context: "spam", Strength: 70,
		Reason: "spam DMs", Evidence: "https://example.social/@x/1", Expires: "90d", Audience: "12D3KooWA,12D3KooWB"}
	a, err := c.Attest(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if f.lastArg() != req || a.Kind != KindWarn || a.Subject != "12D3KooWX" || a.CID != "bafyreinew" {
		t.Errorf("Attest: got %+v, fake got %+v", a, f.lastArg())
	}
	// Defaults are applied by the server.
	if _, err := c.Attest(ctx, AttestRequest{Kind: KindVouch, Subject: "@a@b.c"}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.lastArg(), (AttestRequest{Kind: KindVouch, Subject: "@a@b.c", Context: "general", Strength: 50, Audience: "private"}); got != want {
		t.Errorf("defaults: fake got %+v, want %+v", got, want)
	}

	lr := ListRequest{By: "me", About: "@bob@example.social", Context: "spam", Kind: KindWarn, All: true}
	as, err = c.Attestations(ctx, lr)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || f.lastArg() != lr || as[0].Reason != "spam DMs" {
		t.Errorf("Attestations: %+v, fake got %+v", as, f.lastArg())
	}

	rr := RetractRequest{CID: "bafyreitarget", Reason: "mistake"}
	ret, err := c.Retract(ctx, rr)
	if err != nil {
		t.Fatal(err)
	}
	if ret.Target != "bafyreitarget" || !ret.Created.Equal(fakeStarted) || f.lastArg() != rr {
		t.Errorf("Retract: %+v", ret)
	}

	cs, err := c.Consents(ctx)
	if err != nil || len(cs) != 1 || cs[0].CID != "bafyreiconsent" || cs[0].State != ConsentPending {
		t.Fatalf("Consents: %+v %v", cs, err)
	}
	for _, step := range []struct {
		call func(context.Context, string) (ConsentRequest, error)
		want ConsentState
	}{{c.Approve, ConsentApproved}, {c.Decline, ConsentDeclined}, {c.Withdraw, ConsentWithdrawn}} {
		cr, err := step.call(ctx, "bafyreiconsent")
		if err != nil {
			t.Fatal(err)
		}
		if cr.State != step.want || cr.CID != "bafyreiconsent" || f.lastArg() != "bafyreiconsent" {
			t.Errorf("consent action: %+v, want state %s", cr, step.want)
		}
	}

	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(serviceMetrics(m), []Metric{{Name: "kith_objects_received_total", Value: 7}, {Name: "kith_peers_connected", Value: 2}}) || len(m) != 10 {
		t.Errorf("Metrics: %v", m)
	}

	calls, muts := f.snapshot()
	want := []string{"Status", "Peers", "Query", "Rank", "Rank", "Attestations", "Attest", "Attest",
		"Attestations", "Retract", "Consents", "Approve", "Decline", "Withdraw", "Metrics"}
	if !reflect.DeepEqual(calls, want) || muts != 6 {
		t.Errorf("calls %v (%d mutations), want %v", calls, muts, want)
	}
}

// TestErrorMapping: a Service *Error reaches the client as is; any other
// error as a generic 500 that leaks nothing; a deadline as 504.
func TestErrorMapping(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	c := ts.client(t)
	ctx := context.Background()
	cases := []struct {
		err         error
		status      int
		code, msg   string
		mustNotLeak string
	}{
		{Errorf(CodeNotFound, "no attestation bafyx"), 404, CodeNotFound, "no attestation bafyx", ""},
		{fmt.Errorf("wrapped: %w", &Error{Status: 409, Code: CodeConflict, Message: "already retracted"}), 409, CodeConflict, "already retracted", "wrapped"},
		{&Error{Code: CodeInvalid, Message: "bad subject"}, 400, CodeInvalid, "bad subject", ""},
		{&Error{Status: 418, Code: "teapot", Message: "short and stout"}, 418, "teapot", "short and stout", ""},
		{&Error{Status: 200, Code: "odd"}, 500, "odd", "Internal Server Error", ""},
		{errors.New("badger: value log /home/secret/path corrupt"), 500, CodeInternal, "internal error", "secret"},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), 504, CodeTimeout, "the node took too long to answer", "query"},
	}
	for _, tc := range cases {
		ts.fake.mu.Lock()
		ts.fake.err = tc.err
		ts.fake.mu.Unlock()
		for name, call := range map[string]func() error{
			"Status": func() error { _, err := c.Status(ctx); return err },
			"Attest": func() error { _, err := c.Attest(ctx, AttestRequest{Kind: KindVouch, Subject: "x"}); return err },
			"Query":  func() error { _, err := c.Query(ctx, QueryRequest{Subject: "x"}); return err },
		} {
			err := call()
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s with %v: %v is not an *Error", name, tc.err, err)
				continue
			}
			if e.Status != tc.status || e.Code != tc.code || e.Message != tc.msg || err.Error() != tc.msg {
				t.Errorf("%s with %v: got %d %q %q", name, tc.err, e.Status, e.Code, e.Message)
			}
			if tc.mustNotLeak != "" && strings.Contains(e.Message, tc.mustNotLeak) {
				t.Errorf("%s: message %q leaks %q", name, e.Message, tc.mustNotLeak)
			}
			if ErrorCode(err) != tc.code {
				t.Errorf("ErrorCode = %q", ErrorCode(err))
			}
		}
	}
}

// TestBadResponses: a non-finite score from Query and a non-finite peer
// score cannot be encoded: both are internal errors.
type badService struct{ *fakeService }

func (badService) Query(context.Context, QueryRequest) (QueryResult, error) {
	s := nan()
	return QueryResult{Score: &s}, nil
}

func (badService) Peers(context.Context) ([]Peer, error) {
	return []Peer{{ID: "x", Score: nan()}}, nil
}

func nan() float64 { var z float64; return z / z }

func TestBadServiceOutput(t *testing.T) {
	srv, err := NewServer(badService{newFake()}, ServerOptions{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := NewClient(baseURL(ln.Addr()), testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(context.Background(), QueryRequest{Subject: "x"}); ErrorCode(err) != CodeInternal {
		t.Errorf("NaN query score: %v", err)
	}
	if _, err := c.Peers(context.Background()); ErrorCode(err) != CodeInternal {
		t.Errorf("NaN score: %v", err)
	}
}

// TestRequestValidation: malformed bodies, query strings, paths and methods
// are refused with the right status and code, before the Service.
func TestRequestValidation(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{MaxBodyBytes: 1024})
	auth := [2]string{"Authorization", "Bearer " + ts.token}
	js := [2]string{"Content-Type", "application/json"}
	big := `{"kind":"vouch","subject":"x","reason":"` + strings.Repeat("a", 2000) + `"}`
	cases := []struct {
		name           string
		method, target string
		body           string
		headers        [][2]string
		status         int
		code           string
	}{
		{"body over cap", "POST", "/v1/attestations", big, [][2]string{auth, js}, 413, CodeTooLarge},
		{"unknown field", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x","admin":true}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"wrong case", "POST", "/v1/attestations", `{"Kind":"vouch","subject":"x"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"duplicate", "POST", "/v1/attestations", `{"kind":"vouch","kind":"warn","subject":"x"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"two values", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x"}{}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"trailing garbage", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x"} x`, [][2]string{auth, js}, 400, CodeInvalid},
		{"null", "POST", "/v1/attestations", `null`, [][2]string{auth, js}, 400, CodeInvalid},
		{"array", "POST", "/v1/attestations", `[]`, [][2]string{auth, js}, 400, CodeInvalid},
		{"empty", "POST", "/v1/attestations", ``, [][2]string{auth, js}, 400, CodeInvalid},
		{"bad kind", "POST", "/v1/attestations", `{"kind":"hate","subject":"x"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"no subject", "POST", "/v1/attestations", `{"kind":"vouch"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"strength", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x","strength":101}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"negative strength", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x","strength":-1}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"string strength", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x","strength":"80"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"control char", "POST", "/v1/attestations", `{"kind":"vouch","subject":"x\u0000y"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"query on POST", "POST", "/v1/attestations?kind=warn", `{"kind":"vouch","subject":"x"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"retract no cid", "POST", "/v1/retractions", `{}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"retract bad cid", "POST", "/v1/retractions", `{"cid":"../x"}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"bad cid in path", "POST", "/v1/consents/bafy%2E%2E/approve", `{}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"action with fields", "POST", "/v1/consents/bafyreiconsent/approve", `{"force":true}`, [][2]string{auth, js}, 400, CodeInvalid},
		{"two content types", "POST", "/v1/retractions", `{"cid":"bafy"}`, [][2]string{auth, js, {"Content-Type", "text/plain"}}, 415, CodeUnsupportedMedia},
		{"unknown query", "GET", "/v1/status?x=1", ``, [][2]string{auth}, 400, CodeInvalid},
		{"repeated query", "GET", "/v1/query?subject=a&subject=b", ``, [][2]string{auth}, 400, CodeInvalid},
		{"query no subject", "GET", "/v1/query?context=spam", ``, [][2]string{auth}, 400, CodeInvalid},
		{"bad escape", "GET", "/v1/attestations?by=%zz", ``, [][2]string{auth}, 400, CodeInvalid},
		{"bad kind filter", "GET", "/v1/attestations?kind=x", ``, [][2]string{auth}, 400, CodeInvalid},
		{"bad all", "GET", "/v1/attestations?all=yes", ``, [][2]string{auth}, 400, CodeInvalid},
		{"bad limit", "GET", "/v1/rank?limit=-1", ``, [][2]string{auth}, 400, CodeInvalid},
		{"huge limit", "GET", "/v1/rank?limit=99999999", ``, [][2]string{auth}, 400, CodeInvalid},
		{"bad bottom", "GET", "/v1/rank?bottom=maybe", ``, [][2]string{auth}, 400, CodeInvalid},
		{"bad format", "GET", "/v1/metrics?format=xml", ``, [][2]string{auth}, 400, CodeInvalid},
		{"unknown path", "GET", "/v1/nope", ``, [][2]string{auth}, 404, CodeNotFound},
		{"trailing slash", "GET", "/v1/status/", ``, [][2]string{auth}, 404, CodeNotFound},
		{"unknown action", "POST", "/v1/consents/bafy/explode", `{}`, [][2]string{auth, js}, 404, CodeNotFound},
		{"GET on POST route", "GET", "/v1/retractions", ``, [][2]string{auth}, 405, CodeMethodNotAllowed},
		{"GET approve", "GET", "/v1/consents/bafyreiconsent/approve", ``, [][2]string{auth}, 405, CodeMethodNotAllowed},
		{"POST status", "POST", "/v1/status", `{}`, [][2]string{auth, js}, 405, CodeMethodNotAllowed},
		{"PUT", "PUT", "/v1/attestations", `{}`, [][2]string{auth, js}, 405, CodeMethodNotAllowed},
		{"DELETE", "DELETE", "/v1/attestations", ``, [][2]string{auth}, 405, CodeMethodNotAllowed},
		{"HEAD", "HEAD", "/v1/status", ``, [][2]string{auth}, 405, ""},
		{"OPTIONS preflight", "OPTIONS", "/v1/attestations", ``, [][2]string{auth}, 405, CodeMethodNotAllowed},
	}
	for _, tc := range cases {
		r := rawReq{method: tc.method, target: tc.target, host: strp(ts.addr), body: tc.body, headers: tc.headers}
		resp, b := send(t, "tcp", ts.addr, r)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, b)
			continue
		}
		if tc.code != "" {
			checkErrorBody(t, b, tc.code)
		}
		if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tc.name)
		}
	}
	if calls, muts := ts.fake.snapshot(); len(calls) != 0 || muts != 0 {
		t.Fatalf("invalid requests reached the service: %v", calls)
	}
	// The cap is inclusive: a body of exactly MaxBodyBytes is read.
	frame := `{"kind":"vouch","subject":"x","reason":""}`
	body := frame[:len(frame)-2] + strings.Repeat("a", 1024-len(frame)) + `"}`
	resp, b := send(t, "tcp", ts.addr, rawReq{method: "POST", target: "/v1/attestations", host: strp(ts.addr),
		body: body, headers: [][2]string{auth, js}})
	if len(body) != 1024 || resp.StatusCode != 201 {
		t.Errorf("body of %d bytes: %d %s", len(body), resp.StatusCode, b)
	}
}

// TestBodyCapChunked: the cap holds without a Content-Length.
func TestBodyCapChunked(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	big := `{"kind":"vouch","subject":"x","reason":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`
	req, _ := http.NewRequest("POST", "http://"+ts.addr+"/v1/attestations", struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Authorization", "Bearer "+ts.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || req.ContentLength != 0 {
		t.Errorf("chunked %d-byte body: %d", len(big), resp.StatusCode)
	}
	if calls, _ := ts.fake.snapshot(); len(calls) != 0 {
		t.Errorf("service called: %v", calls)
	}
}

func TestMetricsPrometheus(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	for _, r := range []rawReq{
		{method: "GET", target: "/v1/metrics?format=prometheus"},
		{method: "GET", target: "/v1/metrics", headers: [][2]string{{"Accept", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"}}},
	} {
		r.host = strp(ts.addr)
		r.headers = append(r.headers, [2]string{"Authorization", "Bearer " + ts.token})
		resp, b := send(t, "tcp", ts.addr, r)
		want := "# HELP kith_objects_received_total Objects stored from the network.\n# TYPE kith_objects_received_total counter\nkith_objects_received_total 7\n" +
			"# HELP kith_peers_connected Peers connected now.\n# TYPE kith_peers_connected gauge\nkith_peers_connected 2\n"
		if resp.StatusCode != 200 || !strings.HasSuffix(string(b), want) || !strings.Contains(string(b), "# TYPE kith_api_refused_host_total counter\n") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q", r.target, resp.StatusCode, b)
		}
	}
	b, err := prometheusText([]Metric{{Name: "a-b", Value: nan()}, {Name: "9x", Value: 1.5, Kind: Counter}, {Name: "ok:c", Value: -2, Help: "A colon."}})
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	want := "# HELP _x kith metric _x.\n# TYPE _x counter\n_x 1.5\n# HELP a_b kith metric a_b.\n# TYPE a_b gauge\na_b NaN\n# HELP ok:c A colon.\n# TYPE ok:c gauge\nok:c -2\n"
	if got != want {
		t.Errorf("prometheusText:\n%s\nwant\n%s", got, want)
	}
}

// TestServeShutdown: cancelling Serve's context lets a running request
// finish, then Serve returns nil and the port is closed.
func TestServeShutdown(t *testing.T) {
	block := make(chan struct{})
	svc := &slowService{fakeService: newFake(), entered: make(chan struct{}), release: block}
	srv, err := NewServer(svc, ServerOptions{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c, _ := NewClient(baseURL(addr), testToken, nil)
	got := make(chan error, 1)
	go func() { _, err := c.Status(context.Background()); got <- err }()
	<-svc.entered
	cancel()
	close(block)
	if err := <-got; err != nil {
		t.Errorf("in-flight request: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := c.Status(context.Background()); err == nil {
		t.Error("served after shutdown")
	}
}

type slowService struct {
	*fakeService
	entered chan struct{}
	release chan struct{}
}

func (s *slowService) Status(ctx context.Context) (Status, error) {
	close(s.entered)
	<-s.release
	return s.fakeService.Status(ctx)
}

func TestNewClient(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "http://127.0.0.1:1/v1", "http://u:p@127.0.0.1:1", "unix:", "http://127.0.0.1:1?x=1"} {
		if _, err := NewClient(u, testToken, nil); err == nil {
			t.Errorf("NewClient(%q) succeeded", u)
		}
	}
	if _, err := NewClient("http://127.0.0.1:1", "", nil); err == nil {
		t.Error("empty token accepted")
	}
	if _, err := NewClient("http://127.0.0.1:1", "a\r\nX-Evil: 1", nil); err == nil {
		t.Error("token with CRLF accepted")
	}
	for _, u := range []string{"http://127.0.0.1:1", "http://127.0.0.1:1/", "unix:/tmp/x.sock", "unix:///tmp/x.sock"} {
		if _, err := NewClient(u, testToken, nil); err != nil {
			t.Errorf("NewClient(%q): %v", u, err)
		}
	}
	// A client-side CID check keeps path tricks out of the URL.
	c, _ := NewClient("http://127.0.0.1:1", testToken, nil)
	if _, err := c.Approve(context.Background(), "../../status"); ErrorCode(err) != CodeInvalid {
		t.Errorf("Approve(../../status): %v", err)
	}
}

func TestDecodeErrorFallback(t *testing.T) {
	e := DecodeError(400, []byte("missing required Host header"))
	if e.Status != 400 || e.Code != CodeInvalid || !strings.Contains(e.Message, "400") {
		t.Errorf("%+v", e)
	}
	e = DecodeError(502, []byte(`{"error":{"code":"","message":"x"}}`))
	if e.Code != CodeBadResponse {
		t.Errorf("%+v", e)
	}
}

func TestDiscovery(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Discover(ctx, dir); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("empty dir: %v", err)
	}
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, nil, ServerOptions{Token: tok})
	if err := WriteDiscovery(dir, Discovery{URL: "http://evil.example:80", PID: 1}); err == nil {
		t.Error("WriteDiscovery accepted a remote URL")
	}
	if err := WriteDiscovery(dir, Discovery{URL: ts.url, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, DiscoveryFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("discovery file: %v %v", fi, err)
	}
	c, err := Discover(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(ctx); err != nil || st.PeerID != "12D3KooWSelf" {
		t.Fatalf("discovered client: %+v %v", st, err)
	}
	// A daemon that refuses the token is an error, not ErrNoDaemon.
	other := startServer(t, nil, ServerOptions{})
	if err := WriteDiscovery(dir, Discovery{URL: other.url, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(ctx, dir); err == nil || errors.Is(err, ErrNoDaemon) || ErrorCode(err) != CodeUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	// A stale file (nothing listening) is ErrNoDaemon.
	ln, _ := Listen(ctx, "")
	stale := baseURL(ln.Addr())
	ln.Close()
	if err := WriteDiscovery(dir, Discovery{URL: stale, PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(ctx, dir); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("stale: %v", err)
	}
	// RemoveDiscovery leaves another daemon's file alone.
	if err := RemoveDiscovery(dir, os.Getpid()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDiscovery(dir); err != nil {
		t.Errorf("another pid's remove deleted the file: %v", err)
	}
	if err := RemoveDiscovery(dir, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(ctx, dir); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("after remove: %v", err)
	}
	// A discovery file others can write is refused.
	if err := os.WriteFile(filepath.Join(dir, DiscoveryFile), []byte(`{"url":"`+ts.url+`","pid":1}`), 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, DiscoveryFile), 0o666)
	if _, err := Discover(ctx, dir); err == nil || errors.Is(err, ErrNoDaemon) {
		t.Errorf("0666 discovery file: %v", err)
	}
}

// waitService's Peers waits for its context's deadline.
type waitService struct{ *fakeService }

func (waitService) Peers(ctx context.Context) ([]Peer, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("peers: %w", ctx.Err())
}

// TestRequestTimeout: the Service's context carries RequestTimeout, and a
// deadline is answered 504.
func TestRequestTimeout(t *testing.T) {
	srv, err := NewServer(waitService{newFake()}, ServerOptions{Token: testToken, RequestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, _ := NewClient(baseURL(ln.Addr()), testToken, nil)
	_, err = c.Peers(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Status != 504 || e.Code != CodeTimeout {
		t.Fatalf("Peers past the deadline: %v", err)
	}
}

// TestConcurrentClients: many clients at once, reads and writes mixed
// (run with -race).
func TestConcurrentClients(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	c := ts.client(t)
	ctx := context.Background()
	const workers, each = 8, 10
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				if _, err := c.Attest(ctx, AttestRequest{Kind: KindVouch, Subject: fmt.Sprintf("@u%d@x.y", i)}); err != nil {
					errs <- err
					return
				}
				if _, err := c.Attestations(ctx, ListRequest{}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, muts := ts.fake.snapshot(); muts != workers*each {
		t.Fatalf("%d mutations, want %d", muts, workers*each)
	}
}
