package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// TestAttackFigures measures issue 24's attacks against a real `kith run`
// daemon on loopback (the victim), with honest nodes and attackers in this
// process: for each attack, the delay of an honest proof to reach the
// victim by gossip, what the victim stored, its store's size on disk and its
// resident memory. It asserts nothing about the figures (they depend on the
// machine); it is run by hand:
//
//	KITH_ATTACK_FIGURES=1 go test -run TestAttackFigures -v ./cmd/kith/
//
// KITH_VICTIM_BIN runs another build as the victim (say, the main branch's)
// for a comparison.
func TestAttackFigures(t *testing.T) {
	if os.Getenv("KITH_ATTACK_FIGURES") == "" {
		t.Skip("set KITH_ATTACK_FIGURES=1 to measure the attacks of issue 24")
	}
	bin := kithBin
	if b := os.Getenv("KITH_VICTIM_BIN"); b != "" {
		bin = b
	}
	ctx := context.Background()
	home := filepath.Join(t.TempDir(), "victim")
	kith(t, home, "init")
	v := startVictim(t, bin, home)
	cl, err := api.Discover(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	vID, err := peer.Decode(v.peerID)
	if err != nil {
		t.Fatal(err)
	}
	vKey, err := node.PeerKey(vID)
	if err != nil {
		t.Fatal(err)
	}

	// Two honest in-process nodes, connected to the victim and each other.
	p, q := figureNode(t, nil, v.addrs[0]), figureNode(t, nil, v.addrs[0])
	if err := p.Connect(ctx, q.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // meshes
	report := func(what string) {
		st, err := cl.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lat := honestDelivery(t, cl, p, q)
		t.Logf("%-34s honest proof at the victim in %7v; victim: %6d objects, store %6.1f MiB, RSS %6.1f MiB",
			what, lat.Round(time.Millisecond), st.Objects, dirMiB(filepath.Join(home, "store")), rssMiB(t, v.cmd.Process.Pid))
	}
	report("no attack")

	// 1. Store filling through the greeting: two throwaway identities, each
	// with 2,048 consent requests about the victim and 3,072 valid proofs
	// of its own about sockpuppets (8,192 objects each).
	var attackers []*node.Node
	for range 2 {
		k := figureKey(t)
		var objs []wire.Object
		for i := range 2048 {
			objs = append(objs, figureAttestation(t, k, vKey, fmt.Sprintf("please %d", i), time.Now().Add(-time.Minute), time.Time{}))
		}
		for i := range 3072 {
			s := figureKey(t)
			a := figureAttestation(t, k, s.Public(), fmt.Sprintf("puppet %d", i), time.Now().Add(-time.Minute), time.Time{})
			objs = append(objs, a, figureConsent(t, s, a))
		}
		st := mem.New()
		if _, err := st.Put(ctx, objs...); err != nil {
			t.Fatal(err)
		}
		attackers = append(attackers, figureNodeWith(t, k, st, v.addrs[0]))
	}
	peak := watchRSS(t, v.cmd.Process.Pid)
	settle(t, cl, 90*time.Second)
	t.Logf("store filling: victim RSS peak %.1f MiB", peak())
	start := time.Now()
	rows, err := cl.Consents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("store filling: consent list: %d rows in %v", len(rows), time.Since(start).Round(time.Millisecond))
	report("after store filling (16,384 offered)")
	for _, a := range attackers {
		a.Close()
	}

	// 2. Consent-request spam: one identity, 5,000 requests as fast as the
	// victim answers.
	evil := figureKey(t)
	h := rawFigureHost(t, evil, v.addrs[0])
	var acked atomic.Int64
	start = time.Now()
	for i := range 5000 {
		a := figureAttestation(t, evil, vKey, fmt.Sprintf("spam %d", i), time.Now().Add(-time.Minute), time.Time{})
		if consentOnce(ctx, h, vID, a.Raw()) {
			acked.Add(1)
		}
	}
	t.Logf("consent spam: 5,000 requests in %v, %d acknowledged", time.Since(start).Round(time.Millisecond), acked.Load())
	start = time.Now()
	rows, err = cl.Consents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("consent spam: consent list: %d rows in %v", len(rows), time.Since(start).Round(time.Millisecond))
	report("after consent spam")

	// 3. Query flood: 16 parallel queries for everything, for 20 s, while
	// the owner lists their statements and an honest proof travels.
	var served, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	peak = watchRSS(t, v.cmd.Process.Pid)
	for range 16 {
		wg.Add(1)
		go func() { // joined below
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if queryOnce(ctx, h, vID) {
					served.Add(1)
				} else {
					refused.Add(1)
				}
			}
		}()
	}
	var lists []time.Duration
	for range 10 {
		start := time.Now()
		if _, err := cl.Attestations(ctx, api.ListRequest{By: "me"}); err != nil {
			t.Fatal(err)
		}
		lists = append(lists, time.Since(start))
		time.Sleep(500 * time.Millisecond)
	}
	report("during query flood")
	time.Sleep(10 * time.Second)
	close(stop)
	wg.Wait()
	sort.Slice(lists, func(i, j int) bool { return lists[i] < lists[j] })
	t.Logf("query flood: %d queries served, %d refused in ~20 s; local API list median %v, max %v; victim RSS peak %.1f MiB",
		served.Load(), refused.Load(), lists[len(lists)/2].Round(time.Millisecond), lists[len(lists)-1].Round(time.Millisecond), peak())

	// 4. Stale proofs: 2,000 validly signed proofs that expired an hour
	// ago, from 2,000 identities, on the gossip topic.
	gs := gossipFigureHost(t, figureKey(t), v.addrs[0])
	time.Sleep(2 * time.Second)
	cpu0 := cpuSeconds(t, v.cmd.Process.Pid)
	for range 2000 {
		s, k := figureKey(t), figureKey(t)
		a := figureAttestation(t, k, s.Public(), "stale", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
		_ = gs.topic.Publish(ctx, gossipData(a.Raw(), figureConsent(t, s, a).Raw()))
	}
	time.Sleep(2 * time.Second)
	t.Logf("stale proofs: the victim spent %.2f s of CPU on 2,000; it scores the sender %s", cpuSeconds(t, v.cmd.Process.Pid)-cpu0, peerScore(t, home, gs.id))
	report("after stale proof flood")

	// 5. API connections: 1,000 clients without the token, keeping their
	// connections open.
	fds0 := openFDsOf(t, v.cmd.Process.Pid)
	var conns []net.Conn
	for range 1000 {
		c, err := net.Dial("tcp", strings.TrimPrefix(v.api, "http://"))
		if err != nil {
			break
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /v1/status HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(v.api, "http://"))
	}
	time.Sleep(2 * time.Second)
	t.Logf("API connections: 1,000 clients without the token: victim descriptors %d → %d", fds0, openFDsOf(t, v.cmd.Process.Pid))
	for _, c := range conns {
		c.Close()
	}
	report("after connection flood")
}

// startVictim starts bin as `kith run` for home (as startDaemon, with
// another binary).
func startVictim(t *testing.T, bin, home string) *daemon {
	t.Helper()
	saved := kithBin
	kithBin = bin
	defer func() { kithBin = saved }()
	return startDaemon(t, home)
}

func figureKey(t *testing.T) *wire.PrivateKey {
	t.Helper()
	k, err := wire.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func figureAttestation(t *testing.T, k *wire.PrivateKey, about wire.PublicKey, reason string, created, expires time.Time) *wire.Attestation {
	t.Helper()
	nonce := make([]byte, wire.NonceSize)
	rand.Read(nonce)
	a := &wire.Attestation{Subject: wire.KeySubject(about), Kind: wire.Vouch, Context: "general", Strength: 70, Reason: reason,
		Created: uint64(created.Unix()), Audience: wire.PublicAudience, Nonce: nonce}
	if !expires.IsZero() {
		a.Expires = uint64(expires.Unix())
	}
	if err := a.Sign(k); err != nil {
		t.Fatal(err)
	}
	return a
}

func figureConsent(t *testing.T, subject *wire.PrivateKey, a *wire.Attestation) *wire.Consent {
	t.Helper()
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	if err := c.Sign(subject); err != nil {
		t.Fatal(err)
	}
	return c
}

func figureNode(t *testing.T, k *wire.PrivateKey, bootstrap string) *node.Node {
	t.Helper()
	if k == nil {
		k = figureKey(t)
	}
	return figureNodeWith(t, k, mem.New(), bootstrap)
}

func figureNodeWith(t *testing.T, k *wire.PrivateKey, st *mem.Store, bootstrap string) *node.Node {
	t.Helper()
	n, err := node.Start(context.Background(), node.Config{Key: k, Store: st, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Bootstrap: []string{bootstrap}, NoMDNS: true, NoDHT: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	figureKeys.Store(n.ID(), k)
	return n
}

// honestDelivery has p vouch publicly for q, q approve once the consent
// request arrived, and returns how long the proof took from the approval
// to the victim's store (by gossip: the victim is neither issuer nor
// subject).
func honestDelivery(t *testing.T, cl *api.Client, p, q *node.Node) time.Duration {
	t.Helper()
	ctx := context.Background()
	qk, _ := node.PeerKey(q.ID())
	a := figureAttestation(t, figureKeyOf(t, p), qk, "honest "+time.Now().Format(time.RFC3339Nano), time.Now(), time.Time{})
	if err := p.Submit(ctx, a); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := q.Approve(ctx, a.CID()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the consent request did not reach its subject")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	for time.Since(start) < 2*time.Minute {
		as, err := cl.Attestations(ctx, api.ListRequest{About: qk.String()})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range as {
			if x.CID == a.CID().String() {
				return time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return -1
}

var figureKeys sync.Map // peer.ID -> *wire.PrivateKey

func figureKeyOf(t *testing.T, n *node.Node) *wire.PrivateKey {
	if k, ok := figureKeys.Load(n.ID()); ok {
		return k.(*wire.PrivateKey)
	}
	t.Fatal("no key recorded for the node")
	return nil
}

// settle waits until the victim's object count has not changed for 5 s.
func settle(t *testing.T, cl *api.Client, max time.Duration) {
	t.Helper()
	last, since := -1, time.Now()
	for start := time.Now(); time.Since(start) < max; time.Sleep(500 * time.Millisecond) {
		st, err := cl.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Objects != last {
			last, since = st.Objects, time.Now()
		} else if time.Since(since) > 5*time.Second {
			return
		}
	}
}

// watchRSS samples a process's RSS every 100 ms until the test ends; the
// function returned gives the peak so far.
func watchRSS(t *testing.T, pid int) func() float64 {
	var mu sync.Mutex
	peak := 0.0
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // joined at cleanup
		defer wg.Done()
		for {
			r := rssMiB(t, pid)
			mu.Lock()
			peak = max(peak, r)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
	return func() float64 { mu.Lock(); defer mu.Unlock(); return peak }
}

// dirMiB is the disk space the files under dir take (allocated blocks:
// badger's memtable and value log files are sparse).
func dirMiB(dir string) float64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				}
			}
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

func cpuSeconds(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100 // clock ticks
}

func openFDsOf(t *testing.T, pid int) int {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return len(es)
}

func peerScore(t *testing.T, home string, id peer.ID) string {
	out := string(kith(t, home, "peers"))
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, id.String()) {
			return strings.Join(strings.Fields(line)[1:3], " ")
		}
	}
	return "(no longer a peer)"
}

func rawFigureHost(t *testing.T, k *wire.PrivateKey, addr string) host.Host {
	t.Helper()
	priv, _, err := node.Identity(k)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.NoListenAddrs, libp2p.Transport(tcp.NewTCPTransport), libp2p.Security(noise.ID, noise.New))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(context.Background(), *ai); err != nil {
		t.Fatal(err)
	}
	return h
}

type gossipFigure struct {
	id    peer.ID
	topic *pubsub.Topic
}

func gossipFigureHost(t *testing.T, k *wire.PrivateKey, addr string) gossipFigure {
	t.Helper()
	h := rawFigureHost(t, k, addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor(), pubsub.WithMessageIdFn(node.GossipID))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(node.TopicName)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	return gossipFigure{h.ID(), tp}
}

// gossipData is the canonical gossip message {"v": 1, "objs": [...]}.
func gossipData(objs ...[]byte) []byte {
	b := []byte{0xa2, 0x61, 'v', 0x01, 0x64, 'o', 'b', 'j', 's', 0x80 + byte(len(objs))}
	for _, o := range objs {
		switch n := len(o); {
		case n < 24:
			b = append(b, 0x40+byte(n))
		case n < 256:
			b = append(b, 0x58, byte(n))
		default:
			b = append(b, 0x59, byte(n>>8), byte(n))
		}
		b = append(b, o...)
	}
	return b
}

func frame(w io.Writer, b []byte) error {
	if _, err := w.Write(binary.AppendUvarint(nil, uint64(len(b)))); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

func consentOnce(ctx context.Context, h host.Host, p peer.ID, raw []byte) bool {
	s, err := h.NewStream(ctx, p, protocol.ID(node.ConsentProtocol))
	if err != nil {
		return false
	}
	defer s.Close()
	if frame(s, raw) != nil || s.CloseWrite() != nil {
		s.Reset()
		return false
	}
	n, err := binary.ReadUvarint(bufio.NewReader(s))
	return err == nil && n == 0
}

// queryOnce sends query {} and reads the whole response.
func queryOnce(ctx context.Context, h host.Host, p peer.ID) bool {
	s, err := h.NewStream(ctx, p, protocol.ID(node.ExchangeProtocol))
	if err != nil {
		return false
	}
	defer s.Close()
	req := []byte{0xa2, 0x61, 'v', 0x01, 0x62, 'o', 'p', 0x65, 'q', 'u', 'e', 'r', 'y'}
	if frame(s, req) != nil || s.CloseWrite() != nil {
		s.Reset()
		return false
	}
	r := bufio.NewReader(s)
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return false
		}
		if n == 0 {
			return true
		}
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return false
		}
	}
}
