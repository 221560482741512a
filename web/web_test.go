package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/owner/ownertest"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/web"
	"github.com/kith-net/kith/wire"
)

type page struct {
	t      *testing.T
	svc    *owner.Service
	st     *mem.Store
	access *api.Access
	addr   string
	token  string
	now    *time.Time
}

func startPage(t *testing.T) *page {
	t.Helper()
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	st := mem.New()
	var k [32]byte
	copy(k[:], t.Name())
	svc, err := owner.New(owner.Config{Key: wire.NewPrivateKey(k), Store: st, Vault: ownertest.NewVault(),
		Network: &ownertest.Network{Store: st}, Now: clock, Rand: strings.NewReader(strings.Repeat("nonce-source-", 1000))})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := api.NewAccess(api.AccessOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Service: svc, Access: acc, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.Repeat("t", 43)
	srv, err := api.NewServer(svc, api.ServerOptions{Token: tok, Access: acc, UI: h})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := api.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		h.Close()
	})
	return &page{t: t, svc: svc, st: st, access: acc, addr: ln.Addr().String(), token: tok, now: &now}
}

// loginCode asks the API for a login link, as kith ui does.
func (p *page) loginCode() string {
	p.t.Helper()
	c, err := api.NewClient("http://"+p.addr, p.token, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	res, err := c.UILogin(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	u, err := url.Parse(res.URL)
	if err != nil || u.Host != p.addr || u.Path != "/ui/login" {
		p.t.Fatalf("login URL %q", res.URL)
	}
	return u.Query().Get("code")
}

// req sends one request as a browser would, without following redirects.
func (p *page) req(method, path string, headers map[string]string, body string) (*http.Response, string) {
	p.t.Helper()
	r, err := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: (&net.Dialer{}).DialContext}}
	resp, err := c.Do(r)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login trades a fresh code for a session; it returns the cookie and the
// CSRF token the page carries.
func (p *page) login() (cookie, csrf string) {
	p.t.Helper()
	resp, _ := p.req("GET", "/ui/login?code="+p.loginCode(), map[string]string{"Sec-Fetch-Site": "none"}, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		p.t.Fatalf("login: %d %v", resp.StatusCode, resp.Header)
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == "kith_session" {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || len(c.Value) < 40 {
		p.t.Fatalf("session cookie %+v", c)
	}
	_, body := p.req("GET", "/ui/statements", map[string]string{"Cookie": "kith_session=" + c.Value}, "")
	i := strings.Index(body, `name="csrf" value="`)
	if i < 0 {
		p.t.Fatalf("no CSRF token on the page: %s", body)
	}
	csrf = body[i+len(`name="csrf" value="`):]
	return c.Value, csrf[:strings.IndexByte(csrf, '"')]
}

func (p *page) statements() int {
	p.t.Helper()
	n, err := p.st.Count(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// TestPageSecurity: every way in but the owner's own is refused and
// counted — no session, a replayed or expired login link, a change
// without the CSRF token or with another session's, a form from another
// origin or site, a foreign Host (DNS rebinding) — and nothing changes;
// the owner's own form goes through.
func TestPageSecurity(t *testing.T) {
	p := startPage(t)
	if resp, _ := p.req("GET", "/ui/", nil, ""); resp.StatusCode != 401 || p.access.Refused(api.RefusedSession) != 1 {
		t.Fatalf("no session: %d, counted %d", resp.StatusCode, p.access.Refused(api.RefusedSession))
	}
	code := p.loginCode()
	if resp, _ := p.req("GET", "/ui/login?code="+code, nil, ""); resp.StatusCode != 303 {
		t.Fatalf("first use of the login code: %d", resp.StatusCode)
	}
	if resp, body := p.req("GET", "/ui/login?code="+code, nil, ""); resp.StatusCode != 403 || !strings.Contains(body, "used already") {
		t.Fatalf("replayed login code: %d", resp.StatusCode)
	}
	late := p.loginCode()
	*p.now = p.now.Add(api.CodeTTL)
	if resp, _ := p.req("GET", "/ui/login?code="+late, nil, ""); resp.StatusCode != 403 {
		t.Fatalf("expired login code: %d", resp.StatusCode)
	}
	if resp, _ := p.req("GET", "/ui/login?code=", nil, ""); resp.StatusCode != 403 || p.access.Refused(api.RefusedLogin) != 3 {
		t.Fatalf("no code: %d; refused logins %d, want 3", resp.StatusCode, p.access.Refused(api.RefusedLogin))
	}

	cookie, csrf := p.login()
	other, otherCSRF := p.login()
	form := func(token string) string {
		return url.Values{"csrf": {token}, "kind": {"vouch"}, "subject": {"@bob@example.social"}, "strength": {"70"}}.Encode()
	}
	good := map[string]string{"Cookie": "kith_session=" + cookie, "Content-Type": "application/x-www-form-urlencoded",
		"Origin": "http://" + p.addr, "Sec-Fetch-Site": "same-origin"}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range good {
			h[a] = b
		}
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	before := p.statements()
	for _, c := range []struct {
		name    string
		headers map[string]string
		body    string
		want    int
		reason  string
	}{
		{"no CSRF token", good, form(""), 403, api.RefusedCSRF},
		{"a wrong CSRF token", good, form(strings.Repeat("x", 43)), 403, api.RefusedCSRF},
		{"another session's token", good, form(otherCSRF), 403, api.RefusedCSRF},
		{"JSON, not a form", with("Content-Type", "application/json"), `{"csrf":"` + csrf + `"}`, 403, api.RefusedCSRF},
		{"no session", with("Cookie", ""), form(csrf), 403, api.RefusedSession},
		{"another origin", with("Origin", "https://evil.example"), form(csrf), 403, api.RefusedOrigin},
		{"null origin", with("Origin", "null"), form(csrf), 403, api.RefusedOrigin},
		{"cross-site", with("Sec-Fetch-Site", "cross-site"), form(csrf), 403, api.RefusedOrigin},
		{"same-site, other port", with("Origin", "http://127.0.0.1:1"), form(csrf), 403, api.RefusedOrigin},
		{"DNS rebinding", with("Host", "evil.example:"+strings.Split(p.addr, ":")[1]), form(csrf), 403, api.RefusedHost},
	} {
		n := p.access.Refused(c.reason)
		resp, body := p.req("POST", "/ui/statements", c.headers, c.body)
		if resp.StatusCode != c.want || p.access.Refused(c.reason) != n+1 {
			t.Errorf("%s: %d (counted %s: %d -> %d): %.200s", c.name, resp.StatusCode, c.reason, n, p.access.Refused(c.reason), body)
		}
	}
	if p.statements() != before {
		t.Fatal("a refused change was made")
	}
	if resp, _ := p.req("POST", "/ui/statements", good, form(csrf)); resp.StatusCode != 303 || p.statements() != before+1 {
		t.Fatalf("the owner's own form: %d, %d statements", resp.StatusCode, p.statements())
	}
	_ = other

	// Every answer carries the policy, and the pages load nothing from
	// elsewhere.
	for _, path := range []string{"/ui/", "/ui/statements", "/ui/consents", "/ui/network", "/ui/fedi", "/ui/model", "/ui/pair", "/ui/nope", "/ui/static/style.css"} {
		resp, body := p.req("GET", path, map[string]string{"Cookie": "kith_session=" + cookie}, "")
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, XFO %q", path, csp, resp.Header.Get("X-Frame-Options"))
		}
		if strings.Contains(body, "<script") || strings.Contains(body, `src="http`) || strings.Contains(body, `href="http`) {
			t.Errorf("%s loads something from elsewhere or runs a script", path)
		}
		if path != "/ui/nope" && resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	// The page's refusals are in the API's metrics.
	c, _ := api.NewClient("http://"+p.addr, p.token, nil)
	ms, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ms {
		got[m.Name] = m.Value
	}
	if got["kith_api_refused_csrf_total"] != 4 || got["kith_api_refused_login_total"] != 3 || got["kith_api_refused_host_total"] != 1 {
		t.Fatalf("metrics: %v", got)
	}
}

// TestAskShowsThroughOneContact: the ask page says when most of an answer
// comes through one of the owner's contacts, and names the contact.
func TestAskShowsThroughOneContact(t *testing.T) {
	p := startPage(t)
	ctx := context.Background()
	key := func(name string) *wire.PrivateKey {
		var k [32]byte
		copy(k[:], name)
		return wire.NewPrivateKey(k)
	}
	friend, carol := key("friend"), key("carol")
	if _, err := p.svc.Attest(ctx, api.AttestRequest{Kind: "vouch", Subject: friend.Public().String(), Strength: 90}); err != nil {
		t.Fatal(err)
	}
	nonces := strings.NewReader(strings.Repeat("other nonces-", 100))
	for _, s := range []struct {
		by      *wire.PrivateKey
		kind    wire.Kind
		subject string
	}{{friend, wire.Vouch, carol.Public().String()}, {carol, wire.Warn, "@spammer@example.social"}} {
		sub, err := wire.ParseSubject(s.subject)
		if err != nil {
			t.Fatal(err)
		}
		nonce, err := wire.NewNonce(nonces)
		if err != nil {
			t.Fatal(err)
		}
		a := &wire.Attestation{Subject: sub, Kind: s.kind, Context: "general", Strength: 80, Created: uint64(p.now.Unix()), Audience: wire.PrivateAudience, Nonce: nonce}
		if err := a.Sign(s.by); err != nil {
			t.Fatal(err)
		}
		if _, err := p.st.Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	cookie, _ := p.login()
	get := func(subject string) string {
		t.Helper()
		resp, body := p.req("GET", "/ui/?"+url.Values{"subject": {subject}, "context": {"general"}}.Encode(), map[string]string{"Cookie": "kith_session=" + cookie}, "")
		if resp.StatusCode != 200 {
			t.Fatalf("ask about %s: %d", subject, resp.StatusCode)
		}
		return body
	}
	body := get("@spammer@example.social")
	want := `<p id="through">Most of this comes through one contact, <span class="id">` + friend.Public().String() + `</span> (100%):`
	if !strings.Contains(body, want) {
		t.Fatalf("the ask page lacks %q:\n%s", want, body)
	}
	if body := get(carol.Public().String()); strings.Contains(body, `id="through"`) {
		t.Errorf("carol, vouched for by the owner's own contact: the page says it comes through one contact")
	}
}
