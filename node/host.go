package node

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/p2p/host/autonat"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/observedaddrs"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	circuit "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/quic-go/quic-go"
)

// buildHost assembles the node's libp2p host from go-libp2p's parts: a
// swarm with the TCP and QUIC transports (Noise, then TLS; yamux over
// TCP), the circuit relay transport, the resource and connection managers,
// and a basic host with identify, ping, observed addresses and AutoNAT (v1
// client). That is what libp2p.New built for the node, but libp2p.New (and
// NewWithoutDefaults, and the config package behind both) link the
// WebSocket, WebTransport and WebRTC transports the node never uses
// (go-libp2p issue #3359): 5.5 MB of the stripped cmd/kith with them
// and uber's fx, which config wires them with (36.9 MB against 31.4 MB).
func buildHost(cfg Config) (_ host.Host, err error) {
	priv, id, err := Identity(cfg.Key)
	if err != nil {
		return nil, err
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = DefaultListen
	}
	addrs := make([]ma.Multiaddr, len(listen))
	for i, s := range listen {
		if addrs[i], err = ma.NewMultiaddr(s); err != nil {
			return nil, fmt.Errorf("node: listen address %q: %w", s, err)
		}
	}
	// undo releases, newest first, what was built when a later step fails.
	var undo []func()
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(undo) {
				f()
			}
		}
	}()
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("node: connection manager: %w", err)
	}
	undo = append(undo, func() { cm.Close() })
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(rcmgr.DefaultLimits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("node: resource manager: %w", err)
	}
	undo = append(undo, func() { rm.Close() })
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, fmt.Errorf("node: peerstore: %w", err)
	}
	undo = append(undo, func() { ps.Close() })
	if err := errors.Join(ps.AddPrivKey(id, priv), ps.AddPubKey(id, priv.GetPublic())); err != nil {
		return nil, fmt.Errorf("node: peerstore: %w", err)
	}
	bus := eventbus.NewBus()
	// The swarm's defaults: black-hole detection for UDP and IPv6 dials,
	// multiaddr DNS resolution.
	sw, err := swarm.NewSwarm(id, ps, bus, swarm.WithResourceManager(rm))
	if err != nil {
		return nil, fmt.Errorf("node: swarm: %w", err)
	}
	undo = append(undo, func() { sw.Close() })

	muxers := []tptu.StreamMuxer{{ID: yamux.ID, Muxer: yamux.DefaultTransport}}
	nt, err := noise.New(noise.ID, priv, muxers)
	if err != nil {
		return nil, fmt.Errorf("node: noise: %w", err)
	}
	tt, err := libp2ptls.New(libp2ptls.ID, priv, muxers)
	if err != nil {
		return nil, fmt.Errorf("node: tls: %w", err)
	}
	up, err := tptu.New([]sec.SecureTransport{nt, tt}, muxers, nil, rm, nil)
	if err != nil {
		return nil, fmt.Errorf("node: upgrader: %w", err)
	}
	tcpT, err := tcp.NewTCPTransport(up, rm, nil)
	if err != nil {
		return nil, fmt.Errorf("node: tcp: %w", err)
	}
	qcm, err := quicConnManager(priv, rm, cfg.QUICOptions)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { qcm.Close() })
	quicT, err := libp2pquic.NewTransport(priv, qcm, nil, nil, rm)
	if err != nil {
		return nil, fmt.Errorf("node: quic: %w", err)
	}
	if err := errors.Join(sw.AddTransport(tcpT), sw.AddTransport(quicT)); err != nil {
		return nil, fmt.Errorf("node: transports: %w", err)
	}

	obs, err := observedaddrs.NewManager(bus, sw)
	if err != nil {
		return nil, fmt.Errorf("node: observed addresses: %w", err)
	}
	undo = append(undo, func() { obs.Close() })
	bh, err := bhost.NewHost(sw, &bhost.HostOpts{
		EventBus:             bus,
		ConnManager:          cm,
		EnablePing:           true,
		ObservedAddrsManager: obs,
	})
	if err != nil {
		return nil, fmt.Errorf("node: host: %w", err)
	}
	// The host closes the swarm, peerstore, resource and connection
	// managers.
	undo = []func(){func() { qcm.Close() }, func() { bh.Close() }, func() { sw.Close() }, func() { obs.Close() }}
	if err := circuit.AddTransport(bh, up); err != nil {
		return nil, fmt.Errorf("node: relay transport: %w", err)
	}
	if err := sw.Listen(addrs...); err != nil {
		return nil, fmt.Errorf("node: listen: %w", err)
	}
	obs.Start(sw)
	bh.Start()
	// AutoNAT v1 asks peers to dial back our public addresses; the DHT's
	// auto mode follows the reachability it finds.
	an, err := autonat.New(bh, autonat.UsingAddresses(func() []ma.Multiaddr {
		return slices.DeleteFunc(bh.AllAddrs(), func(a ma.Multiaddr) bool { return !manet.IsPublicAddr(a) })
	}))
	if err != nil {
		return nil, fmt.Errorf("node: autonat: %w", err)
	}
	bh.SetAutoNat(an)
	return &nodeHost{BasicHost: bh, obs: obs, sw: sw, quic: qcm}, nil
}

// quicConnManager builds the QUIC connection manager: its stateless-reset
// and token keys derive from the node's key (so that they survive a
// restart; the labels are libp2p's, so the keys are those libp2p.New
// derived), and inbound connections pass the resource manager (per-IP
// limits) before the handshake. extra are appended (the simulator's
// network).
func quicConnManager(priv crypto.PrivKey, rm network.ResourceManager, extra []quicreuse.Option) (*quicreuse.ConnManager, error) {
	raw, err := priv.Raw()
	if err != nil {
		return nil, fmt.Errorf("node: quic keys: %w", err)
	}
	var reset quic.StatelessResetKey
	var token quic.TokenGeneratorKey
	for _, k := range []struct {
		dst  []byte
		info string
	}{{reset[:], "libp2p quic stateless reset key"}, {token[:], "libp2p quic token generator key"}} {
		b, err := hkdf.Key(sha256.New, raw, nil, k.info, len(k.dst))
		if err != nil {
			return nil, fmt.Errorf("node: quic keys: %w", err)
		}
		copy(k.dst, b)
	}
	opts := []quicreuse.Option{
		quicreuse.ConnContext(func(ctx context.Context, ci *quic.ClientInfo) (context.Context, error) {
			// An address QUIC cannot name still goes to the resource
			// manager, which decides.
			addr, err := quicreuse.ToQuicMultiaddr(ci.RemoteAddr, quic.Version1)
			if err != nil {
				addr = nil
			}
			scope, err := rm.OpenConnection(network.DirInbound, false, addr)
			if err != nil {
				return ctx, err
			}
			context.AfterFunc(ctx, scope.Done)
			return network.WithConnManagementScope(ctx, scope), nil
		}),
		quicreuse.VerifySourceAddress(func(a net.Addr) bool { return rm.VerifySourceAddress(a) }),
	}
	qcm, err := quicreuse.NewConnManager(reset, token, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("node: quic: %w", err)
	}
	return qcm, nil
}

// nodeHost is the basic host with the parts it does not close itself.
type nodeHost struct {
	*bhost.BasicHost
	obs  *observedaddrs.Manager
	sw   *swarm.Swarm
	quic *quicreuse.ConnManager
}

// Close closes the swarm before the host (as libp2p.New's host does): its
// connections end at once, so the host's services (identify, AutoNAT)
// do not wait on streams to peers that no longer answer.
func (h *nodeHost) Close() error {
	h.obs.Close()
	err := h.sw.Close()
	return errors.Join(err, h.BasicHost.Close(), h.quic.Close())
}
