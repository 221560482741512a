package protosim

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/marcopolo/simnet"
	"github.com/quic-go/quic-go"
)

// network is the simulated IP network under the nodes: simnet's links
// (bandwidth, queues, latency) with per-packet jitter, random loss and
// partitions added at the sending end. Nodes run real QUIC on it, so loss
// costs retransmissions and a partition lets connections time out, as on
// a real network.
type network struct {
	sim       *simnet.Simnet
	bandwidth int // bits per second, each direction of each node's link
	latency   time.Duration
	jitter    float64
	loss      float64

	mu    sync.Mutex
	rng   *rand.Rand     // jitter and loss draws
	group map[string]int // IP -> partition group while partitioned; nil when whole

	sent    []atomic.Int64 // bytes each node sent (by index)
	dropped atomic.Int64   // packets lost (random loss and partitions)
	packets atomic.Int64   // packets sent
}

func newNetwork(nodes int, latency time.Duration, jitter, loss float64, bandwidth int, seed uint64) *network {
	nw := &network{
		bandwidth: bandwidth, latency: latency, jitter: jitter, loss: loss,
		rng:  rand.New(rand.NewPCG(seed, 0x6e6574)), // "net"
		sent: make([]atomic.Int64, nodes),
	}
	nw.sim = &simnet.Simnet{LatencyFunc: nw.delay}
	return nw
}

// delay is the one-way latency of a packet: the base latency ± jitter.
func (nw *network) delay(*simnet.Packet) time.Duration {
	if nw.jitter == 0 {
		return nw.latency
	}
	nw.mu.Lock()
	u := nw.rng.Float64()
	nw.mu.Unlock()
	return time.Duration(float64(nw.latency) * (1 + nw.jitter*(2*u-1)))
}

// ip is the address of node i.
func ip(i int) net.IP { return simnet.IntToPublicIPv4(i) }

// listenAddr is the QUIC multiaddr node i listens on.
func listenAddr(i int) string { return fmt.Sprintf("/ip4/%s/udp/4001/quic-v1", ip(i)) }

// partition splits the network: groups[i] is node i's group. nil heals it.
func (nw *network) partition(groups []int) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if groups == nil {
		nw.group = nil
		return
	}
	nw.group = make(map[string]int, len(groups))
	for i, g := range groups {
		nw.group[ip(i).String()] = g
	}
}

// drop decides whether a packet from src to dst is lost.
func (nw *network) drop(src, dst net.Addr) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.group != nil {
		s, ok1 := src.(*net.UDPAddr)
		d, ok2 := dst.(*net.UDPAddr)
		if ok1 && ok2 && nw.group[s.IP.String()] != nw.group[d.IP.String()] {
			return true
		}
	}
	return nw.loss > 0 && nw.rng.Float64() < nw.loss
}

// endpoint is one node's UDP socket on the simulated network.
type endpoint struct {
	*simnet.SimConn
	nw  *network
	idx int
}

// WriteTo sends a packet, or loses it.
func (e *endpoint) WriteTo(p []byte, addr net.Addr) (int, error) {
	e.nw.packets.Add(1)
	e.nw.sent[e.idx].Add(int64(len(p)))
	if e.nw.drop(e.SimConn.LocalAddr(), addr) {
		e.nw.dropped.Add(1)
		return len(p), nil
	}
	return e.SimConn.WriteTo(p, addr)
}

// sourceIP answers QUIC's question of which local address to send from.
type sourceIP net.IP

func (s sourceIP) PreferredSourceIPForDestination(*net.UDPAddr) (net.IP, error) {
	return net.IP(s), nil
}

// quicOptions put node i's QUIC transport on the simulated network.
func (nw *network) quicOptions(i int) []quicreuse.Option {
	link := simnet.LinkSettings{BitsPerSecond: nw.bandwidth}
	listen := func(_ string, addr *net.UDPAddr) (net.PacketConn, error) {
		if !addr.IP.Equal(ip(i)) {
			return nil, fmt.Errorf("protosim: node %d cannot listen on %s", i, addr)
		}
		c := nw.sim.NewEndpoint(addr, simnet.NodeBiDiLinkSettings{Downlink: link, Uplink: link})
		return &endpoint{SimConn: c, nw: nw, idx: i}, nil
	}
	return []quicreuse.Option{
		quicreuse.OverrideListenUDP(listen),
		quicreuse.OverrideSourceIPSelector(func() (quicreuse.SourceIPSelector, error) { return sourceIP(ip(i)), nil }),
	}
}

// hostOptions are the libp2p options that put the QUIC transport of a
// host the simulator builds itself (not a node's) at index i on the
// simulated network. The returned closer releases the QUIC connection
// manager once the host is closed (libp2p leaves one it did not build
// open).
func (nw *network) hostOptions(i int) ([]libp2p.Option, func() error) {
	var cm *quicreuse.ConnManager
	build := func(key quic.StatelessResetKey, tok quic.TokenGeneratorKey, opts ...quicreuse.Option) (*quicreuse.ConnManager, error) {
		c, err := quicreuse.NewConnManager(key, tok, opts...)
		cm = c
		return c, err
	}
	opts := []libp2p.Option{libp2p.QUICReuse(build, nw.quicOptions(i)...)}
	return opts, func() error {
		if cm == nil {
			return nil
		}
		return cm.Close()
	}
}
