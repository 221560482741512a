package badger

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// The crash tests run a writer in a child process (this test binary,
// re-executed with -test.run=^TestCrashWriter$), kill it with SIGKILL at a
// random moment, and check what a reopened store holds.

const (
	envCrashDir  = "KITH_CRASH_DIR"  // the child's store directory; set only in the child
	envCrashSeed = "KITH_CRASH_SEED" // the child's run seed; in the parent, the base seed
	envCrashRuns = "KITH_CRASH_RUNS" // number of TestCrash runs

	crashWriters     = 4  // writer goroutines in the child
	crashMaxBatch    = 16 // Put batch sizes are 1..crashMaxBatch
	crashIssuers     = 8
	crashDefaultRuns = 20
	crashMinKill     = 50 * time.Millisecond
	crashMaxKill     = 600 * time.Millisecond
	crashTime        = 1_700_000_000
)

var crashRunsFlag = flag.Int("crash.runs", 0, "number of TestCrash runs (default $"+envCrashRuns+" or 20)")

var crashContexts = []string{"general", "expertise:go", "trade"}

// crashKeys returns the issuer keys of a run: derived from its seed, so
// that only the writer of that run (and the checker) can sign with them.
func crashKeys(seed uint64) []*wire.PrivateKey {
	ks := make([]*wire.PrivateKey, crashIssuers)
	for n := range ks {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], seed)
		binary.BigEndian.PutUint64(b[8:], uint64(n))
		ks[n] = wire.NewPrivateKey(sha256.Sum256(append([]byte("kith crash test issuer\x00"), b[:]...)))
	}
	return ks
}

// crashObject returns the i-th attestation of writer w in the run with
// seed: a pure function of its arguments (Ed25519 signatures are
// deterministic). The nonce records seed, w and i, so any stored object
// can be regenerated and compared byte for byte.
func crashObject(keys []*wire.PrivateKey, seed uint64, w, i int) (*wire.Attestation, error) {
	k := keys[(w*7+i)%len(keys)]
	other := keys[(w*7+i+1)%len(keys)].Public()
	var subj wire.Subject
	switch i % 3 {
	case 0:
		subj.Key = &other
	case 1:
		subj.Acct = fmt.Sprintf("acct:user%d@w%d.example", i%5, w)
	default:
		subj.Key = &other
		subj.Acct = fmt.Sprintf("acct:user%d@w%d.example", i%5, w)
	}
	kind := wire.Vouch
	if i%2 == 1 {
		kind = wire.Warn
	}
	nonce := make([]byte, 0, wire.NonceSize)
	nonce = binary.BigEndian.AppendUint32(nonce, uint32(seed))
	nonce = binary.BigEndian.AppendUint32(nonce, uint32(w))
	nonce = binary.BigEndian.AppendUint64(nonce, uint64(i))
	a := &wire.Attestation{
		Subject:  subj,
		Kind:     kind,
		Context:  crashContexts[i%len(crashContexts)],
		Strength: uint64(1 + i%wire.MaxStrength),
		Created:  uint64(crashTime + i),
		Audience: wire.PublicAudience,
		Nonce:    nonce,
	}
	return a, a.Sign(k)
}

// TestCrashWriter is the child process of the crash tests; it does nothing
// unless run by them. It writes until it is killed, printing "ack <cid>"
// for each object only after the Put holding it returned nil.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("helper process of TestCrash and TestTornTail")
	}
	seed, err := strconv.ParseUint(os.Getenv(envCrashSeed), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	out := &lineWriter{w: os.Stdout}
	fail := func(err error) {
		out.write("error " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n")
		os.Exit(2)
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir, EncryptionKey: testKey})
	if err != nil {
		fail(err)
	}
	// A safety net in case the parent never kills this process.
	time.AfterFunc(time.Minute, func() { fail(errors.New("not killed within a minute")) })
	keys := crashKeys(seed)
	out.write("ready\n")
	for w := range crashWriters {
		go func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; ; {
				batch := make([]wire.Object, 1+rng.IntN(crashMaxBatch))
				for j := range batch {
					a, err := crashObject(keys, seed, w, i+j)
					if err != nil {
						fail(err)
					}
					batch[j] = a
				}
				if _, err := s.Put(ctx, batch...); err != nil {
					fail(err)
				}
				var b strings.Builder
				for _, o := range batch {
					b.WriteString("ack " + o.CID().String() + "\n")
				}
				out.write(b.String())
				i += len(batch)
			}
		}()
	}
	select {}
}

// lineWriter writes whole lines with one write call each.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, s)
}

// runWriter runs a writer on dir and kills it with SIGKILL killAfter after
// it reports ready. It returns the CIDs the writer acknowledged.
func runWriter(t *testing.T, dir string, seed uint64, killAfter time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashSeed+"="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		acked  []string
		failed string
		ready  = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "ready":
				close(ready)
			case strings.HasPrefix(line, "ack "):
				acked = append(acked, strings.TrimPrefix(line, "ack "))
			case strings.HasPrefix(line, "error "):
				failed = line
			}
		}
	}()
	exited := func() {
		cmd.Wait()
		t.Fatalf("writer exited on its own: %s\nstderr:\n%s", failed, stderr.Bytes())
	}
	select {
	case <-ready:
	case <-done:
		exited()
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		t.Fatalf("writer not ready after 2 minutes\nstderr:\n%s", stderr.Bytes())
	}
	kill := time.NewTimer(killAfter)
	select {
	case <-kill.C:
	case <-done:
		exited()
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done // read every line the writer wrote before it died
	err = cmd.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.Exited() {
		t.Fatalf("writer: %v, want killed by a signal\nstderr:\n%s", err, stderr.Bytes())
	}
	if bytes.Contains(stderr.Bytes(), []byte("DATA RACE")) {
		t.Fatalf("the writer reported a data race:\n%s", stderr.Bytes())
	}
	if failed != "" {
		t.Fatalf("writer: %s", failed)
	}
	return acked
}

// audit is what a check of a reopened store found.
type audit struct {
	acked, stored, lost, phantoms int
	reopen                        time.Duration
}

// auditStore checks every object of s: it must verify (wire.Open) and be
// byte-identical to what the writer of the run could have generated. It
// counts acknowledged objects that are missing, and checks that the
// issuer index agrees with the objects.
func auditStore(t *testing.T, s *Store, seed uint64, acked []string) audit {
	t.Helper()
	ctx := context.Background()
	keys := crashKeys(seed)
	now := time.Now()
	a := audit{acked: len(acked)}
	byIssuer := make(map[wire.PublicKey][]string)
	err := s.All(ctx, func(o wire.Object) (err error) {
		a.stored++
		if _, err := wire.Open(o.Raw(), now); err != nil {
			return fmt.Errorf("stored object %s does not verify: %w", o.CID(), err)
		}
		att, ok := o.(*wire.Attestation)
		if !ok || len(att.Nonce) != wire.NonceSize || binary.BigEndian.Uint32(att.Nonce) != uint32(seed) {
			a.phantoms++
			t.Errorf("phantom: %s %s was not written by this run", o.Type(), o.CID())
			return nil
		}
		w := binary.BigEndian.Uint32(att.Nonce[4:])
		i := binary.BigEndian.Uint64(att.Nonce[8:])
		var want *wire.Attestation
		if w < crashWriters && i < 1<<32 {
			if want, err = crashObject(keys, seed, int(w), int(i)); err != nil {
				return err
			}
		}
		if want == nil || !bytes.Equal(want.Raw(), att.Raw()) {
			a.phantoms++
			t.Errorf("phantom: %s (writer %d, index %d) differs from what the writer generates", o.CID(), w, i)
			return nil
		}
		byIssuer[att.Issuer] = append(byIssuer[att.Issuer], att.CID().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		c, err := wire.ParseCID(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Has(ctx, c); err != nil {
			t.Fatal(err)
		} else if !ok {
			a.lost++
		}
	}
	for issuer, want := range byIssuer {
		got, err := s.Attestations(ctx, store.Query{Issuer: &issuer, Retracted: true})
		if err != nil {
			t.Fatal(err)
		}
		gotIDs := make([]string, len(got))
		for i, g := range got {
			gotIDs[i] = g.CID().String()
		}
		slices.Sort(gotIDs)
		slices.Sort(want)
		if !slices.Equal(gotIDs, want) {
			t.Errorf("issuer %s: query finds %d attestations, the store holds %d", issuer, len(gotIDs), len(want))
		}
	}
	if err := checkConsistency(ctx, s); err != nil {
		t.Errorf("index consistency: %v", err)
	}
	return a
}

// crashSeed returns the base seed: $KITH_CRASH_SEED, or one derived from
// the test's name.
func crashSeed(t *testing.T) uint64 {
	if v := os.Getenv(envCrashSeed); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", envCrashSeed, err)
		}
		return seed
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return h.Sum64()
}

func crashRuns(t *testing.T) int {
	if *crashRunsFlag > 0 {
		return *crashRunsFlag
	}
	if v := os.Getenv(envCrashRuns); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", envCrashRuns, v)
		}
		return n
	}
	return crashDefaultRuns
}

// TestCrash kills a writer at random moments and checks that the reopened
// store lost no acknowledged object, holds no object the writer could not
// have written, and has indexes consistent with its objects.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	if os.Getenv(envCrashDir) != "" {
		t.Skip("inside a writer process")
	}
	runs, base := crashRuns(t), crashSeed(t)
	t.Logf("%d runs, base seed %d (set %s to vary)", runs, base, envCrashSeed)
	var (
		mu      sync.Mutex
		results []audit
	)
	t.Run("run", func(t *testing.T) {
		for r := range runs {
			seed := base + uint64(r)
			t.Run(strconv.Itoa(r), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(seed, 0x6b697468))
				killAfter := crashMinKill + time.Duration(rng.Int64N(int64(crashMaxKill-crashMinKill)+1))
				dir := t.TempDir()
				acked := runWriter(t, dir, seed, killAfter)
				start := time.Now()
				s, err := Open(context.Background(), Options{Dir: dir, EncryptionKey: testKey})
				reopen := time.Since(start)
				if err != nil {
					t.Fatalf("reopen after kill: %v", err)
				}
				defer s.Close()
				a := auditStore(t, s, seed, acked)
				a.reopen = reopen
				t.Logf("seed %d: killed %v after ready; acked %d, stored %d, lost %d, phantoms %d; reopen %v",
					seed, killAfter.Round(time.Millisecond), a.acked, a.stored, a.lost, a.phantoms, reopen.Round(time.Millisecond))
				if a.lost > 0 {
					t.Errorf("%d acknowledged objects lost", a.lost)
				}
				if a.stored < a.acked {
					t.Errorf("store holds %d objects, fewer than the %d acknowledged", a.stored, a.acked)
				}
				mu.Lock()
				results = append(results, a)
				mu.Unlock()
			})
		}
	})
	var sum audit
	for _, a := range results {
		sum.acked += a.acked
		sum.stored += a.stored
		sum.lost += a.lost
		sum.phantoms += a.phantoms
		sum.reopen = max(sum.reopen, a.reopen)
	}
	t.Logf("%d runs: acked %d, stored %d, lost %d, phantoms %d, max reopen %v",
		len(results), sum.acked, sum.stored, sum.lost, sum.phantoms, sum.reopen.Round(time.Millisecond))
}
