// Package protosim is the protocol level of kith's simulator: every member
// of a scenario's honest graph runs the real node (package node: gossip,
// exchange, consent, resync, peer routing) in this process, on a simulated
// IP network, in real time or in virtual time.
//
// # The network
//
// Nodes speak QUIC (libp2p's own transport) over marcopolo/simnet, the
// simulated packet network go-libp2p tests itself with: each node has a
// link with a bandwidth cap and queues, and packets take the scenario's
// latency ± jitter. On top of it this package drops a share of packets at
// random (loss) and every packet between the groups of a partition. Loss
// and partitions therefore act as on a real network: QUIC retransmits,
// connections across a partition time out, and nodes must find each other
// again when it heals.
//
// # A run
//
// The honest graph's ratings are published over the steps in a seeded
// random order: a vouch is public with chance consent.public, which sends a
// consent request to its subject's node; warnings and the other vouches are
// private and carry a canary in their reason. Each step, subjects decide
// the requests that reached them (grant with chance consent.grant, else
// decline), may withdraw consent (consent.revoke), nodes stop and restart
// on their stores (churn: rate per step, for downtime steps), and
// partitions start and heal. Eclipse attackers are libp2p hosts that join
// the proofs topic, connect to `degree` honest nodes each, forward nothing
// and answer no kith protocol. Active ones (a behaviour's attack: invalid,
// ihave or graft) speak gossipsub v1.2 by hand and, from their attack_at
// step on, send every honest node they met a burst each second: proofs
// that fail validation, IHAVEs of messages they never deliver, or GRAFT
// with PRUNE over and over (attack.go). After the last step the run waits
// up to Options.Drain for the last deliveries.
//
// Each node's gossip peer score includes its owner's trust in the peer, as
// a daemon's does: after the first step and every PeerTrustRefresh, the
// node's view of what its store holds is scored with the shipped model
// (owner.PeerTrustOf) and fed to node.Config.PeerTrust. Peers it vouched
// for, or whom its trusted peers vouch for, score higher; attackers nobody
// vouched for stay at 0 (Result.PeersTrusted counts the keys above
// neutral).
//
// # What it measures (Result)
//
//   - delivery: the share of (consented proof, honest node up at the end)
//     pairs delivered, the subject excepted;
//   - latency: from the subject's approval to each node storing the proof
//     (p50, p99, max);
//   - withdrawals: whether every node that holds a withdrawn proof also
//     holds its withdrawal (stale holders otherwise);
//   - heal convergence: how long after the heal the last proof made before
//     it reached its last node;
//   - bandwidth: UDP payload bytes each node sends per second, and per
//     delivered proof; packets lost;
//   - privacy: private attestations (or their canaries) and declined
//     public statements found in the store of a node not entitled to them;
//   - consent requests that never reached their subject;
//   - against active attackers, the share of (honest node, attacker)
//     pairs in which the node's gossip score of the attacker fell below
//     node.GraylistThreshold, and how soon after the attack began; and
//     honest peers graylisted (collateral).
//
// The seed fixes the workload: the graph, the keys, the eclipse attackers
// and the nodes each targets, the order of publication, every attestation (its step, audience, nonce and canary),
// the consent each subject gives to each request, the churn schedule, the
// partition groups and the attackers' targets. Each comes from its own
// stream (scenario.Rand) or from a draw keyed by what it decides
// (scenario.Draw: consent by the attestation, withdrawal by the attestation
// and the step), never from one stream shared with choices that wait on
// the network. Result.Plan is a digest of that workload; the same seed
// gives the same Plan on either clock (TestReproducible). What the network
// then does with it is not reproducible to the byte: arrival times, which
// requests have arrived by a given step (so which proofs exist when, and
// which are withdrawn), bytes and packets lost depend on the scheduling of
// hundreds of goroutines and on the randomness inside libp2p (handshakes,
// gossip peer selection), in virtual time as in real time. The graph level
// is the one whose results are byte-identical for a seed.
//
// # Clocks
//
// In real time every node shares this machine's cores, and once they are
// busy the latencies measured include the machine's own queueing. Run
// measures how late each step ends against the clock (Tick.BehindS); a
// run whose largest lag exceeds MaxBehind (10 %) of its simulated time
// sets Result.FellBehind, and its figures are marked (fell_behind in the
// CSV, the plot's title, a note on every goal).
//
// In virtual time Run works inside a testing/synctest bubble
// (Options.Virtual), where the clock moves only when every goroutine
// waits: a step takes as long as its work needs, and the latencies are the
// protocol's on the simulated links. RunVirtual starts such a bubble
// outside `go test` (kith sim run's default clock for the protocol
// level): a synctest bubble needs a *testing.T, so it runs the simulation
// as the one test of testing.MainStart, documented as meant for `go
// test`'s generated code and pinned here to the Go release of go.mod
// (TestSweepVirtual runs it). Virtual time removes the machine's queueing,
// not its work: a network that needs more CPU than the machine has runs
// slower than the clock it simulates, and holds the same memory.
//
// # Sweeps, shards and outputs
//
// A scenario's sweep (package scenario) makes cells, each a run of its
// own; RunShard runs the cells of one shard (index I modulo N) and Merge
// joins the shards' partial results into a Report, the runs in cell
// order with the scenario's protocol-level goals judged on each. WriteCSV
// writes a Report as one tidy table (a row per cell and metric, the
// value numeric: booleans 0 or 1), WriteTimelineCSV every run's timeline
// (a row per step and one after the drain), WriteJSON all of it with its
// provenance; Plot draws a timeline per run.
package protosim
