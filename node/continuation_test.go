package node

import (
	"bufio"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/kith-net/kith/wire"
)

// hiddenThenVisible stores at n, by n's key, more private attestations
// than a query reads at most (answerScan), then k vouches whose audience
// names to, all created later: a query by to for n's statements must read
// past the scan bound to reach what it may see.
func hiddenThenVisible(t *testing.T, n *Node, to wire.PublicKey, k int) []*wire.Attestation {
	t.Helper()
	T := uint64(testNow().Unix()) - 100_000
	about := wire.KeySubject(mustKey(t).Public())
	objs := make([]wire.Object, 0, answerScan+k+10)
	for i := range answerScan + 10 {
		objs = append(objs, specAtt(t, n.cfg.Key, about, wire.Vouch, wire.PrivateAudience, T+uint64(i/4), 0))
	}
	var visible []*wire.Attestation
	for i := range k {
		a := specAtt(t, n.cfg.Key, about, wire.Vouch, wire.PeersAudience(to), T+50_000+uint64(i), 0)
		visible = append(visible, a)
		objs = append(objs, a)
	}
	if _, err := n.cfg.Store.Put(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
	return visible
}

// spec/node-v1 §4.2: a query the responder cuts short at its scan bound
// ends, in exchange 1.1.0, with a trailer naming where to ask again; the
// requester follows it (Fetch) and gets everything it may see, even when
// the first response holds nothing.
func TestExchangeContinuation(t *testing.T) {
	tn := newTestNet(t, 2, netOptions{links: [][2]int{}})
	resp, req := tn.nodes[0], tn.nodes[1]
	ctx := context.Background()
	visible := hiddenThenVisible(t, resp, req.cfg.Key.Public(), 5)

	q := request{Op: opQuery, Issuer: resp.cfg.Key.Public().String()}
	first, err := req.request(ctx, resp.ID(), q, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.raws) != 0 || first.next == nil {
		t.Fatalf("first response: %d objects, continuation %v; want none and a continuation", len(first.raws), first.next)
	}
	q.Since, q.After = first.next.since, first.next.after.Bytes()
	second, err := req.request(ctx, resp.ID(), q, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.raws) != len(visible) || second.next != nil {
		t.Fatalf("after the continuation: %d objects, continuation %v; want %d and none", len(second.raws), second.next, len(visible))
	}

	if _, err := req.Fetch(ctx, resp.ID(), "", resp.cfg.Key.Public().String(), testNow().Add(-200_000*time.Second)); err != nil {
		t.Fatal(err)
	}
	for i, a := range visible {
		if ok, err := req.cfg.Store.Has(ctx, a.CID()); err != nil || !ok {
			t.Errorf("visible attestation %d not fetched (%v)", i, err)
		}
	}
}

// A node that speaks only exchange 1.0.0 still answers a node that asks
// with 1.1.0 first (it falls back), without a continuation; and a 1.0.0
// requester gets a 1.0.0 response: the zero-length frame, then the end of
// the stream, no trailer. An after field is not a 1.0.0 request.
func TestExchangeOldProtocol(t *testing.T) {
	tn := newTestNet(t, 2, netOptions{links: [][2]int{}})
	old, req := tn.nodes[0], tn.nodes[1]
	old.host.RemoveStreamHandler(protocol.ID(ExchangeProtocol11)) // before any peer identifies it
	ctx := context.Background()
	T := uint64(testNow().Unix())
	about := wire.KeySubject(mustKey(t).Public())
	a := specAtt(t, old.cfg.Key, about, wire.Vouch, wire.PeersAudience(req.cfg.Key.Public()), T-10, 0)
	if _, err := old.cfg.Store.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	q := request{Op: opQuery, Issuer: old.cfg.Key.Public().String()}
	r, err := req.request(ctx, old.ID(), q, 1<<30)
	if err != nil || len(r.raws) != 1 || r.next != nil {
		t.Fatalf("query of a 1.0.0 node: %d objects, continuation %v, %v; want 1, none", len(r.raws), r.next, err)
	}
	q.Since, q.After = a.Created, a.CID().Bytes()
	if _, err := req.request(ctx, old.ID(), q, 1<<30); !errors.Is(err, errNoContinuation) {
		t.Errorf("asking a 1.0.0 node with after: %v, want errNoContinuation", err)
	}
	if _, err := req.Fetch(ctx, old.ID(), "", old.cfg.Key.Public().String(), testNow().Add(-time.Minute)); err != nil {
		t.Errorf("Fetch from a 1.0.0 node: %v", err)
	}

	// A 1.0.0 requester of a node that speaks both.
	h := tn.addHost(mustKey(t), req)
	for _, c := range []struct {
		name string
		req  request
		ok   bool
	}{
		{"a 1.0.0 query", request{Op: opQuery}, true},
		{"after in a 1.0.0 query", request{Op: opQuery, Since: T, After: a.CID().Bytes()}, false},
	} {
		s, err := h.NewStream(ctx, req.ID(), protocol.ID(ExchangeProtocol))
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFrame(s, encodeRequest(c.req)); err != nil || s.CloseWrite() != nil {
			t.Fatalf("%s: writing: %v", c.name, err)
		}
		br := bufio.NewReader(s)
		b, err := readFrame(br, wire.MaxObjectSize)
		switch {
		case !c.ok && err == nil:
			t.Errorf("%s: answered (%d bytes), want a reset", c.name, len(b))
		case c.ok && (err != nil || b != nil):
			t.Errorf("%s: %d bytes, %v; want the zero-length frame", c.name, len(b), err)
		case c.ok:
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("%s: after the zero-length frame: %v, want the end of the stream", c.name, err)
			}
		}
		s.Close()
	}
}
