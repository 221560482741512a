package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/vault"
)

// TestGoToSocialEndToEnd runs kith link, verify, fedi login, fedi import and
// query against a real GoToSocial server. It runs only when KITH_GTS_ENV
// names the file written by `.ci/gotosocial.sh up` (or run through
// `.ci/gotosocial.sh run go test ...`).
func TestGoToSocialEndToEnd(t *testing.T) {
	path := os.Getenv("KITH_GTS_ENV")
	if path == "" {
		t.Skip("KITH_GTS_ENV is not set: start GoToSocial with .ci/gotosocial.sh")
	}
	env := readEnvFile(t, path)
	g := &gtsAPI{t: t, base: env["KITH_GTS_BASE"], host: env["KITH_GTS_HOST"], env: env}
	acct := func(u string) string { return "@" + u + "@" + g.host }
	g.reset()

	alice, bob, carol := newNode(t, "alice"), newNode(t, "bob"), newNode(t, "carol")
	for _, n := range []*node{alice, bob, carol} {
		n.now = time.Now()
		n.ok("init")
	}

	// Alice logs in through the real out-of-band authorization-code flow:
	// kith prints the authorize page, a "browser" signs in and approves,
	// and the code the instance shows goes to kith's standard input.
	out, errs := loginOOB(t, alice, acct("alice"), env["KITH_GTS_ALICE_EMAIL"], env["KITH_GTS_PASSWORD"])
	if !strings.Contains(out, "logged in as "+acct("alice")) || strings.Contains(out+errs, "access_token") {
		t.Fatalf("login: %q %q", out, errs)
	}
	// Bob and carol use tokens they already have.
	okIn(bob, env["KITH_GTS_BOB_TOKEN"]+"\n", "fedi", "login", acct("bob"), "--token-stdin")
	okIn(carol, env["KITH_GTS_CAROL_TOKEN"]+"\n", "fedi", "login", acct("carol"), "--token-stdin")

	// Bob and carol link their nodes; kith sets their profile fields on
	// the server and checks them both ways.
	bobBundle := filepath.Join(t.TempDir(), "bob-link.kith")
	if out, _ := okIn(bob, "", "link", acct("bob"), "--set-field", "--out", bobBundle); !strings.Contains(out, "verified both ways") {
		t.Fatalf("bob link: %s", out)
	}
	if got := g.field("bob"); got != bob.didKey() {
		t.Fatalf("bob's kith field on the server: %q, want %q", got, bob.didKey())
	}
	carolBundle := filepath.Join(t.TempDir(), "carol-link.kith")
	okIn(carol, "", "link", acct("carol"), "--set-field", "--out", carolBundle)

	// Bob's node vouches for carol's account; alice gets bob's statements.
	bob.ok("vouch", acct("carol"), "--strength", "80", "--reason", "reliable")
	export := filepath.Join(t.TempDir(), "bob.kith")
	bob.ok("export", "--out", export)
	alice.ok("import", export)

	// On the server: alice follows bob and carol and blocks mallory.
	g.call("alice", "POST", "/api/v1/accounts/"+env["KITH_GTS_BOB_ID"]+"/follow", nil)
	g.call("alice", "POST", "/api/v1/accounts/"+env["KITH_GTS_CAROL_ID"]+"/follow", nil)
	g.call("alice", "POST", "/api/v1/accounts/"+env["KITH_GTS_MALLORY_ID"]+"/block", nil)

	r := importRun(t, alice, "--follow", "vouch:70")
	if r.Added != 3 || r.Relations["follow"] != 2 || r.Relations["block"] != 1 {
		t.Fatalf("import: %+v", r)
	}
	h := "@" + g.host
	if got, want := byHandle(alice), map[string]string{
		"acct:bob" + h: "vouch 70", "acct:carol" + h: "vouch 70", "acct:mallory" + h: "warn 60",
	}; !mapsEqual(got, want) {
		t.Fatalf("after import: %v", got)
	}
	if r := importRun(t, alice, "--follow", "vouch:70"); r.Added != 0 || r.Unchanged != 3 {
		t.Fatalf("re-import: %+v", r)
	}

	// Alice's clock is not behind the links she checks.
	for _, n := range []*node{bob, carol} {
		if n.now.After(alice.now) {
			alice.now = n.now
		}
	}
	// Alice verifies bob through her own instance, then asks about carol:
	// her trust reaches carol's account through bob's account, which is
	// now one subject with bob's node.
	if out, _ := okIn(alice, "", "verify", acct("bob")); !strings.Contains(out, "verified both ways") {
		t.Fatalf("verify bob: %s", out)
	}
	type answer struct {
		Covered     bool `json:"covered"`
		Explanation struct {
			LinkVerified bool `json:"link_verified"`
			Paths        []struct {
				Nodes []string `json:"nodes"`
			} `json:"paths"`
			Vouchers []struct {
				From string `json:"from"`
			} `json:"vouchers"`
		} `json:"explanation"`
	}
	var q answer
	out, _ = okIn(alice, "", "query", acct("carol"), "--json")
	if err := json.Unmarshal([]byte(out), &q); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range q.Explanation.Paths {
		found = found || strings.Join(p.Nodes, " > ") == "you > "+acct("bob")+" > "+acct("carol")
	}
	if !q.Covered || !found {
		t.Fatalf("query carol: %s", out)
	}
	out, _ = okIn(alice, "", "query", acct("bob"), "--json")
	if err := json.Unmarshal([]byte(out), &q); err != nil || !q.Explanation.LinkVerified {
		t.Fatalf("query bob: %s %v", out, err)
	}
	human, _ := okIn(alice, "", "query", acct("carol"))
	t.Logf("kith query %s:\n%s", acct("carol"), human)

	// Carol's field is changed to claim bob's key: carol's link fails
	// with a message naming both keys.
	g.call("carol", "PATCH", "/api/v1/accounts/update_credentials", url.Values{
		"fields_attributes[0][name]": {"kith"}, "fields_attributes[0][value]": {bob.didKey()}})
	failIn(alice, "claims "+bob.didKey()+", not "+carol.didKey(), "verify", acct("carol"), "--link", carolBundle)

	// Alice unfollows carol and mutes bob: the next import retracts the
	// vouch for carol and replaces the vouch for bob by a weak warning.
	g.call("alice", "POST", "/api/v1/accounts/"+env["KITH_GTS_CAROL_ID"]+"/unfollow", nil)
	g.call("alice", "POST", "/api/v1/accounts/"+env["KITH_GTS_BOB_ID"]+"/mute", nil)
	if r := importRun(t, alice, "--follow", "vouch:70"); r.Retracted != 2 || r.Added != 1 || r.Unchanged != 1 || r.Relations["mute"] != 1 {
		t.Fatalf("import after unfollow and mute: %+v", r)
	}
	if got, want := byHandle(alice), map[string]string{"acct:bob" + h: "warn 20", "acct:mallory" + h: "warn 60"}; !mapsEqual(got, want) {
		t.Fatalf("after unfollow and mute: %v", got)
	}
	// An unknown account on the real server.
	failIn(alice, "HTTP 404 not found", "fedi", "login", acct("nobody"), "--token-stdin")
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	for _, k := range []string{"KITH_GTS_BASE", "KITH_GTS_HOST", "KITH_GTS_ALICE_TOKEN", "KITH_GTS_BOB_TOKEN", "KITH_GTS_CAROL_TOKEN", "KITH_GTS_MALLORY_ID"} {
		if env[k] == "" {
			t.Fatalf("%s: no %s", path, k)
		}
	}
	return env
}

// gtsAPI makes the test's own calls to the server (what a person would do
// in their Fediverse client).
type gtsAPI struct {
	t          *testing.T
	base, host string
	env        map[string]string
}

func (g *gtsAPI) call(user, method, path string, form url.Values) map[string]any {
	g.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, g.base+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Bearer "+g.env["KITH_GTS_"+strings.ToUpper(user)+"_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		g.t.Fatalf("%s %s as %s: %d %s", method, path, user, resp.StatusCode, b)
	}
	var v map[string]any
	json.Unmarshal(b, &v)
	return v
}

// reset undoes alice's follows, blocks and mutes of the others, from an
// earlier test on the same server.
func (g *gtsAPI) reset() {
	g.t.Helper()
	for _, other := range []string{"bob", "carol", "mallory"} {
		id := g.env["KITH_GTS_"+strings.ToUpper(other)+"_ID"]
		for _, op := range []string{"unfollow", "unblock", "unmute"} {
			g.call("alice", "POST", "/api/v1/accounts/"+id+"/"+op, nil)
		}
	}
}

// field returns the plain value of the user's kith field.
func (g *gtsAPI) field(user string) string {
	me := g.call(user, "GET", "/api/v1/accounts/verify_credentials", nil)
	src, _ := me["source"].(map[string]any)
	fields, _ := src["fields"].([]any)
	for _, f := range fields {
		m, _ := f.(map[string]any)
		if m["name"] == "kith" {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}

// codeStdin blocks until the browser half of the login has the code.
type codeStdin struct {
	ch  chan string
	buf *strings.Reader
}

func (r *codeStdin) Read(p []byte) (int, error) {
	if r.buf == nil {
		s, ok := <-r.ch
		if !ok {
			return 0, io.EOF
		}
		r.buf = strings.NewReader(s)
	}
	return r.buf.Read(p)
}

// promptWatcher collects kith's stderr and, once it shows the authorize
// page, starts the browser half in a goroutine the test joins.
type promptWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	started bool
	start   func(authorizeURL string)
}

var authorizeRE = regexp.MustCompile(`https?://\S+/oauth/authorize\?\S+`)

func (w *promptWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.started && strings.Contains(w.buf.String(), "code: ") {
		if u := authorizeRE.FindString(w.buf.String()); u != "" {
			w.started = true
			w.start(u)
		}
	}
	return len(p), nil
}

func loginOOB(t *testing.T, n *node, acct, email, password string) (stdout, stderr string) {
	t.Helper()
	in := &codeStdin{ch: make(chan string, 1)}
	var wg sync.WaitGroup
	var browserErr error
	w := &promptWatcher{start: func(u string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := approve(u, email, password)
			if err != nil {
				browserErr = err
				close(in.ch)
				return
			}
			in.ch <- code + "\n"
		}()
	}}
	var out bytes.Buffer
	n.vars["KITH_HOME"] = n.home
	n.vars["KITH_FEDI_HTTP_LOOPBACK"] = "1"
	code := cli.Main(context.Background(), []string{"fedi", "login", acct}, cli.Env{
		Stdout: &out, Stderr: w, Stdin: in,
		LookupEnv: func(k string) (string, bool) { v, ok := n.vars[k]; return v, ok },
		Now:       func() time.Time { return n.now },
		Rand:      n.rng,
		KDF:       vault.Params{Memory: 64, Time: 1, Threads: 1},
	})
	wg.Wait()
	if browserErr != nil {
		t.Fatalf("browser: %v", browserErr)
	}
	if code != 0 {
		t.Fatalf("kith fedi login: exit %d: %s", code, w.buf.String())
	}
	return out.String(), w.buf.String()
}

// approve does what the person does in the browser: open the authorize
// page, sign in, approve, and read the code from the out-of-band page's
// address.
func approve(authorizeURL, email, password string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", err
	}
	origin := u.Scheme + "://" + u.Host
	steps := []func() (*http.Response, error){
		func() (*http.Response, error) { return c.Get(authorizeURL) }, // redirects to the sign-in page
		func() (*http.Response, error) {
			return c.PostForm(origin+"/auth/sign_in", url.Values{"username": {email}, "password": {password}})
		},
	}
	for _, step := range steps {
		resp, err := step()
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("%s: %s", resp.Request.URL, resp.Status)
		}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Post(origin+"/oauth/authorize", "application/x-www-form-urlencoded", nil)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", errors.New("approve: no code in the redirect " + resp.Header.Get("Location") + " (" + resp.Status + ")")
	}
	return loc.Query().Get("code"), nil
}
