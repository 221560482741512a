package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kithBin is the kith binary built for these tests.
var kithBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kith-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kithBin = filepath.Join(dir, "kith")
	out, err := exec.Command("go", "build", "-o", kithBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building kith: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one `kith run` process.
type daemon struct {
	home   string
	cmd    *exec.Cmd
	peerID string
	addrs  []string
	api    string
	stderr *bytes.Buffer
}

func kith(t testing.TB, home string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(kithBin, args...)
	cmd.Env = append(os.Environ(), "KITH_HOME="+home, "KITH_PASSPHRASE=correct horse battery staple")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kith %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func startDaemon(t testing.TB, home string, bootstrap ...string) *daemon {
	t.Helper()
	return startDaemonOn(t, home, []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}, bootstrap...)
}

// startDaemonOn starts `kith run` listening on listen, its API on a free
// loopback port.
func startDaemonOn(t testing.TB, home string, listen []string, bootstrap ...string) *daemon {
	t.Helper()
	args := []string{"--json", "run", "--no-mdns", "--api", "127.0.0.1:0"}
	for _, l := range listen {
		args = append(args, "--listen", l)
	}
	for _, b := range bootstrap {
		args = append(args, "--bootstrap", b)
	}
	d := &daemon{home: home, stderr: &bytes.Buffer{}}
	d.cmd = exec.Command(kithBin, args...)
	d.cmd.Env = append(os.Environ(), "KITH_HOME="+home, "KITH_PASSPHRASE=correct horse battery staple")
	d.cmd.Stderr = d.stderr
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	line := make(chan []byte, 1)
	go func() { // ends when the pipe closes with the process
		r := bufio.NewReader(stdout)
		var buf bytes.Buffer
		for {
			b, err := r.ReadBytes('\n')
			buf.Write(b)
			if json.Valid(buf.Bytes()) && buf.Len() > 2 {
				line <- buf.Bytes()
				buf = bytes.Buffer{}
			}
			if err != nil {
				close(line)
				return
			}
		}
	}()
	select {
	case b, ok := <-line:
		if !ok {
			t.Fatalf("kith run exited: %s", d.stderr)
		}
		var st struct {
			PeerID string   `json:"peer_id"`
			Addrs  []string `json:"addrs"`
			API    string   `json:"api"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("kith run printed %q: %v", b, err)
		}
		d.peerID, d.addrs, d.api = st.PeerID, st.Addrs, st.API
	case <-time.After(30 * time.Second):
		t.Fatalf("kith run did not start: %s", d.stderr)
	}
	return d
}

func (d *daemon) stop(t testing.TB) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("kith run exited with %v: %s", err, d.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("kith run did not stop on SIGTERM: %s", d.stderr)
	}
	if _, err := os.Stat(filepath.Join(d.home, "api.json")); !os.IsNotExist(err) {
		t.Errorf("api.json left behind after stop: %v", err)
	}
}

// eventually retries check (a CLI call) until it returns true.
func eventually(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond) // polling another process through its CLI
	}
}

// Three `kith run` daemons on loopback, driven through the CLI: a public
// vouch becomes a consent request at its subject, is approved, and reaches
// the third node by gossip; a private vouch with a canary never leaves its
// node; the API refuses requests without the token or with a foreign Host.
func TestThreeDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three daemons")
	}
	var homes []string
	for i := 0; i < 3; i++ {
		h := filepath.Join(t.TempDir(), fmt.Sprintf("home%d", i))
		kith(t, h, "init")
		homes = append(homes, h)
	}
	a := startDaemon(t, homes[0])
	b := startDaemon(t, homes[1], a.addrs[0])
	c := startDaemon(t, homes[2], a.addrs[0])
	for _, d := range []*daemon{a, b, c} {
		for _, ad := range d.addrs {
			if !strings.HasPrefix(ad, "/ip4/127.0.0.1/") || !strings.HasSuffix(ad, "/p2p/"+d.peerID) {
				t.Fatalf("address %s: want loopback and /p2p/%s", ad, d.peerID)
			}
		}
	}
	eventually(t, 20*time.Second, "node a to see both peers", func() bool {
		var ps []struct {
			ID        string `json:"id"`
			Connected bool   `json:"connected"`
		}
		json.Unmarshal(kith(t, homes[0], "peers", "--json"), &ps)
		n := 0
		for _, p := range ps {
			if p.Connected && (p.ID == b.peerID || p.ID == c.peerID) {
				n++
			}
		}
		return n == 2
	})

	// kith status --json names the node, its full addresses and the API.
	var st struct {
		PeerID string   `json:"peer_id"`
		Addrs  []string `json:"addrs"`
		API    string   `json:"api"`
	}
	if err := json.Unmarshal(kith(t, homes[1], "status", "--json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.PeerID != b.peerID || st.API != b.api || len(st.Addrs) == 0 || !strings.HasSuffix(st.Addrs[0], "/p2p/"+b.peerID) {
		t.Fatalf("status --json: %+v, want peer %s, api %s and full addresses", st, b.peerID, b.api)
	}

	// A private vouch with a canary, about c: it must never leave a.
	const canary = "canary-5f0c1d7e9a2b4c6d"
	kith(t, homes[0], "vouch", c.peerID, "--reason", canary)

	// A public vouch for b: a consent request for b.
	var att struct {
		CID string `json:"cid"`
	}
	if err := json.Unmarshal(kith(t, homes[0], "--json", "vouch", b.peerID, "--audience", "public", "--reason", "fixed my bike"), &att); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the consent request at b", func() bool {
		var rs []struct {
			CID   string `json:"cid"`
			State string `json:"state"`
		}
		json.Unmarshal(kith(t, homes[1], "consent", "list", "--json"), &rs)
		return len(rs) == 1 && rs[0].CID == att.CID && rs[0].State == "pending"
	})
	// Nothing reaches c before b approves.
	if strings.Contains(string(kith(t, homes[2], "list", "--all", "--json")), att.CID) {
		t.Fatal("c holds the statement before its subject approved it")
	}
	kith(t, homes[1], "consent", "approve", att.CID)
	eventually(t, 20*time.Second, "the approved statement at c", func() bool {
		return strings.Contains(string(kith(t, homes[2], "list", "--about", b.peerID, "--json")), att.CID)
	})

	// c's owner can now ask about b and gets an answer with an explanation.
	var q map[string]any
	if err := json.Unmarshal(kith(t, homes[2], "query", b.peerID, "--json"), &q); err != nil {
		t.Fatal(err)
	}
	if _, ok := q["explanation"]; !ok {
		t.Fatalf("query answer without explanation: %v", q)
	}

	// b withdraws its consent: c learns of it (the statement's live
	// consents drop to zero there, and it leaves c's default listing and
	// scoring, spec/node-v1.md §5.1) and stops offering it.
	listed := func(args ...string) []byte {
		return kith(t, homes[2], append([]string{"list", "--about", b.peerID, "--json"}, args...)...)
	}
	consents := func() int {
		var vs []struct {
			CID      string `json:"cid"`
			Consents int    `json:"consents"`
		}
		json.Unmarshal(listed("--all"), &vs)
		for _, v := range vs {
			if v.CID == att.CID {
				return v.Consents
			}
		}
		return -1
	}
	if n := consents(); n != 1 {
		t.Fatalf("c sees %d consents before the withdrawal, want 1", n)
	}
	kith(t, homes[1], "consent", "withdraw", att.CID)
	eventually(t, 20*time.Second, "the withdrawal at c", func() bool { return consents() == 0 })
	if strings.Contains(string(listed()), att.CID) {
		t.Error("c still lists the withdrawn statement as one that counts")
	}

	// The API refuses a request without the token and one with a foreign Host.
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"foreign host", map[string]string{"Host": "evil.example", "Authorization": "Bearer " + readToken(t, homes[0])}, http.StatusForbidden},
	} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", a.api+"/v1/status", nil)
		for k, v := range tc.header {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}

	// Export and import go through the daemon, which holds the store.
	exported := filepath.Join(t.TempDir(), "a.kith")
	kith(t, homes[0], "export", "--out", exported)
	var imp struct {
		Objects int `json:"objects"`
	}
	if err := json.Unmarshal(kith(t, homes[0], "import", exported, "--json"), &imp); err != nil || imp.Objects == 0 {
		t.Fatalf("import into a running daemon: %+v %v", imp, err)
	}
	// So do model train and model show: a's few judgements keep the
	// shipped model, and model show says which model answers.
	var trained struct {
		Kind       string `json:"kind"`
		Refinement struct {
			Judgements int  `json:"judgements"`
			Used       bool `json:"used"`
		} `json:"refinement"`
	}
	if err := json.Unmarshal(kith(t, homes[0], "model", "train", "--json"), &trained); err != nil || trained.Kind != "shipped" || trained.Refinement.Judgements == 0 || trained.Refinement.Used {
		t.Fatalf("model train through the daemon: %+v %v", trained, err)
	}
	if out := string(kith(t, homes[0], "model", "show")); !strings.Contains(out, "(shipped, in use for general)") {
		t.Fatalf("model show through the daemon:\n%s", out)
	}

	for _, d := range []*daemon{c, b, a} {
		d.stop(t)
	}
	// With the daemons stopped, the CLI opens the stores itself.
	for i, h := range homes[1:] {
		if strings.Contains(string(kith(t, h, "list", "--all", "--json")), canary) {
			t.Errorf("node %d holds a's private canary", i+1)
		}
		if out := kith(t, h, "status"); !strings.Contains(string(out), "not running") {
			t.Errorf("status after stop: %s", out)
		}
	}
}

func readToken(t testing.TB, home string) string {
	b, err := os.ReadFile(filepath.Join(home, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// rssMiB reads a process's resident set size.
func rssMiB(t testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kb float64
			fmt.Sscan(f[1], &kb)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// metric reads one value of the daemon's /v1/metrics.
func metric(t testing.TB, d *daemon, name string) float64 {
	req, _ := http.NewRequest("GET", d.api+"/v1/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+readToken(t, d.home))
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// BenchmarkDaemon measures two `kith run` daemons on loopback: the idle
// resident memory of a daemon, and its goroutines before and after a soak
// of public vouches, consent approvals and gossip between them
// (KITH_SOAK_SECONDS, default 10; 3 with -benchtime=1x in CI).
func BenchmarkDaemon(b *testing.B) {
	soak := 10 * time.Second
	if s := os.Getenv("KITH_SOAK_SECONDS"); s != "" {
		var v int
		fmt.Sscan(s, &v)
		soak = time.Duration(v) * time.Second
	}
	var homes []string
	for i := 0; i < 2; i++ {
		h := filepath.Join(b.TempDir(), fmt.Sprintf("home%d", i))
		kith(b, h, "init")
		homes = append(homes, h)
	}
	a := startDaemon(b, homes[0])
	c := startDaemon(b, homes[1], a.addrs[0])
	time.Sleep(5 * time.Second) // idle
	idle := rssMiB(b, a.cmd.Process.Pid)
	g0 := metric(b, a, "kith_goroutines")
	heap, sys := metric(b, a, "kith_go_heap_inuse_bytes"), metric(b, a, "kith_go_sys_bytes")
	b.ResetTimer()
	deadline := time.Now().Add(soak)
	n := 0
	for time.Now().Before(deadline) {
		kith(b, homes[1], "vouch", a.peerID, "--audience", "public", "--reason", fmt.Sprintf("soak %d", n))
		n++
	}
	time.Sleep(3 * time.Second) // let the consent requests land
	for _, line := range strings.Split(string(kith(b, homes[0], "consent", "list", "--json")), "\n") {
		if i := strings.Index(line, `"cid": "`); i >= 0 {
			cid := strings.TrimSuffix(strings.TrimSpace(line[i+8:]), `",`)
			kith(b, homes[0], "consent", "approve", strings.Trim(cid, `"`))
		}
	}
	time.Sleep(3 * time.Second)
	b.StopTimer()
	g1 := metric(b, a, "kith_goroutines")
	after := rssMiB(b, a.cmd.Process.Pid)
	b.ReportMetric(idle, "idle-RSS-MiB")
	b.ReportMetric(heap/(1<<20), "idle-heap-MiB")
	b.ReportMetric(sys/(1<<20), "idle-go-sys-MiB")
	b.ReportMetric(after, "RSS-after-soak-MiB")
	b.ReportMetric(g0, "goroutines-idle")
	b.ReportMetric(g1, "goroutines-after")
	b.ReportMetric(float64(n), "statements")
	c.stop(b)
	a.stop(b)
}

// exitWithin waits for cmd and returns its exit code; a process still
// running after the (generous) limit has ignored the signal.
func exitWithin(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("kith still ran %v after the signal", limit)
		return -1
	}
}
