//go:build linux

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

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal pair: the test holds the master, kith gets
// the slave as its controlling terminal.
type pty struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer // what kith wrote to the terminal
	done          chan struct{}
}

func openPTY(t *testing.T) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open the slave: %v", err)
	}
	p := &pty{master: m, slave: s, done: make(chan struct{})}
	go func() { // ends when the master is closed (Cleanup below)
		defer close(p.done)
		b := make([]byte, 1024)
		for {
			n, err := m.Read(b)
			p.mu.Lock()
			p.out.Write(b[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		s.Close()
		m.Close()
		<-p.done
	})
	return p
}

func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until kith has written want to the terminal.
func (p *pty) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("kith never wrote %q to the terminal; it wrote %q", want, p.output())
		}
		time.Sleep(20 * time.Millisecond) // another process, seen through a terminal
	}
}

// startOnTerminal runs kith with the pty's slave as its controlling
// terminal and standard streams, without KITH_PASSPHRASE.
func startOnTerminal(t *testing.T, p *pty, home string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(kithBin, args...)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KITH_PASSPHRASE=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "KITH_HOME="+home)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// TestInterruptAtPrompt: Ctrl-C (typed on the terminal) or SIGTERM at the
// passphrase prompt of kith init and kith list ends kith with 130 or 143,
// writes nothing, and leaves the terminal echoing again.
func TestInterruptAtPrompt(t *testing.T) {
	initialised := filepath.Join(t.TempDir(), "home")
	kith(t, initialised, "init")
	for _, tc := range []struct {
		name string
		home string
		args []string
		sig  string // "ctrl-c" typed on the terminal, or "term"
		code int
	}{
		{"init, Ctrl-C", filepath.Join(t.TempDir(), "new"), []string{"init"}, "ctrl-c", 130},
		{"list, Ctrl-C", initialised, []string{"list"}, "ctrl-c", 130},
		{"list, SIGTERM", initialised, []string{"list"}, "term", 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openPTY(t)
			cmd := startOnTerminal(t, p, tc.home, tc.args...)
			p.waitFor(t, "Passphrase: ")
			if tc.sig == "ctrl-c" {
				if _, err := p.master.Write([]byte{0x03}); err != nil { // the terminal's INTR character
					t.Fatal(err)
				}
			} else if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := exitWithin(t, cmd, 30*time.Second); code != tc.code {
				t.Fatalf("exit code %d, want %d; terminal: %q", code, tc.code, p.output())
			}
			p.waitFor(t, "kith: interrupted") // the process has ended; its last words may still be in the terminal
			tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if tio.Lflag&unix.ECHO == 0 {
				t.Error("the terminal was left without echo")
			}
			if tc.args[0] == "init" {
				if _, err := os.Stat(filepath.Join(tc.home, "vault")); !os.IsNotExist(err) {
					t.Errorf("an interrupted init left a vault: %v", err)
				}
			}
		})
	}
}

// TestPromptReadsPassphrase: typed at the terminal, the passphrase is read
// without echo and opens the vault.
func TestPromptReadsPassphrase(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	kith(t, home, "init") // passphrase "correct horse battery staple"
	p := openPTY(t)
	cmd := startOnTerminal(t, p, home, "list")
	p.waitFor(t, "Passphrase: ")
	if _, err := p.master.Write([]byte("correct horse battery staple\n")); err != nil {
		t.Fatal(err)
	}
	if code := exitWithin(t, cmd, 60*time.Second); code != 0 {
		t.Fatalf("exit %d: %q", code, p.output())
	}
	p.waitFor(t, "no attestations")
	if strings.Contains(p.output(), "battery") {
		t.Fatalf("the passphrase was echoed: %q", p.output())
	}
	if !strings.Contains(p.output(), "no attestations") {
		t.Fatalf("terminal: %q", p.output())
	}
}
