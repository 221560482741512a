package node

import (
	"context"
	cryptoRand "crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// A consent request reaches a subject the issuer was never told about: the
// issuer finds it through the DHT of the nodes it knows. (Real hosts on
// loopback: a bootstraps from b, c from b.)
func TestConsentRequestThroughDHT(t *testing.T) {
	ctx := context.Background()
	var keys [3]*wire.PrivateKey
	var nodes [3]*Node
	for i := range keys {
		keys[i], _ = wire.GeneratePrivateKey(cryptoRand.Reader)
	}
	sc := mem.New()
	for i := range nodes {
		cfg := Config{Key: keys[i], Store: mem.New(), Listen: loopback[:1], NoMDNS: true, MinPeers: 1, Logger: testLogger(t)}
		if i == 2 {
			cfg.Store = sc
		}
		switch i {
		case 1:
			cfg.Bootstrap = nodes[0].Addrs()[:1]
		case 2:
			cfg.Bootstrap = nodes[1].Addrs()[:1]
		}
		n, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes[i] = n
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	// Connected is not enough: the DHT takes a peer into its routing table
	// only after identify and a FIND_NODE answered, and b tells a of c only
	// once it holds c's listen addresses. A lookup before that finds nobody
	// and the request waits for the outbox's retry (outboxFirst), which
	// this test must not lean on. So wait for that state: a's table holds
	// b, b's holds c.
	pollUntil(t, time.Minute, "a's DHT holding b and b's holding c", func() bool {
		return a.dht.RoutingTable().Find(b.ID()) != "" && b.dht.RoutingTable().Find(c.ID()) != ""
	})
	// Without the DHT, a node cannot reach a peer it has no address for.
	off, err := Start(ctx, Config{Key: mustKey(t), Store: mem.New(), Listen: loopback[:1], NoMDNS: true, NoDHT: true, Bootstrap: nodes[1].Addrs()[:1], Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if err := off.reach(ctx, c.ID()); err == nil || !strings.Contains(err.Error(), "DHT is off") {
		t.Fatalf("reaching an unknown peer without the DHT: %v", err)
	}
	att := attest(t, keys[0], keys[2].Public(), wire.Vouch, wire.PublicAudience, "found through the DHT")
	if err := a.Submit(ctx, att); err != nil {
		t.Fatal(err)
	}
	// The first attempt must deliver: a failure lands in a's outbox, and
	// the test stops there instead of waiting out a retry.
	pollUntil(t, time.Minute, "the consent request delivered or failed", func() bool {
		ok, _ := sc.Has(ctx, att.CID())
		return ok || a.outbox.len() > 0
	})
	if ok, _ := sc.Has(ctx, att.CID()); !ok {
		t.Fatalf("the first consent request to c failed (a's pending requests: %d)", a.outbox.len())
	}
}

// The outbox retries with a doubling wait, holds a request back while it
// is tried, and forgets it once delivered or too old.
func TestOutbox(t *testing.T) {
	k, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	s, _ := wire.GeneratePrivateKey(cryptoRand.Reader)
	a := attest(t, k, s.Public(), wire.Vouch, wire.PublicAudience, "retry")
	now := time.Unix(int64(a.Created), 0)
	var o outbox
	o.failed(a, now)
	if d := o.due(now); len(d) != 0 {
		t.Fatalf("due at once after a failure: %d", len(d))
	}
	if d := o.due(now.Add(outboxFirst)); len(d) != 1 {
		t.Fatalf("not due after %s", outboxFirst)
	}
	if d := o.due(now.Add(outboxFirst + time.Second)); len(d) != 0 {
		t.Fatal("due again while it is being tried")
	}
	t1 := now.Add(outboxFirst + 2*time.Second)
	o.failed(a, t1) // the second failure waits twice as long
	if d := o.due(t1.Add(outboxFirst)); len(d) != 0 {
		t.Fatal("the wait did not double")
	}
	if d := o.due(t1.Add(2 * outboxFirst)); len(d) != 1 {
		t.Fatal("not due after the doubled wait")
	}
	for range 20 {
		o.failed(a, t1)
	}
	if p := o.m[a.CID()]; p.delay != outboxMax {
		t.Fatalf("wait %s after many failures, want the cap %s", p.delay, outboxMax)
	}
	o.delivered(a.CID())
	if o.len() != 0 {
		t.Fatal("a delivered request stays queued")
	}
	o.failed(a, now)
	if d := o.due(now.Add(outboxKeep + time.Hour)); len(d) != 0 || o.len() != 0 {
		t.Fatal("a request older than outboxKeep is still tried")
	}
}

func mustKey(t *testing.T) *wire.PrivateKey {
	t.Helper()
	k, err := wire.GeneratePrivateKey(cryptoRand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
