package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// accts lists the accounts of one of user's account lists on the server
// (mutes, blocks).
func (g *gtsAPI) accts(user, path string) string {
	g.t.Helper()
	req, _ := http.NewRequest("GET", g.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+g.env["KITH_GTS_"+strings.ToUpper(user)+"_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var as []struct {
		Acct string `json:"acct"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &as) != nil {
		g.t.Fatalf("GET %s as %s: %d %s", path, user, resp.StatusCode, b)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Acct)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// TestGoToSocialExtensionAndApply runs against a real GoToSocial (see
// TestGoToSocialEndToEnd): the browser extension, loaded in headless
// Chromium and paired with alice's daemon, puts her trust beside the
// handles of a real thread page and folds the reply of the account she
// warned about; then kith fedi apply mutes that account on her real
// account, leaves the mute she set by hand alone, and --undo removes
// only kith's.
func TestGoToSocialExtensionAndApply(t *testing.T) {
	path := os.Getenv("KITH_GTS_ENV")
	if path == "" {
		t.Skip("KITH_GTS_ENV is not set: start GoToSocial with .ci/gotosocial.sh")
	}
	env := readEnvFile(t, path)
	g := &gtsAPI{t: t, base: env["KITH_GTS_BASE"], host: env["KITH_GTS_HOST"], env: env}
	acct := func(u string) string { return "@" + u + "@" + g.host }
	id := func(u string) string { return env["KITH_GTS_"+strings.ToUpper(u)+"_ID"] }
	g.reset()
	// A thread on the server: bob asks, carol and mallory answer.
	post := g.call("bob", "POST", "/api/v1/statuses", url.Values{"status": {"Anyone up for a walk on Sunday?"}, "visibility": {"public"}})
	pid, _ := post["id"].(string)
	g.call("carol", "POST", "/api/v1/statuses", url.Values{"status": {"@bob Yes, count me in!"}, "visibility": {"public"}, "in_reply_to_id": {pid}})
	g.call("mallory", "POST", "/api/v1/statuses", url.Values{"status": {"@bob Cheap pills, click here"}, "visibility": {"public"}, "in_reply_to_id": {pid}})
	// Alice mutes carol herself, in her client.
	g.call("alice", "POST", "/api/v1/accounts/"+id("carol")+"/mute", nil)

	a := newNode(t, "alice")
	a.now = time.Now()
	a.ok("init")
	a.ok("vouch", acct("carol"), "--strength", "90")
	a.ok("warn", acct("mallory"), "--strength", "90", "--context", "general")
	okIn(a, env["KITH_GTS_ALICE_TOKEN"]+"\n", "fedi", "login", acct("alice"), "--token-stdin")
	startDaemon(t, a)

	ctx, ext := extensionBrowser(t)
	dir := shotDir(t)
	pairExtension(t, ctx, ext, a, "0.3")
	thread := "http://" + g.host + "/@bob/statuses/" + pid
	badges, folded := badgesOn(t, ctx, thread, 3)
	shot(t, ctx, dir, "extension-gotosocial")
	t.Logf("badges on %s: %v, folded %v", thread, badges, folded)
	if !strings.HasPrefix(badges[acct("carol")], "kith 0.") || !strings.HasPrefix(badges[acct("mallory")], "kith 0.") || badges[acct("bob")] != "kith –" {
		t.Fatalf("badges: %v", badges)
	}
	if len(folded) != 1 || folded[0] != acct("mallory") {
		t.Fatalf("folded: %v", folded)
	}
	if body := text(t, ctx, "main"); strings.Contains(body, "Cheap pills") && !strings.Contains(text(t, ctx, ".kith-fold"), "warned by you") {
		t.Fatalf("the folded reply shows, or its fold does not say why: %q", body)
	}
	// Mallory's own profile page: the badge beside her handle.
	badges, _ = badgesOn(t, ctx, "http://"+g.host+"/@mallory", 1)
	if !strings.HasPrefix(badges[acct("mallory")], "kith 0.") {
		t.Fatalf("profile badges: %v", badges)
	}
	shot(t, ctx, dir, "extension-gotosocial-profile")

	// fedi apply, through the daemon.
	type applied struct {
		Added   []struct{ Acct string } `json:"added"`
		Removed []struct{ Acct string } `json:"removed"`
		ByHand  int                     `json:"by_hand"`
	}
	apply := func(args ...string) applied {
		t.Helper()
		out, _ := okIn(a, "", append([]string{"fedi", "apply", "--json"}, args...)...)
		checkSchema(t, a, "fedi apply", out)
		var r applied
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := apply("--dry-run"); len(r.Added) != 1 || r.Added[0].Acct != acct("mallory") || g.accts("alice", "/api/v1/mutes") != "carol" {
		t.Fatalf("dry run: %+v; mutes on the server %s", r, g.accts("alice", "/api/v1/mutes"))
	}
	if r := apply(); len(r.Added) != 1 || g.accts("alice", "/api/v1/mutes") != "carol,mallory" {
		t.Fatalf("apply: %+v; mutes on the server %s", r, g.accts("alice", "/api/v1/mutes"))
	}
	human, _ := okIn(a, "", "fedi", "apply", "--dry-run")
	t.Logf("kith fedi apply --dry-run after applying:\n%s", human)
	if r := apply("--undo"); len(r.Removed) != 1 || r.Removed[0].Acct != acct("mallory") || g.accts("alice", "/api/v1/mutes") != "carol" {
		t.Fatalf("undo: %+v; mutes on the server %s", r, g.accts("alice", "/api/v1/mutes"))
	}
	// Blocks too, where chosen; undone the same way.
	if r := apply("--as", "block"); len(r.Added) != 1 || g.accts("alice", "/api/v1/blocks") != "mallory" {
		t.Fatalf("apply --as block: %+v; blocks %s", r, g.accts("alice", "/api/v1/blocks"))
	}
	if r := apply("--undo"); len(r.Removed) != 1 || g.accts("alice", "/api/v1/blocks") != "" || g.accts("alice", "/api/v1/mutes") != "carol" {
		t.Fatalf("undo the block: %+v; blocks %q, mutes %q", r, g.accts("alice", "/api/v1/blocks"), g.accts("alice", "/api/v1/mutes"))
	}
}
