package owner

import (
	"context"
	"sync"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/wire"
)

// PeerTrustCache holds the owner's trust in peers, in [-1, 1], for the
// gossip peer score (node.Config.PeerTrust reads it with Get). The zero
// value is empty: every peer at 0.
type PeerTrustCache struct {
	mu sync.Mutex
	m  map[wire.PublicKey]float64
}

// Set replaces the cache with scores, the engine's probabilities (as
// Service.PeerTrust gives them), mapped from [0, 1] onto [-1, 1]: a peer
// the owner would judge negatively more likely than not scores below 0.
func (c *PeerTrustCache) Set(scores map[wire.PublicKey]float64) {
	m := make(map[wire.PublicKey]float64, len(scores))
	for k, s := range scores {
		m[k] = 2*s - 1
	}
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
}

// Get returns the owner's trust in k, 0 for a key the view does not cover.
func (c *PeerTrustCache) Get(k wire.PublicKey) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// PeerTrustOf is what Service.PeerTrust computes for a daemon, for a node
// that has only its store (no vault: the shipped model, no identity
// links): the engine's score of every key self's general view covers. The
// network simulator (simulations/protosim) scores its nodes' peers with it
// as the daemon scores its own.
func PeerTrustOf(ctx context.Context, st store.Store, self wire.PublicKey, now time.Time) (map[wire.PublicKey]float64, error) {
	tv, err := buildView(ctx, st, self, api.DefaultContext, now, nil, trust.DefaultModel())
	if err != nil {
		return nil, err
	}
	return tv.keyScores(ctx)
}
