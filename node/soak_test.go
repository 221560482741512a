//go:build linux

package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/wire"
)

// TestSoak is D6 of the reliability plan: three nodes on real loopback
// hosts with badger stores, one publishing the largest proofs wire allows
// at a steady rate (120 a second by default) to the other two, for
// KITH_SOAK (a duration such as 1h; the test is skipped without it).
// KITH_SOAK_RATE changes the rate; KITH_SOAK_OUT names a directory for
// the samples (soak.csv) and heap profiles (at each quarter of the run, at
// each new peak of the live heap, and at the end). With KITH_SOAK_SPLIT
// set, each receiver runs in a process of its own (TestSoakReceiver), so
// that its memory is one node's, as a daemon's is; the samples then also
// give the larger receiver's.
//
// It checks: no honest message throttled by validation on any node; every
// proof stored by both receivers; goroutines flat (the last sample within
// 5 % + 20 of the one after warm-up); each store's disk use under twice
// the live data (allocated blocks, measured with the nodes open). It reports the
// resident-memory and Go-heap slopes over the second half of the run.
func TestSoak(t *testing.T) {
	dur, err := time.ParseDuration(os.Getenv("KITH_SOAK"))
	if err != nil {
		t.Skip("set KITH_SOAK to a duration (e.g. 1h) to run the D6 soak")
	}
	rate := 120.0
	if s := os.Getenv("KITH_SOAK_RATE"); s != "" {
		if rate, err = strconv.ParseFloat(s, 64); err != nil || rate <= 0 {
			t.Fatalf("KITH_SOAK_RATE=%q: want a positive number", s)
		}
	}
	ctx := context.Background()
	const nNodes = 3
	split := os.Getenv("KITH_SOAK_SPLIT") != ""
	var (
		nodes []*Node        // in this process: the publisher, and the receivers unless split
		rxs   []*soakChild   // the receivers in processes of their own, when split
		stats []func() Stats // every node's, the publisher first
		dirs  []string
	)
	for i := range nNodes {
		dir := t.TempDir()
		if split && i > 0 {
			var peers []string
			for _, nd := range nodes {
				peers = append(peers, nd.Addrs()[0])
			}
			for _, rx := range rxs {
				peers = append(peers, rx.addr)
			}
			rx := startSoakChild(t, dir, uint64(i), peers)
			rxs, stats, dirs = append(rxs, rx), append(stats, rx.stats), append(dirs, filepath.Join(dir, "store"))
			continue
		}
		nd := startSoakNode(t, ctx, dir, uint64(i))
		for _, prev := range nodes {
			if err := nd.Connect(ctx, prev.Addrs()[0]); err != nil {
				t.Fatal(err)
			}
		}
		nodes, stats, dirs = append(nodes, nd), append(stats, nd.Stats), append(dirs, filepath.Join(dir, "store"))
	}
	pollUntil(t, 15*time.Second, "every node's gossip mesh", func() bool {
		for _, st := range stats {
			if st().MeshPeers < nNodes-1 {
				return false
			}
		}
		return true
	})

	// Proofs among a population of 512 members, the largest wire allows:
	// a 512-byte reason and a 512-byte evidence URL.
	keys := make([]*wire.PrivateKey, 512)
	keyRand := rand.NewChaCha8([32]byte{'s', 'o', 'a', 'k'})
	for i := range keys {
		if keys[i], err = wire.GeneratePrivateKey(keyRand); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	evidence := "https://example.org/" + strings.Repeat("e", wire.MaxEvidenceLen-len("https://example.org/"))
	pub := nodes[0]
	var published, liveBytes int64
	publishOne := func() {
		i, j := rng.IntN(len(keys)), rng.IntN(len(keys)-1)
		if j >= i {
			j++
		}
		reason := fmt.Sprintf("soak %09d ", published)
		reason += strings.Repeat("r", wire.MaxReasonLen-len(reason))
		a := attest(t, keys[i], keys[j].Public(), wire.Vouch, wire.PublicAudience, reason)
		a.Evidence = evidence
		if err := a.Sign(keys[i]); err != nil {
			t.Fatal(err)
		}
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(keys[j]); err != nil {
			t.Fatal(err)
		}
		// As Approve does: the origin stores the proof and adds it to its
		// public set, then gossips it, so that resync can always find it
		// there.
		if _, err := pub.ingest(ctx, []wire.Object{a, c}); err != nil {
			t.Fatal(err)
		}
		if err := pub.publish(ctx, a, c); err != nil {
			t.Fatal(err)
		}
		published++
		liveBytes += int64(len(a.Raw()) + len(c.Raw()))
	}

	var samples []soakSample
	start := time.Now()
	take := func() soakSample {
		ms := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(ms)
		mib := func(i int) float64 { return float64(ms[i].Value.Uint64()) / (1 << 20) }
		s := soakSample{at: time.Since(start), published: published, storedMin: -1, rssMiB: rssMiB(t), heapMiB: mib(0), objectsMiB: mib(1), goMiB: mib(2) - mib(3), goroutines: runtime.NumGoroutine(), liveMiB: float64(liveBytes) / (1 << 20)}
		for _, rx := range rxs {
			r := rx.sample()
			s.rxRSSMiB, s.rxHeapMiB, s.rxGoMiB = max(s.rxRSSMiB, r.RSSAnonMiB), max(s.rxHeapMiB, r.HeapMiB), max(s.rxGoMiB, r.GoMiB)
			s.rxAllMiB = max(s.rxAllMiB, r.RSSMiB)
		}
		for i, stat := range stats {
			st := stat()
			s.throttled += st.Throttled
			s.gated += st.Gated
			s.rejected += st.Rejected
			s.ignored += st.Ignored
			s.undelivered += st.Undelivered
			s.droppedRPCs += st.DroppedRPCs
			if i > 0 && (s.storedMin < 0 || st.Stored < s.storedMin) {
				s.storedMin = st.Stored
			}
			s.diskMiB = max(s.diskMiB, diskMiB(t, dirs[i]))
		}
		return s
	}
	every := 10 * time.Second
	if dur < 5*time.Minute {
		every = time.Second
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	next := start.Add(every)
	outDir := os.Getenv("KITH_SOAK_OUT")
	quarter := 1
	var peak peakProfiler
	for time.Since(start) < dur {
		<-tick.C
		publishOne()
		if time.Now().After(next) {
			samples = append(samples, take())
			next = next.Add(every)
			if outDir != "" {
				peak.check(t, filepath.Join(outDir, "heap-peak.pprof"), samples[len(samples)-1].heapMiB)
			}
		}
		if outDir != "" && quarter < 4 && time.Since(start) >= time.Duration(quarter)*dur/4 {
			writeHeapProfile(t, filepath.Join(outDir, fmt.Sprintf("heap-q%d.pprof", quarter)))
			quarter++
		}
	}
	// Gossip may drop a message under load; resync (every 10 s) repairs it.
	for wait := time.Now(); stats[1]().Stored < 2*published || stats[2]().Stored < 2*published; {
		if time.Since(wait) > 3*time.Minute {
			for i, stat := range stats[1:] {
				st := stat()
				t.Errorf("receiver %d: stored %d of %d objects, public set %d, %d peers (%d in the mesh)", i+1, st.Stored, 2*published, st.PublicSet, st.Peers, st.MeshPeers)
			}
			t.Errorf("publisher: public set %d, %d peers", stats[0]().PublicSet, stats[0]().Peers)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	last := take()
	samples = append(samples, last)

	if dir := outDir; dir != "" {
		var b strings.Builder
		b.WriteString("seconds,published,stored_min,throttled,gated,rejected,ignored,rss_anon_mib,live_heap_mib,disk_mib,live_mib,goroutines,undelivered,dropped_rpcs,heap_objects_mib,go_retained_mib,rx_rss_anon_mib,rx_live_heap_mib,rx_go_retained_mib,rx_rss_mib\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "%.0f,%d,%d,%d,%d,%d,%d,%.1f,%.1f,%.1f,%.1f,%d,%d,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f\n", s.at.Seconds(), s.published, s.storedMin, s.throttled, s.gated, s.rejected, s.ignored, s.rssMiB, s.heapMiB, s.diskMiB, s.liveMiB, s.goroutines, s.undelivered, s.droppedRPCs, s.objectsMiB, s.goMiB, s.rxRSSMiB, s.rxHeapMiB, s.rxGoMiB, s.rxAllMiB)
		}
		if err := os.WriteFile(filepath.Join(dir, "soak.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		// What holds the heap at the end, with the nodes still open.
		writeHeapProfile(t, filepath.Join(dir, "heap.pprof"))
	}
	proofBytes := float64(liveBytes) / float64(published)
	t.Logf("%d proofs of %.0f bytes in %v (%.1f a second); stored by the slower receiver: %d objects", published, proofBytes, last.at.Round(time.Second), float64(published)/last.at.Seconds(), last.storedMin)
	warm := samples[len(samples)/10]
	half := samples[len(samples)/2:]
	rssSlope, heapSlope := slopePer10Min(half, func(s soakSample) float64 { return s.rssMiB }), slopePer10Min(half, func(s soakSample) float64 { return s.heapMiB })
	t.Logf("anonymous RSS %.0f → %.0f MiB (slope over the second half %.2f MiB/10 min); live Go heap %.0f → %.0f MiB (slope %.2f MiB/10 min)", warm.rssMiB, last.rssMiB, rssSlope, warm.heapMiB, last.heapMiB, heapSlope)
	if split {
		t.Logf("receivers, each in its own process (the larger of the two at each sample): anonymous RSS %.0f → %.0f MiB, peak %.0f MiB; live Go heap %.0f → %.0f MiB", warm.rxRSSMiB, last.rxRSSMiB, peakOf(samples, func(s soakSample) float64 { return s.rxRSSMiB }), warm.rxHeapMiB, last.rxHeapMiB)
	}
	t.Logf("goroutines %d after warm-up, %d at the end; disk %.0f MiB for %.0f MiB of live data (%.2f×)", warm.goroutines, last.goroutines, last.diskMiB, last.liveMiB, last.diskMiB/last.liveMiB)
	t.Logf("throttled %d, gated %d, rejected %d, ignored %d, undelivered %d, RPCs dropped %d (all nodes)", last.throttled, last.gated, last.rejected, last.ignored, last.undelivered, last.droppedRPCs)

	if last.throttled != 0 || last.gated != 0 {
		t.Errorf("honest load throttled: %d messages dropped by validation, %d RPCs gated", last.throttled, last.gated)
	}
	if last.rejected != 0 {
		t.Errorf("%d honest messages rejected", last.rejected)
	}
	if float64(last.goroutines) > 1.05*float64(warm.goroutines)+20 {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, last.goroutines)
	}
	if last.liveMiB > 16 && last.diskMiB > 2*last.liveMiB {
		t.Errorf("disk %.0f MiB for %.0f MiB of live data: more than twice", last.diskMiB, last.liveMiB)
	}
}

type soakSample struct {
	at                                  time.Duration
	published, storedMin                int64
	throttled, gated, rejected, ignored int64
	undelivered, droppedRPCs            int64
	rssMiB, heapMiB, diskMiB, liveMiB   float64
	objectsMiB, goMiB                   float64 // Go heap objects (live and not yet swept); all the runtime holds from the OS, less what it released
	rxRSSMiB, rxHeapMiB, rxGoMiB        float64 // with KITH_SOAK_SPLIT, the largest of the receivers' processes
	rxAllMiB                            float64 // and its whole resident memory, file pages included
	goroutines                          int
}

func peakOf(ss []soakSample, f func(soakSample) float64) float64 {
	var m float64
	for _, s := range ss {
		m = max(m, f(s))
	}
	return m
}

// startSoakNode starts a soak node on loopback with a badger store and
// key set under dir, closed when the test ends. The store is encrypted, as
// a daemon's is (badger then decrypts every block it reads into memory).
func startSoakNode(t *testing.T, ctx context.Context, dir string, seed uint64) *Node {
	key := make([]byte, badger.EncryptionKeySize)
	rand.NewChaCha8([32]byte{'s', 't', 'o', 'r', 'e', byte(seed)}).Read(key)
	st, err := badger.Open(ctx, badger.Options{Dir: filepath.Join(dir, "store"), EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := badger.OpenKeySet[recon.Key](ctx, filepath.Join(dir, "publicset"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := Start(ctx, Config{Key: mustKey(t), Store: st, DataDir: dir, PublicSetKeys: keys, Listen: loopback[:1], NoMDNS: true, NoDHT: true, Seed: seed, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nd.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
		if err := keys.Close(); err != nil {
			t.Errorf("close key set: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return nd
}

// soakReport is what a receiver's process (TestSoakReceiver) reports each
// second on its standard output, after the prefix soakReportPrefix.
type soakReport struct {
	Stats      Stats
	RSSAnonMiB float64
	RSSMiB     float64 // all resident memory, with the file pages mapped (badger's tables and logs)
	HeapMiB    float64 // live Go heap
	GoMiB      float64 // what the Go runtime holds from the OS, less what it released
}

const soakReportPrefix = "kith-soak-report "

// soakChild is a receiver running in a process of its own: this test's
// binary running TestSoakReceiver, which stops when its standard input
// closes.
type soakChild struct {
	addr string
	cmd  *exec.Cmd
	mu   sync.Mutex
	last soakReport
}

func (c *soakChild) sample() soakReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *soakChild) stats() Stats { return c.sample().Stats }

// startSoakChild starts a receiver in a process of its own, with its data
// under dir, connected to peers; the test's end stops it and waits for it.
func startSoakChild(t *testing.T, dir string, seed uint64, peers []string) *soakChild {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSoakReceiver$", "-test.v")
	cmd.Env = append(os.Environ(), "KITH_SOAK_RECEIVER="+dir, "KITH_SOAK_PEERS="+strings.Join(peers, ","), "KITH_SOAK_SEED="+strconv.FormatUint(seed, 10))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &soakChild{cmd: cmd}
	addr := make(chan string, 1)
	read := make(chan struct{})
	go func() { // joined by the cleanup below: it ends when the child's output does
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "kith-soak-addr "); ok {
				addr <- a
				continue
			}
			rest, ok := strings.CutPrefix(line, soakReportPrefix)
			if !ok {
				fmt.Fprintln(os.Stderr, "receiver:", line)
				continue
			}
			var r soakReport
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				fmt.Fprintln(os.Stderr, "receiver: bad report:", err)
				continue
			}
			c.mu.Lock()
			c.last = r
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		<-read
		if err := cmd.Wait(); err != nil {
			t.Errorf("receiver process %d: %v", cmd.Process.Pid, err)
		}
	})
	select {
	case c.addr = <-addr:
	case <-time.After(time.Minute):
		t.Fatal("the receiver's process gave no address")
	}
	return c
}

// TestSoakReceiver is a receiver of TestSoak with KITH_SOAK_SPLIT, in a
// process of its own so that its memory is one node's: it starts a node
// with its data in KITH_SOAK_RECEIVER, connects to KITH_SOAK_PEERS, and
// reports its counters and memory each second on its standard output until
// its standard input closes. Unless GOMEMLIMIT is set, it applies
// DefaultMemoryLimit, as kith run does. The test is skipped when not run
// by TestSoak.
func TestSoakReceiver(t *testing.T) {
	dir := os.Getenv("KITH_SOAK_RECEIVER")
	if dir == "" {
		t.Skip("run by TestSoak with KITH_SOAK_SPLIT")
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	seed, err := strconv.ParseUint(os.Getenv("KITH_SOAK_SEED"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nd := startSoakNode(t, ctx, dir, seed)
	for p := range strings.SplitSeq(os.Getenv("KITH_SOAK_PEERS"), ",") {
		if err := nd.Connect(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("kith-soak-addr %s\n", nd.Addrs()[0])
	stop := make(chan struct{})
	go func() { // ends when the parent closes our standard input
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	enc := json.NewEncoder(os.Stdout)
	out := os.Getenv("KITH_SOAK_OUT")
	var peak peakProfiler
	for {
		ms := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(ms)
		mib := func(i int) float64 { return float64(ms[i].Value.Uint64()) / (1 << 20) }
		if out != "" {
			peak.check(t, filepath.Join(out, fmt.Sprintf("heap-rx%d-peak.pprof", seed)), mib(0))
		}
		fmt.Print(soakReportPrefix)
		if err := enc.Encode(soakReport{Stats: nd.Stats(), RSSAnonMiB: rssMiB(t), RSSMiB: procStatusMiB(t, "VmRSS"), HeapMiB: mib(0), GoMiB: mib(1) - mib(2)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-tick.C:
			continue
		case <-stop:
		}
		break
	}
	if out != "" {
		writeHeapProfile(t, filepath.Join(out, fmt.Sprintf("heap-rx%d.pprof", seed)))
	}
}

// peakProfiler writes the heap profile of the last collection whenever the
// live heap reaches a new peak (16 MiB above the last one written), to see
// what holds the memory at its worst moments.
type peakProfiler struct{ written float64 }

func (p *peakProfiler) check(t testing.TB, path string, liveMiB float64) {
	if liveMiB < p.written+16 {
		return
	}
	p.written = liveMiB
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// No GC first: the profile is that of the collection that measured liveMiB.
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeHeapProfile writes the heap profile (after a GC) to path.
func writeHeapProfile(t testing.TB, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// slopePer10Min is the least-squares slope of f over the samples, per ten
// minutes (NaN for fewer than two samples).
func slopePer10Min(ss []soakSample, f func(soakSample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := s.at.Minutes()/10, f(s)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// rssMiB is this process's anonymous resident memory in MiB: the RSS
// without the file pages badger maps (its tables and logs), which the
// kernel reclaims under pressure and which grow with the data.
func rssMiB(t testing.TB) float64 { return procStatusMiB(t, "RssAnon") }

// procStatusMiB is a field of /proc/self/status given in kB (VmRSS,
// RssAnon ...), in MiB.
func procStatusMiB(t testing.TB, field string) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// diskMiB is the space the files under dir occupy on disk (allocated
// blocks, not apparent sizes: badger preallocates its logs sparsely).
func diskMiB(t testing.TB, dir string) float64 {
	var blocks int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // badger removed it (a flushed memtable, a compacted table) during the walk
		}
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			blocks += st.Blocks
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return float64(blocks*512) / (1 << 20)
}
