package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestExtensionPairing: the browser extension pairs once with a one-time
// code from its own origin and then asks batch queries with its token;
// every other way in is refused and counted: no pairing, a replayed or
// expired code, a web page's origin, the extension's token on any other
// route or from another extension.
func TestExtensionPairing(t *testing.T) {
	now := time.Unix(1700000000, 0)
	acc, err := NewAccess(AccessOptions{Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, nil, ServerOptions{Access: acc})
	const ext = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
	req := func(method, target, origin, bearer, body string) (int, []byte) {
		t.Helper()
		r := rawReq{method: method, target: target, host: strp(ts.addr), body: body}
		if method == "POST" {
			r.headers = append(r.headers, [2]string{"Content-Type", "application/json"})
		}
		if origin != "" {
			r.headers = append(r.headers, [2]string{"Origin", origin})
		}
		if bearer != "" {
			r.headers = append(r.headers, [2]string{"Authorization", "Bearer " + bearer})
		}
		resp, b := send(t, "tcp", ts.addr, r)
		return resp.StatusCode, b
	}
	batch := `{"subjects":["@mallory@example.social"]}`

	// Unpaired: the extension's origin alone gets nothing.
	if st, _ := req("POST", "/v1/query/batch", ext, "", batch); st != 401 {
		t.Fatalf("unpaired batch: %d", st)
	}
	if st, _ := req("POST", "/v1/query/batch", ext, strings.Repeat("a", 43), batch); st != 401 {
		t.Fatalf("made-up token: %d", st)
	}
	if acc.Refused(RefusedPairing) != 2 {
		t.Fatalf("pairing refusals %d, want 2", acc.Refused(RefusedPairing))
	}

	// The owner asks for a code (with the API token) and the extension
	// trades it for its token, once.
	st, b := req("POST", "/v1/ui/pair", "", ts.token, `{}`)
	var code CodeResult
	if st != 200 || json.Unmarshal(b, &code) != nil || len(code.Code) < 40 || !code.Expires.Equal(now.Add(CodeTTL)) {
		t.Fatalf("ui/pair: %d %s", st, b)
	}
	if st, _ := req("POST", "/v1/ext/pair", "https://evil.example", "", `{"code":"`+code.Code+`"}`); st != 403 {
		t.Fatalf("pairing from a web page: %d", st)
	}
	st, b = req("POST", "/v1/ext/pair", ext, "", `{"code":"`+code.Code+`"}`)
	var pr PairResult
	if st != 200 || json.Unmarshal(b, &pr) != nil || len(pr.Token) < 40 {
		t.Fatalf("ext/pair: %d %s", st, b)
	}
	if st, _ := req("POST", "/v1/ext/pair", ext, "", `{"code":"`+code.Code+`"}`); st != 401 {
		t.Fatalf("replayed pairing code: %d", st)
	}
	// An expired code is refused too.
	if st, b = req("POST", "/v1/ui/pair", "", ts.token, `{}`); st != 200 || json.Unmarshal(b, &code) != nil {
		t.Fatalf("ui/pair: %d %s", st, b)
	}
	now = now.Add(CodeTTL)
	if st, _ := req("POST", "/v1/ext/pair", ext, "", `{"code":"`+code.Code+`"}`); st != 401 {
		t.Fatalf("expired pairing code: %d", st)
	}

	// Paired: batch queries from the extension's own origin.
	st, b = req("POST", "/v1/query/batch", ext, pr.Token, batch)
	var res BatchQueryResult
	if st != 200 || json.Unmarshal(b, &res) != nil || len(res.Answers) != 1 || res.Answers[0].Subject != "@mallory@example.social" {
		t.Fatalf("paired batch: %d %s", st, b)
	}
	// ...but not from another extension, nor a web page, nor on any
	// other route.
	for _, c := range []struct {
		name, method, target, origin, body string
		want                               int
	}{
		{"other extension", "POST", "/v1/query/batch", "moz-extension://0b1e2c3d-aaaa-bbbb-cccc-0123456789ab", batch, 401},
		{"web page", "POST", "/v1/query/batch", "https://mastodon.example", batch, 403},
		{"null origin", "POST", "/v1/query/batch", "null", batch, 403},
		{"status", "GET", "/v1/status", ext, "", 403},
		{"status, no origin", "GET", "/v1/status", "", "", 401},
		{"attest", "POST", "/v1/attestations", ext, `{"kind":"vouch","subject":"@a@b.c"}`, 403},
		{"query", "GET", "/v1/query?subject=%40a%40b.c", "", "", 401},
		{"ui/pair", "POST", "/v1/ui/pair", "", `{}`, 401},
	} {
		if st, b := req(c.method, c.target, c.origin, pr.Token, c.body); st != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, st, b, c.want)
		}
	}
	// A pairing survives a restart (the digest is in the data dir).
	acc2, err := NewAccess(AccessOptions{Dir: acc.file[:len(acc.file)-len(PairingsFile)]})
	if err != nil || !acc2.Paired(pr.Token, ext) || acc2.Paired(pr.Token, "chrome-extension://other") || acc2.Pairings() != 1 {
		t.Fatalf("pairings after a restart: %v %d", err, acc2.Pairings())
	}
	if calls, _ := ts.fake.snapshot(); len(calls) != 1 || calls[0] != "QueryBatch" {
		t.Fatalf("service calls %v, want the one paired batch", calls)
	}
	t.Logf("refused: pairing %d, origin %d, token %d", acc.Refused(RefusedPairing), acc.Refused(RefusedOrigin), acc.Refused(RefusedToken))
	if acc.Refused(RefusedPairing) < 5 || acc.Refused(RefusedOrigin) < 4 {
		t.Fatalf("refusals not counted: pairing %d, origin %d", acc.Refused(RefusedPairing), acc.Refused(RefusedOrigin))
	}
}

func TestIsExtensionOrigin(t *testing.T) {
	for o, want := range map[string]bool{
		"chrome-extension://abc": true, "moz-extension://0b1e-22": true, "chrome-extension://": false,
		"chrome-extension://abc/x": false, "http://abc": false, "chrome-extension://a@b": false, "null": false, "": false,
	} {
		if IsExtensionOrigin(o) != want {
			t.Errorf("IsExtensionOrigin(%q) = %v", o, !want)
		}
	}
}
