package node

import (
	"bytes"
	"crypto/rand"
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/kith-net/kith/wire"
)

// The fast message-ID parser agrees with the strict decoder on every valid
// message and never accepts what the strict decoder refuses.
func TestGossipIDAgreesWithDecoder(t *testing.T) {
	k, _ := wire.GeneratePrivateKey(rand.Reader)
	s, _ := wire.GeneratePrivateKey(rand.Reader)
	for _, reason := range []string{"", "x", string(bytes.Repeat([]byte("r"), 300))} {
		a := attest(t, k, s.Public(), wire.Vouch, wire.PublicAudience, reason)
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(s); err != nil {
			t.Fatal(err)
		}
		for _, msg := range [][]byte{encodeGossip(a, c), encodeGossip(c), encodeGossip(a)} {
			objs, err := decodeGossip(msg)
			if err != nil {
				t.Fatal(err)
			}
			last, ok := lastObject(msg)
			if !ok || !bytes.Equal(last, objs[len(objs)-1]) {
				t.Fatalf("fast parser: %v", ok)
			}
			if got, want := GossipID(&pb.Message{Data: msg}), string(wire.CIDOf(objs[len(objs)-1]).Bytes()); got != want {
				t.Fatal("message ID is not the last object's CID")
			}
		}
	}
}

func FuzzDecodeGossip(f *testing.F) {
	k, _ := wire.GeneratePrivateKey(rand.Reader)
	s, _ := wire.GeneratePrivateKey(rand.Reader)
	a := attest(f, k, s.Public(), wire.Vouch, wire.PublicAudience, "seed")
	f.Add(encodeGossip(a))
	f.Add([]byte{0xa2, 0x61, 'v', 0x01, 0x64, 'o', 'b', 'j', 's', 0x81, 0x41, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := decodeGossip(b)
		last, ok := lastObject(b)
		if err == nil {
			if !ok || !bytes.Equal(last, objs[len(objs)-1]) {
				t.Fatalf("strict decoder accepts what the fast parser reads differently")
			}
			if !bytes.Equal(encodeRaw(objs), b) {
				t.Fatal("accepted gossip message is not canonical")
			}
		}
	})
}

func encodeRaw(objs [][]byte) []byte {
	b, err := msgEnc.Marshal(gossipMessage{V: protoVersion, Objs: objs})
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(encodeRequest(request{Op: opQuery, Subject: "acct:bob@example.social", Since: 5}))
	f.Add(encodeRequest(request{Op: opGet, Keys: [][]byte{make([]byte, 32)}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err == nil && !bytes.Equal(encodeRequest(r), b) {
			t.Fatal("accepted request is not canonical")
		}
	})
}
