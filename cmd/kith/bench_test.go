package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBenchInterrupt: SIGINT while kith bench measures the store cases
// ends it with 130 and "kith: interrupted", without a panic, and removes
// its temporary directory.
func TestBenchInterrupt(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(kithBin, "bench", "--run", "^ingest")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "measuring ingest") {
		if time.Now().After(deadline) {
			t.Fatalf("kith bench never reached the store cases: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // another process, seen through its output
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := exitWithin(t, cmd, time.Minute)
	if code != 130 || strings.Contains(stderr.String(), "panic") || !strings.Contains(stderr.String(), "kith: interrupted") {
		t.Fatalf("exit %d, want 130 and kith: interrupted without a panic; stderr:\n%s", code, stderr.String())
	}
	left, err := filepath.Glob(filepath.Join(tmp, "kith-bench-*"))
	if err != nil || len(left) != 0 {
		t.Fatalf("kith bench left %v behind (%v)", left, err)
	}
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
