package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// DHTPrefix is the protocol prefix of kith's Kademlia DHT: the DHT's
// protocol is DHTPrefix + "/kad/1.0.0". It is used for peer routing only
// (finding the addresses of a subject's node to deliver a consent request);
// it stores no values and no provider records.
const DHTPrefix = "/kith"

// Consent requests that could not be delivered are retried with a backoff
// from outboxFirst doubling to outboxMax, for outboxKeep after the
// attestation was made. outboxCap bounds the queue.
const (
	outboxFirst = 10 * time.Second
	outboxMax   = 10 * time.Minute
	outboxKeep  = 30 * 24 * time.Hour
	outboxCap   = 4096
)

func (n *Node) startDHT(ctx context.Context) error {
	if n.cfg.NoDHT {
		return nil
	}
	// No automatic refresh of the routing table: it is filled by the
	// peers the node meets and the lookups it makes. The refresh walks
	// every bucket, dialling dozens of peers, at every start and every 10
	// minutes; in the simulator 500 nodes starting together then held 74
	// connections each and could not keep up, and even one self-lookup
	// per node at start cost more than all the consent requests of the
	// run. See spec/node-v1.md §2.
	d, err := dht.New(n.runCtx, n.host,
		dht.Mode(dht.ModeAutoServer),
		dht.ProtocolPrefix(protocol.ID(DHTPrefix)),
		dht.DisableValues(), dht.DisableProviders(), dht.DisableAutoRefresh())
	if err != nil {
		return fmt.Errorf("node: DHT: %w", err)
	}
	n.dht = d
	return nil
}

// reach makes sure the node can open a stream to p: connected already, or
// addresses known, or found through the DHT and dialled.
func (n *Node) reach(ctx context.Context, p peer.ID) error {
	if n.host.Network().Connectedness(p) == network.Connected {
		return nil
	}
	ai := peer.AddrInfo{ID: p, Addrs: n.host.Peerstore().Addrs(p)}
	if len(ai.Addrs) > 0 {
		if err := n.host.Connect(ctx, ai); err == nil || n.dht == nil {
			return err
		}
	}
	if n.dht == nil {
		return fmt.Errorf("node: no address known for %s (and the DHT is off)", p)
	}
	found, err := n.dht.FindPeer(ctx, p)
	if err != nil {
		return fmt.Errorf("node: finding %s: %w", p, err)
	}
	return n.host.Connect(ctx, found)
}

// outbox holds the consent requests not delivered yet.
type outbox struct {
	mu sync.Mutex
	m  map[cid.Cid]*pending
}

type pending struct {
	a     *wire.Attestation
	next  time.Time
	delay time.Duration
}

// failed queues a request whose delivery failed at now, or, if queued
// already, doubles its wait (up to outboxMax).
func (o *outbox) failed(a *wire.Attestation, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[cid.Cid]*pending{}
	}
	if p, ok := o.m[a.CID()]; ok {
		p.delay = min(2*p.delay, outboxMax)
		p.next = now.Add(p.delay)
		return
	}
	if len(o.m) < outboxCap {
		o.m[a.CID()] = &pending{a: a, next: now.Add(outboxFirst), delay: outboxFirst}
	}
}

// delivered takes a request out of the queue.
func (o *outbox) delivered(c cid.Cid) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, c)
}

// due returns the requests to try now, and holds them back while they are
// tried (an attempt ends in failed or delivered within streamTimeout).
func (o *outbox) due(now time.Time) []*wire.Attestation {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*wire.Attestation
	for c, p := range o.m {
		if now.Sub(time.Unix(int64(p.a.Created), 0)) > outboxKeep {
			delete(o.m, c)
			continue
		}
		if !now.Before(p.next) {
			out = append(out, p.a)
			p.next = now.Add(streamTimeout + p.delay)
		}
	}
	return out
}

func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m)
}

// sendConsentRequest delivers a consent request, or queues it for retry.
func (n *Node) sendConsentRequest(a *wire.Attestation) {
	ctx, cancel := context.WithTimeout(n.runCtx, streamTimeout)
	defer cancel()
	err := n.requestConsent(ctx, a)
	if err == nil {
		n.outbox.delivered(a.CID())
		return
	}
	if n.runCtx.Err() != nil {
		return
	}
	n.outbox.failed(a, n.cfg.Now())
	n.log.Info("consent request not delivered yet; retrying later", "cid", a.CID(), "err", err)
}

// loadOutbox queues the owner's public vouches that have no consent yet
// (made before a restart; delivering one twice is harmless).
func (n *Node) loadOutbox(ctx context.Context) error {
	me := n.me
	atts, err := n.cfg.Store.Attestations(ctx, store.Query{Issuer: &me})
	if err != nil {
		return fmt.Errorf("node: loading undelivered consent requests: %w", err)
	}
	now := n.cfg.Now()
	for _, a := range atts {
		if a.Audience.Scope != wire.Public || a.Kind != wire.Vouch || a.Subject.Key == nil || *a.Subject.Key == n.me {
			continue
		}
		st, err := n.cfg.Store.Status(ctx, a.CID())
		if err != nil {
			return fmt.Errorf("node: loading undelivered consent requests: %w", err)
		}
		if len(st.Consents) == 0 && len(st.Withdrawn) == 0 && st.Retracted == nil {
			n.outbox.failed(a, now.Add(-outboxFirst)) // due at once
		}
	}
	return nil
}

// outboxLoop retries undelivered consent requests.
func (n *Node) outboxLoop() {
	t := time.NewTicker(outboxFirst)
	defer t.Stop()
	for {
		select {
		case <-n.runCtx.Done():
			return
		case <-t.C:
			for _, a := range n.outbox.due(n.cfg.Now()) {
				if !n.spawn(func() { n.sendConsentRequest(a) }) {
					return
				}
			}
		}
	}
}
