// Package kith is the root of a peer-to-peer reputation network: each person
// runs a small node beside their Fediverse account that keeps signed,
// private-by-default attestations, computes subjective trust on the device,
// and gossips only proofs whose subjects consented.
//
// The code is organised by what it is:
//
//	wire/     signed, content-addressed objects and their canonical encoding
//	vault/    the node's secret keys at rest, encrypted with a passphrase
//	store/    the attestation store: interface, conformance suite, badger and memory implementations
//	trust/    subjective trust scoring (never imports networking code)
//	node/     the running peer: libp2p host, gossip, exchange, local API
//	cli/      the kith command's subcommands (cmd/kith is its thin main)
//	perf/     performance cases shared by go test -bench and kith bench
//	spec/     the normative specifications with their test vectors
//
// This package holds only repository-wide tests (dependency direction,
// package documentation).
package kith
