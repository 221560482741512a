// Package node runs kith as a peer: it wires the vocabulary packages (wire,
// store, trust) to libp2p. This is the only package tree that imports
// libp2p; wire, trust, store and vault never do.
//
// So far it holds the node's identity: the vault's Ed25519 key is the
// node's libp2p identity, and a kith public key's text form is its libp2p
// peer ID. The host, gossip, exchange protocol and daemon build on it.
package node
