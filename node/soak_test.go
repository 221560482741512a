//go:build linux

package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
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
// the samples (soak.csv).
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
	var (
		nodes []*Node
		dirs  []string
	)
	for i := range nNodes {
		dir := t.TempDir()
		st, err := badger.Open(ctx, badger.Options{Dir: filepath.Join(dir, "store")})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := badger.OpenKeySet[recon.Key](ctx, filepath.Join(dir, "publicset"), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := Start(ctx, Config{Key: mustKey(t), Store: st, DataDir: dir, PublicSetKeys: keys, Listen: loopback[:1], NoMDNS: true, NoDHT: true, Seed: uint64(i), Logger: testLogger(t)})
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
		for _, prev := range nodes {
			if err := nd.Connect(ctx, prev.Addrs()[0]); err != nil {
				t.Fatal(err)
			}
		}
		nodes, dirs = append(nodes, nd), append(dirs, filepath.Join(dir, "store"))
	}
	pollUntil(t, 15*time.Second, "every node's gossip mesh", func() bool {
		for _, nd := range nodes {
			if nd.mesh.Load() < nNodes-1 {
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
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		s := soakSample{at: time.Since(start), published: published, storedMin: -1, rssMiB: rssMiB(t), heapMiB: float64(live[0].Value.Uint64()) / (1 << 20), goroutines: runtime.NumGoroutine(), liveMiB: float64(liveBytes) / (1 << 20)}
		for i, nd := range nodes {
			st := nd.Stats()
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
	for time.Since(start) < dur {
		<-tick.C
		publishOne()
		if time.Now().After(next) {
			samples = append(samples, take())
			next = next.Add(every)
		}
	}
	// Gossip may drop a message under load; resync (every 10 s) repairs it.
	for wait := time.Now(); nodes[1].Stats().Stored < 2*published || nodes[2].Stats().Stored < 2*published; {
		if time.Since(wait) > 3*time.Minute {
			for i, nd := range nodes[1:] {
				st := nd.Stats()
				t.Errorf("receiver %d: stored %d of %d objects, public set %d, %d peers (%d in the mesh), set error %v", i+1, st.Stored, 2*published, st.PublicSet, st.Peers, st.MeshPeers, nd.set.Err())
			}
			t.Errorf("publisher: public set %d, %d peers", nodes[0].Stats().PublicSet, nodes[0].Stats().Peers)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	last := take()
	samples = append(samples, last)

	if dir := os.Getenv("KITH_SOAK_OUT"); dir != "" {
		var b strings.Builder
		b.WriteString("seconds,published,stored_min,throttled,gated,rejected,ignored,rss_anon_mib,live_heap_mib,disk_mib,live_mib,goroutines,undelivered,dropped_rpcs\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "%.0f,%d,%d,%d,%d,%d,%d,%.1f,%.1f,%.1f,%.1f,%d,%d,%d\n", s.at.Seconds(), s.published, s.storedMin, s.throttled, s.gated, s.rejected, s.ignored, s.rssMiB, s.heapMiB, s.diskMiB, s.liveMiB, s.goroutines, s.undelivered, s.droppedRPCs)
		}
		if err := os.WriteFile(filepath.Join(dir, "soak.csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		// What holds the heap at the end, with the nodes still open.
		f, err := os.Create(filepath.Join(dir, "heap.pprof"))
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
	proofBytes := float64(liveBytes) / float64(published)
	t.Logf("%d proofs of %.0f bytes in %v (%.1f a second); stored by the slower receiver: %d objects", published, proofBytes, last.at.Round(time.Second), float64(published)/last.at.Seconds(), last.storedMin)
	warm := samples[len(samples)/10]
	half := samples[len(samples)/2:]
	rssSlope, heapSlope := slopePer10Min(half, func(s soakSample) float64 { return s.rssMiB }), slopePer10Min(half, func(s soakSample) float64 { return s.heapMiB })
	t.Logf("anonymous RSS %.0f → %.0f MiB (slope over the second half %.2f MiB/10 min); live Go heap %.0f → %.0f MiB (slope %.2f MiB/10 min)", warm.rssMiB, last.rssMiB, rssSlope, warm.heapMiB, last.heapMiB, heapSlope)
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
	goroutines                          int
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
func rssMiB(t testing.TB) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
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
