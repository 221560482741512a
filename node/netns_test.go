//go:build linux

package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/kith-net/kith/internal/netnstest"
	"github.com/kith-net/kith/store/mem"
)

// TestConnLimitPerIP is N4 of the reliability plan (and the per-/32 part
// of G4): many peers from one IPv4 address get at most 8 connections to a
// node, while as many peers from distinct addresses all connect. Go-libp2p's
// resource manager limits connections per /32 but exempts loopback
// addresses, so the test runs in a network namespace of its own, with
// addresses of 10.77.0.0/24 on its loopback interface.
func TestConnLimitPerIP(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	connLimitPerIP(t, "/ip4/10.77.0.1/tcp/4001", netnstest.Host)
}

// TestConnLimitPerIPQUIC: the same limit holds over QUIC, where the node
// asks the resource manager before the handshake.
func TestConnLimitPerIPQUIC(t *testing.T) {
	t.Parallel()
	connLimitPerIP(t, "/ip4/10.77.0.1/udp/4001/quic-v1", netnstest.QUICHost)
}

// connLimitPerIP runs the node on listen and dials it from hosts newHost
// makes.
func connLimitPerIP(t *testing.T, listen string, newHost func(*testing.T, string) host.Host) {
	const peers, limit = 20, 8
	ips := []string{"10.77.0.1", "10.77.0.2"}
	for i := range peers {
		ips = append(ips, fmt.Sprintf("10.77.0.%d", 10+i))
	}
	if !netnstest.Run(t, ips...) {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n, err := Start(ctx, Config{Key: mustKey(t), Store: mem.New(), Listen: []string{listen}, NoMDNS: true, NoDHT: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	target := peer.AddrInfo{ID: n.ID(), Addrs: []ma.Multiaddr{ma.StringCast(listen)}}

	// dial connects one new host from each source address and returns how
	// many connections the node holds from those addresses, and how many
	// dials failed.
	dial := func(sources []string) (connected, failed int) {
		for _, src := range sources {
			h := newHost(t, src)
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = h.Connect(dctx, target)
			cancel()
			if err != nil {
				failed++
			}
		}
		time.Sleep(200 * time.Millisecond) // let refused connections close on the node's side
		from := map[string]bool{}
		for _, s := range sources {
			from[s] = true
		}
		for _, c := range n.Host().Network().Conns() {
			if ip, err := manet.ToIP(c.RemoteMultiaddr()); err == nil && from[ip.String()] {
				connected++
			}
		}
		return connected, failed
	}

	same := make([]string, peers)
	for i := range same {
		same[i] = "10.77.0.2"
	}
	fromOne, refused := dial(same)
	fromMany, _ := dial(ips[2:])
	t.Logf("%d peers from one address: %d connected, %d refused; %d peers from %d addresses: %d connected", peers, fromOne, refused, peers, peers, fromMany)
	if fromOne < 1 || fromOne > limit {
		t.Errorf("%d connections from one /32, want 1 to %d", fromOne, limit)
	}
	// Refused while connecting, not accepted and dropped later.
	if refused < peers-limit {
		t.Errorf("%d of %d dials from one /32 refused, want at least %d", refused, peers, peers-limit)
	}
	if fromMany != peers {
		t.Errorf("%d connections from %d distinct addresses, want all", fromMany, peers)
	}
}
