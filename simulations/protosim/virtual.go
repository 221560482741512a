package protosim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kith-net/kith/simulations/scenario"
)

// RunVirtual runs s in virtual time outside `go test`: inside a
// testing/synctest bubble, where the clock moves only when every goroutine
// of the run waits, so a step takes the time its work needs and the
// latencies measured are the protocol's on the simulated links, whatever
// this machine's load. Options.Virtual is set for it.
//
// A synctest bubble needs a *testing.T, which only package testing makes:
// RunVirtual starts the testing machinery in this process
// (testing.MainStart, meant for the code `go test` generates and pinned to
// this Go release) with a single test that runs the simulation, its output
// sent to standard error, with the testing flags that would change what
// it runs (-test.run, -test.count, profiles) set to their defaults
// meanwhile. Only one virtual run goes at a time. ctx is polled every
// virtual second: a channel made outside the bubble cannot wake it.
func RunVirtual(ctx context.Context, s *scenario.Scenario, o Options) (*Result, error) {
	virtualMu.Lock()
	defer virtualMu.Unlock()
	o.Virtual = true
	var (
		res    *Result
		runErr error
		ran    bool
	)
	test := func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ran = true
			inner, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			watched := make(chan struct{})
			go func() { // the watchdog: joined before the bubble ends
				defer close(watched)
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						if ctx.Err() != nil {
							cancel()
							return
						}
					}
				}
			}()
			res, runErr = Run(inner, s, o)
			close(done)
			<-watched
			cancel()
			if runErr == nil && ctx.Err() != nil {
				runErr = ctx.Err()
			}
		})
	}
	// The testing machinery reports on standard output (PASS, or what
	// went wrong in the bubble): keep it, and show it only on failure.
	report, err := os.CreateTemp("", "kith-sim-virtual-*.log")
	if err != nil {
		return nil, fmt.Errorf("protosim: %w", err)
	}
	defer os.Remove(report.Name())
	defer report.Close()
	restore := quietTesting()
	stdout := os.Stdout
	os.Stdout = report
	m := testing.MainStart(testDeps{}, []testing.InternalTest{{Name: "kith-sim-virtual", F: test}}, nil, nil, nil)
	code := m.Run()
	os.Stdout = stdout
	restore()
	switch {
	case runErr != nil:
		return nil, runErr
	case !ran:
		return nil, errors.New("protosim: the virtual-time run did not start (the testing machinery ran no test)")
	case code != 0 || res == nil:
		out, _ := os.ReadFile(report.Name())
		return nil, fmt.Errorf("protosim: the virtual-time run failed (exit code %d: goroutines left running or deadlocked in the bubble):\n%s", code, out)
	}
	return res, nil
}

var virtualMu sync.Mutex

// quietTesting sets the testing flags that would change which tests run,
// how often, or start profiles to their defaults, and returns a function
// that restores them (inside `go test`, they are the outer run's).
func quietTesting() func() {
	testing.Init()
	if !flag.Parsed() {
		_ = flag.CommandLine.Parse(nil) // the program's own flags are not the standard flag set's
	}
	defaults := map[string]string{
		"test.run": "", "test.skip": "", "test.count": "1", "test.shuffle": "off", "test.failfast": "false",
		"test.cpu": "", "test.list": "", "test.bench": "", "test.fuzz": "", "test.timeout": "0",
		"test.cpuprofile": "", "test.memprofile": "", "test.blockprofile": "", "test.mutexprofile": "",
		"test.trace": "", "test.coverprofile": "", "test.testlogfile": "", "test.v": "false",
	}
	old := map[string]string{}
	for name, v := range defaults {
		f := flag.Lookup(name)
		if f == nil {
			continue
		}
		old[name] = f.Value.String()
		_ = f.Value.Set(v)
	}
	return func() {
		for name, v := range old {
			_ = flag.Lookup(name).Value.Set(v)
		}
	}
}

// corpusEntry is testing's type of a fuzzing corpus entry (an alias of
// this struct there), needed to implement its dependencies.
type corpusEntry = struct {
	Parent     string
	Path       string
	Data       []byte
	Values     []any
	Generation int
	IsSeed     bool
}

// testDeps implements what testing.MainStart needs for plain tests: no
// profiles, no fuzzing, no coverage.
type testDeps struct{}

func (testDeps) ImportPath() string                        { return "" }
func (testDeps) ModulePath() string                        { return "" }
func (testDeps) MatchString(pat, str string) (bool, error) { return true, nil }
func (testDeps) SetPanicOnExit0(bool)                      {}
func (testDeps) StartCPUProfile(io.Writer) error           { return errNoProfiles }
func (testDeps) StopCPUProfile()                           {}
func (testDeps) StartTestLog(io.Writer)                    {}
func (testDeps) StopTestLog() error                        { return nil }
func (testDeps) WriteProfileTo(string, io.Writer, int) error {
	return errNoProfiles
}
func (testDeps) CoordinateFuzzing(time.Duration, int64, time.Duration, int64, int, []corpusEntry, []reflect.Type, string, string) error {
	return errNoProfiles
}
func (testDeps) RunFuzzWorker(func(corpusEntry) error) error { return errNoProfiles }
func (testDeps) ReadCorpus(string, []reflect.Type) ([]corpusEntry, error) {
	return nil, nil
}
func (testDeps) CheckCorpus([]any, []reflect.Type) error { return nil }
func (testDeps) ResetCoverage()                          {}
func (testDeps) SnapshotCoverage()                       {}
func (testDeps) InitRuntimeCoverage() (string, func(string, string) (string, error), func() float64) {
	return "", nil, nil
}

var errNoProfiles = errors.New("protosim: not available in a virtual-time run")
