package node

import (
	"context"
	cryptoRand "crypto/rand"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autonat"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

var loopback = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}

// Two nodes on real libp2p hosts (TCP and QUIC on loopback): bootstrap,
// consent request, approval, gossip; then a restarted node finds its peer
// again from the peer book alone.
func TestRealHosts(t *testing.T) {
	ctx := context.Background()
	ka, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	kb, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	sa, sb := mem.New(), mem.New()
	changed := make(chan struct{}, 16)
	onStored := func([]wire.Object) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	a, err := Start(ctx, Config{Key: ka, Store: sa, Listen: loopback, NoMDNS: true, Logger: testLogger(t), OnStored: onStored})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, addr := range a.Addrs() {
		if !hasPrefix(addr, "/ip4/127.0.0.1/") {
			t.Fatalf("listening on %s, not loopback", addr)
		}
	}
	dirB := t.TempDir()
	b, err := Start(ctx, Config{Key: kb, Store: sb, DataDir: dirB, Listen: loopback[1:], Bootstrap: a.Addrs()[:1], NoMDNS: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case <-changed:
			case <-tick.C:
			case <-deadline:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("the nodes to connect", func() bool { return len(a.topicPeers()) == 1 && len(b.topicPeers()) == 1 })

	att := attest(t, ka, kb.Public(), wire.Vouch, wire.PublicAudience, "over TCP and QUIC")
	if err := a.Submit(ctx, att); err != nil {
		t.Fatal(err)
	}
	wait("the consent request", func() bool { ok, _ := sb.Has(ctx, att.CID()); return ok })
	c, err := b.Approve(ctx, att.CID())
	if err != nil {
		t.Fatal(err)
	}
	wait("the consent to reach the issuer", func() bool { ok, _ := sa.Has(ctx, c.CID()); return ok })
	if !a.InPublicSet(att.CID()) {
		t.Fatal("the proof is not in the issuer's public set")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Restart b without bootstrap peers: the peer book brings a back.
	b2, err := Start(ctx, Config{Key: kb, Store: sb, DataDir: dirB, Listen: loopback[1:], NoMDNS: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	wait("the restarted node to reconnect from its peer book", func() bool { return len(b2.topicPeers()) == 1 })
	if ps := b2.Peers(); len(ps) != 1 || ps[0].ID != a.ID() || !ps[0].Connected {
		t.Fatalf("peers after restart: %+v", ps)
	}
}

// The host a node builds (buildHost) connects to another over TCP (Noise,
// yamux) and over QUIC, each alone; identify and ping answer; it has the
// relay transport and AutoNAT, as libp2p.New gave it; and it has no
// transport for WebSocket, WebTransport or WebRTC addresses.
func TestHostTransports(t *testing.T) {
	start := func(t *testing.T, listen string) (*Node, error) {
		n, err := Start(t.Context(), Config{Key: mustKey(t), Store: mem.New(), Listen: []string{listen}, NoMDNS: true, NoDHT: true, Logger: testLogger(t)})
		if err == nil {
			t.Cleanup(func() { n.Close() })
		}
		return n, err
	}
	for _, tc := range []struct {
		name, listen string
		proto        int
	}{
		{"tcp", "/ip4/127.0.0.1/tcp/0", ma.P_TCP},
		{"quic", "/ip4/127.0.0.1/udp/0/quic-v1", ma.P_QUIC_V1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := start(t, tc.listen)
			if err != nil {
				t.Fatal(err)
			}
			b, err := start(t, tc.listen)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := b.Host().Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Host().Addrs()}); err != nil {
				t.Fatal(err)
			}
			conns := b.Host().Network().ConnsToPeer(a.ID())
			if len(conns) == 0 {
				t.Fatal("connected, but no connection to the peer")
			}
			c := conns[0]
			if _, err := c.RemoteMultiaddr().ValueForProtocol(tc.proto); err != nil {
				t.Fatalf("connected over %s, want %s", c.RemoteMultiaddr(), tc.name)
			}
			if st := c.ConnState(); tc.proto == ma.P_TCP && (st.Security != noise.ID || st.StreamMultiplexer != yamux.ID) {
				t.Errorf("TCP connection secured by %q, multiplexed by %q; want %q and %q", st.Security, st.StreamMultiplexer, noise.ID, yamux.ID)
			}
			ids := b.Host().(interface{ IDService() identify.IDService }).IDService()
			select {
			case <-ids.IdentifyWait(c):
			case <-ctx.Done():
				t.Fatal("identify did not complete")
			}
			if ps, err := b.Host().Peerstore().SupportsProtocols(a.ID(), ExchangeProtocol); err != nil || len(ps) != 1 {
				t.Errorf("identify: peer supports %v of %s (%v)", ps, ExchangeProtocol, err)
			}
			if r := <-ping.Ping(ctx, b.Host(), a.ID()); r.Error != nil {
				t.Errorf("ping: %v", r.Error)
			}
			if b.Host().(interface{ GetAutoNat() autonat.AutoNAT }).GetAutoNat() == nil {
				t.Error("no AutoNAT")
			}
			circuit := ma.StringCast(a.Addrs()[0] + "/p2p-circuit/p2p/" + b.ID().String())
			if b.Host().Network().(*swarm.Swarm).TransportForDialing(circuit) == nil {
				t.Error("no relay transport")
			}
		})
	}
	for _, addr := range []string{"/ip4/127.0.0.1/tcp/0/ws", "/ip4/127.0.0.1/udp/0/quic-v1/webtransport", "/ip4/127.0.0.1/udp/0/webrtc-direct"} {
		if _, err := start(t, addr); err == nil {
			t.Errorf("a node listens on %s", addr)
		} else {
			t.Logf("listening on %s: %v", addr, err)
		}
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// A node closed leaves no goroutine of its own behind: start and close a
// node on a real host a few times and compare the goroutine count with the
// one before (libp2p keeps a few process-wide workers after the first use,
// which the warm-up absorbs).
func TestCloseJoinsGoroutines(t *testing.T) {
	ctx := context.Background()
	run := func() {
		k, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
		n, err := Start(ctx, Config{Key: k, Store: mem.New(), Listen: loopback, NoMDNS: true, DataDir: t.TempDir(), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run() // warm-up
	// Goroutines of closed connections wind down asynchronously, and
	// pubsub's heartbeat timer sleeps its initial delay (100 ms) before it
	// sees the cancellation: wait until the count holds for 250 ms (at
	// most 5 s).
	settle := func() int {
		n, stable := runtime.NumGoroutine(), 0
		for i := 0; i < 200 && stable < 10; i++ {
			time.Sleep(25 * time.Millisecond)
			if m := runtime.NumGoroutine(); m == n {
				stable++
			} else {
				n, stable = m, 0
			}
		}
		return n
	}
	before := settle()
	for i := 0; i < 5; i++ {
		run()
	}
	after := settle()
	if after > before+3 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after 5 start/close cycles\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	t.Logf("goroutines: %d before, %d after 5 start/close cycles", before, after)
}

// Objects the owner imports into a running node (a bundle of someone
// else's consented public statement) join its public set at once, as if
// fetched from a peer; an unconsented one does not (spec/node-v1.md §4).
func TestImportJoinsPublicSet(t *testing.T) {
	ctx := context.Background()
	k, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	issuer, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	subject, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	n, err := Start(ctx, Config{Key: k, Store: mem.New(), Listen: loopback[:1], NoMDNS: true, DataDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	consented := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "imported")
	c := &wire.Consent{Target: wire.LinkTo(consented.CID()), Created: consented.Created}
	if err := c.Sign(subject); err != nil {
		t.Fatal(err)
	}
	alone := attest(t, issuer, subject.Public(), wire.Warn, wire.PublicAudience, "no consent")
	before := n.PublicSetLen()
	added, err := n.Import(ctx, consented, c, alone)
	if err != nil {
		t.Fatal(err)
	}
	if added != 3 {
		t.Fatalf("Import stored %d objects, want 3", added)
	}
	if !n.InPublicSet(consented.CID()) || !n.InPublicSet(c.CID()) {
		t.Fatal("the imported consented statement is not in the running node's public set")
	}
	if n.InPublicSet(alone.CID()) {
		t.Fatal("an imported statement without consent joined the public set")
	}
	if got := n.PublicSetLen() - before; got != 2 {
		t.Fatalf("the public set grew by %d, want 2", got)
	}
	if again, err := n.Import(ctx, consented, c); err != nil || again != 0 {
		t.Fatalf("importing again: %d added, %v; want 0, nil", again, err)
	}
}
