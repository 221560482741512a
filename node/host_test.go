package node

import (
	"context"
	cryptoRand "crypto/rand"
	"runtime"
	"testing"
	"time"

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
