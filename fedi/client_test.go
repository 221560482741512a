package fedi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/wire"
)

var flavours = []string{"mastodon", "gotosocial"}

func domainOf(flavour string) string {
	if flavour == "gotosocial" {
		return "gts.example"
	}
	return "mastodon.example"
}

var (
	bobKey     = wire.NewPrivateKey([32]byte{1})
	malloryKey = wire.NewPrivateKey([32]byte{2})
)

func TestLookupAndClaimsBothShapes(t *testing.T) {
	for _, fl := range flavours {
		t.Run(fl, func(t *testing.T) {
			in := newInstance(t, fl)
			in.on("GET /api/v1/accounts/lookup?acct=bob%40"+domainOf(fl), reply{file: "lookup_bob.json"})
			c, _ := in.client("")
			a, err := c.Lookup(context.Background(), "@bob@"+domainOf(fl))
			if err != nil {
				t.Fatal(err)
			}
			if a.Username != "bob" || a.Acct != "bob" || a.FullAcct(c.Domain) != "bob@"+domainOf(fl) {
				t.Fatalf("account %+v", a)
			}
			claim := Claims(a)
			if len(claim.Keys) != 1 || claim.Keys[0] != bobKey.Public() || len(claim.Invalid) != 0 {
				t.Fatalf("claims %+v", claim)
			}
			// The URL field: Mastodon wraps it in spans and verified it;
			// GoToSocial wraps it in its own <a> and never verifies.
			site := a.Fields[0]
			if got := FieldText(site.Value); got != "https://bob.example" {
				t.Errorf("URL field text %q", got)
			}
			_, verified := site.Verified()
			if verified != (fl == "mastodon") {
				t.Errorf("verified_at %v on %s", site.VerifiedAt, fl)
			}
			if reqs := in.requests(); len(reqs) != 1 || reqs[0].auth != "" {
				t.Errorf("requests %+v: an unauthenticated client sent a token", reqs)
			}
		})
	}
}

func TestFieldText(t *testing.T) {
	for in, want := range map[string]string{
		"did:key:z6Mk":                           "did:key:z6Mk",
		"<p>my node: did:key:z6Mk</p>":           "my node: did:key:z6Mk",
		"a<br>b":                                 "a b",
		"<p>one</p><p>two</p>":                   "one  two",
		`<a href="x"><span>https://</span>x</a>`: "https://x",
		"1 &lt; 2 &amp;&amp; 3 &gt; 2":           "1 < 2 && 3 > 2",
		"a < b":                                  "a < b",
		"":                                       "",
	} {
		if got := FieldText(in); got != want {
			t.Errorf("FieldText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVerifyCredentialsAndSetField(t *testing.T) {
	did := ProfileText(bobKey.Public())
	for _, fl := range flavours {
		t.Run(fl, func(t *testing.T) {
			in := newInstance(t, fl)
			in.on("GET /api/v1/accounts/verify_credentials", reply{file: "verify_credentials.json"})
			in.on("PATCH /api/v1/accounts/update_credentials", reply{file: "verify_credentials.json"})
			c, _ := in.client("tok-" + fl)
			me, err := c.VerifyCredentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if me.Acct != "alice" || me.Source == nil || len(me.Source.Fields) != 2 {
				t.Fatalf("me %+v", me)
			}
			if _, err := c.SetField(context.Background(), FieldName, did); err != nil {
				t.Fatal(err)
			}
			reqs := in.requests()
			patch := reqs[len(reqs)-1]
			if patch.method != "PATCH" || patch.auth != "Bearer tok-"+fl {
				t.Fatalf("request %+v", patch)
			}
			f := patch.form
			// The other fields keep their plain source values and their
			// order; a field named kith (any case) is replaced, else the
			// field is appended.
			switch fl {
			case "mastodon":
				want := map[string]string{
					"fields_attributes[0][name]": "Blog", "fields_attributes[0][value]": "https://alice.example/blog",
					"fields_attributes[1][name]": "Languages", "fields_attributes[1][value]": "en, fr",
					"fields_attributes[2][name]": "kith", "fields_attributes[2][value]": did,
				}
				for k, v := range want {
					if f.Get(k) != v {
						t.Errorf("%s = %q, want %q", k, f.Get(k), v)
					}
				}
				if len(f) != len(want) {
					t.Errorf("form %v", f)
				}
			case "gotosocial":
				want := map[string]string{
					"fields_attributes[0][name]": "site", "fields_attributes[0][value]": "https://alice.example",
					"fields_attributes[1][name]": "Kith", "fields_attributes[1][value]": did,
				}
				for k, v := range want {
					if f.Get(k) != v {
						t.Errorf("%s = %q, want %q", k, f.Get(k), v)
					}
				}
				if len(f) != len(want) {
					t.Errorf("form %v", f)
				}
			}
		})
	}
}

func TestPagingBothShapes(t *testing.T) {
	ctx := context.Background()
	// Mastodon sends a next link on every full page, so the last page is
	// empty; GoToSocial omits the next link on the last page. Both write
	// links with their public origin, which is not the client's base URL
	// here: only the query is followed.
	m := newInstance(t, "mastodon")
	const mid = "109302114402378001"
	mnext := func(maxID string) string {
		return `<https://mastodon.example/api/v1/accounts/` + mid + `/following?max_id=` + maxID + `>; rel="next", <https://mastodon.example/api/v1/accounts/` + mid + `/following?since_id=1>; rel="prev"`
	}
	m.on("GET /api/v1/accounts/"+mid+"/following?limit=80", reply{file: "following_1.json", header: map[string]string{"Link": mnext("109350000000000002")}})
	m.on("GET /api/v1/accounts/"+mid+"/following?max_id=109350000000000002", reply{file: "following_2.json", header: map[string]string{"Link": mnext("109360000000000003")}})
	m.on("GET /api/v1/accounts/"+mid+"/following?max_id=109360000000000003", reply{body: "[]"})
	c, _ := m.client("tok")
	got, err := c.Following(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	var accts []string
	for _, a := range got {
		accts = append(accts, a.FullAcct(c.Domain))
	}
	if strings.Join(accts, " ") != "bob@mastodon.example carol@other.example Dave@Third.Example" {
		t.Fatalf("mastodon following: %v", accts)
	}
	for _, r := range m.requests() {
		if r.auth != "Bearer tok" || r.host != strings.TrimPrefix(m.srv.URL, "http://") {
			t.Fatalf("request %+v", r)
		}
	}

	g := newInstance(t, "gotosocial")
	const gid = "01JD7Z7XQ3M8Y1C4H6F2K9B0ZA"
	base := "https://gts.example/api/v1/accounts/" + gid + "/following"
	g.on("GET /api/v1/accounts/"+gid+"/following?limit=80", reply{file: "following_1.json",
		header: map[string]string{"Link": `<` + base + `?limit=80&max_id=01JD7Z8K3Q9V2W6N4R5T1Y0XAB>; rel="next", <` + base + `?limit=80&min_id=01JD7Z8K3Q9V2W6N4R5T1Y0XAB>; rel="prev"`}})
	g.on("GET /api/v1/accounts/"+gid+"/following?limit=80&max_id=01JD7Z8K3Q9V2W6N4R5T1Y0XAB", reply{file: "following_2.json",
		header: map[string]string{"Link": `<` + base + `?limit=80&min_id=01JD7ZC0000000000000000000>; rel="prev"`}})
	gc, _ := g.client("tok")
	got, err = gc.Following(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].FullAcct(gc.Domain) != "bob@gts.example" || got[1].FullAcct(gc.Domain) != "carol@other.example" {
		t.Fatalf("gotosocial following: %+v", got)
	}
	if n := len(g.requests()); n != 2 {
		t.Fatalf("gotosocial: %d requests, want 2", n)
	}

	// Blocks and mutes (GoToSocial's mutes carry mute_expires_at).
	for _, in := range []*instance{m, g} {
		in.on("GET /api/v1/blocks", reply{file: "blocks.json"})
		in.on("GET /api/v1/mutes", reply{file: "mutes.json"})
		cl, _ := in.client("tok")
		b, err := cl.Blocks(ctx)
		if err != nil || len(b) != 1 || b[0].Username != "mallory" {
			t.Fatalf("%s blocks: %+v %v", in.flavour, b, err)
		}
		mu, err := cl.Mutes(ctx)
		if err != nil || len(mu) != 1 || mu[0].FullAcct(cl.Domain) != "loud@elsewhere.example" {
			t.Fatalf("%s mutes: %+v %v", in.flavour, mu, err)
		}
	}

	// A next link that repeats ends the listing instead of looping.
	loop := newInstance(t, "mastodon")
	loop.on("GET /api/v1/blocks", reply{file: "blocks.json", header: map[string]string{"Link": `<https://x/api/v1/blocks?max_id=1>; rel="next"`}})
	lc, _ := loop.client("tok")
	if b, err := lc.Blocks(ctx); err != nil || len(b) != 2 {
		t.Fatalf("repeating next link: %d accounts, %v", len(b), err)
	}
	// A malformed Link header is an error, not a silent end.
	bad := newInstance(t, "mastodon")
	bad.on("GET /api/v1/blocks", reply{file: "blocks.json", header: map[string]string{"Link": `https://x/api/v1/blocks?max_id=1; rel="next"`}})
	bc, _ := bad.client("tok")
	if _, err := bc.Blocks(ctx); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad Link header: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	for _, fl := range flavours {
		t.Run(fl, func(t *testing.T) {
			in := newInstance(t, fl)
			in.on("GET /api/v1/accounts/verify_credentials", reply{status: 401, file: "error_401.json"})
			in.on("GET /api/v1/accounts/lookup", reply{status: 404, file: "error_404.json"})
			in.on("GET /api/v1/blocks", reply{body: `[{"id": "1", "acct": `})
			in.on("GET /api/v1/mutes", reply{body: `[{"id": "", "acct": ""}]`})
			in.on("GET /api/v1/accounts/x/followers", reply{status: 500, body: "<html>oops</html>"})
			c, _ := in.client("tok")
			_, err := c.VerifyCredentials(ctx)
			var he *HTTPError
			if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &he) || he.Status != 401 || he.Message == "" {
				t.Errorf("401: %v", err)
			}
			if _, err := c.Lookup(ctx, "nobody@"+domainOf(fl)); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ot found") {
				t.Errorf("404: %v", err)
			}
			if _, err := c.Blocks(ctx); !errors.Is(err, ErrMalformed) {
				t.Errorf("truncated JSON: %v", err)
			}
			if _, err := c.Mutes(ctx); !errors.Is(err, ErrMalformed) {
				t.Errorf("account without id: %v", err)
			}
			if _, err := c.Followers(ctx, "x"); !errors.Is(err, ErrServer) || strings.Contains(err.Error(), "html") {
				t.Errorf("500: %v", err)
			}
			// No token: refused before any request.
			n := len(in.requests())
			c.Token = ""
			if _, err := c.Blocks(ctx); !errors.Is(err, ErrUnauthorized) || len(in.requests()) != n {
				t.Errorf("no token: %v", err)
			}
		})
	}

	// An unreachable instance.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	c := &Client{BaseURL: url, HTTP: &http.Client{Timeout: 5 * time.Second}}
	if _, err := c.Lookup(ctx, "bob@localhost"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("unreachable: %v", err)
	}
	// An oversized answer.
	big := newInstance(t, "mastodon")
	big.on("GET /api/v1/blocks", reply{body: "[" + strings.Repeat(" ", MaxResponseSize) + "]"})
	bc, _ := big.client("tok")
	if _, err := bc.Blocks(ctx); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized: %v", err)
	}
	// A cancelled context is reported as such.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := bc.Blocks(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	for _, bad := range []string{"", "ftp://x", "example.social"} {
		if _, err := (&Client{BaseURL: bad}).Lookup(ctx, "a@b"); err == nil || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("base %q: %v", bad, err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		replies []reply
		sleeps  []time.Duration
		err     error
	}{
		{"Retry-After seconds", []reply{
			{status: 429, file: "error_429.json", header: map[string]string{"Retry-After": "7"}},
			{file: "blocks.json"},
		}, []time.Duration{7 * time.Second}, nil},
		{"X-RateLimit-Reset (Mastodon)", []reply{
			{status: 429, file: "error_429.json", header: map[string]string{"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Reset": t0.Add(90 * time.Second).Format("2006-01-02T15:04:05.000000Z")}},
			{file: "blocks.json"},
		}, []time.Duration{90 * time.Second}, nil},
		{"Retry-After HTTP date, 503", []reply{
			{status: 503, body: "busy", header: map[string]string{"Retry-After": t0.Add(30 * time.Second).Format(http.TimeFormat)}},
			{file: "blocks.json"},
		}, []time.Duration{30 * time.Second}, nil},
		{"no header: exponential backoff, bounded retries", []reply{
			{status: 429, file: "error_429.json"},
		}, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, ErrRateLimited},
		{"asked to wait too long", []reply{
			{status: 429, file: "error_429.json", header: map[string]string{"Retry-After": "3600"}},
		}, nil, ErrRateLimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t, "mastodon")
			in.on("GET /api/v1/blocks", tc.replies...)
			c, clk := in.client("tok")
			b, err := c.Blocks(ctx)
			if !errors.Is(err, tc.err) || (err == nil && len(b) != 1) {
				t.Fatalf("blocks %+v, error %v, want %v", b, err, tc.err)
			}
			if len(clk.sleeps) != len(tc.sleeps) {
				t.Fatalf("slept %v, want %v", clk.sleeps, tc.sleeps)
			}
			for i := range tc.sleeps {
				if clk.sleeps[i] != tc.sleeps[i] {
					t.Fatalf("slept %v, want %v", clk.sleeps, tc.sleeps)
				}
			}
			var he *HTTPError
			if err != nil && (!errors.As(err, &he) || he.RetryAfter == 0) {
				t.Fatalf("error %v lacks the wait", err)
			}
		})
	}
}

func TestWebFinger(t *testing.T) {
	for _, fl := range flavours {
		t.Run(fl, func(t *testing.T) {
			in := newInstance(t, fl)
			in.on("GET /.well-known/webfinger?resource=acct%3Abob%40"+domainOf(fl), reply{file: "webfinger_bob.json"})
			c, _ := in.client("")
			j, err := c.WebFinger(context.Background(), "@Bob@"+domainOf(fl))
			if err != nil {
				t.Fatal(err)
			}
			if j.Subject != "acct:bob@"+domainOf(fl) || j.Self() != "https://"+domainOf(fl)+"/users/bob" || j.ProfilePage() != "https://"+domainOf(fl)+"/@bob" {
				t.Fatalf("jrd %+v", j)
			}
			if o, err := j.APIOrigin(); err != nil || o != "https://"+domainOf(fl) {
				t.Fatalf("origin %q %v", o, err)
			}
			if _, err := c.WebFinger(context.Background(), "@nobody@"+domainOf(fl)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown account: %v", err)
			}
		})
	}
	if _, err := (&JRD{Subject: "acct:x@y"}).APIOrigin(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no self link: %v", err)
	}
}

func TestOAuth(t *testing.T) {
	ctx := context.Background()
	for _, fl := range flavours {
		t.Run(fl, func(t *testing.T) {
			in := newInstance(t, fl)
			in.on("POST /api/v1/apps", reply{file: "app.json"})
			in.on("POST /oauth/token", reply{file: "token.json"}, reply{status: 400, file: "error_401.json"})
			c, _ := in.client("")
			app, err := c.RegisterApp(ctx, "kith", Scopes, "")
			if err != nil {
				t.Fatal(err)
			}
			reg := in.requests()[0].form
			if reg.Get("client_name") != "kith" || reg.Get("redirect_uris") != OOB || reg.Get("scopes") != "read write" {
				t.Fatalf("registration form %v", reg)
			}
			u := app.AuthorizeURL()
			if !strings.HasPrefix(u, in.srv.URL+"/oauth/authorize?") || !strings.Contains(u, "client_id="+app.ClientID) ||
				!strings.Contains(u, "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob") || !strings.Contains(u, "response_type=code") {
				t.Fatalf("authorize URL %s", u)
			}
			tok, err := c.ExchangeCode(ctx, app, "the-code")
			if err != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" {
				t.Fatalf("token %+v %v", tok, err)
			}
			ex := in.requests()[1].form
			if ex.Get("grant_type") != "authorization_code" || ex.Get("code") != "the-code" || ex.Get("client_secret") != app.ClientSecret || ex.Get("redirect_uri") != OOB {
				t.Fatalf("token form %v", ex)
			}
			if _, err := c.ExchangeCode(ctx, app, "used-code"); err == nil {
				t.Fatal("second exchange succeeded")
			}
			if _, err := c.ExchangeCode(ctx, app, ""); err == nil {
				t.Fatal("empty code accepted")
			}
		})
	}
	in := newInstance(t, "mastodon")
	in.on("POST /oauth/token", reply{status: 400, file: "error_invalid_grant.json"})
	c, _ := in.client("")
	_, err := c.ExchangeCode(ctx, &App{ClientID: "a", ClientSecret: "b"}, "bad")
	if !strings.Contains(err.Error(), "invalid_grant: The provided authorization grant is invalid") {
		t.Fatalf("invalid grant: %v", err)
	}
	in.on("POST /api/v1/apps", reply{body: `{"name":"kith"}`})
	if _, err := c.RegisterApp(ctx, "kith", Scopes, ""); !errors.Is(err, ErrMalformed) {
		t.Fatalf("app without credentials: %v", err)
	}
}

func TestInstanceURL(t *testing.T) {
	for _, tc := range []struct {
		host      string
		allowHTTP bool
		want      string
	}{
		{"example.social", false, "https://example.social"},
		{"example.social", true, "https://example.social"},
		{"localhost:18080", false, "https://localhost:18080"},
		{"localhost:18080", true, "http://localhost:18080"},
		{"127.0.0.1:5000", true, "http://127.0.0.1:5000"},
		{"[::1]:5000", true, "http://[::1]:5000"},
		{"10.0.0.1:5000", true, "https://10.0.0.1:5000"},
	} {
		if got, err := InstanceURL(tc.host, tc.allowHTTP); err != nil || got != tc.want {
			t.Errorf("InstanceURL(%q, %v) = %q, %v; want %q", tc.host, tc.allowHTTP, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a/b", "x@y"} {
		if _, err := InstanceURL(bad, false); err == nil {
			t.Errorf("InstanceURL(%q) accepted", bad)
		}
	}
}

// TestResolveSearches: an account the instance does not know yet is
// fetched through search with resolve=true (which needs the token), and the
// answer must be the account asked for.
func TestResolveSearches(t *testing.T) {
	ctx := context.Background()
	raw, err := os.ReadFile("testdata/mastodon/lookup_mallory.json")
	if err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, "mastodon")
	in.on("GET /api/v2/search", reply{body: `{"accounts":[` + string(raw) + `],"statuses":[],"hashtags":[]}`})
	c, _ := in.client("tok")
	a, err := c.Resolve(ctx, "@Mallory@elsewhere.example")
	if err != nil || a.Username != "mallory" {
		t.Fatalf("resolve: %+v %v", a, err)
	}
	reqs := in.requests()
	if len(reqs) != 2 || reqs[1].path != "/api/v2/search" || reqs[1].query.Get("resolve") != "true" || reqs[1].query.Get("q") != "@mallory@elsewhere.example" || reqs[1].auth != "Bearer tok" {
		t.Fatalf("requests %+v", reqs)
	}
	if _, err := c.Resolve(ctx, "someone@elsewhere.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("search without the account: %v", err)
	}
	// Without a token there is no search: the lookup's 404 stands.
	c.Token = ""
	if _, err := c.Resolve(ctx, "mallory@elsewhere.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no token: %v", err)
	}
	// A lookup answering with another account is refused.
	in.on("GET /api/v1/accounts/lookup", reply{file: "lookup_bob.json"})
	if _, err := c.Resolve(ctx, "mallory@elsewhere.example"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("wrong account: %v", err)
	}
}
