package node_test

import (
	"crypto/rand"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/wire"
)

// TestIdentityIsPeerID: the vault's key is the libp2p identity, and wire's
// text form of the public key is exactly libp2p's peer ID, both ways; the
// signatures libp2p makes with it verify as kith signatures and back.
func TestIdentityIsPeerID(t *testing.T) {
	for i := range 20 {
		var seed [32]byte
		seed[0], seed[1] = byte(i), 0x6b
		k := wire.NewPrivateKey(seed)
		priv, id, err := node.Identity(k)
		if err != nil {
			t.Fatal(err)
		}
		if id.String() != k.Public().String() {
			t.Fatalf("libp2p peer ID %s, wire text %s", id, k.Public())
		}
		back, err := peer.Decode(k.Public().String())
		if err != nil || back != id {
			t.Fatalf("peer.Decode(%s) = %s, %v", k.Public(), back, err)
		}
		pk, err := node.PeerKey(id)
		if err != nil || pk != k.Public() {
			t.Fatalf("PeerKey = %s, %v", pk, err)
		}
		// A libp2p signature over kith bytes verifies with kith's key.
		a := &wire.Attestation{Subject: wire.Subject{Acct: "acct:bob@example.org"}, Kind: wire.Vouch, Context: "general",
			Strength: 50, Created: 1700000000, Audience: wire.PublicAudience, Nonce: make([]byte, wire.NonceSize)}
		if err := a.Sign(k); err != nil {
			t.Fatal(err)
		}
		msg, err := wire.EncodeUnsigned(a)
		if err != nil {
			t.Fatal(err)
		}
		input := append([]byte("kith/1/attestation\x00"), msg...)
		ok, err := priv.GetPublic().Verify(input, a.Sig)
		if err != nil || !ok {
			t.Fatalf("libp2p does not verify the kith signature: %v", err)
		}
	}
}

func TestPeerKeyRejectsOtherKeyTypes(t *testing.T) {
	priv, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.PeerKey(id); err == nil {
		t.Fatal("accepted a secp256k1 peer")
	}
}
