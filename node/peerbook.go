package node

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/kith-net/kith/internal/atomicfile"
)

// maxBook caps the peers the book remembers (most recently seen first).
const maxBook = 256

// bookEntry is a remembered peer.
type bookEntry struct {
	ID       peer.ID   `json:"id"`
	Addrs    []string  `json:"addrs"`
	LastSeen time.Time `json:"last_seen"`
}

// peerBook remembers the kith peers a node has met (peers.json in the data
// directory), so a restarted node reconnects without bootstrap peers.
type peerBook struct {
	mu    sync.Mutex
	path  string
	m     map[peer.ID]bookEntry
	dirty bool
}

func openPeerBook(dir string) (*peerBook, error) {
	b := &peerBook{m: map[peer.ID]bookEntry{}}
	if dir == "" {
		return b, nil
	}
	b.path = filepath.Join(dir, "peers.json")
	var es []bookEntry
	if err := readJSONFile(b.path, &es); err != nil {
		return nil, fmt.Errorf("node: peer book: %w", err)
	}
	for _, e := range es {
		if e.ID.Validate() == nil {
			b.m[e.ID] = e
		}
	}
	return b, nil
}

func (b *peerBook) seen(p peer.ID, addrs []ma.Multiaddr, now time.Time) {
	e := bookEntry{ID: p, LastSeen: now.UTC()}
	for _, a := range addrs {
		e.Addrs = append(e.Addrs, a.String())
	}
	if len(e.Addrs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[p] = e
	b.dirty = true
}

// entries returns the remembered peers, most recently seen first.
func (b *peerBook) entries() []bookEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	es := make([]bookEntry, 0, len(b.m))
	for _, e := range b.m {
		es = append(es, e)
	}
	slices.SortFunc(es, func(x, y bookEntry) int {
		if c := y.LastSeen.Compare(x.LastSeen); c != 0 {
			return c
		}
		return stringsCompare(string(x.ID), string(y.ID))
	})
	if len(es) > maxBook {
		es = es[:maxBook]
	}
	return es
}

func stringsCompare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (b *peerBook) save() error {
	if b.path == "" {
		return nil
	}
	es := b.entries()
	b.mu.Lock()
	dirty := b.dirty
	b.dirty = false
	b.mu.Unlock()
	if !dirty {
		return nil
	}
	data, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(b.path, data, 0o600)
}

func (n *Node) saveBook() {
	if err := n.book.save(); err != nil {
		n.log.Warn("saving the peer book failed", "err", err)
	}
}

// bootstrapLoop connects to the bootstrap peers and the peer book at start,
// again whenever the node has fewer than MinPeers peers, and saves the peer
// book now and then.
func (n *Node) bootstrapLoop() {
	var boot []peer.AddrInfo
	for _, s := range n.cfg.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			n.log.Warn("bad bootstrap address", "addr", s, "err", err)
			continue
		}
		boot = append(boot, *ai)
	}
	// dial connects to up to want peers the node is not connected to:
	// the bootstrap peers first, then the peer book, most recently seen
	// first. A peer a dial failed for is skipped for one PeerCheckInterval
	// after the failure (so it is retried every other check, and the
	// checks between reach further into the book). Three intervals, as
	// before, made a healed partition wait 25-30 s for its first dial
	// across; with one, 9 s (TestPartitionHeal).
	failed := map[peer.ID]time.Time{}
	dial := func(want int) {
		if want <= 0 {
			return
		}
		targets := slices.Clone(boot)
		for _, e := range n.book.entries() {
			ai := peer.AddrInfo{ID: e.ID}
			for _, s := range e.Addrs {
				if a, err := ma.NewMultiaddr(s); err == nil {
					ai.Addrs = append(ai.Addrs, a)
				}
			}
			targets = append(targets, ai)
		}
		now := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 8)
		for _, ai := range targets {
			if want == 0 {
				break
			}
			mu.Lock()
			backoff := now.Sub(failed[ai.ID]) < n.cfg.PeerCheckInterval
			mu.Unlock()
			if ai.ID == n.host.ID() || len(n.host.Network().ConnsToPeer(ai.ID)) > 0 || backoff {
				continue
			}
			want--
			n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
			wg.Add(1)
			sem <- struct{}{}
			go func() { // joined by wg.Wait below
				defer wg.Done()
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(n.runCtx, 10*time.Second)
				defer cancel()
				if err := n.host.Connect(ctx, ai); err != nil {
					n.log.Debug("dial failed", "peer", ai.ID, "err", err)
					mu.Lock()
					failed[ai.ID] = time.Now()
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	dial(len(boot) + maxBook)
	t := time.NewTicker(n.cfg.PeerCheckInterval)
	defer t.Stop()
	saved := time.Now()
	for {
		select {
		case <-n.runCtx.Done():
			return
		case <-t.C:
			dial(n.cfg.MinPeers - len(n.host.Network().Peers()))
			if time.Since(saved) >= 30*time.Second {
				n.saveBook()
				saved = time.Now()
			}
		}
	}
}
