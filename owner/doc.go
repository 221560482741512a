// Package owner is the owner service: what a kith node does for its owner,
// behind the local API. Service implements api.Service over the owner's
// key, store and vault, with typed answers (api.QueryResult, api.RankRow):
// the owner's statements and their views, query and rank through the trust
// engine, the model that answers and its refinement, consent decisions,
// bundles, and the Fediverse (identity links, login, import, apply).
//
// The package imports no networking: what must reach the peer-to-peer
// network goes through the Network interface, which the daemon implements
// over node.Node and a command without a daemon implements over the store
// alone (cli keeps both adapters). The vault is reached through the Vault
// interface. The clock, randomness and logger are injected (Config).
//
// # Reads and writes
//
// Every method that answers a GET of the API (Status, Peers, Query, Rank,
// Attestations, Consents, Metrics, Export, Model) only reads: none calls
// out to a Fediverse instance or rewrites the vault. A verified identity
// link counts in the trust view while its last check is younger than
// LinkTTL; checking links again (which asks their instances) is the
// explicit job RecheckLinks, which the daemon runs in the background
// (RunLinkChecks, logged) and a command without a daemon runs before it
// builds a view. The methods that change state are the POST routes'.
//
// # Concurrency
//
// A Service is safe for concurrent use. Calls that read or write the
// vault's entries, or build the trust view from them, are serialised by one
// mutex; store reads are concurrent. RunLinkChecks blocks until its context
// ends: its caller owns the goroutine it runs in.
package owner
