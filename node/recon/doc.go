// Package recon reconciles two nodes' sets of object keys (anti-entropy
// resync, spec/resync-v1.md). Gossip forgets within seconds; after a
// partition or downtime a node runs Reconcile against a peer that runs
// Serve, learns which keys the peer has that it lacks (Result.Missing) and
// which it has that the peer lacks (Result.Extra), and fetches or offers
// the objects by key through another protocol.
//
// The protocol is range-based set reconciliation over the 256-bit key
// space split by hex-nibble prefixes: the peers compare the count and a
// Merkle fingerprint of a range, and split a range that differs into its
// sixteen sub-ranges until either side holds few keys, which it then
// lists. Equal sets cost one round trip of 44 bytes; otherwise the cost
// grows with the size of the difference, not of the sets.
//
// The package is transport-agnostic: it imports no networking and works
// over any io.ReadWriter (the node runs it over a libp2p stream).
//
// Contracts:
//   - A Set is safe for concurrent use by any number of goroutines, also
//     while sessions run on it; it must not be copied after first use.
//     Reconcile and Serve lock it only while they compute one message, so
//     writers are never blocked for a whole session.
//   - Reconcile and Serve run one session each, in the calling goroutine;
//     they start no goroutines. They never close the io.ReadWriter: the
//     caller owns it, and should set deadlines on it. If it has a
//     SetDeadline method (net.Conn, libp2p streams), cancelling ctx sets a
//     past deadline to interrupt blocked I/O; otherwise ctx is checked
//     between messages.
//   - Slices in a Result, and those returned by Set.Keys, belong to the
//     caller.
//   - Every message is decoded strictly; a peer that sends a malformed
//     message or exceeds a cap (MaxMessageSize, MaxEntries, MaxItems, the
//     round cap) is told so with an ERROR message, and the session ends with
//     an *Error matching ErrMalformed, ErrTooLarge, ErrTooManyRounds,
//     ErrVersion or ErrUnexpected.
package recon
