package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runKith runs kith to its end and returns its exit code and standard
// error.
func runKith(t *testing.T, home string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(kithBin, args...)
	cmd.Env = append(os.Environ(), "KITH_HOME="+home, "KITH_PASSPHRASE=correct horse battery staple")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestRunPortInUse: a daemon asked to listen on a TCP port another program
// holds does not start, says so, and leaves no discovery file.
func TestRunPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strings.TrimPrefix(l.Addr().String(), "127.0.0.1:")
	home := filepath.Join(t.TempDir(), "home")
	kith(t, home, "init")
	code, out := runKith(t, home, "run", "--no-mdns", "--api", "127.0.0.1:0",
		"--listen", "/ip4/127.0.0.1/tcp/"+port, "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
	if code != 1 || !strings.Contains(out, "kith: --listen /ip4/127.0.0.1/tcp/"+port+": could not listen there") {
		t.Fatalf("exit %d, want 1 and a message naming the address:\n%s", code, out)
	}
	if strings.Contains(out, "kith running") {
		t.Fatalf("it said it runs:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(home, "api.json")); !os.IsNotExist(err) {
		t.Fatalf("api.json left behind: %v", err)
	}
}

// TestRunBootstrapErrors: a bootstrap list with no usable address is bad
// usage (exit 2) before anything starts; with one bad address among others
// the daemon runs and kith status names the bad one and the unreachable
// one.
func TestRunBootstrapErrors(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	kith(t, home, "init")
	code, out := runKith(t, home, "run", "--no-mdns", "--bootstrap", "nonsense", "--bootstrap", "/ip4/127.0.0.1/tcp/1")
	if code != 2 || !strings.Contains(out, "--bootstrap: no usable address: nonsense") || strings.Contains(out, "kith running") {
		t.Fatalf("exit %d, want 2 and the bad addresses:\n%s", code, out)
	}

	other := filepath.Join(t.TempDir(), "other")
	kith(t, other, "init")
	var id struct {
		PeerID string `json:"peer_id"`
	}
	if err := json.Unmarshal(kith(t, other, "id", "--json"), &id); err != nil {
		t.Fatal(err)
	}
	unreachable := "/ip4/127.0.0.1/tcp/1/p2p/" + id.PeerID // nothing listens on port 1
	d := startDaemon(t, home, "nonsense", unreachable)
	var st struct {
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(kith(t, home, "status", "--json"), &st); err != nil {
		t.Fatal(err)
	}
	w := strings.Join(st.Warnings, "\n")
	if !strings.Contains(w, "bootstrap nonsense: no /p2p/") || !strings.Contains(w, "bootstrap "+unreachable+": not connected") {
		t.Fatalf("status warnings:\n%s", w)
	}
	if out := string(kith(t, home, "status")); !strings.Contains(out, "warning  bootstrap nonsense") {
		t.Fatalf("status:\n%s", out)
	}
	d.stop(t) // then its standard error is complete, and no longer written
	if !strings.Contains(d.stderr.String(), "--bootstrap nonsense") {
		t.Fatalf("the daemon did not say so at start: %s", d.stderr)
	}
}

// TestRunConfig: kith run reads its flags from a TOML file, a flag on the
// command line wins, and an unknown key is bad usage naming its line, as is
// a memory_limit that is no size.
func TestRunConfig(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	kith(t, home, "init")
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("no_mdns = true\nlisten_on = [\"/ip4/127.0.0.1/tcp/0\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runKith(t, home, "run", "--config", bad); code != 2 || !strings.Contains(out, bad+":2: unknown key \"listen_on\"") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wrongType := filepath.Join(t.TempDir(), "type.toml")
	if err := os.WriteFile(wrongType, []byte("debug = \"yes\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runKith(t, home, "run", "--config", wrongType); code != 2 || !strings.Contains(out, wrongType+":1:") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	badLimit := filepath.Join(t.TempDir(), "limit.toml")
	if err := os.WriteFile(badLimit, []byte("memory_limit = \"lots\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runKith(t, home, "run", "--config", badLimit); code != 2 || !strings.Contains(out, `--memory-limit "lots"`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// The home's config.toml: a unix socket for the API and JSON logs; the
	// command line's --api (startDaemon's 127.0.0.1:0) wins over the file.
	sock := filepath.Join(home, "api.sock")
	cfg := "api = \"unix:" + sock + "\"\nno_mdns = true\nlog_format = \"json\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n"
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemonOn(t, home, nil)
	if !strings.HasPrefix(d.api, "http://127.0.0.1:") {
		t.Fatalf("api %s: the flag should win over the file", d.api)
	}
	if len(d.addrs) != 1 || !strings.Contains(d.addrs[0], "/tcp/") {
		t.Fatalf("addrs %v: want the file's one TCP address", d.addrs)
	}
	d.stop(t)
	if !strings.Contains(d.stderr.String(), `"msg":"kith running"`) {
		t.Fatalf("logs are not the file's JSON: %s", d.stderr)
	}
}
