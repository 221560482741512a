package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/vault"
)

// startDaemon runs `kith run` for n in-process on loopback until stop is
// called or the test ends, and waits until the other commands find it.
// stop returns what the daemon printed on standard output.
func startDaemon(t *testing.T, n *node) (stop func() string) {
	t.Helper()
	vars := maps.Clone(n.vars) // the daemon reads its own copy: the test keeps changing n's
	vars["KITH_HOME"] = n.home
	vars["KITH_FEDI_HTTP_LOOPBACK"] = "1"
	now := n.now
	var out, errb bytes.Buffer
	env := cli.Env{
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""),
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Now:       func() time.Time { return now },
		Rand:      rand.Reader,
		KDF:       vault.Params{Memory: 64, Time: 1, Threads: 1},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"--json", "run", "--no-mdns", "--api", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0"}, env)
	}()
	var once sync.Once
	stop = func() string {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("kith run exited %d: %s", code, errb.String())
			}
		})
		return out.String()
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := api.Discover(context.Background(), n.home); err == nil {
			return stop
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("kith run exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("kith run did not start serving")
		}
		time.Sleep(20 * time.Millisecond) // the daemon's discovery file appears once it listens
	}
}

// TestEveryCommandWhileTheDaemonRuns: with alice's daemon holding her
// store, export, import, fedi login, link, verify, fedi import and key
// backup all work, through the local API (or, for key backup, on the vault
// file alone), and what they stored is in the daemon's export.
func TestEveryCommandWhileTheDaemonRuns(t *testing.T) {
	f := newFakeInstance(t)
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	f.do(func() { f.accounts["alice"].following = []string{"carol"} })
	// Bob's statements and his identity link, made without a daemon.
	okIn(b, "token-of-bob\n", "fedi", "login", f.acct("bob"), "--token-stdin")
	dir := t.TempDir()
	bobLink, bobBundle := filepath.Join(dir, "bob-link.kith"), filepath.Join(dir, "bob.kith")
	okIn(b, "", "link", f.acct("bob"), "--set-field", "--out", bobLink)
	b.ok("vouch", "@dave@example.social")
	b.ok("export", "--out", bobBundle)

	startDaemon(t, a)
	// Its metrics, in Prometheus form, are typed and explained.
	d, err := api.ReadDiscovery(a.home)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := api.LoadToken(a.home)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", d.URL+"/v1/metrics?format=prometheus", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"# TYPE kith_peers_connected gauge", "# HELP kith_peers_connected Peers connected now.",
		"# TYPE kith_objects_received_total counter", "# TYPE kith_store_objects gauge"} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("metrics lack %q:\n%s", want, prom)
		}
	}
	if strings.Contains(string(prom), "untyped") {
		t.Errorf("untyped metrics:\n%s", prom)
	}
	// The commands must not open the store: prove it by giving them no
	// passphrase at all.
	pass := a.vars["KITH_PASSPHRASE"]
	delete(a.vars, "KITH_PASSPHRASE")
	var imp api.ImportResult
	if err := json.Unmarshal([]byte(a.ok("import", bobBundle, "--json")), &imp); err != nil || imp.Added == 0 {
		t.Fatalf("import through the daemon: %+v %v", imp, err)
	}
	if got := a.list("--about", "@dave@example.social"); len(got) != 1 {
		t.Fatalf("bob's vouch after import: %+v", got)
	}
	okIn(a, "token-of-alice\n", "fedi", "login", f.acct("alice"), "--token-stdin")
	if out, _ := okIn(a, "", "link", f.acct("alice"), "--set-field"); !strings.Contains(out, "set and verified both ways") {
		t.Fatalf("link through the daemon: %s", out)
	}
	if out, _ := okIn(a, "", "verify", f.acct("bob"), "--link", bobLink); !strings.Contains(out, "verified both ways") {
		t.Fatalf("verify through the daemon: %s", out)
	}
	if r := importRun(t, a); r.Added != 1 || r.Relations["follow"] != 1 {
		t.Fatalf("fedi import through the daemon: %+v", r)
	}
	export := filepath.Join(dir, "alice.kith")
	a.ok("export", "--out", export)
	a.vars["KITH_PASSPHRASE"] = pass // key backup reads the vault, so it needs the passphrase
	a.ok("key", "backup", "--out", filepath.Join(dir, "alice.key"))

	// The export holds what the daemon stored: a fresh node imports it.
	c := newNode(t, "carol")
	c.ok("init")
	c.ok("import", export)
	if got := c.list("--about", "@carol@"+f.host); len(got) != 1 || got[0].Reason == "" {
		t.Fatalf("alice's fedi import in her export: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "alice.key")); err != nil {
		t.Fatal(err)
	}
}
