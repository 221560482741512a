// Package netnstest runs a test in a Linux network namespace of its own, for
// tests that need addresses other than loopback (per-IP limits) without
// touching any network but their own.
package netnstest

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/quic-go/quic-go"
)

// env names the test a re-executed test binary runs inside its own
// network namespace.
const env = "KITH_TEST_NETNS"

// Run runs the calling test again in a new network namespace of its
// own (unshare --net), where addrs are added to the loopback interface:
// addresses that are not loopback addresses, so per-IP limits apply, on an
// interface no other host can reach. It returns true in that copy, which
// runs the test's body, and false in the caller, which has reported the
// copy's outcome. Without the privilege to create a namespace the test is
// skipped.
func Run(t *testing.T, addrs ...string) bool {
	t.Helper()
	if os.Getenv(env) == t.Name() {
		cmds := [][]string{{"ip", "link", "set", "lo", "up"}}
		for _, a := range addrs {
			cmds = append(cmds, []string{"ip", "addr", "add", a + "/32", "dev", "lo"})
		}
		for _, c := range cmds {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
		return true
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: network namespace tests need util-linux and iproute2", tool)
		}
	}
	if out, err := exec.Command("unshare", "--net", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (needs CAP_SYS_ADMIN): %v %s", err, out)
	}
	cmd := exec.CommandContext(t.Context(), "unshare", "--net", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace of its own:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed in its network namespace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatal("the test did not run in its network namespace")
	}
	return false
}

// Host returns a libp2p host that listens nowhere and dials over TCP from
// the address src (one of those given to Run), with no resource limits of
// its own: an attacker's or a crowd's peer. The test closes it at cleanup.
func Host(t *testing.T, src string) host.Host {
	t.Helper()
	local := &net.TCPAddr{IP: net.ParseIP(src)}
	h, err := libp2p.New(
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport, tcp.WithDialerForAddr(func(ma.Multiaddr) (tcp.ContextDialer, error) {
			return &net.Dialer{LocalAddr: local}, nil
		})),
		libp2p.ResourceManager(&network.NullResourceManager{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// QUICHost returns a libp2p host that dials over QUIC from the address
// src (one of those given to Run), with no resource limits of its own. It
// listens on a port of src chosen by the system, as QUIC dials from the
// socket it listens on. The test closes it at cleanup.
func QUICHost(t *testing.T, src string) host.Host {
	t.Helper()
	var cm *quicreuse.ConnManager
	build := func(key quic.StatelessResetKey, tok quic.TokenGeneratorKey, opts ...quicreuse.Option) (*quicreuse.ConnManager, error) {
		c, err := quicreuse.NewConnManager(key, tok, opts...)
		cm = c
		return c, err
	}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/"+src+"/udp/0/quic-v1"),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.QUICReuse(build, quicreuse.OverrideSourceIPSelector(func() (quicreuse.SourceIPSelector, error) {
			return sourceIP(net.ParseIP(src)), nil
		})),
		libp2p.ResourceManager(&network.NullResourceManager{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		cm.Close() // libp2p leaves a connection manager it did not build open
	})
	return h
}

// sourceIP answers QUIC's question of which local address to send from.
type sourceIP net.IP

func (s sourceIP) PreferredSourceIPForDestination(*net.UDPAddr) (net.IP, error) {
	return net.IP(s), nil
}
