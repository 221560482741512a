package node

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/kith-net/kith/wire"
)

// A proof the subject approves as soon as it knows its peers' topic
// subscriptions, before gossip's first heartbeat has built a mesh, goes
// out to every one of those peers at once (flood publishing of the node's
// own messages). Sent to the mesh alone, as go-libp2p-pubsub does by
// default, it reached nobody until the others resynced with the subject
// 10-30 s later (seen in protosim's real-clock runs under load). Here
// periodic resync is hourly and the test runs in virtual time, so only
// gossip can bring the proof within the minute the test waits, and the
// mesh is empty when the subject approves.
func TestOwnProofsFloodPublished(t *testing.T) {
	synctest.Test(t, testOwnProofsFloodPublished)
}

func testOwnProofsFloodPublished(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	// Last cleanup: gossipsub's heartbeat goroutines sleep out their
	// initial delay before they see the closed context.
	t.Cleanup(func() { time.Sleep(time.Second) })
	var mu sync.Mutex
	sentTo := map[peer.ID]bool{}
	var proofData []byte
	// In virtual time the nodes know each other's subscriptions long
	// before the first heartbeat (100 ms after the start).
	tn := newTestNet(t, 4, netOptions{resync: time.Hour, configure: func(i int, c *Config) {
		if i != 0 {
			return
		}
		c.tap = func(proto string, to peer.ID, b []byte) {
			var rpc pb.RPC
			if proto != "gossip" || rpc.Unmarshal(b) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range rpc.GetPublish() {
				if proofData != nil && string(m.GetData()) == string(proofData) {
					sentTo[to] = true
				}
			}
		}
	}})
	subject := tn.nodes[0]
	a := attest(t, tn.keys[1], tn.keys[0].Public(), wire.Vouch, wire.PublicAudience, "before the first heartbeat")
	if _, err := subject.cfg.Store.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	for len(subject.topic.ListPeers()) < 3 {
		if time.Since(start) > 90*time.Millisecond {
			t.Fatalf("the subject knows %d topic peers after %v", len(subject.topic.ListPeers()), time.Since(start))
		}
		time.Sleep(time.Millisecond)
	}
	if mesh := subject.Stats().MeshPeers; mesh != 0 {
		t.Fatalf("the subject has %d mesh peers before its first heartbeat", mesh)
	}
	// The consent is deterministic in the attestation and the clock's
	// second; the message is known before it is published.
	_, con, err := SignConsent(ctx, subject.cfg.Store, subject.cfg.Key, nil, a.CID(), subject.cfg.Now())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	proofData = encodeGossip(a, con)
	mu.Unlock()
	if _, err := subject.Approve(ctx, a.CID()); err != nil {
		t.Fatal(err)
	}
	tn.waitFor(time.Minute, "the proof at every peer", func() bool { return tn.has(con.CID()) == 4 })
	mu.Lock()
	defer mu.Unlock()
	for _, nd := range tn.nodes[1:] {
		if !sentTo[nd.ID()] {
			t.Errorf("the subject did not send its proof to %s itself (sent to %d of 3 peers)", nd.ID(), len(sentTo))
		}
	}
}
