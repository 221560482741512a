package node

import (
	"bytes"
	"crypto/rand"
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/kith-net/kith/wire"
)

// A gossip message's ID commits to the whole message: messages that share
// their last object (or any other) but differ anywhere else have different
// IDs, and the ID is the CID of the message's bytes.
func TestGossipIDCommitsToMessage(t *testing.T) {
	k, _ := wire.GeneratePrivateKey(rand.Reader)
	s, _ := wire.GeneratePrivateKey(rand.Reader)
	a := attest(t, k, s.Public(), wire.Vouch, wire.PublicAudience, "honest")
	other := attest(t, k, s.Public(), wire.Vouch, wire.PublicAudience, "forged companion")
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	if err := c.Sign(s); err != nil {
		t.Fatal(err)
	}
	junk := []byte("junk")
	msgs := [][]byte{
		encodeGossip(a, c),
		encodeGossip(other, c),
		encodeGossip(c),
		encodeRaw([][]byte{junk, c.Raw()}),
		encodeRaw([][]byte{a.Raw(), c.Raw(), c.Raw()}),
	}
	seen := map[string]int{}
	for i, m := range msgs {
		id := GossipID(&pb.Message{Data: m})
		if want := string(wire.CIDOf(m).Bytes()); id != want {
			t.Fatalf("message %d: the ID is not the CID of the message", i)
		}
		if j, ok := seen[id]; ok {
			t.Errorf("messages %d and %d share the ID %x", j, i, id)
		}
		seen[id] = i
	}
	if GossipID(&pb.Message{Data: encodeGossip(a, c)}) != GossipID(&pb.Message{Data: msgs[0]}) {
		t.Error("the same message has two IDs")
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
		if err == nil && !bytes.Equal(encodeRaw(objs), b) {
			t.Fatal("accepted gossip message is not canonical")
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
	f.Add(encodeRequest(request{Op: opQuery, Since: 5, After: wire.CIDOf([]byte("an attestation")).Bytes()}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err == nil && !bytes.Equal(encodeRequest(r), b) {
			t.Fatal("accepted request is not canonical")
		}
	})
}

func FuzzDecodeTrailer(f *testing.F) {
	a := wire.CIDOf([]byte("an attestation"))
	f.Add(encodeTrailer(nil))
	f.Add(encodeTrailer(&position{since: 1_700_000_000, after: a}))
	f.Add([]byte{0xa2, 0x61, 'v', 0x01, 0x65, 's', 'i', 'n', 'c', 'e', 0x05}) // since without after
	f.Fuzz(func(t *testing.T, b []byte) {
		next, err := decodeTrailer(b)
		if err == nil && !bytes.Equal(encodeTrailer(next), b) {
			t.Fatal("accepted trailer is not canonical")
		}
	})
}
