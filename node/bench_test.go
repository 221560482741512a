package node

import (
	"context"
	"crypto/rand"
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// proofs makes n consented proofs as gossip payloads.
func proofs(b *testing.B, n int) [][]byte {
	issuer, _ := wire.GeneratePrivateKey(rand.Reader)
	out := make([][]byte, n)
	for i := range out {
		subject, _ := wire.GeneratePrivateKey(rand.Reader)
		a := attest(b, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "benchmark")
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(subject); err != nil {
			b.Fatal(err)
		}
		out[i] = encodeGossip(a, c)
	}
	return out
}

// BenchmarkValidateProof is the gossip validation of one new proof (two
// signatures) on one core: decode, verify, store lookups.
func BenchmarkValidateProof(b *testing.B) {
	msgs := proofs(b, 512)
	k, _ := wire.GeneratePrivateKey(rand.Reader)
	// The budget is not what is measured: every proof is one issuer's new
	// attestation, so the issuer budget is opened wide.
	cfg := Config{Key: k, Store: mem.New(), Now: testNow, Budget: Budget{Attestations: 1 << 30, AttestationBurst: 1 << 30}.withDefaults()}
	n := &Node{cfg: cfg, me: k.Public(), recent: recentSet{now: testNow}}
	n.lim = newLimits(cfg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := n.checkGossip(ctx, msgs[i%len(msgs)], false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "proofs/s")
}

// BenchmarkGossipID is the message-ID computation pubsub runs on every
// copy of every message received.
func BenchmarkGossipID(b *testing.B) {
	msgs := proofs(b, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = GossipID(&pb.Message{Data: msgs[i%len(msgs)]})
	}
}
