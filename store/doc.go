// Package store defines kith's object store: the interface every storage
// back end implements, its query types and its sentinel errors.
//
// A Store holds signed wire objects (attestations, retractions, consents,
// consent withdrawals and identity links), keyed by CID, and answers the
// questions the rest of the node asks about them: which attestations match a
// query, whether an attestation is retracted or consented to, which identity
// links name an account or a key.
//
// Implementations: [github.com/kith-net/kith/store/badger] (on disk,
// encrypted at rest; what a node uses) and [github.com/kith-net/kith/store/mem]
// (in memory, for tests and tools). [github.com/kith-net/kith/store/storetest]
// is the conformance suite both pass.
//
// # Contracts
//
//   - Verification: the store does not verify signatures or time rules. Put
//     takes objects the caller has already verified with [wire.Open] or
//     [wire.VerifyBatch] (or signed itself). Put does decode each object's
//     signed encoding ([wire.Decode]) and refuses, with [ErrInvalid], one
//     that does not decode, so that every stored object can be read back;
//     it stores and indexes the decoded object. Objects read back are
//     byte-identical to what was put.
//   - Expiry and audience are not applied: an expired attestation is still
//     stored and returned. Callers filter by time and audience. The one
//     exception is asked for: a query with Now leaves out lapsed vouches
//     (below).
//   - Idempotence: putting an object that is already present is a no-op;
//     Put returns how many objects were new. A CID listed twice in one call
//     counts once.
//   - Durability: when Put returns nil, every object it was given is durable
//     (for a persistent implementation: it survives kill -9 and power loss).
//     A Put that fits in one transaction is atomic; a larger one is split
//     into several transactions, each atomic and durable on its own, so a
//     failed or cancelled large Put may leave a prefix of its objects stored
//     (and reports how many of them were new). Retrying is always safe.
//   - Order of arrival does not matter: retractions, consents and withdrawals
//     may arrive before the attestation they target. They are stored anyway
//     and every rule below is evaluated against what is present when the
//     question is asked.
//   - Bundles are refused with [ErrInvalid]; store their contents
//     ([wire.Bundle.OpenObjects]). So are nil and unsigned objects. A Put
//     with an invalid object stores nothing.
//   - Concurrency: every Store method is safe for concurrent use by multiple
//     goroutines.
//   - Cancellation: every method checks its context before starting and
//     while iterating; a cancelled call returns an error that wraps
//     ctx.Err().
//   - Closing: Close releases the store; calls after Close fail with
//     [ErrClosed], and a second Close is a no-op returning nil. Close waits
//     for calls in progress; it must not be called from inside an All
//     callback.
//   - Errors: every error names the operation ("store: get: ...") and wraps
//     a sentinel ([ErrNotFound], [ErrClosed], [ErrCorrupt],
//     [ErrSchemaTooNew], [ErrReadOnly], [ErrInvalid]), a context error, or
//     the underlying I/O error, so callers branch with errors.Is.
//
// # Rules
//
// Attestations are returned in ascending order of creation time, ties broken
// by CID bytes; Query.Limit applies after that ordering. Identity links and
// the lists in a [Status] are ordered the same way.
//
// A retraction counts only if its Issuer equals the attestation's Issuer
// ([wire.Retraction.Retracts]); a forged retraction by anybody else is stored
// but ignored. When several valid retractions exist, Status reports the
// earliest.
//
// A consent counts only if it is signed by the attestation's subject key
// ([wire.Consent.Covers] with linked == nil), so an attestation about an
// account alone has no consents in a Status; resolving an account to a key
// through identity links is the caller's decision. A consent withdrawal
// counts only if it is signed by the same subject key; it cancels every
// consent of that key on that attestation created at or before it (a consent
// created after a withdrawal stands again).
//
// A public vouch whose subject withdrew its consent, and has no live consent
// since, is withdrawn ([Withdrawn]): like a retracted attestation, a query
// leaves it out unless it asks for it (Query.Withdrawn), so a withdrawal
// takes the statement out of every node's scoring, not only out of
// circulation. Withdrawals of anything else (a warning, a peer-audience
// statement) change nothing.
//
// Consent expiry is applied only when a query gives the time (Query.Now):
// a public vouch all of whose consents have expired by then has lapsed
// ([Lapsed]) and is left out as a withdrawn one is, unless it is by the
// querier (Query.Own), for whom an unconsented vouch is still their own
// word. Without Now, expiry is not applied, like every other time rule.
package store
