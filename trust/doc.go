// Package trust computes subjective trust: how far one node (the querier)
// trusts others, from its own attestations and the proofs it received, and
// why.
//
// Everything is computed from the querier's point of view; no function here
// computes or publishes a global score. The graph is a signed, weighted
// directed graph (Graph) whose nodes are dense NodeIDs; Scorer is the one
// interface every scoring method implements, and every implementation
// passes the same conformance suite.
//
// The package never imports networking code: the node feeds it a graph,
// the simulator feeds it many.
package trust
