package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// extensionBrowser starts headless Chromium with the unpacked extension
// (extension/ of this repository) loaded, and returns a tab and the
// extension's ID.
func extensionBrowser(t *testing.T) (context.Context, string) {
	t.Helper()
	dir, err := filepath.Abs("../extension")
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, chromedp.Flag("disable-extensions-except", dir), chromedp.Flag("load-extension", dir))
	deadline := time.Now().Add(30 * time.Second)
	for {
		ts, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range ts {
			if id, ok := strings.CutPrefix(ti.URL, "chrome-extension://"); ok && strings.HasSuffix(ti.URL, "/background.js") {
				return ctx, strings.TrimSuffix(id, "/background.js")
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the extension's service worker did not start; targets: %d", len(ts))
		}
		time.Sleep(100 * time.Millisecond) // Chromium starts the worker on its own time
	}
}

// pairExtension pairs the extension with the daemon of n through its
// options page, as the owner does: a code from kith ui --pair, pasted.
func pairExtension(t *testing.T, ctx context.Context, ext string, n *node, threshold string) {
	t.Helper()
	var st struct {
		API string `json:"api"`
	}
	if err := json.Unmarshal([]byte(n.ok("status", "--json")), &st); err != nil || st.API == "" {
		t.Fatalf("status: %v %+v", err, st)
	}
	var code struct {
		Code string `json:"code"`
	}
	out := n.ok("ui", "--pair", "--json")
	checkSchema(t, n, "ui", out)
	if err := json.Unmarshal([]byte(out), &code); err != nil || code.Code == "" {
		t.Fatalf("kith ui --pair: %v", err)
	}
	do(t, ctx, "pair the extension",
		chromedp.Navigate("chrome-extension://"+ext+"/options.html"),
		chromedp.WaitVisible(chromedp.CSS("#apiBase")),
		// The page has loaded its settings (else they would overwrite ours).
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent !== ""`),
		chromedp.SetValue(chromedp.CSS("#apiBase"), st.API),
		chromedp.SetValue(chromedp.CSS("#code"), code.Code), // typed keys would garble some of base64url
		chromedp.Click(chromedp.CSS(`#pair button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.startsWith("Paired with") || document.getElementById("status").textContent.startsWith("Not paired:")`),
	)
	if s := text(t, ctx, "#status"); !strings.HasPrefix(s, "Paired with") {
		t.Fatalf("pairing: %q", s)
	}
	do(t, ctx, "set the threshold",
		chromedp.SetValue(chromedp.CSS("#threshold"), threshold),
		chromedp.Click(chromedp.CSS(`#prefs button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent === "Saved."`),
	)
}

// badgesOn opens a page and returns, once the extension has drawn them,
// the text of each badge by subject and the subjects whose posts are
// folded.
func badgesOn(t *testing.T, ctx context.Context, url string, want int) (map[string]string, []string) {
	t.Helper()
	do(t, ctx, "open "+url, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll(".kith-badge").length >= %d`, want)))
	js := `JSON.stringify({
		badges: Object.fromEntries([...document.querySelectorAll(".kith-badge")].map(b => [b.dataset.subject, b.textContent])),
		folded: [...document.querySelectorAll(".kith-folded .kith-badge")].map(b => b.dataset.subject)})`
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Badges map[string]string `json:"badges"`
		Folded []string          `json:"folded"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v.Badges, v.Folded
}

// gtsThreadPage is a thread page with GoToSocial's markup (its
// web/template/thread.tmpl and status_header.tmpl, v0.18.3): a post by
// bob and replies by carol and mallory, local accounts written "@user".
const gtsThreadPage = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><title>GoToSocial</title></head>
<body class="page thread-page"><header class="page-header"></header><div class="page-content">
<main class="thread-wrapper" data-nosnippet>
<section class="thread thread-main" aria-labelledby="thread-summary">
<div class="col-header"><h2 id="thread-summary">Thread with 2 replies</h2></div>
%s
</section>
<section class="thread thread-replies" aria-labelledby="replies" open>
<div class="col-header replies"><h2 id="replies">2 replies</h2></div>
%s%s
</section></main></div></body></html>`

func gtsPost(user, text string) string {
	return `<article class="status"><header class="status-header"><address><a href="/@` + user + `" rel="author" title="Open profile">
<div class="author-strap"><span class="displayname text-cutoff">` + user + `</span><span class="sr-only">,</span>
<span class="username text-cutoff">@` + user + `</span></div></a></address></header>
<div class="status-body"><div class="text"><div class="content"><p>` + text + `</p></div></div></div></article>`
}

// TestExtensionBadges: the extension, loaded unpacked in headless
// Chromium and paired through its options page, puts the owner's trust
// beside each handle of a GoToSocial thread page and folds the reply of
// the account the owner warned about; unpaired, or with the daemon
// stopped, it shows nothing and the page stays as it was.
func TestExtensionBadges(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'") // like an instance's own, strict
		if strings.Contains(r.URL.Path, "02OTHER") {
			fmt.Fprintf(w, gtsThreadPage, gtsPost("erin", "Hello"), gtsPost("dave", "Hi erin"), "")
			return
		}
		fmt.Fprintf(w, gtsThreadPage, gtsPost("bob", "Anyone up for a walk?"), gtsPost("carol", "Yes!"), gtsPost("mallory", "Cheap pills here"))
	}))
	defer page.Close()
	host := strings.TrimPrefix(page.URL, "http://")
	acct := func(u string) string { return "@" + u + "@" + host }

	a := newNode(t, "alice")
	a.ok("init")
	a.ok("vouch", acct("carol"), "--strength", "90")
	a.ok("warn", acct("mallory"), "--strength", "90")
	stop := startDaemon(t, a)
	ctx, ext := extensionBrowser(t)
	dir := shotDir(t)

	// Not paired yet: no badge, nothing folded, and the daemon refused
	// nothing (the extension did not even ask).
	do(t, ctx, "unpaired", chromedp.Navigate(page.URL+"/@bob/statuses/01POST"), chromedp.WaitVisible(chromedp.CSS("article.status")))
	time.Sleep(time.Second) // nothing is to happen: give it the time to do it wrongly
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".kith-badge").length`)); n != 0 {
		t.Fatalf("%d badges before pairing", n)
	}

	pairExtension(t, ctx, ext, a, "0.3")
	badges, folded := badgesOn(t, ctx, page.URL+"/@bob/statuses/01POST", 3)
	shot(t, ctx, dir, "extension-thread")
	if !strings.HasPrefix(badges[acct("carol")], "kith 0.") || badges[acct("bob")] != "kith –" || !strings.HasPrefix(badges[acct("mallory")], "kith 0.") {
		t.Fatalf("badges: %v", badges)
	}
	if len(folded) != 1 || folded[0] != acct("mallory") {
		t.Fatalf("folded: %v", folded)
	}
	// The fold says why, and a click shows the reply.
	why := text(t, ctx, ".kith-fold span")
	if !strings.Contains(why, "warned by you") || !strings.Contains(why, "below 0.30") {
		t.Fatalf("fold: %q", why)
	}
	do(t, ctx, "show the folded reply", chromedp.Click(chromedp.CSS(".kith-fold button")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll(".kith-folded").length === 0`))
	if body := text(t, ctx, "section.thread-replies"); !strings.Contains(body, "Cheap pills here") {
		t.Fatalf("after Show: %q", body)
	}
	if got := metric(t, a, "kith_extensions_paired"); got != 1 {
		t.Fatalf("paired extensions: %v", got)
	}

	// The daemon stops: on a page of accounts it has not answered about
	// yet, the extension stays quiet — no badge, nothing folded, the page
	// as it was.
	stop()
	do(t, ctx, "daemon down", chromedp.Navigate(page.URL+"/@erin/statuses/02OTHER"), chromedp.WaitVisible(chromedp.CSS("article.status")))
	time.Sleep(2 * time.Second) // nothing is to happen: give it the time to do it wrongly
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".kith-badge, .kith-fold").length`))
	if err != nil || n != 0 {
		t.Fatalf("with the daemon down: %d badges or folds (%v)", n, err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Hi erin") {
		t.Fatalf("the page changed: %q", body)
	}
}
