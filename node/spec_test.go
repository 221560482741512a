package node

import (
	"bufio"
	"bytes"
	"context"
	cryptoRand "crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/kith-net/kith/wire"
)

// The tests in this file check the Go node against the text of
// spec/node-v1.md, rule by rule, as a second implementation would be
// checked: framing (§3.1, §4.1), requests and query semantics (§4.2),
// the consent protocol (§5) and expiry (wire-v1 §5.3, §7).

// specAtt signs an attestation with the fields the query tests vary.
func specAtt(t *testing.T, k *wire.PrivateKey, sub wire.Subject, kind wire.Kind, aud wire.Audience, created, expires uint64) *wire.Attestation {
	t.Helper()
	nonce := make([]byte, wire.NonceSize)
	if _, err := cryptoRand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	a := &wire.Attestation{
		Subject: sub, Kind: kind, Context: "general", Strength: 50,
		Created: created, Expires: expires, Audience: aud, Nonce: nonce,
	}
	if err := a.Sign(k); err != nil {
		t.Fatal(err)
	}
	return a
}

func specConsent(t *testing.T, k *wire.PrivateKey, a *wire.Attestation, created, expires uint64) *wire.Consent {
	t.Helper()
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: created, Expires: expires}
	if err := c.Sign(k); err != nil {
		t.Fatal(err)
	}
	return c
}

// §3.1: the gossip data is exactly map(2) "v" 1 "objs" [1..4 byte strings
// of 1..8192 bytes], canonical; anything else is a framing violation.
func TestSpecGossipFraming(t *testing.T) {
	head := []byte{0xa2, 0x61, 'v', 0x01, 0x64, 'o', 'b', 'j', 's'}
	msg := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	big := bytes.Repeat([]byte{0}, wire.MaxObjectSize)
	bstr := func(b []byte) []byte {
		n := len(b)
		switch {
		case n < 24:
			return append([]byte{0x40 + byte(n)}, b...)
		case n < 256:
			return append([]byte{0x58, byte(n)}, b...)
		}
		return append([]byte{0x59, byte(n >> 8), byte(n)}, b...)
	}
	one := bstr([]byte{0})
	for _, c := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"one object", msg(head, []byte{0x81}, one), true},
		{"four objects", msg(head, []byte{0x84}, one, one, one, one), true},
		{"an 8192-byte object", msg(head, []byte{0x81}, bstr(big)), true},
		{"four 8192-byte objects (the largest message)", msg(head, []byte{0x84}, bstr(big), bstr(big), bstr(big), bstr(big)), true},
		{"no object", msg(head, []byte{0x80}), false},
		{"five objects", msg(head, []byte{0x85}, one, one, one, one, one), false},
		{"an empty object", msg(head, []byte{0x81, 0x40}), false},
		{"an 8193-byte object", msg(head, []byte{0x81}, bstr(append(big, 0))), false},
		{"v 2", msg([]byte{0xa2, 0x61, 'v', 0x02, 0x64, 'o', 'b', 'j', 's', 0x81}, one), false},
		{"v 0", msg([]byte{0xa2, 0x61, 'v', 0x00, 0x64, 'o', 'b', 'j', 's', 0x81}, one), false},
		{"v in two bytes", msg([]byte{0xa2, 0x61, 'v', 0x18, 0x01, 0x64, 'o', 'b', 'j', 's', 0x81}, one), false},
		{"no v", msg([]byte{0xa1, 0x64, 'o', 'b', 'j', 's', 0x81}, one), false},
		{"no objs", []byte{0xa1, 0x61, 'v', 0x01}, false},
		{"an unknown key", msg([]byte{0xa3, 0x61, 'v', 0x01, 0x61, 'x', 0x00, 0x64, 'o', 'b', 'j', 's', 0x81}, one), false},
		{"keys out of order", msg([]byte{0xa2, 0x64, 'o', 'b', 'j', 's', 0x81}, one, []byte{0x61, 'v', 0x01}), false},
		{"a text string object", msg(head, []byte{0x81, 0x61, 'x'}), false},
		{"a byte-string head not minimal", msg(head, []byte{0x81, 0x58, 0x01, 0x00}), false},
		{"an indefinite array", msg(head, []byte{0x9f}, one, []byte{0xff}), false},
		{"an array head not minimal", msg(head, []byte{0x98, 0x01}, one), false},
		{"a tag around the message", msg([]byte{0xd8, 0x2a}, head, []byte{0x81}, one), false},
		{"a trailing byte", msg(head, []byte{0x81}, one, []byte{0x00}), false},
		{"objs a map", msg(head, []byte{0xa0}), false},
		{"an array, not a map", msg([]byte{0x82, 0x01, 0x81}, one), false},
		{"empty data", nil, false},
	} {
		_, err := decodeGossip(c.data)
		if c.ok && err != nil {
			t.Errorf("%s: %v, want accepted", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol violation", c.name, err)
		}
	}
	// What a node publishes is these bytes, and the message ID is the
	// 36-byte binary CID of all of them: 01 71 12 20 ‖ SHA-256(data).
	k, s := mustKey(t), mustKey(t)
	a := attest(t, k, s.Public(), wire.Vouch, wire.PublicAudience, "framing")
	c := specConsent(t, s, a, a.Created, 0)
	data := encodeGossip(a, c)
	if want := msg(head, []byte{0x82}, bstr(a.Raw()), bstr(c.Raw())); !bytes.Equal(data, want) {
		t.Fatalf("encodeGossip is not the §3.1 byte layout")
	}
	id := ProofID(a, c)
	if len(id) != 36 || !strings.HasPrefix(id, "\x01\x71\x12\x20") || id != string(wire.CIDOf(data).Bytes()) {
		t.Errorf("message ID % x is not 01 71 12 20 and the SHA-256 of the data", id)
	}
}

// §4.1, §4.2: exchange requests. Every violation is refused (the
// responder resets); the forms a requester may send are accepted.
func TestSpecExchangeRequests(t *testing.T) {
	k := mustKey(t)
	pid, did := k.Public().String(), k.Public().DIDKey()
	keys := func(n, size int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = make([]byte, size)
		}
		return out
	}
	enc := func(m map[string]any) []byte {
		b, err := msgEnc.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name string
		req  map[string]any
		ok   bool
	}{
		{"query for everything", map[string]any{"v": 1, "op": "query"}, true},
		{"query by peer ID", map[string]any{"v": 1, "op": "query", "subject": pid}, true},
		{"query by did:key", map[string]any{"v": 1, "op": "query", "subject": did}, true},
		{"query by account, any text form", map[string]any{"v": 1, "op": "query", "subject": "@Bob@Example.Social"}, true},
		{"query by issuer as did:key", map[string]any{"v": 1, "op": "query", "issuer": did}, true},
		{"query with since and limit 4096", map[string]any{"v": 1, "op": "query", "since": 1700000000, "limit": 4096}, true},
		{"get of 1 key", map[string]any{"v": 1, "op": "get", "keys": keys(1, 32)}, true},
		{"get of 1024 keys", map[string]any{"v": 1, "op": "get", "keys": keys(1024, 32)}, true},

		{"v 2", map[string]any{"v": 2, "op": "query"}, false},
		{"no v", map[string]any{"op": "query"}, false},
		{"no op", map[string]any{"v": 1}, false},
		{"op in capitals", map[string]any{"v": 1, "op": "QUERY"}, false},
		{"an unknown op", map[string]any{"v": 1, "op": "sync"}, false},
		{"an unknown key", map[string]any{"v": 1, "op": "query", "x": 1}, false},
		{"limit 0 explicit", map[string]any{"v": 1, "op": "query", "limit": 0}, false},
		{"limit 4097", map[string]any{"v": 1, "op": "query", "limit": 4097}, false},
		{"since 0 explicit", map[string]any{"v": 1, "op": "query", "since": 0}, false},
		{"subject empty", map[string]any{"v": 1, "op": "query", "subject": ""}, false},
		{"subject not a subject", map[string]any{"v": 1, "op": "query", "subject": "bob"}, false},
		{"subject behind a no-break space", map[string]any{"v": 1, "op": "query", "subject": "\u00a0" + pid}, false},
		{"issuer an account", map[string]any{"v": 1, "op": "query", "issuer": "@bob@example.social"}, false},
		{"since negative", map[string]any{"v": 1, "op": "query", "since": -1}, false},
		{"since a text", map[string]any{"v": 1, "op": "query", "since": "1700000000"}, false},
		{"since a float", map[string]any{"v": 1, "op": "query", "since": 1.5}, false},
		{"limit null", map[string]any{"v": 1, "op": "query", "limit": nil}, false},
		{"query with keys", map[string]any{"v": 1, "op": "query", "keys": keys(1, 32)}, false},
		{"get with since", map[string]any{"v": 1, "op": "get", "keys": keys(1, 32), "since": 5}, false},
		{"get with subject", map[string]any{"v": 1, "op": "get", "keys": keys(1, 32), "subject": pid}, false},
		{"get with limit", map[string]any{"v": 1, "op": "get", "keys": keys(1, 32), "limit": 5}, false},
		{"get of no key", map[string]any{"v": 1, "op": "get", "keys": keys(0, 32)}, false},
		{"get without keys", map[string]any{"v": 1, "op": "get"}, false},
		{"get of 1025 keys", map[string]any{"v": 1, "op": "get", "keys": keys(1025, 32)}, false},
		{"get of a 31-byte key", map[string]any{"v": 1, "op": "get", "keys": keys(1, 31)}, false},
		{"get of a text key", map[string]any{"v": 1, "op": "get", "keys": []any{strings.Repeat("k", 32)}}, false},
	} {
		_, err := decodeRequest(enc(c.req))
		if c.ok && err != nil {
			t.Errorf("%s: %v, want accepted", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol violation", c.name, err)
		}
	}
	good := enc(map[string]any{"v": 1, "op": "query"})
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"keys out of order", []byte{0xa2, 0x62, 'o', 'p', 0x65, 'q', 'u', 'e', 'r', 'y', 0x61, 'v', 0x01}},
		{"an indefinite map", []byte{0xbf, 0x61, 'v', 0x01, 0x62, 'o', 'p', 0x65, 'q', 'u', 'e', 'r', 'y', 0xff}},
		{"a tag", append([]byte{0xc0}, good...)},
		{"a trailing byte", append(append([]byte(nil), good...), 0)},
		{"over 64 KiB", append(append([]byte(nil), good...), make([]byte, MaxRequestSize)...)},
	} {
		if _, err := decodeRequest(c.data); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol violation", c.name, err)
		}
	}
}

// §4.1: frame lengths are minimal LEB128 and capped, and a frame over its
// cap is refused from its length alone, before its bytes are read.
func TestSpecFrameCaps(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		max  int
		ok   bool
	}{
		{"an object frame of 8192", append([]byte{0x80, 0x40}, make([]byte, 8192)...), wire.MaxObjectSize, true},
		{"an object frame of 8193, no bytes sent", []byte{0x81, 0x40}, wire.MaxObjectSize, false},
		{"a request frame of 65537, no bytes sent", []byte{0x81, 0x80, 0x04}, MaxRequestSize, false},
		{"an acknowledgement with a byte", []byte{0x01, 0x00}, 0, false},
		{"the acknowledgement", []byte{0x00}, 0, true},
		{"a padded zero-length frame", []byte{0x80, 0x00}, 0, false},
		{"a length of 11 bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 64, false},
	} {
		_, err := readFrame(bufio.NewReader(bytes.NewReader(c.in)), c.max)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol violation", c.name, err)
		}
	}
}

// §4.1: a requester keeps a response only when it is complete: at most
// 4,096 object frames, then the zero-length frame. More frames, a padded
// length, an oversized frame or a stream closed early are failures, and
// nothing of them is returned.
func TestSpecResponseFrames(t *testing.T) {
	tn := newTestNet(t, 1, netOptions{})
	n := tn.nodes[0]
	h := tn.addHost(mustKey(t), n)
	frame := func(b []byte) []byte {
		var w bytes.Buffer
		if err := writeFrame(&w, b); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	objects := func(k int) []byte { return bytes.Repeat(frame([]byte{0}), k) }
	for _, c := range []struct {
		name    string
		resp    []byte
		objects int // -1: a failure
	}{
		{"4096 objects", append(objects(4096), 0), 4096},
		{"no object", []byte{0}, 0},
		{"4097 objects", append(objects(4097), 0), -1},
		{"no end frame", objects(3), -1},
		{"a padded length", append(append(objects(1), 0x81, 0x00, 0), 0), -1},
		{"an object frame of 8193", append(objects(1), append([]byte{0x81, 0x40}, make([]byte, 8193)...)...), -1},
	} {
		h.SetStreamHandler(protocol.ID(ExchangeProtocol), func(s network.Stream) {
			defer s.Close()
			if _, err := readFrame(bufio.NewReader(s), MaxRequestSize); err != nil {
				s.Reset()
				return
			}
			_, _ = s.Write(c.resp)
		})
		resp, err := n.request(context.Background(), h.ID(), request{Op: opQuery}, 1<<30)
		raws := resp.raws
		switch {
		case c.objects < 0 && (err == nil || raws != nil):
			t.Errorf("%s: %d objects, %v; want a failure and nothing", c.name, len(raws), err)
		case c.objects >= 0 && (err != nil || len(raws) != c.objects):
			t.Errorf("%s: %d objects, %v; want %d", c.name, len(raws), err, c.objects)
		}
	}
}

// §4.2: query semantics. A key subject selects subject.key, an account
// subject selects subject.acct (each including attestations that name
// both); since compares the attestation's own created; filters combine
// with AND; the result is in ascending created, then binary CID, each
// attestation followed by its live consents, withdrawals and retraction;
// limit counts attestations; only visible, unexpired attestations.
func TestSpecQuerySemantics(t *testing.T) {
	tn := newTestNet(t, 1, netOptions{})
	n := tn.nodes[0]
	ctx := context.Background()
	me, other, subj, req := mustKey(t), mustKey(t), mustKey(t), mustKey(t)
	T := uint64(testNow().Unix())
	bob := "acct:bob@example.social"
	key, acct := wire.KeySubject(subj.Public()), wire.Subject{Acct: bob}
	both := wire.Subject{Key: ptr(subj.Public()), Acct: bob}
	toReq := wire.PeersAudience(req.Public())

	a1 := specAtt(t, me, key, wire.Vouch, wire.PublicAudience, T-500, 0)
	c1 := specConsent(t, subj, a1, T-10, 0) // consented long after: since does not see it
	a2 := specAtt(t, me, acct, wire.Warn, toReq, T-400, 0)
	a3 := specAtt(t, me, both, wire.Vouch, toReq, T-300, 0)
	a4 := specAtt(t, other, wire.KeySubject(me.Public()), wire.Vouch, toReq, T-200, 0)
	hidden := []*wire.Attestation{
		specAtt(t, me, key, wire.Vouch, wire.PrivateAudience, T-450, 0),                            // private
		specAtt(t, me, key, wire.Vouch, wire.PeersAudience(other.Public()), T-450, 0),              // not named
		specAtt(t, me, key, wire.Vouch, toReq, T-450, T-1),                                         // expired
		specAtt(t, me, key, wire.Vouch, wire.PublicAudience, T-450, 0),                             // no consent
		specAtt(t, me, key, wire.Warn, wire.PublicAudience, T-450, 0),                              // public warning
		specAtt(t, me, wire.KeySubject(other.Public()), wire.Vouch, wire.PublicAudience, T-450, 0), // no consent
	}
	// Two in the same second: binary CID order.
	s1 := specAtt(t, other, acct, wire.Vouch, toReq, T-100, 0)
	s2 := specAtt(t, other, acct, wire.Vouch, toReq, T-100, 0)
	if bytes.Compare(s1.CID().Bytes(), s2.CID().Bytes()) > 0 {
		s1, s2 = s2, s1
	}
	// Retracted: sent with its retraction.
	a5 := specAtt(t, me, key, wire.Vouch, wire.PublicAudience, T-50, 0)
	c5 := specConsent(t, subj, a5, T-49, 0)
	r5 := &wire.Retraction{Target: wire.LinkTo(a5.CID()), Created: uint64(T - 48)}
	if err := r5.Sign(me); err != nil {
		t.Fatal(err)
	}
	// Withdrawn: visible to its subject and issuer only.
	a6 := specAtt(t, me, key, wire.Vouch, wire.PublicAudience, T-40, 0)
	c6 := specConsent(t, subj, a6, T-39, 0)
	w6 := &wire.ConsentWithdrawal{Target: wire.LinkTo(a6.CID()), Created: T - 38}
	if err := w6.Sign(subj); err != nil {
		t.Fatal(err)
	}
	objs := []wire.Object{a1, c1, a2, a3, a4, s2, s1, a5, c5, r5, a6, c6, w6}
	for _, h := range hidden {
		objs = append(objs, h)
	}
	if _, err := n.ingest(ctx, objs); err != nil {
		t.Fatal(err)
	}

	ask := func(from *wire.PrivateKey, r request) []wire.Object {
		t.Helper()
		r.Op = opQuery
		if err := r.validate(); err != nil {
			t.Fatal(err)
		}
		out, err := n.answer(ctx, from.Public(), r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := []wire.Object{a1, c1, a2, a3, a4, s1, s2, a5, c5, r5}
	for _, c := range []struct {
		name string
		from *wire.PrivateKey
		r    request
		want []wire.Object
	}{
		{"everything", req, request{}, all},
		{"by peer ID: subject.key, also with an account", req, request{Subject: subj.Public().String()}, []wire.Object{a1, c1, a3, a5, c5, r5}},
		{"by did:key", req, request{Subject: subj.Public().DIDKey()}, []wire.Object{a1, c1, a3, a5, c5, r5}},
		{"by account: subject.acct, also with a key", req, request{Subject: "@Bob@Example.Social"}, []wire.Object{a2, a3, s1, s2}},
		{"by issuer", req, request{Issuer: other.Public().String()}, []wire.Object{a4, s1, s2}},
		{"since: the attestation's created only", req, request{Since: T - 400}, []wire.Object{a2, a3, a4, s1, s2, a5, c5, r5}},
		{"since, inclusive", req, request{Since: T - 100}, []wire.Object{s1, s2, a5, c5, r5}},
		{"filters combine with AND", req, request{Subject: bob, Issuer: other.Public().String(), Since: T - 150}, []wire.Object{s1, s2}},
		{"limit counts attestations, groups whole", req, request{Limit: 1}, []wire.Object{a1, c1}},
		{"limit 6", req, request{Limit: 6}, []wire.Object{a1, c1, a2, a3, a4, s1, s2}},
		{"a withdrawn vouch, to its subject", subj, request{Since: T - 40}, []wire.Object{a6, w6}},
		{"a withdrawn vouch, to its issuer", me, request{Since: T - 40}, []wire.Object{a6, w6}},
	} {
		if got := ask(c.from, c.r); !sameObjects(got, c.want) {
			t.Errorf("%s: got %s, want %s", c.name, cids(got), cids(c.want))
		}
	}
}

// §4.2: an absent limit is 4,096 attestations (and a response at most
// 4,096 objects).
func TestSpecQueryDefaultLimit(t *testing.T) {
	tn := newTestNet(t, 1, netOptions{})
	n := tn.nodes[0]
	ctx := context.Background()
	me, req := mustKey(t), mustKey(t)
	T := uint64(testNow().Unix())
	var objs []wire.Object
	for i := range MaxResponseObjects + 1 {
		objs = append(objs, specAtt(t, me, wire.KeySubject(req.Public()), wire.Vouch, wire.PeersAudience(req.Public()), T-5000+uint64(i), 0))
	}
	if _, err := n.ingest(ctx, objs); err != nil {
		t.Fatal(err)
	}
	got, err := n.answer(ctx, req.Public(), request{Op: opQuery})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxResponseObjects || !got[len(got)-1].CID().Equals(objs[MaxResponseObjects-1].CID()) {
		t.Fatalf("a query without limit answered %d objects, want the first %d", len(got), MaxResponseObjects)
	}
}

// wire-v1 §5.3, §7 and node-v1 §4, §6: a consent that expires stops being
// live. The attestation it covered is then no longer visible to third
// parties, the consent is not sent by query or get, and both leave the
// public set when it expires. An expired identity link is not sent
// either.
func TestSpecExpiredConsent(t *testing.T) {
	clock := newTestClock()
	tn := newTestNet(t, 1, netOptions{configure: func(_ int, c *Config) { c.Now = clock.now }})
	n := tn.nodes[0]
	ctx := context.Background()
	issuer, subj, stranger := mustKey(t), mustKey(t), mustKey(t)
	T := uint64(clock.now().Unix())
	a := specAtt(t, issuer, wire.KeySubject(subj.Public()), wire.Vouch, wire.PublicAudience, T-10, 0)
	c := specConsent(t, subj, a, T-10, T+60)
	link := &wire.IdentityLink{Acct: "acct:subj@example.social", Created: T - 10, Expires: T + 60}
	if err := link.Sign(subj); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ingest(ctx, []wire.Object{a, c, link}); err != nil {
		t.Fatal(err)
	}
	key := func(o wire.Object) []byte { k, _ := keyOf(o.CID()); return k[:] }
	get := func(o wire.Object) int {
		got, err := n.answer(ctx, stranger.Public(), request{Op: opGet, Keys: [][]byte{key(o)}})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	query := func(from *wire.PrivateKey) []wire.Object {
		got, err := n.answer(ctx, from.Public(), request{Op: opQuery})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := query(stranger); !sameObjects(got, []wire.Object{a, c}) || !n.InPublicSet(a.CID()) || !n.InPublicSet(c.CID()) || get(c) != 1 || get(link) != 1 {
		t.Fatalf("before the consent expires: query %s, in the public set %v %v, get %d %d", cids(got), n.InPublicSet(a.CID()), n.InPublicSet(c.CID()), get(c), get(link))
	}

	clock.add(61 * time.Second)
	if err := n.sweepExpired(ctx); err != nil { // as before every reconciliation
		t.Fatal(err)
	}
	if got := query(stranger); len(got) != 0 {
		t.Errorf("after the consent expired, a third party's query got %s", cids(got))
	}
	if got := query(subj); !sameObjects(got, []wire.Object{a}) {
		t.Errorf("after the consent expired, the subject's query got %s, want the attestation alone", cids(got))
	}
	if n.InPublicSet(a.CID()) || n.InPublicSet(c.CID()) {
		t.Errorf("after the consent expired: in the public set %v %v, want neither", n.InPublicSet(a.CID()), n.InPublicSet(c.CID()))
	}
	if get(a) != 0 || get(c) != 0 || get(link) != 0 {
		t.Errorf("after expiry, get sent attestation %d, consent %d, link %d; want none", get(a), get(c), get(link))
	}
	// A third party sending the vouch with the expired consent in the
	// store cannot make this node hold it.
	if keep, err := n.admit(ctx, "", stranger.Public(), []wire.Object{a}); err != nil || len(keep) != 0 {
		t.Errorf("admit of a vouch whose only consent expired: %d kept, %v", len(keep), err)
	}
}

// §4 "Live consents", for the owner's own inbox: a request the owner
// consented to with an expiry is approved until the consent expires, then
// no longer (its consent has ended, as by a withdrawal): it is not pending
// again, nothing is left to withdraw, and approving it signs a new consent.
func TestSpecExpiredOwnConsent(t *testing.T) {
	clock := newTestClock()
	tn := newTestNet(t, 1, netOptions{configure: func(_ int, c *Config) { c.Now = clock.now }})
	n := tn.nodes[0]
	ctx := context.Background()
	issuer := mustKey(t)
	T := uint64(clock.now().Unix())
	a := specAtt(t, issuer, wire.KeySubject(n.cfg.Key.Public()), wire.Vouch, wire.PublicAudience, T-10, 0)
	c := specConsent(t, n.cfg.Key, a, T-10, T+60) // signed by another implementation holding the key
	if _, err := n.ingest(ctx, []wire.Object{a, c}); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		t.Helper()
		reqs, err := n.ConsentRequests(ctx)
		if err != nil || len(reqs) != 1 {
			t.Fatalf("consent requests: %+v, %v", reqs, err)
		}
		return reqs[0].State
	}
	if got := state(); got != ConsentApproved {
		t.Fatalf("with a live consent: %s, want %s", got, ConsentApproved)
	}
	clock.add(61 * time.Second)
	if got := state(); got != ConsentWithdrawn {
		t.Errorf("after the consent expired: %s, want %s", got, ConsentWithdrawn)
	}
	if k, err := n.pendingFrom(ctx, issuer.Public()); err != nil || k != 0 {
		t.Errorf("pending requests of the issuer after expiry: %d, %v; want 0", k, err)
	}
	if _, err := n.Withdraw(ctx, a.CID()); !errors.Is(err, ErrWrongState) {
		t.Errorf("withdrawing an expired consent: %v, want ErrWrongState", err)
	}
	c2, err := n.Approve(ctx, a.CID())
	if err != nil {
		t.Fatal(err)
	}
	if c2.CID().Equals(c.CID()) || c2.Expires != 0 {
		t.Errorf("approving again returned the expired consent or one with an expiry: %+v", c2)
	}
	if got := state(); got != ConsentApproved {
		t.Errorf("after approving again: %s, want %s", got, ConsentApproved)
	}
}

// §5: the consent protocol. One frame holding a public vouch about the
// node by the authenticated peer is acknowledged with a zero-length
// frame (again when delivered again); everything else is refused by a
// reset, with no frame.
func TestSpecConsentProtocol(t *testing.T) {
	tn := newTestNet(t, 1, netOptions{})
	n := tn.nodes[0]
	ctx := context.Background()
	issuer, other := mustKey(t), mustKey(t)
	h := tn.addHost(issuer, n)
	me := n.cfg.Key.Public()
	T := uint64(testNow().Unix())
	good := specAtt(t, issuer, wire.KeySubject(me), wire.Vouch, wire.PublicAudience, T, 0)
	send := func(raw []byte) bool {
		s, err := h.NewStream(ctx, n.ID(), protocol.ID(ConsentProtocol))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Write(raw); err != nil || s.CloseWrite() != nil {
			s.Reset()
			return false
		}
		ack, err := readFrame(bufio.NewReader(s), 0)
		return err == nil && ack == nil
	}
	frame := func(o wire.Object) []byte {
		var w bytes.Buffer
		if err := writeFrame(&w, o.Raw()); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	c := specConsent(t, issuer, good, T, 0)
	for _, x := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"a public vouch about the node by the peer", frame(good), true},
		{"the same, delivered again", frame(good), true},
		{"an empty frame", []byte{0}, false},
		{"nothing", nil, false},
		{"a padded length", append([]byte{0x80 | byte(len(good.Raw())&0x7f), 0x80 | byte(len(good.Raw())>>7), 0x00}, good.Raw()...), false},
		{"signed by another key than the peer's", frame(specAtt(t, other, wire.KeySubject(me), wire.Vouch, wire.PublicAudience, T, 0)), false},
		{"about another key", frame(specAtt(t, issuer, wire.KeySubject(other.Public()), wire.Vouch, wire.PublicAudience, T, 0)), false},
		{"a warning", frame(specAtt(t, issuer, wire.KeySubject(me), wire.Warn, wire.PublicAudience, T, 0)), false},
		{"a peers audience", frame(specAtt(t, issuer, wire.KeySubject(me), wire.Vouch, wire.PeersAudience(me), T, 0)), false},
		{"expired", frame(specAtt(t, issuer, wire.KeySubject(me), wire.Vouch, wire.PublicAudience, T-100, T-1)), false},
		{"made more than 30 days ago", frame(specAtt(t, issuer, wire.KeySubject(me), wire.Vouch, wire.PublicAudience, T-uint64(ConsentRequestTTL/time.Second)-60, 0)), false},
		{"a consent, not an attestation", frame(c), false},
		{"a bad signature", func() []byte { b := frame(good); b[len(b)-1] ^= 1; return b }(), false},
	} {
		if got := send(x.raw); got != x.ok {
			t.Errorf("%s: acknowledged %v, want %v", x.name, got, x.ok)
		}
	}
	if ok, _ := n.cfg.Store.Has(ctx, good.CID()); !ok {
		t.Error("the acknowledged request is not stored")
	}
}

func ptr[T any](v T) *T { return &v }

func sameObjects(got, want []wire.Object) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !got[i].CID().Equals(want[i].CID()) {
			return false
		}
	}
	return true
}

func cids(objs []wire.Object) string {
	var b strings.Builder
	b.WriteString("[")
	for i, o := range objs {
		if i > 0 {
			b.WriteString(" ")
		}
		s := o.CID().String()
		b.WriteString(string(o.Type()) + ":" + s[len(s)-6:])
	}
	return b.String() + "]"
}

// §3.2: the outcome of each validation step, in order, and account-only
// subjects: a vouch whose subject has no key has no valid proof.
func TestSpecGossipValidation(t *testing.T) {
	tn := newTestNet(t, 1, netOptions{})
	n := tn.nodes[0]
	issuer, subj, other, relay := mustKey(t), mustKey(t), mustKey(t), mustKey(t)
	T := uint64(testNow().Unix())
	grace := uint64(gossipGrace / time.Second)
	key := wire.KeySubject(subj.Public())
	a := specAtt(t, issuer, key, wire.Vouch, wire.PublicAudience, T, 0)
	c := specConsent(t, subj, a, T, 0)
	acctOnly := specAtt(t, issuer, wire.Subject{Acct: "acct:subj@example.social"}, wire.Vouch, wire.PublicAudience, T, 0)
	acctConsent := specConsent(t, subj, acctOnly, T, 0) // by a key the account might be linked to
	both := specAtt(t, issuer, wire.Subject{Key: ptr(subj.Public()), Acct: "acct:subj@example.social"}, wire.Vouch, wire.PublicAudience, T, 0)
	bothConsent := specConsent(t, subj, both, T, 0)
	peersAtt := specAtt(t, issuer, key, wire.Vouch, wire.PeersAudience(other.Public()), T, 0)
	warn := specAtt(t, issuer, key, wire.Warn, wire.PublicAudience, T, 0)
	link := &wire.IdentityLink{Acct: "acct:subj@example.social", Created: T}
	r := &wire.Retraction{Target: wire.LinkTo(a.CID()), Created: T}
	w := &wire.ConsentWithdrawal{Target: wire.LinkTo(acctOnly.CID()), Created: T}
	for _, s := range []struct {
		o interface{ Sign(*wire.PrivateKey) error }
		k *wire.PrivateKey
	}{{link, subj}, {r, issuer}, {w, subj}} {
		if err := s.o.Sign(s.k); err != nil {
			t.Fatal(err)
		}
	}
	forged := specConsent(t, subj, a, T, 0)
	forgedRaw := append([]byte(nil), forged.Raw()...)
	forgedRaw[12] ^= 1 // inside sig (map head, "v" 1, "sig", 58 40): a bad signature, nothing else
	if o, err := wire.Decode(forgedRaw); err != nil || !errors.Is(wire.VerifyBatch([]wire.Object{o}, testNow(), nil)[0], wire.ErrBadSignature) {
		t.Fatalf("the forged consent must decode and fail only its signature: %v", err)
	}
	expiredIn := specConsent(t, subj, a, T-100, T-1)             // expired, within the grace
	expiredPast := specConsent(t, subj, a, T-2*grace, T-grace-1) // expired past the grace
	bundle := wire.NewBundle(time.Unix(int64(T), 0), c)
	if err := bundle.Sign(issuer); err != nil {
		t.Fatal(err)
	}
	raw := func(objs ...wire.Object) [][]byte {
		var out [][]byte
		for _, o := range objs {
			out = append(out, o.Raw())
		}
		return out
	}
	// Held: the retracted attestation's target, so that the retraction is
	// checked against it; the account-only vouch, for its withdrawal.
	if _, err := n.ingest(context.Background(), []wire.Object{acctOnly}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		name string
		objs [][]byte
		want pubsub.ValidationResult
	}{
		{"a proof", raw(a, c), pubsub.ValidationAccept},
		{"a proof about key and account", raw(both, bothConsent), pubsub.ValidationAccept},
		{"step 2: no object", nil, pubsub.ValidationReject},
		{"step 3: a bundle", raw(a, bundle), pubsub.ValidationReject},
		{"step 3: not an object", [][]byte{{0xa0}}, pubsub.ValidationReject},
		{"step 4: expired within the grace, before the signatures", append(raw(a, expiredIn), forgedRaw), pubsub.ValidationIgnore},
		{"step 4: expired past the grace", raw(a, expiredPast), pubsub.ValidationReject},
		{"step 5: a bad signature", append(raw(a), forgedRaw), pubsub.ValidationReject},
		{"step 6: a consent first", raw(c, a), pubsub.ValidationReject},
		{"step 6: an identity link", raw(link), pubsub.ValidationReject},
		{"step 6: a retraction with company", raw(r, c), pubsub.ValidationReject},
		{"step 7: a peers attestation", raw(peersAtt, specConsent(t, subj, peersAtt, T, 0)), pubsub.ValidationReject},
		{"step 7: a public warning", raw(warn, specConsent(t, subj, warn, T, 0)), pubsub.ValidationReject},
		{"step 7: no consent", raw(a), pubsub.ValidationReject},
		{"step 7: a consent by another key", raw(a, specConsent(t, other, a, T, 0)), pubsub.ValidationReject},
		{"step 7: a consent for another attestation", raw(a, bothConsent), pubsub.ValidationReject},
		{"step 7: an account-only subject", raw(acctOnly, acctConsent), pubsub.ValidationReject},
		{"step 9: a withdrawal of an account-only vouch", raw(w), pubsub.ValidationIgnore},
		{"step 9: a retraction of an unknown attestation", raw(r), pubsub.ValidationIgnore},
	} {
		if got := gossipFrom(n, relay, encodeRaw(x.objs)); got != x.want {
			t.Errorf("%s: %v, want %v", x.name, got, x.want)
		}
	}
}
