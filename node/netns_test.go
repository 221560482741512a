//go:build linux

package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/kith-net/kith/store/mem"
)

// netnsEnv names the test a re-executed test binary runs inside its own
// network namespace.
const netnsEnv = "KITH_TEST_NETNS"

// inNetns runs the calling test again in a new network namespace of its
// own (unshare --net), where addrs are added to the loopback interface:
// addresses that are not loopback addresses, so per-IP limits apply, on an
// interface no other host can reach. It returns true in that copy, which
// runs the test's body, and false in the caller, which has reported the
// copy's outcome. Without the privilege to create a namespace the test is
// skipped.
func inNetns(t *testing.T, addrs ...string) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == t.Name() {
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
	cmd.Env = append(os.Environ(), netnsEnv+"="+t.Name())
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

// TestConnLimitPerIP is N4 of the reliability plan (and the per-/32 part
// of G4): many peers from one IPv4 address get at most 8 connections to a
// node, while as many peers from distinct addresses all connect. Go-libp2p's
// resource manager limits connections per /32 but exempts loopback
// addresses, so the test runs in a network namespace of its own, with
// addresses of 10.77.0.0/24 on its loopback interface.
func TestConnLimitPerIP(t *testing.T) {
	const peers, limit = 20, 8
	ips := []string{"10.77.0.1", "10.77.0.2"}
	for i := range peers {
		ips = append(ips, fmt.Sprintf("10.77.0.%d", 10+i))
	}
	if !inNetns(t, ips...) {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n, err := Start(ctx, Config{Key: mustKey(t), Store: mem.New(), Listen: []string{"/ip4/10.77.0.1/tcp/4001"}, NoMDNS: true, NoDHT: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	target := peer.AddrInfo{ID: n.ID(), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/10.77.0.1/tcp/4001")}}

	// dial connects one new host from each source address and returns how
	// many connections the node holds from those addresses, and how many
	// dials failed.
	dial := func(sources []string) (connected, failed int) {
		for _, src := range sources {
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
			defer h.Close()
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
	if fromMany != peers {
		t.Errorf("%d connections from %d distinct addresses, want all", fromMany, peers)
	}
}
