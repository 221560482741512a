package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/kith-net/kith/node/recon"
)

// Resync: gossip only remembers a few heartbeats, so a node that was
// offline or partitioned catches up by reconciling its public set with its
// peers (node/recon, spec/resync-v1.md) and fetching what it lacks through
// the exchange protocol. A node resyncs with every peer it connects to, and
// with a random connected peer every ResyncInterval.

// handleSync serves the remote side of a reconciliation.
func (n *Node) handleSync(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	from := s.Conn().RemotePeer()
	release, ok := n.serveWithin(from, n.lim.syncSlots, n.lim.syncs)
	if !ok {
		s.Reset()
		return
	}
	defer release()
	if err := n.sweepExpired(n.runCtx); err != nil {
		n.log.Warn("sync: updating the public set failed", "err", err)
		s.Reset()
		return
	}
	if err := recon.Serve(n.runCtx, s, n.set, recon.Options{}); err != nil {
		n.log.Debug("sync served with error", "peer", s.Conn().RemotePeer(), "err", err)
		s.Reset()
	}
}

// Resync reconciles the public set with peer p and fetches what p has and
// this node lacks. It returns how many objects were new.
func (n *Node) Resync(ctx context.Context, p peer.ID) (int, error) {
	defer n.resyncs.Add(1)
	if err := n.sweepExpired(ctx); err != nil {
		return 0, fmt.Errorf("node: resync with %s: %w", p, err)
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	s, release, err := n.openStream(ctx, p, SyncProtocol)
	if err != nil {
		return 0, fmt.Errorf("node: resync with %s: %w", p, err)
	}
	defer release()
	res, err := recon.Reconcile(ctx, s, n.set, recon.Options{})
	if err != nil {
		s.Reset()
		return 0, fmt.Errorf("node: resync with %s: %w", p, err)
	}
	s.Close()
	// Fetch what p's budget lets this node store, then check and store it
	// all at once: a proof's attestation and consent have unrelated keys,
	// and checked chunk by chunk, each would be dropped for want of the
	// other in a different chunk.
	// Keys this node holds already, though not in its set (tombstones of
	// attestations it does not hold), are not fetched again.
	missing := res.Missing[:0:0]
	for _, k := range res.Missing {
		have, err := n.cfg.Store.Has(ctx, cidOfKey(k[:]))
		if err != nil {
			return 0, fmt.Errorf("node: resync with %s: %w", p, err)
		}
		if !have {
			missing = append(missing, k)
		}
	}
	var raws [][]byte
	room := n.lim.bytes.available(p)
	for i := 0; i < len(missing) && i < n.lim.objects.available(p) && room > 0; i += MaxGetKeys {
		chunk := missing[i:min(i+MaxGetKeys, len(missing))]
		req := request{Op: opGet}
		for _, k := range chunk {
			req.Keys = append(req.Keys, append([]byte(nil), k[:]...))
		}
		resp, err := n.request(ctx, p, req, room) // a get response has no groups to cut
		got := resp.raws
		if err != nil {
			return 0, fmt.Errorf("node: resync with %s: %w", p, err)
		}
		for _, r := range got {
			room -= len(r)
		}
		raws = append(raws, got...)
	}
	return n.storeFrom(ctx, p, raws)
}

// resyncLoop resyncs with kicked peers at once and with a random peer
// every ResyncInterval.
func (n *Node) resyncLoop() {
	t := time.NewTicker(n.cfg.ResyncInterval)
	defer t.Stop()
	var mu sync.Mutex
	last := map[peer.ID]time.Time{}
	run := func(p peer.ID, force bool) (int, error) {
		mu.Lock()
		if !force && time.Since(last[p]) < time.Second {
			mu.Unlock()
			return 0, nil
		}
		last[p] = time.Now()
		mu.Unlock()
		added, err := n.Resync(n.runCtx, p)
		if err != nil && n.runCtx.Err() == nil {
			n.log.Debug("resync failed", "peer", p, "err", err)
		} else if added > 0 {
			n.log.Info("resync fetched objects", "peer", p, "new", added)
		}
		return added, err
	}
	for {
		select {
		case <-n.runCtx.Done():
			return
		case p := <-n.kick:
			_, _ = run(p, false)
		case <-t.C:
			// A random peer that speaks the sync protocol. If it fails,
			// try another; if it had news, gossip missed something
			// (peers that do not forward: an eclipse), so ask another
			// at once. At most resyncTries peers a round.
			peers := n.syncPeers()
			for try := 0; try < resyncTries && len(peers) > 0; try++ {
				i := n.randIntN(len(peers))
				added, err := run(peers[i], true)
				if err == nil && added == 0 {
					break
				}
				peers = append(peers[:i], peers[i+1:]...)
			}
		}
	}
}

// TopicPeers lists the peers gossip knows on the topic.
func (n *Node) TopicPeers() []peer.ID {
	if n.topic == nil {
		return nil
	}
	return n.topic.ListPeers()
}

// resyncTries bounds the peers one periodic resync round asks.
const resyncTries = 3

// syncPeers lists the connected peers that announced the sync protocol
// (identify), or, before any did, the topic peers. Peers that joined the
// topic but do not speak kith's protocols are not asked.
func (n *Node) syncPeers() []peer.ID {
	var out []peer.ID
	for _, p := range n.host.Network().Peers() {
		if ok, err := n.host.Peerstore().SupportsProtocols(p, protocol.ID(SyncProtocol)); err == nil && len(ok) > 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return n.topicPeers()
	}
	return out
}

// topicPeers lists the connected peers that speak kith.
func (n *Node) topicPeers() []peer.ID {
	if n.topic == nil {
		return nil
	}
	ps := n.topic.ListPeers()
	if len(ps) == 0 {
		ps = n.host.Network().Peers()
	}
	return ps
}

// connectLoop reacts to newly identified peers that speak kith: it records
// them in the peer book, pulls the consent requests and peer-audience
// statements they hold for this node, and resyncs with them.
func (n *Node) connectLoop(sub event.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-n.runCtx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev := e.(event.EvtPeerIdentificationCompleted)
			if !slices.Contains(ev.Protocols, protocol.ID(ExchangeProtocol)) && !slices.Contains(ev.Protocols, protocol.ID(ExchangeProtocol11)) {
				continue
			}
			p := ev.Peer
			n.book.seen(p, ev.ListenAddrs, n.cfg.Now())
			n.spawn(func() { n.greet(p) })
		}
	}
}

// greet runs the exchanges due with a newly connected kith peer; at most
// greetsAtOnce run at once.
func (n *Node) greet(p peer.ID) {
	select {
	case n.lim.greets <- struct{}{}:
		defer func() { <-n.lim.greets }()
	case <-n.runCtx.Done():
		return
	}
	ctx, cancel := context.WithTimeout(n.runCtx, streamTimeout)
	defer cancel()
	if _, err := n.Fetch(ctx, p, n.me.String(), "", time.Time{}); err != nil {
		n.log.Debug("fetching statements about me failed", "peer", p, "err", err)
	}
	if k, err := PeerKey(p); err == nil {
		if _, err := n.Fetch(ctx, p, "", k.String(), time.Time{}); err != nil {
			n.log.Debug("fetching the peer's statements failed", "peer", p, "err", err)
		}
	}
	select {
	case n.kick <- p:
	case <-ctx.Done():
	}
}
