package main

import (
	"bytes"
	"fmt"
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

// labBin is the kith-lab binary TestMain builds.
var labBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kith-lab-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	labBin = filepath.Join(dir, "kith-lab")
	if out, err := exec.Command("go", "build", "-o", labBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building kith-lab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestBenchInterrupt: SIGINT while kith-lab bench measures the store cases
// ends it with 130 and "kith-lab: interrupted", without a panic, and
// removes its temporary directory.
func TestBenchInterrupt(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(labBin, "bench", "--run", "^ingest")
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
			t.Fatalf("kith-lab bench never reached the store cases: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // another process, seen through its output
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// A process that ignored the signal is killed after a (generous)
	// minute, and exits -1.
	kill := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	cmd.Wait()
	kill.Stop()
	code := cmd.ProcessState.ExitCode()
	if code != 130 || strings.Contains(stderr.String(), "panic") || !strings.Contains(stderr.String(), "kith-lab: interrupted") {
		t.Fatalf("exit %d, want 130 and kith-lab: interrupted without a panic; stderr:\n%s", code, stderr.String())
	}
	left, err := filepath.Glob(filepath.Join(tmp, "kith-bench-*"))
	if err != nil || len(left) != 0 {
		t.Fatalf("kith-lab bench left %v behind (%v)", left, err)
	}
}
