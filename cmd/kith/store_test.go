package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 24, item 9: the store's directory disappears under a running
// daemon (the path a failing disk takes). status says so, a new statement
// is refused, and SIGTERM still ends the process, with an error naming the
// store, instead of badger retrying its memtable flush without end.
func TestDaemonStoreGone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon")
	}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	kith(t, a, "init")
	kith(t, b, "init")
	var id struct {
		PeerID string `json:"peer_id"`
	}
	if err := json.Unmarshal(kith(t, b, "--json", "id"), &id); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, a)
	kith(t, a, "vouch", id.PeerID, "--reason", "before the disk went")
	if err := os.RemoveAll(filepath.Join(a, "store")); err != nil {
		t.Fatal(err)
	}
	var st struct {
		StoreError string `json:"store_error"`
	}
	if err := json.Unmarshal(kith(t, a, "--json", "status"), &st); err != nil {
		t.Fatal(err)
	}
	t.Logf("status: store_error %q", st.StoreError)
	if !strings.Contains(st.StoreError, "writes failing") {
		t.Errorf("status does not say the store cannot be written: %q", st.StoreError)
	}
	cmd := exec.Command(kithBin, "vouch", id.PeerID, "--reason", "after the disk went", "--context", "trade")
	cmd.Env = append(os.Environ(), "KITH_HOME="+a, "KITH_PASSPHRASE=correct horse battery staple")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("a vouch was accepted with the store gone: %s", out)
	} else {
		t.Logf("vouch refused: %s", strings.TrimSpace(string(out)))
	}

	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		t.Logf("kith run ended %v after SIGTERM: %v", time.Since(start).Round(time.Millisecond), err)
		if err == nil {
			t.Error("kith run exited 0 though its store could not be written")
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("kith run still runs 2 min after SIGTERM: %s", d.stderr)
	}
	stderr := d.stderr.String()
	if !strings.Contains(stderr, "writes failing") {
		t.Errorf("the daemon's last words do not name the store failure:\n%s", stderr)
	}
	if n := strings.Count(stderr, "store: writes failing; no more writes"); n != 1 {
		t.Errorf("the store failure was logged %d times, want once:\n%s", n, stderr)
	}
}
