package recon

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// duplex joins the halves of two io.Pipes into one end of a stream.
type duplex struct {
	io.Reader
	io.Writer
}

// pipe returns the two ends of an in-memory stream and a function that
// closes both. kind is "net" (net.Pipe, with deadlines) or "io" (io.Pipe,
// without).
func pipe(kind string) (a, b io.ReadWriter, closeAll func()) {
	if kind == "net" {
		ca, cb := net.Pipe()
		// A deadline so that a bug fails the test instead of hanging it.
		deadline := time.Now().Add(time.Minute)
		ca.SetDeadline(deadline)
		cb.SetDeadline(deadline)
		return ca, cb, func() { ca.Close(); cb.Close() }
	}
	r1, w1 := io.Pipe()
	r2, w2 := io.Pipe()
	return duplex{r1, w2}, duplex{r2, w1}, func() {
		r1.Close()
		r2.Close()
		w1.Close()
		w2.Close()
	}
}

// session runs Reconcile(local) against Serve(remote) and returns both
// outcomes.
func session(tb testing.TB, kind string, local, remote *Set, copts, sopts Options) (Result, error, error) {
	tb.Helper()
	a, b, closeAll := pipe(kind)
	defer closeAll()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, b, remote, sopts) }()
	res, err := Reconcile(ctx, a, local, copts)
	if err != nil {
		closeAll()
	}
	return res, err, <-done
}

// bruteDiff returns the keys only in b (missing from a) and only in a.
func bruteDiff(a, b []Key) (missing, extra []Key) {
	in := func(ks []Key) map[Key]bool {
		m := make(map[Key]bool, len(ks))
		for _, k := range ks {
			m[k] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for _, k := range b {
		if !ma[k] {
			missing = append(missing, k)
		}
	}
	for _, k := range a {
		if !mb[k] {
			extra = append(extra, k)
		}
	}
	sortKeys(missing)
	sortKeys(extra)
	return missing, extra
}

func checkResult(t *testing.T, res Result, local, remote *Set) {
	t.Helper()
	wm, we := bruteDiff(local.Keys(), remote.Keys())
	if !slices.Equal(res.Missing, wm) {
		t.Errorf("Missing: %d keys, want %d", len(res.Missing), len(wm))
	}
	if !slices.Equal(res.Extra, we) {
		t.Errorf("Extra: %d keys, want %d", len(res.Extra), len(we))
	}
}

func TestEqualSets(t *testing.T) {
	r := rng(t)
	for _, n := range []int{0, 1, 100, 100_000} {
		a := setOf(randKeys(r, n)...)
		b := a.clone()
		res, err, serr := session(t, "net", a, b, Options{}, Options{})
		if err != nil || serr != nil {
			t.Fatalf("n=%d: Reconcile: %v, Serve: %v", n, err, serr)
		}
		if res.Rounds != 1 || len(res.Missing) != 0 || len(res.Extra) != 0 {
			t.Fatalf("n=%d: %d rounds, %d missing, %d extra", n, res.Rounds, len(res.Missing), len(res.Extra))
		}
		// QUERY 29 + REPLY 9 + DONE 6 bytes.
		if res.BytesSent != 35 || res.BytesReceived != 9 {
			t.Fatalf("n=%d: sent %d, received %d bytes; want 35 and 9", n, res.BytesSent, res.BytesReceived)
		}
	}
}

func TestDisjoint(t *testing.T) {
	r := rng(t)
	for _, sizes := range [][2]int{{20_000, 20_000}, {0, 100_000}, {100_000, 0}, {3, 70_000}} {
		a := setOf(randKeys(r, sizes[0])...)
		b := setOf(randKeys(r, sizes[1])...)
		res, err, serr := session(t, "io", a, b, Options{}, Options{})
		if err != nil || serr != nil {
			t.Fatalf("%v: Reconcile: %v, Serve: %v", sizes, err, serr)
		}
		checkResult(t, res, a, b)
		t.Logf("%d vs %d disjoint: %d rounds, %d bytes sent, %d received", sizes[0], sizes[1], res.Rounds, res.BytesSent, res.BytesReceived)
	}
}

// TestRandomDifferences reconciles sets of 100k keys that differ by 0 to
// 10k keys, split at random between the sides, over both transports.
func TestRandomDifferences(t *testing.T) {
	r := rng(t)
	base := setOf(randKeys(r, 100_000)...)
	baseKeys := base.Keys()
	for i, d := range []int{0, 1, 2, 10, 100, 1000, 10_000} {
		a, b := base.clone(), base.clone()
		for j := 0; j < d; j++ {
			switch r.IntN(3) {
			case 0: // new key on a
				a.Add(randKey(r))
			case 1: // new key on b
				b.Add(randKey(r))
			default: // key dropped by one side
				k := baseKeys[r.IntN(len(baseKeys))]
				if r.IntN(2) == 0 {
					a.Remove(k)
				} else {
					b.Remove(k)
				}
			}
		}
		kind := []string{"net", "io"}[i%2]
		res, err, serr := session(t, kind, a, b, Options{}, Options{})
		if err != nil || serr != nil {
			t.Fatalf("d=%d: Reconcile: %v, Serve: %v", d, err, serr)
		}
		checkResult(t, res, a, b)
		t.Logf("100k, %5d differences (%s pipe): %2d rounds, %8d bytes sent, %8d received", d, kind, res.Rounds, res.BytesSent, res.BytesReceived)
	}
}

// TestConcurrentModification changes both sets while the session runs.
// Keys that differ for the whole session must be reported; keys that are
// on both sides throughout must not.
func TestConcurrentModification(t *testing.T) {
	r := rng(t)
	base := randKeys(r, 20_000)
	a, b := setOf(base...), setOf(base...)
	onlyA, onlyB := randKeys(r, 500), randKeys(r, 500)
	for _, k := range onlyA {
		a.Add(k)
	}
	for _, k := range onlyB {
		b.Add(k)
	}
	churn := randKeys(r, 2000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range []*Set{a, b} {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			cr := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := churn[cr.IntN(len(churn))]
				if cr.IntN(2) == 0 {
					s.Add(k)
				} else {
					s.Remove(k)
				}
			}
		}(uint64(i))
	}
	for i := 0; i < 3; i++ {
		res, err, serr := session(t, "net", a, b, Options{}, Options{})
		if err != nil || serr != nil {
			t.Fatalf("Reconcile: %v, Serve: %v", err, serr)
		}
		allowedM, allowedE := map[Key]bool{}, map[Key]bool{}
		for _, k := range churn {
			allowedM[k], allowedE[k] = true, true
		}
		for _, k := range onlyB {
			allowedM[k] = true
		}
		for _, k := range onlyA {
			allowedE[k] = true
		}
		for _, k := range res.Missing {
			if !allowedM[k] {
				t.Fatalf("Missing reports %s, on both sides throughout", k)
			}
		}
		for _, k := range res.Extra {
			if !allowedE[k] {
				t.Fatalf("Extra reports %s, on both sides throughout", k)
			}
		}
		for _, k := range onlyB {
			if _, ok := slices.BinarySearchFunc(res.Missing, k, Key.Compare); !ok {
				t.Fatalf("Missing lacks %s", k)
			}
		}
		for _, k := range onlyA {
			if _, ok := slices.BinarySearchFunc(res.Extra, k, Key.Compare); !ok {
				t.Fatalf("Extra lacks %s", k)
			}
		}
	}
	close(stop)
	wg.Wait()
}

func TestClientRoundCap(t *testing.T) {
	r := rng(t)
	a := setOf(randKeys(r, 5000)...)
	b := setOf(randKeys(r, 5000)...)
	res, err, serr := session(t, "net", a, b, Options{MaxRounds: 3}, Options{})
	if !errors.Is(err, ErrTooManyRounds) {
		t.Fatalf("Reconcile: %v, want ErrTooManyRounds", err)
	}
	if serr != nil {
		t.Fatalf("Serve: %v, want nil after DONE", serr)
	}
	if res.Rounds != 3 || len(res.Missing)+len(res.Extra) == 0 {
		t.Fatalf("partial result: %d rounds, %d+%d keys", res.Rounds, len(res.Missing), len(res.Extra))
	}
}

func TestServerRoundCap(t *testing.T) {
	r := rng(t)
	a := setOf(randKeys(r, 5000)...)
	b := setOf(randKeys(r, 5000)...)
	_, err, serr := session(t, "net", a, b, Options{}, Options{MaxRounds: 2})
	if !errors.Is(err, ErrTooManyRounds) || !err.(*Error).Remote {
		t.Fatalf("Reconcile: %v, want a remote ErrTooManyRounds", err)
	}
	if !errors.Is(serr, ErrTooManyRounds) {
		t.Fatalf("Serve: %v, want ErrTooManyRounds", serr)
	}
}

func TestBadOptions(t *testing.T) {
	a, b, closeAll := pipe("net")
	defer closeAll()
	if _, err := Reconcile(context.Background(), a, new(Set), Options{MaxRounds: -1}); err == nil {
		t.Fatal("Reconcile accepted MaxRounds -1")
	}
	if err := Serve(context.Background(), b, new(Set), Options{MaxRounds: -1}); err == nil {
		t.Fatal("Serve accepted MaxRounds -1")
	}
}

// TestCancel: cancelling ctx interrupts a client blocked on a silent peer.
func TestCancel(t *testing.T) {
	a, b, closeAll := pipe("net")
	defer closeAll()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan struct{})
	go func() {
		defer close(got)
		readFrame(b) // the QUERY; never answered
	}()
	errc := make(chan error, 1)
	go func() {
		_, err := Reconcile(ctx, a, setOf(randKeys(rng(t), 10)...), Options{})
		errc <- err
	}()
	<-got
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Reconcile: %v, want context.Canceled", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := Serve(ctx2, b, new(Set), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve with a cancelled ctx: %v", err)
	}

	// A server blocked reading from a silent client.
	c, d, closeCD := pipe("net")
	defer closeCD()
	ctx3, cancel3 := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx3, d, new(Set), Options{}) }()
	if _, err := c.Write(rootQuery()); err != nil { // Serve is running once this is read
		t.Fatal(err)
	}
	if _, _, err := readFrame(c); err != nil {
		t.Fatal(err)
	}
	cancel3()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v, want context.Canceled", err)
	}
}

// rawFrame builds a frame from a type and payload.
func rawFrame(version, typ byte, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(2+len(payload)))
	b = append(b, version, typ)
	return append(b, payload...)
}

func rootQuery() []byte {
	b, _ := encodeQuery(nil, []entry{{}})
	return b
}

// TestHostileClient sends broken messages to Serve: each must end the
// session with the right typed error on the server and an ERROR frame
// carrying the same code to the client.
func TestHostileClient(t *testing.T) {
	entryBytes := func(depth int, pfx []byte, count uint32, fp Fingerprint) []byte {
		b := append([]byte{byte(depth)}, pfx...)
		b = binary.BigEndian.AppendUint32(b, count)
		return append(b, fp[:]...)
	}
	query := func(entries ...[]byte) []byte {
		p := binary.BigEndian.AppendUint16(nil, uint16(len(entries)))
		for _, e := range entries {
			p = append(p, e...)
		}
		return rawFrame(Version, msgQuery, p)
	}
	var fp1 Fingerprint
	fp1[0] = 1
	many := make([][]byte, MaxEntries+1)
	for i := range many {
		many[i] = entryBytes(4, []byte{byte(i >> 8), byte(i)}, 0, Fingerprint{})
	}
	for _, tc := range []struct {
		name string
		send [][]byte
		want *Error
	}{
		{"frame too big", [][]byte{{0x00, 0x40, 0x00, 0x01}}, ErrTooLarge},
		{"huge length", [][]byte{{0xff, 0xff, 0xff, 0xff}}, ErrTooLarge},
		{"frame too small", [][]byte{{0, 0, 0, 1}}, ErrMalformed},
		{"version 2", [][]byte{rawFrame(2, msgQuery, nil)}, ErrVersion},
		{"unknown type", [][]byte{rawFrame(Version, 0x7f, nil)}, ErrMalformed},
		{"reply to server", [][]byte{rawFrame(Version, msgReply, []byte{0, 1, 0})}, ErrUnexpected},
		{"no entries", [][]byte{query()}, ErrMalformed},
		{"too many entries", [][]byte{query(many...)}, ErrTooLarge},
		{"depth 64", [][]byte{query(entryBytes(64, make([]byte, 32), 0, Fingerprint{}))}, ErrMalformed},
		{"depth 255", [][]byte{query(entryBytes(255, nil, 0, Fingerprint{}))}, ErrMalformed},
		{"padding nibble", [][]byte{query(entryBytes(1, []byte{0x1f}, 0, Fingerprint{}))}, ErrMalformed},
		{"count without fingerprint", [][]byte{query(entryBytes(0, nil, 5, Fingerprint{}))}, ErrMalformed},
		{"fingerprint without count", [][]byte{query(entryBytes(0, nil, 0, fp1))}, ErrMalformed},
		{"overlapping entries", [][]byte{query(entryBytes(1, []byte{0x10}, 0, Fingerprint{}), entryBytes(2, []byte{0x12}, 0, Fingerprint{}))}, ErrMalformed},
		{"descending entries", [][]byte{query(entryBytes(1, []byte{0x20}, 0, Fingerprint{}), entryBytes(1, []byte{0x10}, 0, Fingerprint{}))}, ErrMalformed},
		{"duplicate entries", [][]byte{query(entryBytes(1, []byte{0x20}, 0, Fingerprint{}), entryBytes(1, []byte{0x20}, 0, Fingerprint{}))}, ErrMalformed},
		{"truncated entry", [][]byte{rawFrame(Version, msgQuery, []byte{0, 1, 2, 0x12})}, ErrMalformed},
		{"trailing bytes", [][]byte{append(rootQuery()[:0:0], rawFrame(Version, msgQuery, append(rootQuery()[6:], 0))...)}, ErrMalformed},
		{"done with payload", [][]byte{rawFrame(Version, msgDone, []byte{0})}, ErrMalformed},
		{"too many rounds", [][]byte{rootQuery(), rootQuery(), rootQuery(), rootQuery()}, ErrTooManyRounds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, closeAll := pipe("net")
			defer closeAll()
			done := make(chan error, 1)
			go func() {
				done <- Serve(context.Background(), b, setOf(randKeys(rng(t), 100)...), Options{MaxRounds: 3})
			}()
			var typ byte
			var payload []byte
			for _, m := range tc.send {
				if _, err := a.Write(m); err != nil {
					t.Fatalf("write: %v", err)
				}
				var err error
				typ, payload, err = readFrame(a)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
			}
			if typ != msgError || len(payload) != 1 || Code(payload[0]) != tc.want.Code {
				t.Errorf("server sent type %#x payload %x, want ERROR %d", typ, payload, tc.want.Code)
			}
			err := <-done
			var e *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Remote {
				t.Errorf("Serve: %v, want local %v", err, tc.want)
			}
		})
	}
}

// TestHostileServer answers Reconcile with broken replies.
func TestHostileServer(t *testing.T) {
	// The first reply splits the root, so that the second query has 16
	// entries of depth 1; its first answer carries a key under 5.
	split := make([]answer, 1)
	split[0] = answer{kind: ansChildren, children: new([16]summary)}
	for c := range split[0].children {
		split[0].children[c] = summary{count: 1000, fp: Fingerprint{1}}
	}
	splitFrame, _ := encodeReply(nil, split)
	outsideAs := make([]answer, 16)
	outsideAs[0] = answer{kind: ansItems, keys: []Key{{0x50}}}
	outsideFrame, _ := encodeReply(nil, outsideAs)
	unsorted := binary.BigEndian.AppendUint16(nil, 1)
	unsorted = append(unsorted, ansItems, 0, 0, 0, 2)
	unsorted = append(unsorted, make([]byte, 64)...)
	unsorted[len(unsorted)-64] = 0x90
	unsorted[len(unsorted)-32] = 0x10
	smallChildren := binary.BigEndian.AppendUint16(nil, 1)
	smallChildren = append(smallChildren, ansChildren)
	for c := 0; c < 16; c++ {
		if c == 0 {
			smallChildren = append(smallChildren, 0, 0, 0, 16, 1)
			smallChildren = append(smallChildren, make([]byte, 15)...)
		} else {
			smallChildren = append(smallChildren, make([]byte, 20)...)
		}
	}
	for _, tc := range []struct {
		name  string
		reply [][]byte
		want  *Error
		sends bool // whether the client reports the failure with ERROR
	}{
		{"too big", [][]byte{[]byte{0x7f, 0, 0, 0}}, ErrTooLarge, true},
		{"version 9", [][]byte{rawFrame(9, msgReply, nil)}, ErrVersion, true},
		{"query to client", [][]byte{rootQuery()}, ErrUnexpected, true},
		{"wrong answer count", [][]byte{rawFrame(Version, msgReply, []byte{0, 2, 0, 0})}, ErrMalformed, true},
		{"unknown kind", [][]byte{rawFrame(Version, msgReply, []byte{0, 1, 9})}, ErrMalformed, true},
		{"item outside prefix", [][]byte{splitFrame, outsideFrame}, ErrMalformed, true},
		{"items unsorted", [][]byte{rawFrame(Version, msgReply, unsorted)}, ErrMalformed, true},
		{"children of a small range", [][]byte{rawFrame(Version, msgReply, smallChildren)}, ErrMalformed, true},
		{"too many items", [][]byte{rawFrame(Version, msgReply, []byte{0, 1, ansItems, 0, 1, 0, 1})}, ErrTooLarge, true},
		{"peer error", [][]byte{rawFrame(Version, msgError, []byte{byte(CodeInternal)})}, &Error{Code: CodeInternal}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, closeAll := pipe("net")
			defer closeAll()
			got := make(chan []byte, 1)
			go func() {
				defer close(got)
				for _, reply := range tc.reply {
					if _, _, err := readFrame(b); err != nil {
						return
					}
					if _, err := b.Write(reply); err != nil {
						return
					}
				}
				if !tc.sends {
					return
				}
				if typ, payload, err := readFrame(b); err == nil && typ == msgError {
					got <- payload
				}
			}()
			_, err := Reconcile(context.Background(), a, new(Set), Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Reconcile: %v, want %v", err, tc.want)
			}
			if tc.sends {
				p := <-got
				if len(p) != 1 || Code(p[0]) != tc.want.Code {
					t.Fatalf("client sent ERROR %x, want code %d", p, tc.want.Code)
				}
			}
		})
	}
}

// TestEndlessChildren: a server that always claims the range differs is
// stopped by the round cap, not by exhaustion.
func TestEndlessChildren(t *testing.T) {
	a, b, closeAll := pipe("net")
	defer closeAll()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			typ, payload, err := readFrame(b)
			if err != nil || typ != msgQuery {
				return
			}
			q, err := decodeQuery(payload)
			if err != nil {
				return
			}
			as := make([]answer, len(q))
			for i := range as {
				ch := new([16]summary)
				for c := range ch {
					ch[c] = summary{count: 1000, fp: Fingerprint{byte(c + 1)}}
				}
				as[i] = answer{kind: ansChildren, children: ch}
			}
			frame, err := encodeReply(nil, as)
			if err != nil {
				return
			}
			if _, err := b.Write(frame); err != nil {
				return
			}
		}
	}()
	res, err := Reconcile(context.Background(), a, new(Set), Options{MaxRounds: 6})
	if !errors.Is(err, ErrTooManyRounds) || res.Rounds != 6 {
		t.Fatalf("Reconcile: %v after %d rounds, want ErrTooManyRounds after 6", err, res.Rounds)
	}
	closeAll()
	<-done
}
