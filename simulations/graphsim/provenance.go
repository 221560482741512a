package graphsim

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Commit is the source commit when the build has no VCS stamp (go test,
// -buildvcs=false, a tarball): set it with
// -ldflags "-X github.com/kith-net/kith/simulations/graphsim.Commit=$(git rev-parse HEAD)".
var Commit string

// Software is the build that ran a simulation: the same for every shard of
// a run, and deterministic, so it belongs in results that must repeat to
// the byte.
type Software struct {
	Module  string `json:"module"`
	Version string `json:"version"` // the module version ("(devel)" for a checkout)
	// Commit is the VCS revision stamped into the binary, else Commit
	// above, else "unknown"; CommitTime and Modified come with a stamp.
	Commit     string `json:"commit"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified"` // built from a tree with uncommitted changes
	Go         string `json:"go"`
	Platform   string `json:"platform"` // GOOS/GOARCH
}

func (s Software) String() string {
	dirty := ""
	if s.Modified {
		dirty = "+modified"
	}
	return fmt.Sprintf("%s %s (%s%s, %s)", s.Module, s.Version, s.Commit, dirty, s.Go)
}

// Build returns this binary's Software.
func Build() Software {
	sw := Software{Module: "github.com/kith-net/kith", Version: "unknown", Commit: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			sw.Module = bi.Main.Path
		}
		if bi.Main.Version != "" {
			sw.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				sw.Commit = s.Value
			case "vcs.time":
				sw.CommitTime = s.Value
			case "vcs.modified":
				sw.Modified = s.Value == "true"
			}
		}
	}
	if sw.Commit == "unknown" && Commit != "" {
		sw.Commit = Commit
	}
	return sw
}

// Machine is what a run cost and what else the machine ran meanwhile: it
// differs from run to run, so it is written beside the results (run.json),
// not in them.
type Machine struct {
	Host       string    `json:"host"`
	CPUs       int       `json:"cpus"`       // runtime.NumCPU
	GOMAXPROCS int       `json:"gomaxprocs"` // cores the run could use
	CPUModel   string    `json:"cpu_model,omitempty"`
	Command    []string  `json:"command"`
	Start      time.Time `json:"start"`
	WallS      float64   `json:"wall_s"`
	UserS      float64   `json:"cpu_user_s"`
	SystemS    float64   `json:"cpu_system_s"`
	// CPUShare is the CPU time over wall time times GOMAXPROCS: 1 when
	// the run had every core it could use all the time.
	CPUShare float64 `json:"cpu_share"`
	// Load averages (1 minute) at the start, the end, the mean and the
	// highest of the samples taken meanwhile (Linux; 0 elsewhere).
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	LoadMean  float64 `json:"load_mean"`
	LoadMax   float64 `json:"load_max"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// Meter measures one run: Start it, Stop it to get the Machine record.
// The sampling goroutine it starts is joined by Stop.
type Meter struct {
	m        Machine
	now      func() time.Time
	cpu0     [2]float64
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	loads    []float64
	interval time.Duration
}

// StartMeter starts measuring; now is the clock (time.Now outside tests),
// samples are taken every interval (0: 10 s).
func StartMeter(now func() time.Time, interval time.Duration) *Meter {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	host, _ := os.Hostname()
	mt := &Meter{now: now, stop: make(chan struct{}), done: make(chan struct{}), interval: interval}
	mt.m = Machine{Host: host, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUModel: cpuModel(), Command: os.Args, Start: now().UTC()}
	mt.cpu0 = cpuTimes()
	mt.m.LoadStart = loadAverage()
	mt.loads = []float64{mt.m.LoadStart}
	go func() { // joined by Stop
		defer close(mt.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-mt.stop:
				return
			case <-t.C:
				l := loadAverage()
				mt.mu.Lock()
				mt.loads = append(mt.loads, l)
				mt.mu.Unlock()
			}
		}
	}()
	return mt
}

// Stop ends the measurement (once) and returns it.
func (mt *Meter) Stop() Machine {
	select {
	case <-mt.done:
		return mt.m
	default:
	}
	close(mt.stop)
	<-mt.done
	m := mt.m
	m.WallS = mt.now().Sub(m.Start).Seconds()
	cpu := cpuTimes()
	m.UserS, m.SystemS = cpu[0]-mt.cpu0[0], cpu[1]-mt.cpu0[1]
	if m.WallS > 0 {
		m.CPUShare = (m.UserS + m.SystemS) / m.WallS / float64(m.GOMAXPROCS)
	}
	m.LoadEnd = loadAverage()
	mt.mu.Lock()
	loads := append(mt.loads, m.LoadEnd)
	mt.mu.Unlock()
	for _, l := range loads {
		m.LoadMean += l / float64(len(loads))
		m.LoadMax = max(m.LoadMax, l)
	}
	m.PeakRSSMB = PeakRSS()
	mt.m = m
	return m
}

// Load returns the latest load average sampled (for warnings while a run
// goes on).
func (mt *Meter) Load() float64 {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return mt.loads[len(mt.loads)-1]
}

// loadAverage is the 1-minute load average (Linux), 0 where unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	x, _ := strconv.ParseFloat(f[0], 64)
	return x
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// PeakRSS is the process's peak resident set size in MiB (VmHWM; 0 where
// /proc is missing).
func PeakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
