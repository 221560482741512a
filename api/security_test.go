package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestRoutesCoverService: every Service method has a route, every POST
// route mutates and no GET route does.
func TestRoutesCoverService(t *testing.T) {
	want := map[string]string{
		"GET /v1/status": "Status", "GET /v1/peers": "Peers", "GET /v1/query": "Query",
		"GET /v1/rank": "Rank", "GET /v1/attestations": "Attestations",
		"POST /v1/attestations": "Attest", "POST /v1/retractions": "Retract",
		"GET /v1/consents": "Consents", "POST /v1/consents/{cid}/approve": "Approve",
		"POST /v1/consents/{cid}/decline": "Decline", "POST /v1/consents/{cid}/withdraw": "Withdraw",
		"GET /v1/metrics": "Metrics", "GET /v1/export": "Export", "POST /v1/import": "Import",
		"POST /v1/fedi/verify": "VerifyLink", "POST /v1/fedi/link": "Link", "POST /v1/fedi/login": "FediLogin",
		"POST /v1/fedi/import": "FediImport", "GET /v1/model": "Model", "POST /v1/model/train": "TrainModel",
		"POST /v1/query/batch": "QueryBatch", "POST /v1/fedi/apply": "FediApply",
		// The Server's own: codes and pairing (Access).
		"POST /v1/ui/login": "", "POST /v1/ui/pair": "", "POST /v1/ext/pair": "",
	}
	covered := map[string]bool{}
	for _, rt := range Routes() {
		m, ok := want[rt.Method+" "+rt.Pattern]
		if !ok {
			t.Errorf("route %s %s not in the test's table", rt.Method, rt.Pattern)
		}
		covered[m] = true
		if rt.Mutates != (rt.Method == "POST") {
			t.Errorf("route %s %s: Mutates=%v", rt.Method, rt.Pattern, rt.Mutates)
		}
	}
	st := reflect.TypeFor[Service]()
	for i := 0; i < st.NumMethod(); i++ {
		if !covered[st.Method(i).Name] {
			t.Errorf("Service.%s has no route", st.Method(i).Name)
		}
	}
}

// TestA1RebindingAndCrossOrigin sends every route with a valid token but a
// foreign Host or Origin: all are refused (403, or 400 from net/http for a
// missing or malformed Host) and the Service is never called.
func TestA1RebindingAndCrossOrigin(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	_, port, _ := net.SplitHostPort(ts.addr)
	wrong := strconv.Itoa(mustAtoi(t, port) + 1)
	if wrong == "65536" {
		wrong = "1"
	}
	good := "127.0.0.1:" + port
	type hostCase struct {
		name   string
		host   *string
		proto  string
		absURL string // absolute-form request target host
	}
	hosts := []hostCase{
		{name: "evil.example", host: strp("evil.example")},
		{name: "evil.example:port", host: strp("evil.example:" + port)},
		{name: "nip.io", host: strp("127.0.0.1.nip.io:" + port)},
		{name: "ipv6 no port", host: strp("[::1]")},
		{name: "ipv6 other listener", host: strp("[::1]:" + port)},
		{name: "wrong port", host: strp("127.0.0.1:" + wrong)},
		{name: "localhost wrong port", host: strp("localhost:" + wrong)},
		{name: "no port", host: strp("127.0.0.1")},
		{name: "localhost no port", host: strp("localhost")},
		{name: "0.0.0.0", host: strp("0.0.0.0:" + port)},
		{name: "127.0.0.2", host: strp("127.0.0.2:" + port)},
		{name: "trailing dot", host: strp("localhost.:" + port)},
		{name: "mapped ipv4", host: strp("[::ffff:127.0.0.1]:" + port)},
		{name: "missing 1.1", host: nil},
		{name: "missing 1.0", host: nil, proto: "HTTP/1.0"},
		{name: "empty", host: strp("")},
		{name: "absolute-form target", host: strp(good), absURL: "evil.example"},
		{name: "good", host: strp(good)},
	}
	origins := []*string{
		nil, strp("null"), strp("http://evil.example"), strp("file://"),
		strp("http://127.0.0.1.nip.io:" + port), strp("http://127.0.0.1:" + wrong),
		strp("https://127.0.0.1:" + port), strp("http://" + good),
	}
	n := 0
	byStatus := map[int]int{}
	for _, rt := range Routes() {
		target, body := routeTarget(rt)
		for _, h := range hosts {
			for _, o := range origins {
				if h.name == "good" && (o == nil || (rt.Method == "GET" && *o == "http://"+good)) {
					continue // accepted: see the control below
				}
				for _, sfs := range []string{"", "cross-site"} {
					if sfs != "" && !(h.name == "good" && o == nil) {
						continue // Sec-Fetch-Site alone, with an otherwise good request
					}
					r := rawReq{method: rt.Method, target: target, proto: h.proto, host: h.host, body: body,
						headers: [][2]string{{"Authorization", "Bearer " + ts.token}}}
					if h.absURL != "" {
						r.target = "http://" + h.absURL + target
					}
					if rt.Method == "POST" {
						r.headers = append(r.headers, [2]string{"Content-Type", "application/json"})
					}
					if o != nil {
						r.headers = append(r.headers, [2]string{"Origin", *o})
					}
					if sfs != "" {
						r.headers = append(r.headers, [2]string{"Sec-Fetch-Site", sfs})
					}
					resp, b := send(t, "tcp", ts.addr, r)
					n++
					byStatus[resp.StatusCode]++
					if resp.StatusCode != 403 && resp.StatusCode != 400 {
						t.Errorf("%s %s host=%s origin=%v: status %d, want 403/400", rt.Method, target, h.name, deref(o), resp.StatusCode)
						continue
					}
					if resp.StatusCode == 403 {
						checkErrorBody(t, b, CodeForbidden)
					}
				}
			}
		}
	}
	calls, muts := ts.fake.snapshot()
	if len(calls) != 0 || muts != 0 {
		t.Fatalf("refused requests reached the service: %d calls %v, %d mutations", len(calls), calls, muts)
	}
	if n < 200 {
		t.Fatalf("only %d combinations", n)
	}
	t.Logf("%d combinations refused (by status: %v), 0 service calls", n, byStatus)

	// Control: the same requests with the right Host (and, for GET, the
	// API's own Origin) are served, so the refusals above are the guards'.
	for _, rt := range Routes() {
		if rt.Public || rt.Pattern == "/v1/ui/login" {
			continue // the pairing route takes a one-time code (TestExtensionPairing); the login URL needs a web page (web's tests)
		}
		target, body := routeTarget(rt)
		for _, o := range []string{"", "http://" + good, "http://localhost:" + port} {
			if o != "" && rt.Method != "GET" {
				continue
			}
			r := rawReq{method: rt.Method, target: target, host: strp(good), body: body,
				headers: [][2]string{{"Authorization", "Bearer " + ts.token}, {"Sec-Fetch-Site", "same-origin"}}}
			if rt.Method == "POST" {
				r.headers = append(r.headers, [2]string{"Content-Type", "application/json; charset=utf-8"})
			}
			if o != "" {
				r.headers = append(r.headers, [2]string{"Origin", o})
			}
			if resp, b := send(t, "tcp", ts.addr, r); resp.StatusCode/100 != 2 {
				t.Errorf("control %s %s origin=%q: %d %s", rt.Method, target, o, resp.StatusCode, b)
			}
		}
	}
	// localhost:PORT is this listener's too.
	r := rawReq{method: "GET", target: "/v1/status", host: strp("localhost:" + port),
		headers: [][2]string{{"Authorization", "Bearer " + ts.token}}}
	if resp, b := send(t, "tcp", ts.addr, r); resp.StatusCode != 200 {
		t.Errorf("Host localhost:%s: %d %s", port, resp.StatusCode, b)
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return "<absent>"
	}
	return *s
}

func checkErrorBody(t *testing.T, b []byte, code string) {
	t.Helper()
	var eb struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Errorf("error body %q: %v", b, err)
		return
	}
	if eb.Error.Code != code || eb.Error.Message == "" {
		t.Errorf("error body %s: want code %q and a message", b, code)
	}
}

// TestA2Auth: every route, and paths that are not routes, without a token,
// with a wrong one, with another node's and in other wrong shapes: 401 with
// a JSON error, and the Service is never called, not even to read.
func TestA2Auth(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	other, err := loadOrCreateToken(t.TempDir(), strings.NewReader(strings.Repeat("x", 64)))
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string][]string{
		"none":           nil,
		"wrong":          {"Bearer " + strings.Repeat("0", 64)},
		"other node":     {"Bearer " + other},
		"prefix":         {"Bearer " + ts.token[:63]},
		"suffix":         {"Bearer " + ts.token + "0"},
		"extra space":    {"Bearer  " + ts.token},
		"basic":          {"Basic " + base64.StdEncoding.EncodeToString([]byte("kith:"+ts.token))},
		"bare token":     {ts.token},
		"empty bearer":   {"Bearer "},
		"twice":          {"Bearer " + ts.token, "Bearer " + ts.token},
		"wrong and good": {"Bearer nope", "Bearer " + ts.token},
	}
	targets := []struct{ method, target, body string }{
		{"GET", "/v1/nope", ""}, {"GET", "/", ""}, {"GET", "/debug/pprof/", ""},
		{"GET", "/v1/status?token=" + ts.token, ""}, {"OPTIONS", "/v1/status", ""}, {"DELETE", "/v1/attestations", ""},
	}
	for _, rt := range Routes() {
		target, body := routeTarget(rt)
		targets = append(targets, struct{ method, target, body string }{rt.Method, target, body})
	}
	n := 0
	for _, tg := range targets {
		for name, hs := range creds {
			r := rawReq{method: tg.method, target: tg.target, host: strp(ts.addr), body: tg.body}
			for _, h := range hs {
				r.headers = append(r.headers, [2]string{"Authorization", h})
			}
			if tg.method == "POST" {
				r.headers = append(r.headers, [2]string{"Content-Type", "application/json"})
			}
			resp, b := send(t, "tcp", ts.addr, r)
			n++
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: status %d, want 401", tg.method, tg.target, name, resp.StatusCode)
				continue
			}
			checkErrorBody(t, b, CodeUnauthorized)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", tg.method, tg.target)
			}
			if strings.Contains(string(b), ts.token) {
				t.Errorf("response echoes the token")
			}
		}
	}
	if calls, muts := ts.fake.snapshot(); len(calls) != 0 || muts != 0 {
		t.Fatalf("unauthenticated requests reached the service: %v, %d mutations", calls, muts)
	}
	t.Logf("%d unauthenticated requests refused", n)
	// The scheme is case-insensitive.
	r := rawReq{method: "GET", target: "/v1/status", host: strp(ts.addr),
		headers: [][2]string{{"Authorization", "bearer " + ts.token}}}
	if resp, b := send(t, "tcp", ts.addr, r); resp.StatusCode != 200 {
		t.Errorf("lower-case scheme: %d %s", resp.StatusCode, b)
	}
}

// TestA3FormCSRF: a browser can post a form cross-site without a preflight
// (text/plain, urlencoded, multipart); even with the token and a good Host
// such a POST is refused (415) and changes nothing.
func TestA3FormCSRF(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	for _, rt := range Routes() {
		if rt.Method != "POST" {
			continue
		}
		target, body := routeTarget(rt)
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x", "application/json-seq", "application/jsonx", "text/json"} {
			r := rawReq{method: "POST", target: target, host: strp(ts.addr), body: body,
				headers: [][2]string{{"Authorization", "Bearer " + ts.token}}}
			if ct != "" {
				r.headers = append(r.headers, [2]string{"Content-Type", ct})
			}
			resp, b := send(t, "tcp", ts.addr, r)
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("POST %s Content-Type %q: %d, want 415", target, ct, resp.StatusCode)
			}
			checkErrorBody(t, b, CodeUnsupportedMedia)
		}
	}
	if calls, muts := ts.fake.snapshot(); len(calls) != 0 || muts != 0 {
		t.Fatalf("form posts reached the service: %v, %d mutations", calls, muts)
	}
}

// TestGetNeverMutates: every GET route, served, changes nothing.
func TestGetNeverMutates(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	for _, rt := range Routes() {
		if rt.Method != "GET" {
			continue
		}
		target, _ := routeTarget(rt)
		r := rawReq{method: "GET", target: target, host: strp(ts.addr),
			headers: [][2]string{{"Authorization", "Bearer " + ts.token}}}
		if resp, b := send(t, "tcp", ts.addr, r); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", target, resp.StatusCode, b)
		}
	}
	if calls, muts := ts.fake.snapshot(); muts != 0 || len(calls) == 0 {
		t.Fatalf("GETs: calls %v, %d mutations", calls, muts)
	}
}

// TestA5Bind: Listen takes only loopback addresses, and Serve refuses a
// listener on every interface unless allowed.
func TestA5Bind(t *testing.T) {
	ctx := context.Background()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "example.com:0", "192.0.2.1:0", "127.0.0.1"} {
		if ln, err := Listen(ctx, addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	for _, addr := range []string{"", "127.0.0.1:0", "localhost:0"} {
		ln, err := Listen(ctx, addr)
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		if a := ln.Addr().(*net.TCPAddr); !a.IP.IsLoopback() {
			t.Errorf("Listen(%q) bound %s", addr, a)
		}
		ln.Close()
	}
	srv, err := NewServer(newFake(), ServerOptions{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip(err)
	}
	if err := srv.Serve(ctx, ln); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Serve on 0.0.0.0: %v", err)
	}
}

// TestA4UnixSocket: the socket file is 0600, the API answers on it with Host
// localhost, and a connection from another uid is closed unanswered.
func TestA4UnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api.sock")
	ln, err := ListenUnix(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	ts := startServer(t, ln, ServerOptions{})
	c := ts.client(t)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.API != "unix:"+path {
		t.Errorf("status api %q", st.API)
	}
	// A foreign Host on the socket is still refused.
	r := rawReq{method: "GET", target: "/v1/status", host: strp("evil.example"),
		headers: [][2]string{{"Authorization", "Bearer " + ts.token}}}
	if resp, _ := send(t, "unix", path, r); resp.StatusCode != 403 {
		t.Errorf("unix socket, Host evil.example: %d", resp.StatusCode)
	}
	// A second ListenUnix on a live socket is refused.
	if ln2, err := ListenUnix(context.Background(), path); err == nil {
		ln2.Close()
		t.Error("ListenUnix on a live socket succeeded")
	}
}

func TestUnixSocketOtherUser(t *testing.T) {
	if _, err := peerUID(nil); err == errNoPeerCred {
		t.Skip("no peer credentials on this OS")
	}
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := ListenUnix(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*sameUserListener).uid = os.Getuid() + 1 // we are now "another user"
	ts := startServer(t, ln, ServerOptions{})
	_, err = ts.client(t).Status(context.Background())
	if err == nil {
		t.Fatal("a connection from another uid was served")
	}
	if calls, _ := ts.fake.snapshot(); len(calls) != 0 {
		t.Fatalf("service called: %v", calls)
	}
}

func TestStaleUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // leaves the file, as a killed daemon would
	ln2, err := ListenUnix(context.Background(), path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln2.Close()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ln3, err := ListenUnix(context.Background(), path); err == nil {
		ln3.Close()
		t.Error("ListenUnix replaced a regular file")
	}
}

// TestAllowedHosts: ServerOptions.AllowedHosts adds exact Host values (and
// their http:// origins for GET); nothing else loosens.
func TestAllowedHosts(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{AllowedHosts: []string{"Kith.Internal:8443"}})
	for _, tc := range []struct {
		host, origin string
		status       int
	}{
		{"kith.internal:8443", "", 200},
		{"KITH.internal:8443", "http://kith.internal:8443", 200},
		{"kith.internal", "", 403},
		{"kith.internal:8444", "", 403},
		{"sub.kith.internal:8443", "", 403},
	} {
		r := rawReq{method: "GET", target: "/v1/status", host: strp(tc.host),
			headers: [][2]string{{"Authorization", "Bearer " + ts.token}}}
		if tc.origin != "" {
			r.headers = append(r.headers, [2]string{"Origin", tc.origin})
		}
		if resp, b := send(t, "tcp", ts.addr, r); resp.StatusCode != tc.status {
			t.Errorf("Host %q Origin %q: %d %s, want %d", tc.host, tc.origin, resp.StatusCode, b, tc.status)
		}
	}
	if _, err := NewServer(newFake(), ServerOptions{Token: testToken, AllowedHosts: []string{""}}); err == nil {
		t.Error("empty allowed host accepted")
	}
}
