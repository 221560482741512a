package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/wire"
)

// Sentinel errors. Errors returned by Store implementations wrap them;
// branch with errors.Is.
var (
	// ErrNotFound: no object with that CID (for Status: no attestation).
	ErrNotFound = errors.New("store: not found")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt: stored data failed an integrity check (an object whose
	// bytes do not hash to its key, an undecodable object, a malformed
	// index or metadata entry). Corrupt data is never returned.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrSchemaTooNew: the on-disk schema is newer than this build reads.
	ErrSchemaTooNew = errors.New("store: schema version too new")
	// ErrReadOnly: a write was attempted on a store opened read-only.
	ErrReadOnly = errors.New("store: read-only")
	// ErrInvalid: the caller passed an invalid argument (a bundle, a nil or
	// unsigned object, an invalid query).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrWrongStore: the store opened is not the one expected (a persistent
	// store missing, empty, or another store's): nothing was written.
	ErrWrongStore = errors.New("store: not the expected store")
	// ErrUnwritable: writes to the store fail (a full disk, a failing
	// device, its directory gone); reads may still work. The store refuses
	// every later write until it is reopened.
	ErrUnwritable = errors.New("store: writes failing")
	// ErrInUse: another process holds the store.
	ErrInUse = errors.New("store: in use by another process")
)

// Query selects attestations. Set fields are combined with AND; the zero
// Query selects every attestation that is neither retracted nor withdrawn
// (see Withdrawn).
type Query struct {
	Issuer     *wire.PublicKey // attestations by this issuer
	SubjectKey *wire.PublicKey // about this node key
	Acct       string          // about this normalised "acct:user@host"
	Context    string          // in this context ("" = any)
	Kind       wire.Kind       // "" = any
	Retracted  bool            // include retracted attestations (default: exclude)
	// Withdrawn includes the public vouches whose subject withdrew its
	// consent (see Withdrawn; default: exclude), and with Now those whose
	// consent lapsed.
	Withdrawn bool
	// Now, when set (Unix seconds), applies consent expiry: a public vouch
	// about a key all of whose consents have expired by Now (see Lapsed),
	// and that is not by Own, is treated as withdrawn. 0 leaves expiry
	// out, as the store's other rules do.
	Now uint64
	// Own is the querier's key: with Now, its own public vouches count
	// although their consents lapsed (an unconsented vouch is still its
	// issuer's word, spec/node-v1.md §5.1). A withdrawal leaves them out
	// all the same.
	Own *wire.PublicKey
	// Since selects the attestations created at or after it (Unix
	// seconds); with After set, only those that come after (Since, After)
	// in the result order, so that a caller pages through a long result
	// by passing the last attestation's creation time and CID.
	Since uint64
	After cid.Cid
	Limit int // 0 = no limit
}

// Validate reports whether q is well-formed: a non-negative Limit, a Kind
// that is empty, wire.Vouch or wire.Warn, a valid Context if set, and an
// Acct in normalised form if set. The error wraps ErrInvalid.
func (q Query) Validate() error {
	if q.Limit < 0 {
		return fmt.Errorf("%w: negative limit %d", ErrInvalid, q.Limit)
	}
	if q.Kind != "" && q.Kind != wire.Vouch && q.Kind != wire.Warn {
		return fmt.Errorf("%w: kind %q", ErrInvalid, q.Kind)
	}
	if q.Context != "" {
		if err := wire.ValidateContext(q.Context); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if q.Acct != "" {
		n, err := wire.NormalizeAcct(q.Acct)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if n != q.Acct {
			return fmt.Errorf("%w: acct %q is not normalised (want %q)", ErrInvalid, q.Acct, n)
		}
	}
	return nil
}

// Match reports whether a satisfies q's field filters (Issuer, SubjectKey,
// Acct, Context, Kind, Since, After). Retracted, Withdrawn and Limit are
// not considered: they depend on other objects and on the result set.
func (q Query) Match(a *wire.Attestation) bool {
	switch {
	case a.Created < q.Since:
		return false
	case q.After.Defined() && a.Created == q.Since && bytes.Compare(a.CID().Bytes(), q.After.Bytes()) <= 0:
		return false
	case q.Issuer != nil && a.Issuer != *q.Issuer:
		return false
	case q.SubjectKey != nil && (a.Subject.Key == nil || *a.Subject.Key != *q.SubjectKey):
		return false
	case q.Acct != "" && a.Subject.Acct != q.Acct:
		return false
	case q.Context != "" && a.Context != q.Context:
		return false
	case q.Kind != "" && a.Kind != q.Kind:
		return false
	}
	return true
}

// Status of an attestation as the store knows it. Lists are ordered by
// creation time, then CID.
type Status struct {
	// Retracted is the earliest valid retraction (signed by the
	// attestation's issuer), if any.
	Retracted *wire.Retraction
	// Consents are the consents signed by the attestation's subject key
	// (Consent.Covers with linked == nil) that no withdrawal in Withdrawn
	// created at or after them cancels.
	Consents []*wire.Consent
	// Cancelled are the other consents signed by the attestation's subject
	// key: those a withdrawal cancels.
	Cancelled []*wire.Consent
	// Withdrawn are the consent withdrawals signed by the attestation's
	// subject key.
	Withdrawn []*wire.ConsentWithdrawal
}

// Withdrawn reports whether a, with status st, is withdrawn: a public
// vouch about a key whose subject withdrew its consent and has not
// consented again since (a withdrawal in st.Withdrawn, no live consent in
// st.Consents). A withdrawn statement counts nowhere: it leaves
// circulation and every node's scoring, as a retracted one does. Only
// public vouches need consent, so a withdrawal signed for any other
// attestation changes nothing (a subject cannot silence a warning).
func Withdrawn(a *wire.Attestation, st Status) bool {
	return a.Audience.Scope == wire.Public && a.Kind == wire.Vouch && a.Subject.Key != nil &&
		len(st.Withdrawn) > 0 && len(st.Consents) == 0
}

// Lapsed reports whether a, with status st, has lapsed at now (Unix
// seconds): a public vouch about a key that is not withdrawn, whose subject
// consented, and all of whose consents (st.Consents, those no withdrawal
// cancels) have expired by now. Its subject's consent has run out, so it
// is back where it stood before it: unconsented, held only by its issuer
// and subject, counted only by its issuer. Only public vouches need
// consent.
func Lapsed(a *wire.Attestation, st Status, now uint64) bool {
	if a.Audience.Scope != wire.Public || a.Kind != wire.Vouch || a.Subject.Key == nil || len(st.Consents) == 0 {
		return false
	}
	for _, c := range st.Consents {
		if c.Expires == 0 || now < c.Expires {
			return false
		}
	}
	return true
}

// Excluded reports whether q leaves out a, with status st, for its
// consents: a is withdrawn (unless q.Withdrawn), or lapsed at q.Now and
// not by q.Own (unless q.Withdrawn; never when q.Now is 0). Retraction is
// not considered.
func (q Query) Excluded(a *wire.Attestation, st Status) bool {
	if q.Withdrawn {
		return false
	}
	if Withdrawn(a, st) {
		return true
	}
	return q.Now != 0 && (q.Own == nil || a.Issuer != *q.Own) && Lapsed(a, st, q.Now)
}

// Store stores signed kith objects. See the package documentation for the
// contracts every implementation keeps; all methods are safe for concurrent
// use.
type Store interface {
	// Put stores objects the caller has already verified (wire.Open or
	// wire.VerifyBatch). When Put returns nil, every object is durable: it
	// survives kill -9 and power loss. Objects already present are skipped;
	// Put returns how many were new. Bundles, and objects whose encoding
	// does not decode, are refused with ErrInvalid and nothing is stored
	// (store a bundle's contents). A Put that fits in one transaction is
	// atomic; a larger one is split into transactions, each atomic and
	// durable, and on error added counts the new objects of the
	// transactions that committed.
	Put(ctx context.Context, objs ...wire.Object) (added int, err error)
	// Get returns the object with CID id, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id cid.Cid) (wire.Object, error)
	// Has reports whether the object with CID id is present.
	Has(ctx context.Context, id cid.Cid) (bool, error)
	// Attestations returns the attestations matching q, ordered by
	// creation time then CID, ascending. An invalid q yields ErrInvalid.
	Attestations(ctx context.Context, q Query) ([]*wire.Attestation, error)
	// Status returns what the store knows about the attestation with CID
	// att. It fails with ErrNotFound if that attestation is not present.
	Status(ctx context.Context, att cid.Cid) (Status, error)
	// StatusOf returns the status of a from the retractions, consents and
	// withdrawals stored for it, whether or not a itself is stored (they
	// may arrive first: tombstones of a statement this store never held).
	StatusOf(ctx context.Context, a *wire.Attestation) (Status, error)
	// Links returns the identity links naming acct, ordered by creation
	// time then CID.
	Links(ctx context.Context, acct string) ([]*wire.IdentityLink, error)
	// LinksByKey returns the identity links signed by key, ordered by
	// creation time then CID.
	LinksByKey(ctx context.Context, key wire.PublicKey) ([]*wire.IdentityLink, error)
	// All calls fn for every object (any type) in CID byte order; it stops
	// at the first error fn returns and returns that error unchanged. fn
	// may call other methods of the store, but not Close.
	All(ctx context.Context, fn func(wire.Object) error) error
	// Count returns the number of objects stored.
	Count(ctx context.Context) (int, error)
	// Close releases the store. Later calls fail with ErrClosed; a second
	// Close is a no-op.
	Close() error
}
