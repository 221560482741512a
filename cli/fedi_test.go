package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/fedi"
	"github.com/kith-net/kith/vault"
)

// fakeInstance is a small stateful GoToSocial-like instance on loopback:
// accounts with profile fields and lists, OAuth apps, tokens, paging by
// Link header, and injected failures.
type fakeInstance struct {
	t    *testing.T
	srv  *httptest.Server
	host string

	mu       sync.Mutex
	accounts map[string]*fakeAccount // by username
	tokens   map[string]string       // token -> username
	codes    map[string]string       // approved code -> username
	pageSize int
	fail     map[string][]fakeFailure // path -> failures to answer first, in order
}

type fakeFailure struct {
	status int
	body   string
	header map[string]string
}

type fakeAccount struct {
	id, username string
	fields       []fedi.Field
	// lists hold accts: a bare name for local accounts, user@domain for
	// remote ones.
	following, followers, blocks, mutes []string
}

func newFakeInstance(t *testing.T) *fakeInstance {
	f := &fakeInstance{t: t, accounts: map[string]*fakeAccount{}, tokens: map[string]string{}, codes: map[string]string{},
		pageSize: 1, fail: map[string][]fakeFailure{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.host = strings.TrimPrefix(f.srv.URL, "http://")
	for i, u := range []string{"alice", "bob", "carol", "mallory", "erin"} {
		f.accounts[u] = &fakeAccount{id: fmt.Sprintf("01FAKE%02d", i), username: u}
		f.tokens["token-of-"+u] = u
	}
	f.codes["code-for-alice"] = "alice"
	return f
}

func (f *fakeInstance) acct(user string) string { return "@" + user + "@" + f.host }

func (f *fakeInstance) do(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeInstance) failNext(path string, fs ...fakeFailure) {
	f.do(func() { f.fail[path] = append(f.fail[path], fs...) })
}

func (f *fakeInstance) view(a *fakeAccount, withSource bool) map[string]any {
	fields := []map[string]any{}
	for _, fl := range a.fields {
		// Like GoToSocial: HTML-escaped values, verified_at always null.
		fields = append(fields, map[string]any{"name": fl.Name, "value": htmlEscape(fl.Value), "verified_at": nil})
	}
	v := map[string]any{"id": a.id, "username": a.username, "acct": a.username, "display_name": "", "locked": false,
		"bot": false, "url": "http://" + f.host + "/@" + a.username, "fields": fields, "emojis": []any{}}
	if withSource {
		src := []map[string]any{}
		for _, fl := range a.fields {
			src = append(src, map[string]any{"name": fl.Name, "value": fl.Value, "verified_at": nil})
		}
		v["source"] = map[string]any{"privacy": "public", "note": "", "fields": src}
	}
	return v
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func (f *fakeInstance) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if fs := f.fail[r.URL.Path]; len(fs) > 0 {
		f.fail[r.URL.Path] = fs[1:]
		for k, v := range fs[0].header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fs[0].status)
		w.Write([]byte(fs[0].body))
		return
	}
	if err := r.ParseForm(); err != nil {
		reply(400, map[string]string{"error": err.Error()})
		return
	}
	me := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	authed := func() bool {
		if me == "" {
			reply(401, map[string]string{"error": "Unauthorized: token not supplied"})
			return false
		}
		return true
	}
	local := func(acct string) (*fakeAccount, bool) {
		user, host, ok := strings.Cut(strings.TrimPrefix(acct, "acct:"), "@")
		if ok && host != f.host {
			return nil, false
		}
		a, found := f.accounts[user]
		return a, found
	}
	path := r.URL.Path
	switch {
	case path == "/.well-known/webfinger":
		a, ok := local(r.Form.Get("resource"))
		if !ok {
			reply(404, map[string]string{"error": "Not Found"})
			return
		}
		reply(200, map[string]any{"subject": "acct:" + a.username + "@" + f.host, "links": []map[string]string{
			{"rel": "self", "type": "application/activity+json", "href": "http://" + f.host + "/users/" + a.username}}})
	case path == "/api/v1/apps" && r.Method == "POST":
		reply(200, map[string]string{"id": "01APP", "name": r.Form.Get("client_name"), "redirect_uri": r.Form.Get("redirect_uris"),
			"client_id": "client-1", "client_secret": "secret-1"})
	case path == "/oauth/token" && r.Method == "POST":
		user, ok := f.codes[r.Form.Get("code")]
		if !ok || r.Form.Get("client_secret") != "secret-1" || r.Form.Get("grant_type") != "authorization_code" {
			reply(400, map[string]string{"error": "invalid_grant", "error_description": "bad code"})
			return
		}
		delete(f.codes, r.Form.Get("code"))
		tok := "oauth-token-" + user
		f.tokens[tok] = user
		reply(200, map[string]any{"access_token": tok, "token_type": "Bearer", "scope": "read write", "created_at": 1})
	case path == "/api/v1/accounts/lookup":
		if !authed() {
			return
		}
		a, ok := local(r.Form.Get("acct"))
		if !ok {
			reply(404, map[string]string{"error": "Not Found"})
			return
		}
		reply(200, f.view(a, false))
	case path == "/api/v1/accounts/verify_credentials":
		if authed() {
			reply(200, f.view(f.accounts[me], true))
		}
	case path == "/api/v1/accounts/update_credentials" && r.Method == "PATCH":
		if !authed() {
			return
		}
		var fields []fedi.Field
		for i := 0; ; i++ {
			name, ok := r.PostForm["fields_attributes["+strconv.Itoa(i)+"][name]"]
			if !ok {
				break
			}
			fields = append(fields, fedi.Field{Name: name[0], Value: r.PostForm.Get("fields_attributes[" + strconv.Itoa(i) + "][value]")})
		}
		f.accounts[me].fields = fields
		reply(200, f.view(f.accounts[me], true))
	case path == "/api/v1/blocks" || path == "/api/v1/mutes" || strings.HasSuffix(path, "/following") || strings.HasSuffix(path, "/followers"):
		if !authed() {
			return
		}
		a := f.accounts[me]
		var list []string
		switch {
		case path == "/api/v1/blocks":
			list = a.blocks
		case path == "/api/v1/mutes":
			list = a.mutes
		case path == "/api/v1/accounts/"+a.id+"/following":
			list = a.following
		case path == "/api/v1/accounts/"+a.id+"/followers":
			list = a.followers
		default:
			reply(404, map[string]string{"error": "Not Found"})
			return
		}
		// Newest first, paged by max_id = index, like GoToSocial: a
		// next link only while more remain.
		start := 0
		if m := r.Form.Get("max_id"); m != "" {
			start, _ = strconv.Atoi(m)
		}
		end := min(start+f.pageSize, len(list))
		page := []map[string]any{}
		for i := start; i < end; i++ {
			user, domain, remote := strings.Cut(list[i], "@")
			if remote {
				page = append(page, map[string]any{"id": "01REMOTE" + user, "username": user, "acct": user + "@" + domain, "fields": []any{}})
			} else {
				page = append(page, f.view(f.accounts[user], false))
			}
		}
		if end < len(list) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?limit=80&max_id=%d>; rel="next", <http://%s%s?limit=80&min_id=%d>; rel="prev"`, f.host, path, end, f.host, path, start))
		}
		reply(200, page)
	case r.Method == "POST" && strings.HasPrefix(path, "/api/v1/accounts/") && strings.Count(path, "/") == 5:
		if !authed() {
			return
		}
		id, verb, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/accounts/"), "/")
		var target string
		for _, a := range f.accounts {
			if a.id == id {
				target = a.username
			}
		}
		if target == "" {
			reply(404, map[string]string{"error": "Record not found"})
			return
		}
		a := f.accounts[me]
		without := func(l []string) []string {
			return slices.DeleteFunc(slices.Clone(l), func(x string) bool { return x == target })
		}
		switch verb {
		case "mute":
			a.mutes = append(without(a.mutes), target)
		case "unmute":
			a.mutes = without(a.mutes)
		case "block":
			a.blocks = append(without(a.blocks), target)
		case "unblock":
			a.blocks = without(a.blocks)
		default:
			reply(404, map[string]string{"error": "Not Found"})
			return
		}
		reply(200, map[string]any{"id": id, "muting": slices.Contains(a.mutes, target), "blocking": slices.Contains(a.blocks, target)})
	default:
		reply(404, map[string]string{"error": "Not Found"})
	}
}

// runIn runs kith on n with stdin and the loopback switch set.
func runIn(n *node, stdin string, args ...string) (stdout, stderr string, code int) {
	n.t.Helper()
	var out, errb bytes.Buffer
	n.vars["KITH_HOME"] = n.home
	n.vars["KITH_FEDI_HTTP_LOOPBACK"] = "1"
	env := cli.Env{
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin),
		LookupEnv: func(k string) (string, bool) { v, ok := n.vars[k]; return v, ok },
		Now:       func() time.Time { return n.now },
		Rand:      n.rng,
		KDF:       vault.Params{Memory: 64, Time: 1, Threads: 1},
	}
	code = cli.Main(context.Background(), args, env)
	n.now = n.now.Add(time.Minute)
	return out.String(), errb.String(), code
}

func okIn(n *node, stdin string, args ...string) (string, string) {
	n.t.Helper()
	out, errs, code := runIn(n, stdin, args...)
	if code != 0 {
		n.t.Fatalf("kith %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out, errs
}

func failIn(n *node, want string, args ...string) {
	n.t.Helper()
	out, errs, code := runIn(n, "", args...)
	if code == 0 {
		n.t.Fatalf("kith %s: succeeded, want error %q; output %s", strings.Join(args, " "), want, out)
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "kith: ") {
		n.t.Fatalf("kith %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
}

type importJSON struct {
	Relations map[string]int `json:"relations"`
	Added     int            `json:"added"`
	Unchanged int            `json:"unchanged"`
	Retracted int            `json:"retracted"`
	Skipped   int            `json:"skipped"`
	Unusable  int            `json:"unusable"`
}

func importRun(t *testing.T, n *node, args ...string) importJSON {
	t.Helper()
	out, _ := okIn(n, "", append([]string{"fedi", "import", "--json"}, args...)...)
	var r importJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return r
}

// byHandle lists n's own active attestations as "kind strength" by
// subject.
func byHandle(n *node) map[string]string {
	m := map[string]string{}
	for _, l := range n.list("--by", "me") {
		m[l.Subject] = l.Kind + " " + strconv.FormatUint(l.Strength, 10)
	}
	return m
}

func TestFediLoginLinkVerify(t *testing.T) {
	f := newFakeInstance(t)
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")

	// Bob logs in with a token he made himself, links his node and lets
	// kith set his profile field.
	okIn(b, "token-of-bob\n", "fedi", "login", f.acct("bob"), "--token-stdin")
	bundle := filepath.Join(t.TempDir(), "bob-link.kith")
	out, _ := okIn(b, "", "link", f.acct("bob"), "--set-field", "--out", bundle)
	if !strings.Contains(out, "set and verified both ways") {
		t.Fatalf("link --set-field: %s", out)
	}
	var bobID struct {
		PeerID string `json:"peer_id"`
		DIDKey string `json:"did_key"`
	}
	if err := json.Unmarshal([]byte(b.ok("id", "--json")), &bobID); err != nil {
		t.Fatal(err)
	}
	f.do(func() {
		if fs := f.accounts["bob"].fields; len(fs) != 1 || fs[0].Name != "kith" || fs[0].Value != bobID.DIDKey {
			t.Fatalf("bob's fields %+v", fs)
		}
	})
	// Without --set-field, link prints the exact field text.
	out, _ = okIn(b, "", "link", f.acct("bob"))
	if !strings.Contains(out, "name:  kith\n  value: "+bobID.DIDKey+"\n") {
		t.Fatalf("link output:\n%s", out)
	}

	// Someone who is not logged in asks bob's instance directly, which
	// (like GoToSocial) shows accounts only with a login: a clear hint.
	d := newNode(t, "dave")
	d.ok("init")
	d.now = b.now
	failIn(d, "does not show accounts without a login: run kith fedi login", "verify", f.acct("bob"), "--link", bundle)

	// Alice logs in with the out-of-band code flow: the authorize page on
	// stderr, the code on stdin, the token never shown.
	out, errs := okIn(a, "code-for-alice\n", "fedi", "login", f.acct("alice"))
	if !strings.Contains(errs, f.srv.URL+"/oauth/authorize?client_id=client-1") || !strings.Contains(out, "logged in as "+f.acct("alice")) {
		t.Fatalf("login output %q, stderr %q", out, errs)
	}
	if strings.Contains(out+errs, "oauth-token-alice") {
		t.Fatal("the token was printed")
	}
	// A code works once.
	if _, errs, code := runIn(a, "code-for-alice\n", "fedi", "login", f.acct("alice")); code != 1 || !strings.Contains(errs, "invalid_grant: bad code") {
		t.Fatalf("reused code: exit %d, %q", code, errs)
	}
	out, _, code := runIn(a, "token-of-bob\n", "fedi", "login", f.acct("alice"), "--token-stdin")
	if code == 0 || strings.Contains(out, "logged in") {
		t.Fatal("a token of another account was accepted")
	}

	// Alice verifies bob: first without his link, then from his bundle.
	a.now = b.now
	failIn(a, "no identity link for "+f.acct("bob"), "verify", f.acct("bob"))
	out, _ = okIn(a, "", "verify", f.acct("bob"), "--link", bundle)
	if !strings.Contains(out, f.acct("bob")+" is linked to "+bobID.PeerID) || !strings.Contains(out, "verified both ways") {
		t.Fatalf("verify: %s", out)
	}
	// Once stored, the link verifies without the file; --json has the
	// stable fields.
	var v struct {
		Acct     string `json:"acct"`
		PeerID   string `json:"peer_id"`
		Verified bool   `json:"verified"`
	}
	out, _ = okIn(a, "", "verify", f.acct("bob"), "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || !v.Verified || v.PeerID != bobID.PeerID || v.Acct != "acct:bob@"+f.host {
		t.Fatalf("verify --json: %s %v", out, err)
	}

	// 429 is retried as the server asks.
	f.failNext("/api/v1/accounts/lookup", fakeFailure{status: 429, body: `{"error":"Too Many Requests"}`, header: map[string]string{"Retry-After": "0"}})
	okIn(a, "", "verify", f.acct("bob"))

	// Mallory's node claims bob's account too; bob's field names bob's
	// key, so mallory's link fails and bob's still verifies.
	m := newNode(t, "mallory")
	m.ok("init")
	mbundle := filepath.Join(t.TempDir(), "mallory-link.kith")
	okIn(m, "", "link", f.acct("bob"), "--out", mbundle)
	a.now = m.now.Add(time.Minute)
	out, _ = okIn(a, "", "verify", f.acct("bob"), "--link", mbundle)
	if !strings.Contains(out, "is linked to "+bobID.PeerID) {
		t.Fatalf("verify with mallory's competing link: %s", out)
	}
	// A field naming a key no link of the store has: a clear mismatch.
	f.do(func() {
		f.accounts["bob"].fields = []fedi.Field{{Name: "kith", Value: "did:key:z6MkmgoN6DceCkjksTeZo42bhE9MdUpKSfdehRSfrWR9AQPV"}}
	})
	failIn(a, "claims did:key:z6MkmgoN6DceCkjksTeZo42bhE9MdUpKSfdehRSfrWR9AQPV, not ", "verify", f.acct("bob"))
	f.do(func() { f.accounts["bob"].fields = nil })
	failIn(a, `add a field named "kith"`, "verify", f.acct("bob"))

	// Bad input: unreachable instance, unknown account, revoked token.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	failIn(a, "unreachable", "fedi", "login", "@alice@"+dead, "--token-stdin")
	failIn(a, "HTTP 404 not found", "fedi", "login", f.acct("nobody"), "--token-stdin")
	f.do(func() { delete(f.tokens, "oauth-token-alice") })
	failIn(a, "HTTP 401 unauthorized", "fedi", "import")
	failIn(a, "bad user name", "verify", "@b ob@"+f.host)
}

func TestFediImport(t *testing.T) {
	f := newFakeInstance(t)
	a := newNode(t, "alice")
	a.ok("init")
	f.do(func() {
		al := f.accounts["alice"]
		al.following = []string{"bob", "carol@other.example", "erin", "mallory"}
		al.followers = []string{"bob", "dave@third.example"}
		al.blocks = []string{"mallory"}
		al.mutes = []string{"loud@other.example"}
	})
	failIn(a, "not logged in", "fedi", "import")
	okIn(a, "token-of-alice\n", "fedi", "login", f.acct("alice"), "--token-stdin")
	// Alice's own statement about erin is left alone.
	a.ok("vouch", f.acct("erin"), "--strength", "90")

	r := importRun(t, a)
	if r.Added != 4 || r.Skipped != 1 || r.Retracted != 0 || r.Relations["block"] != 1 || r.Relations["follow"] != 3 || r.Relations["mute"] != 1 {
		t.Fatalf("first import: %+v", r)
	}
	h := "@" + f.host
	want := map[string]string{
		"acct:bob" + h: "vouch 30", "acct:carol@other.example": "vouch 30", "acct:erin" + h: "vouch 90",
		"acct:mallory" + h: "warn 60", "acct:loud@other.example": "warn 20",
	}
	if got := byHandle(a); !mapsEqual(got, want) {
		t.Fatalf("after import:\n got %v\nwant %v", got, want)
	}
	for _, l := range a.list() {
		if l.Audience != "private" {
			t.Fatalf("imported attestation not private: %+v", l)
		}
	}
	// Idempotent.
	if r := importRun(t, a); r.Added != 0 || r.Retracted != 0 || r.Unchanged != 4 {
		t.Fatalf("re-import: %+v", r)
	}
	// What disappeared becomes a retraction; a changed mapping replaces.
	f.do(func() { f.accounts["alice"].following = []string{"bob", "erin", "mallory"} })
	if r := importRun(t, a, "--follow", "vouch:40", "--follower", "vouch:10"); r.Added != 2 || r.Retracted != 2 || r.Unchanged != 2 {
		t.Fatalf("import after unfollowing carol, follow=vouch:40, follower=vouch:10: %+v", r)
	}
	want = map[string]string{
		"acct:bob" + h: "vouch 40", "acct:erin" + h: "vouch 90", "acct:mallory" + h: "warn 60",
		"acct:loud@other.example": "warn 20", "acct:dave@third.example": "vouch 10",
	}
	if got := byHandle(a); !mapsEqual(got, want) {
		t.Fatalf("after re-import:\n got %v\nwant %v", got, want)
	}

	// All or nothing: a failing list, malformed JSON, or a 429 beyond the
	// retries writes nothing.
	before := len(a.list("--all"))
	f.do(func() { f.accounts["alice"].following = append(f.accounts["alice"].following, "carol@other.example") })
	f.failNext("/api/v1/mutes", fakeFailure{status: 500, body: `{"error":"Internal Server Error"}`})
	failIn(a, "nothing was imported", "fedi", "import")
	f.failNext("/api/v1/accounts/01FAKE00/followers", fakeFailure{status: 200, body: `[{"id":`})
	failIn(a, "malformed", "fedi", "import", "--follower", "vouch:10")
	f.failNext("/api/v1/blocks", fakeFailure{status: 429, body: `{"error":"Too Many Requests"}`, header: map[string]string{"Retry-After": "86400"}})
	failIn(a, "rate limited", "fedi", "import")
	if after := len(a.list("--all")); after != before {
		t.Fatalf("a failed import wrote: %d -> %d attestations", before, after)
	}
	// Paging: more accounts than a page.
	f.do(func() {
		for i := range 5 {
			f.accounts["alice"].mutes = append(f.accounts["alice"].mutes, fmt.Sprintf("m%d@other.example", i))
		}
	})
	if r := importRun(t, a, "--follower", "vouch:10", "--follow", "vouch:40", "--dry-run"); r.Added != 6 || r.Relations["mute"] != 6 {
		t.Fatalf("dry run: %+v", r)
	}
	if got := len(a.list("--all")); got != before {
		t.Fatalf("dry run wrote: %d -> %d", before, got)
	}
	for _, bad := range [][]string{{"--follow", "love:3"}, {"--block", "warn:0"}, {"--mute", "warn:101"}, {"--context", "Bad Context"}} {
		failIn(a, strings.TrimPrefix(bad[0], "--"), append([]string{"fedi", "import"}, bad...)...)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestQueryByHandle: alice follows @bob on the Fediverse (imported as a
// vouch for the account), bob's node vouches for carol's account, and
// alice verified bob's link: the account and the node are one subject, so
// alice's trust reaches carol through @bob. After the TTL the link is
// checked again; a removed field revokes it.
func TestQueryByHandle(t *testing.T) {
	f := newFakeInstance(t)
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	okIn(b, "token-of-bob\n", "fedi", "login", f.acct("bob"), "--token-stdin")
	okIn(b, "", "link", f.acct("bob"), "--set-field")
	b.ok("vouch", f.acct("carol"), "--strength", "80")
	exported := filepath.Join(t.TempDir(), "bob.kith")
	b.ok("export", "--out", exported)

	okIn(a, "token-of-alice\n", "fedi", "login", f.acct("alice"), "--token-stdin")
	f.do(func() { f.accounts["alice"].following = []string{"bob"} })
	importRun(t, a, "--follow", "vouch:70")
	a.now = b.now.Add(time.Minute)
	a.ok("import", exported)

	type answer struct {
		Covered     bool `json:"covered"`
		Explanation struct {
			LinkVerified bool `json:"link_verified"`
			Paths        []struct {
				Nodes []string `json:"nodes"`
			} `json:"paths"`
		} `json:"explanation"`
	}
	query := func(who string) answer {
		out, _ := okIn(a, "", "query", who, "--json")
		var ans answer
		if err := json.Unmarshal([]byte(out), &ans); err != nil {
			t.Fatal(err)
		}
		return ans
	}
	// Before verification the account and the node are strangers: no path.
	if q := query(f.acct("carol")); len(q.Explanation.Paths) != 0 {
		t.Fatalf("a path without a verified link: %+v", q)
	}
	okIn(a, "", "verify", f.acct("bob"))
	q := query(f.acct("carol"))
	if !q.Covered || len(q.Explanation.Paths) == 0 || strings.Join(q.Explanation.Paths[0].Nodes, " > ") != "you > "+f.acct("bob")+" > "+f.acct("carol") {
		t.Fatalf("carol after verifying bob: %+v", q)
	}
	if q := query(f.acct("bob")); !q.Explanation.LinkVerified {
		t.Fatalf("bob: link not shown as verified: %+v", q)
	}
	if out, _ := okIn(a, "", "query", f.acct("carol")); !strings.Contains(out, "path: you -> "+f.acct("bob")+" -> "+f.acct("carol")) {
		t.Fatalf("human output:\n%s", out)
	}
	// A statement alice makes about bob's node is hers about bob's
	// account too: the import leaves that account alone from now on.
	if r := importRun(t, a, "--follow", "vouch:70"); r.Unchanged != 1 || r.Skipped != 0 {
		t.Fatalf("re-import before alice's own statement: %+v", r)
	}
	a.ok("vouch", b.id(), "--strength", "95")
	if r := importRun(t, a, "--follow", "vouch:60"); r.Skipped != 1 || r.Added != 0 || r.Retracted != 0 {
		t.Fatalf("re-import after alice's own statement about bob's node: %+v", r)
	}
	// viaBob: a path to carol goes through bob's account (his node and
	// his account are one subject).
	viaBob := func(q answer) bool {
		for _, p := range q.Explanation.Paths {
			if slices.Contains(p.Nodes, f.acct("bob")) {
				return true
			}
		}
		return false
	}
	parse := func(out string) answer {
		var ans answer
		if err := json.Unmarshal([]byte(out), &ans); err != nil {
			t.Fatal(err)
		}
		return ans
	}
	// Within the TTL nothing is fetched; after it, the removed field
	// revokes the link.
	f.do(func() { f.accounts["bob"].fields = nil })
	if q := query(f.acct("carol")); !viaBob(q) {
		t.Fatal("link dropped within its TTL")
	}
	a.now = a.now.Add(8 * 24 * time.Hour)
	out, errs := okIn(a, "", "query", f.acct("carol"), "--json")
	if !strings.Contains(errs, "no longer holds") || viaBob(parse(out)) {
		t.Fatalf("revoked link: stderr %q, answer %s", errs, out)
	}
	if q := query(f.acct("carol")); viaBob(q) || len(q.Explanation.Paths) == 0 {
		t.Fatalf("after revocation, want a path through bob's node only: %+v", q)
	}
	if q := query(f.acct("bob")); q.Explanation.LinkVerified {
		t.Fatal("revoked link shown as verified")
	}
	// An instance that cannot be reached at re-check time: the link does
	// not count meanwhile, and nothing is revoked.
	f.do(func() { f.accounts["bob"].fields = []fedi.Field{{Name: "kith", Value: b.didKey()}} })
	okIn(a, "", "verify", f.acct("bob"))
	a.now = a.now.Add(8 * 24 * time.Hour)
	f.failNext("/api/v1/accounts/lookup", fakeFailure{status: 500, body: "{}"})
	out, errs = okIn(a, "", "query", f.acct("carol"), "--json")
	if !strings.Contains(errs, "could not be checked") || viaBob(parse(out)) {
		t.Fatalf("failed re-check: stderr %q, answer %s", errs, out)
	}
	if q := query(f.acct("carol")); !viaBob(q) {
		t.Fatal("a link that re-verifies was not restored")
	}
}

func (n *node) didKey() string {
	n.t.Helper()
	var v struct {
		DIDKey string `json:"did_key"`
	}
	if err := json.Unmarshal([]byte(n.ok("id", "--json")), &v); err != nil {
		n.t.Fatal(err)
	}
	return v.DIDKey
}

// TestFediApply: the owner's warnings become mutes on their own account,
// accounts they muted by hand are left alone and never undone, a dry run
// changes nothing, and --undo removes exactly kith's.
func TestFediApply(t *testing.T) {
	f := newFakeInstance(t)
	a := newNode(t, "alice")
	a.ok("init")
	okIn(a, "token-of-alice\n", "fedi", "login", f.acct("alice"), "--token-stdin")
	f.do(func() { f.accounts["alice"].mutes = []string{"carol"} }) // by hand
	a.ok("warn", f.acct("mallory"), "--strength", "90")
	a.ok("warn", f.acct("carol"), "--strength", "90")
	a.ok("vouch", f.acct("bob"), "--strength", "90")
	mutes := func() string {
		var m []string
		f.do(func() { m = slices.Clone(f.accounts["alice"].mutes) })
		slices.Sort(m)
		return strings.Join(m, ",")
	}
	type result struct {
		Added   []struct{ Acct string } `json:"added"`
		Removed []struct{ Acct string } `json:"removed"`
		Kept    int                     `json:"kept"`
		ByHand  int                     `json:"by_hand"`
	}
	apply := func(args ...string) result {
		t.Helper()
		out, _ := okIn(a, "", append([]string{"fedi", "apply", "--json", "--below", "0.5"}, args...)...)
		checkSchema(t, a, "fedi apply", out)
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := apply("--dry-run"); len(r.Added) != 1 || r.Added[0].Acct != f.acct("mallory") || r.ByHand != 1 || mutes() != "carol" {
		t.Fatalf("dry run: %+v, mutes %s", r, mutes())
	}
	if r := apply(); len(r.Added) != 1 || mutes() != "carol,mallory" {
		t.Fatalf("apply: %+v, mutes %s", r, mutes())
	}
	if r := apply(); len(r.Added) != 0 || r.Kept != 1 || r.ByHand != 1 || mutes() != "carol,mallory" {
		t.Fatalf("apply again: %+v, mutes %s", r, mutes())
	}
	out, _ := okIn(a, "", "fedi", "apply", "--undo", "--dry-run")
	if !strings.Contains(out, "- would unmute "+f.acct("mallory")) || mutes() != "carol,mallory" {
		t.Fatalf("undo dry run: %q, mutes %s", out, mutes())
	}
	if r := apply("--undo"); len(r.Removed) != 1 || r.Removed[0].Acct != f.acct("mallory") || mutes() != "carol" {
		t.Fatalf("undo: %+v, mutes %s", r, mutes())
	}
	if r := apply("--undo"); len(r.Removed) != 0 || mutes() != "carol" {
		t.Fatalf("undo again: %+v", r)
	}
	// Once the owner retracts the warning, a new apply undoes kith's mute.
	apply()
	var cid string
	for _, l := range a.list("--about", f.acct("mallory")) {
		cid = l.CID
	}
	a.ok("retract", cid)
	if r := apply(); len(r.Removed) != 1 || mutes() != "carol" {
		t.Fatalf("after retracting the warning: %+v, mutes %s", r, mutes())
	}
	a.fail("--below", "fedi", "apply", "--below", "1.5")
}
