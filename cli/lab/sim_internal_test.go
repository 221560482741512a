package lab

import (
	"bytes"
	"testing"
	"time"

	"github.com/kith-net/kith/cli"
)

// TestSimProgressLog: off a terminal (a batch job) progress is a log line
// with what is done of what, the rate since the phase began and the time
// left; a new phase (the protocol level's start-up, then its steps) starts
// its own rate.
func TestSimProgressLog(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &lab{env: cli.Env{Stderr: &buf, Now: func() time.Time { return now }}}
	p := a.simProgress("net", time.Hour) // the test reports; the ticker never fires
	p.update("starting: nodes", 10, 100)
	p.report(false)
	now = now.Add(10 * time.Second)
	p.update("starting: nodes", 60, 100)
	p.report(false)
	p.report(false) // nothing new: no line
	now = now.Add(time.Second)
	p.update("steps", 0, 120)
	p.report(false)
	now = now.Add(4 * time.Second)
	p.update("steps", 2, 120)
	p.close()
	want := "net: starting: nodes 10/100 (10 %)\n" +
		"net: starting: nodes 60/100 (60 %), 5 per second, ETA 8s\n" +
		"net: steps 0/120 (0 %)\n" +
		"net: steps 2/120 (2 %), 0.5 per second, ETA 3m56s\n"
	if buf.String() != want {
		t.Errorf("logged\n%s\nwant\n%s", buf.String(), want)
	}
}
