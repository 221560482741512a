// Package kith is the root of a peer-to-peer reputation network: each person
// runs a small node beside their Fediverse account that keeps signed,
// private-by-default attestations, computes subjective trust on the device,
// and gossips only proofs whose subjects consented.
//
// The code is organised by what it is:
//
//	wire/         signed, content-addressed objects and their canonical encoding
//	vault/        the node's secret keys at rest, encrypted with a passphrase
//	store/        the attestation store: interface, conformance suite, badger and memory implementations
//	trust/        the trust engine a node runs: graph, propagation, features, model, explanations
//	node/         the running peer: libp2p host, gossip, exchange, consent, resync
//	api/          the daemon's local HTTP API: server, client, discovery
//	fedi/         the Mastodon/GoToSocial client API and identity-link checks
//	cli/          the kith command's subcommands (cmd/kith is its thin main)
//	simulations/  the research lab: evaluation harness, baselines, data sets,
//	              model training, generators and the network simulator
//	spec/         the normative specifications with their test vectors
//
// The engine (wire, store, vault, trust, node, api, fedi) never imports the
// lab; repo_test.go holds that direction.
//
// This package holds only repository-wide tests (dependency direction,
// package documentation).
package kith
