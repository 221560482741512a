package node

import (
	"bytes"
	"context"
	cryptoRand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// testNet is a network of nodes on a mocknet, in one process.
type testNet struct {
	t     *testing.T
	mn    mocknet.Mocknet
	nodes []*Node
	keys  []*wire.PrivateKey
	rng   *rand.Rand

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever any node stores something
	tapped    []tapped
	attackers int // attacker hosts added (each gets an address of its own)
}

type tapped struct {
	proto string
	to    peer.ID
	b     []byte
}

// seedOf derives a test's seed from its name.
func seedOf(t testing.TB) uint64 {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return h.Sum64()
}

type netOptions struct {
	degree int  // random connections per node (0 = all)
	tap    bool // record every outgoing byte
	resync time.Duration
	// configure, if set, adjusts node i's configuration before it starts.
	configure func(i int, c *Config)
	// links, if set, lists the pairs of nodes to connect instead of the
	// random graph of degree.
	links [][2]int
}

func newTestNet(t *testing.T, n int, o netOptions) *testNet {
	t.Helper()
	tn := &testNet{t: t, mn: mocknet.New(), rng: rand.New(rand.NewPCG(seedOf(t), 1)), changed: make(chan struct{})}
	t.Cleanup(func() { tn.mn.Close() })
	keyRand := rand.NewChaCha8([32]byte{byte(seedOf(t))})
	for i := 0; i < n; i++ {
		k, err := wire.GeneratePrivateKey(keyRand)
		if err != nil {
			t.Fatal(err)
		}
		tn.keys = append(tn.keys, k)
	}
	for i, k := range tn.keys {
		priv, _, err := Identity(k)
		if err != nil {
			t.Fatal(err)
		}
		addr := ma.StringCast(fmt.Sprintf("/ip4/100.64.%d.%d/tcp/4001", i/250, i%250+1))
		h, err := tn.mn.AddPeer(priv, addr)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{
			Key: k, Store: mem.New(), Host: h, Seed: uint64(i),
			ResyncInterval: o.resync,
			Logger:         testLogger(t),
			OnStored:       func([]wire.Object) { tn.notify() },
		}
		if o.configure != nil {
			o.configure(i, &cfg)
		}
		if o.tap {
			cfg.tap = func(proto string, to peer.ID, b []byte) {
				tn.mu.Lock()
				tn.tapped = append(tn.tapped, tapped{proto, to, b})
				tn.mu.Unlock()
			}
		}
		nd, err := Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := nd.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		tn.nodes = append(tn.nodes, nd)
	}
	if err := tn.mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if o.links != nil {
		for _, l := range o.links {
			if _, err := tn.mn.ConnectPeers(tn.nodes[l[0]].ID(), tn.nodes[l[1]].ID()); err != nil {
				t.Fatal(err)
			}
		}
		return tn
	}
	tn.connect(o.degree)
	return tn
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("KITH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// connect wires each node to degree random others (all if degree is 0), in
// a ring first so the graph is connected.
func (tn *testNet) connect(degree int) {
	n := len(tn.nodes)
	pairs := map[[2]int]bool{}
	add := func(i, j int) {
		if i == j {
			return
		}
		if i > j {
			i, j = j, i
		}
		pairs[[2]int{i, j}] = true
	}
	for i := 0; i < n; i++ {
		if degree == 0 {
			for j := i + 1; j < n; j++ {
				add(i, j)
			}
			continue
		}
		add(i, (i+1)%n)
		for len(tn.neighbours(pairs, i)) < degree {
			add(i, tn.rng.IntN(n))
		}
	}
	for p := range pairs {
		if _, err := tn.mn.ConnectPeers(tn.nodes[p[0]].ID(), tn.nodes[p[1]].ID()); err != nil {
			tn.t.Fatal(err)
		}
	}
}

func (tn *testNet) neighbours(pairs map[[2]int]bool, i int) []int {
	var out []int
	for p := range pairs {
		if p[0] == i {
			out = append(out, p[1])
		} else if p[1] == i {
			out = append(out, p[0])
		}
	}
	return out
}

func (tn *testNet) notify() {
	tn.mu.Lock()
	close(tn.changed)
	tn.changed = make(chan struct{})
	tn.mu.Unlock()
}

// waitFor waits until cond holds, re-checking whenever a node stores
// something (and at least every 100 ms, for changes that store nothing).
func (tn *testNet) waitFor(timeout time.Duration, what string, cond func() bool) time.Duration {
	tn.t.Helper()
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		tn.mu.Lock()
		ch := tn.changed
		tn.mu.Unlock()
		if cond() {
			return time.Since(start)
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			tn.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// has reports how many nodes hold the object with CID c.
func (tn *testNet) has(c cid.Cid) int {
	k := 0
	for _, nd := range tn.nodes {
		if ok, _ := nd.cfg.Store.Has(context.Background(), c); ok {
			k++
		}
	}
	return k
}

var testNow = time.Now

// attest signs an attestation by key about subject.
func attest(t testing.TB, key *wire.PrivateKey, subject wire.PublicKey, kind wire.Kind, aud wire.Audience, reason string) *wire.Attestation {
	t.Helper()
	nonce := make([]byte, wire.NonceSize)
	if _, err := cryptoRand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	a := &wire.Attestation{
		Subject: wire.KeySubject(subject), Kind: kind, Context: "general", Strength: 60,
		Reason: reason, Created: uint64(testNow().Unix()), Audience: aud, Nonce: nonce,
	}
	if err := a.Sign(key); err != nil {
		t.Fatal(err)
	}
	return a
}

// proof makes node i vouch publicly for node j, delivers the consent
// request, and has j approve it. It returns the attestation and consent.
func (tn *testNet) proof(i, j int, reason string) (*wire.Attestation, *wire.Consent) {
	tn.t.Helper()
	ctx := context.Background()
	a := attest(tn.t, tn.keys[i], tn.keys[j].Public(), wire.Vouch, wire.PublicAudience, reason)
	if err := tn.nodes[i].Submit(ctx, a); err != nil {
		tn.t.Fatal(err)
	}
	// 30 s: a first attempt that fails (a DHT lookup on a loaded machine)
	// is retried after outboxFirst (10 s).
	tn.waitFor(time.Minute, "the consent request to arrive", func() bool {
		ok, _ := tn.nodes[j].cfg.Store.Has(ctx, a.CID())
		return ok
	})
	reqs, err := tn.nodes[j].ConsentRequests(ctx)
	if err != nil {
		tn.t.Fatal(err)
	}
	found := false
	for _, r := range reqs {
		found = found || (r.Attestation.CID().Equals(a.CID()) && r.State == ConsentPending)
	}
	if !found {
		tn.t.Fatalf("node %d lists no pending consent request for %s: %+v", j, a.CID(), reqs)
	}
	c, err := tn.nodes[j].Approve(ctx, a.CID())
	if err != nil {
		tn.t.Fatal(err)
	}
	return a, c
}

// waitMeshes waits until every node has gossip peers on the topic.
func (tn *testNet) waitMeshes() {
	tn.t.Helper()
	tn.waitFor(time.Minute, "every node's gossip mesh", func() bool {
		for _, nd := range tn.nodes {
			tp := len(nd.topic.ListPeers())
			if tp == 0 || int(nd.mesh.Load()) < min(tp, 4) {
				return false
			}
		}
		return true
	})
}

// scan looks for a canary in every byte the nodes sent, in the encodings
// an implementation might leak it in.
func (tn *testNet) scan(canary []byte) []string {
	forms := [][]byte{canary, []byte(hex.EncodeToString(canary)), []byte(base64.StdEncoding.EncodeToString(canary)), []byte(base64.RawURLEncoding.EncodeToString(canary))}
	tn.mu.Lock()
	defer tn.mu.Unlock()
	var hits []string
	for _, tp := range tn.tapped {
		for _, f := range forms {
			if bytes.Contains(tp.b, f) {
				hits = append(hits, fmt.Sprintf("%s to %s", tp.proto, tp.to))
			}
		}
	}
	return hits
}

func (tn *testNet) tappedBytes() int {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	s := 0
	for _, tp := range tn.tapped {
		s += len(tp.b)
	}
	return s
}

// storeHolds reports whether st holds an object whose encoding contains b.
func storeHolds(t testing.TB, st store.Store, b []byte) bool {
	found := false
	err := st.All(context.Background(), func(o wire.Object) error {
		found = found || bytes.Contains(o.Raw(), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
