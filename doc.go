// Package kith is the root of a peer-to-peer reputation network: each person
// runs a small node beside their Fediverse account that keeps signed,
// private-by-default attestations, computes subjective trust on the device,
// and gossips only proofs whose subjects consented.
//
// The tree, by what each part is:
//
//	wire/               signed, content-addressed objects and their canonical encoding
//	vault/              the node's secret keys at rest, encrypted with a passphrase
//	store/              the attestation store: interface, rules (store/internal/rules),
//	                    conformance suite (store/storetest), badger and memory implementations
//	trust/              the trust engine a node runs: graph, propagation, features,
//	                    model (trust/model holds the shipped one), explanations;
//	                    trust/trusttest is the conformance suite of every scorer
//	node/               the running peer: libp2p host, gossip, exchange, consent, resync;
//	                    node/recon (set reconciliation), node/netsim (many nodes on a mock network)
//	api/                the daemon's local HTTP API: server, client, discovery, token
//	fedi/               the Mastodon/GoToSocial client API and identity-link checks
//	cli/                the kith command: subcommands, the owner service's adapters,
//	                    output schemas, and the plumbing every command shares (Program)
//	cli/lab             the research lab's commands: eval, sim, bench, model train --public
//	cmd/kith/           the node's binary, a thin main around cli.Main, and the tests
//	                    that run it; it links none of the lab
//	cmd/kith-lab/       the lab's binary: kith's commands plus cli/lab's
//	internal/atomicfile crash-safe writes of small files
//	internal/perf       performance cases shared by go test -bench and kith-lab bench
//	internal/netnstest  tests in a network namespace of their own
//	simulations/        the research lab: evaluation harness, baselines, data sets,
//	                    model training, generators and the network simulator
//	spec/               the normative specifications with their test vectors
//	contrib/            service files for systemd (user unit) and launchd
//
// The engine (wire, store, vault, trust, node, api, fedi) never imports the
// lab, and the node's binary links none of it; repo_test.go holds both.
//
// This package holds only repository-wide tests (dependency direction,
// package documentation).
package kith
