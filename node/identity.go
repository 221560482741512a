package node

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/kith-net/kith/wire"
)

// Identity converts a node's signing key into its libp2p identity: the same
// Ed25519 key, so the node's peer ID is its kith public key.
func Identity(k *wire.PrivateKey) (crypto.PrivKey, peer.ID, error) {
	priv, err := crypto.UnmarshalEd25519PrivateKey(k.Std())
	if err != nil {
		return nil, "", fmt.Errorf("node: identity: %w", err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("node: identity: %w", err)
	}
	return priv, id, nil
}

// PeerKey returns the kith public key behind a libp2p peer ID; it fails
// for peers whose key is not Ed25519 (they cannot be kith nodes).
func PeerKey(id peer.ID) (wire.PublicKey, error) {
	var k wire.PublicKey
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return k, fmt.Errorf("node: peer %s: %w", id, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return k, fmt.Errorf("node: peer %s: key type %v, want Ed25519", id, pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil {
		return k, fmt.Errorf("node: peer %s: %w", id, err)
	}
	if len(raw) != wire.PublicKeySize {
		return k, fmt.Errorf("node: peer %s: key of %d bytes", id, len(raw))
	}
	copy(k[:], raw)
	if err := k.Valid(); err != nil {
		return k, fmt.Errorf("node: peer %s: %w", id, err)
	}
	return k, nil
}
