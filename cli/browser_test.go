package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kith-net/kith/api"
)

// chromiumPath is the headless Chromium the browser tests drive (Debian's
// chromium package; .ci/run installs it). Without it the tests skip,
// except in CI, where they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KITH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: .ci/run installs Debian's chromium")
	}
	t.Skip("no chromium on PATH (apt-get install chromium); set KITH_CHROMIUM to use another")
	return ""
}

// browser starts a headless Chromium of its own (a fresh profile in the
// test's temp dir), with extra flags, and returns a tab's context; the
// browser is stopped when the test ends.
func browser(t *testing.T, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1100, 900),
	)
	opts = append(opts, flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute) // a hung browser fails the test instead of CI
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shot saves a screenshot of the whole page as dir/name.png and returns
// its path.
func shot(t *testing.T, ctx context.Context, dir, name string) string {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	return p
}

// shotDir is where a browser test keeps its screenshots: $KITH_SCREENSHOTS
// when set (to look at them after the run), else the test's temp dir.
func shotDir(t *testing.T) string {
	if d := os.Getenv("KITH_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// do runs steps, each group of them within 30 s; when they fail it says
// what the page showed then (and saves it as failure.png).
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		shot(t, ctx, shotDir(t), "failure")
		t.Fatalf("%s: %v; the page at %s says: %.600s", what, err, loc, body)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestWebPageInChromium: the owner opens the daemon's page in a real
// headless Chromium through the one-time link of kith ui, vouches for a
// friend, asks about someone the friend vouched for (the path is drawn),
// approves a consent request, and on a phone-sized screen still sees the
// answer; the same link a second time is refused, and so counted.
func TestWebPageInChromium(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	alice, bob := a.id(), b.id()
	// Bob vouches for dave (privately, in his bundle for alice) and for
	// alice in public, which asks for her consent.
	b.ok("vouch", "@dave@example.social", "--strength", "80")
	b.ok("vouch", alice, "--audience", "public", "--reason", "helped me move")
	bundle := filepath.Join(t.TempDir(), "bob.kith")
	b.ok("export", "--out", bundle)
	a.ok("import", bundle)
	startDaemon(t, a)

	var login struct {
		URL string `json:"url"`
	}
	out := a.ok("ui", "--json")
	checkSchema(t, a, "ui", out)
	if err := json.Unmarshal([]byte(out), &login); err != nil || !strings.Contains(login.URL, "/ui/login?code=") {
		t.Fatalf("kith ui --json: %v %+v", err, login)
	}
	dir := shotDir(t)
	ctx := browser(t)

	do(t, ctx, "log in", chromedp.Navigate(login.URL), chromedp.WaitVisible(chromedp.CSS("#subject")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.Contains(loc, "code=") {
		t.Fatalf("after login the code is still in the address bar: %s", loc)
	}

	// Vouch for bob from the statements page.
	do(t, ctx, "vouch for bob",
		chromedp.Navigate(login.URL[:strings.Index(login.URL, "/ui/")]+"/ui/statements"),
		chromedp.WaitVisible(chromedp.CSS("#s-subject")),
		chromedp.SendKeys(chromedp.CSS("#s-subject"), bob),
		chromedp.SetValue(chromedp.CSS("#s-strength"), "90"),
		chromedp.SendKeys(chromedp.CSS("#s-reason"), "my neighbour"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/statements"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "Signed: vouch") {
		t.Fatalf("after vouching: %q", f)
	}
	if tbl := text(t, ctx, "#statements"); !strings.Contains(tbl, bob) || !strings.Contains(tbl, "active") {
		t.Fatalf("statements table: %q", tbl)
	}
	// The same validation as the CLI: a public warning is refused.
	do(t, ctx, "a public warning",
		chromedp.SendKeys(chromedp.CSS("#s-subject"), "@eve@example.social"),
		chromedp.Click(chromedp.CSS(`input[name="kind"][value="warn"]`)),
		chromedp.SetValue(chromedp.CSS("#s-audience"), "public"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/statements"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#flash.bad")),
	)
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "warnings are never broadcast") {
		t.Fatalf("public warning: %q", f)
	}
	shot(t, ctx, dir, "statements")

	// Ask about dave: through bob.
	do(t, ctx, "ask about dave",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#subject")),
		chromedp.SendKeys(chromedp.CSS("#subject"), "@dave@example.social"),
		chromedp.Submit(chromedp.CSS("#subject")),
		chromedp.WaitVisible(chromedp.CSS("#result svg.graph")),
	)
	if s := text(t, ctx, "#summary"); !strings.Contains(s, "of the people you trust, 1 vouched") {
		t.Fatalf("summary: %q", s)
	}
	if paths := text(t, ctx, "ul.paths"); !strings.Contains(paths, "you → "+bob+" → @dave@example.social") {
		t.Fatalf("paths: %q", paths)
	}
	score := text(t, ctx, "#score")
	if score < "0.50" {
		t.Fatalf("score %q for someone a trusted friend vouched for", score)
	}
	shot(t, ctx, dir, "ask")
	// The same answer on a phone-sized screen.
	do(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	shot(t, ctx, dir, "ask-phone")
	do(t, ctx, "desktop", chromedp.EmulateViewport(1100, 900))

	// Approve bob's public vouch for alice.
	do(t, ctx, "consents",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/consents"]`)),
		chromedp.WaitVisible(chromedp.CSS("#consents")),
	)
	if tbl := text(t, ctx, "#consents"); !strings.Contains(tbl, "pending") || !strings.Contains(tbl, "helped me move") {
		t.Fatalf("consent inbox: %q", tbl)
	}
	do(t, ctx, "approve",
		chromedp.Click(chromedp.CSS(`#consents button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
	)
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "approved") {
		t.Fatalf("after approving: %q", f)
	}
	if tbl := text(t, ctx, "#consents"); !strings.Contains(tbl, "approved") {
		t.Fatalf("consent inbox after approving: %q", tbl)
	}
	var cs []struct{ State string }
	if err := json.Unmarshal([]byte(a.ok("consent", "list", "--json")), &cs); err != nil || len(cs) != 1 || cs[0].State != "approved" {
		t.Fatalf("kith consent list after the page approved: %v %+v", err, cs)
	}
	// Every page answers without an error.
	for _, p := range []string{"network", "fedi", "model", "pair"} {
		do(t, ctx, p, chromedp.Click(chromedp.CSS(`nav a[href="/ui/`+p+`"]`)), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if h := text(t, ctx, "main h1"); h == "Could not do that" || h == "Not logged in" {
			t.Fatalf("page %s: %q", p, h)
		}
	}
	shot(t, ctx, dir, "model")

	// The login link again, in a fresh browser: refused, and counted.
	ctx2 := browser(t)
	do(t, ctx2, "replayed login", chromedp.Navigate(login.URL), chromedp.WaitVisible(chromedp.CSS("#message")))
	if m := text(t, ctx2, "#message"); !strings.Contains(m, "used already") {
		t.Fatalf("replayed login link: %q", m)
	}
	if n := metric(t, a, "kith_api_refused_login_total"); n != 1 {
		t.Fatalf("refused logins counted: %v, want 1", n)
	}
}

// metric reads one of the daemon's metrics through its API.
func metric(t *testing.T, n *node, name string) float64 {
	t.Helper()
	c, err := api.Discover(context.Background(), n.home)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
