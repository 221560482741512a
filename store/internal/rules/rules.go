// Package rules holds the logic every store implementation shares: argument
// checks, result ordering and the evaluation of an attestation's Status.
package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Prepare checks the arguments of a Put: every object must be a signed wire
// object other than a bundle. Objects are not decoded again: the wire
// package guarantees that whatever it signed or decoded decodes back to the
// same object (wire's TestSignedDecodes and FuzzDecode), and its objects are
// immutable once signed. The error wraps store.ErrInvalid and names the
// offending index.
func Prepare(objs []wire.Object) ([]wire.Object, error) {
	for i, o := range objs {
		if err := checkObject(o); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	return objs, nil
}

func checkObject(o wire.Object) error {
	var isNil bool
	switch v := o.(type) {
	case nil:
		isNil = true
	case *wire.Attestation:
		isNil = v == nil
	case *wire.Retraction:
		isNil = v == nil
	case *wire.Consent:
		isNil = v == nil
	case *wire.ConsentWithdrawal:
		isNil = v == nil
	case *wire.IdentityLink:
		isNil = v == nil
	case *wire.Bundle:
		return fmt.Errorf("%w: a bundle is not stored; put its contents (Bundle.OpenObjects)", store.ErrInvalid)
	default:
		return fmt.Errorf("%w: unsupported object type %T", store.ErrInvalid, o)
	}
	if isNil {
		return fmt.Errorf("%w: nil object", store.ErrInvalid)
	}
	if len(o.Raw()) == 0 || !o.CID().Defined() {
		return fmt.Errorf("%w: %s is not signed", store.ErrInvalid, o.Type())
	}
	return nil
}

// CompareCID orders CIDs by their bytes.
func CompareCID(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) }

// Created returns an object's creation time in Unix seconds.
func Created(o wire.Object) uint64 {
	switch v := o.(type) {
	case *wire.Attestation:
		return v.Created
	case *wire.Retraction:
		return v.Created
	case *wire.Consent:
		return v.Created
	case *wire.ConsentWithdrawal:
		return v.Created
	case *wire.IdentityLink:
		return v.Created
	case *wire.Bundle:
		return v.Created
	}
	return 0
}

// Compare orders objects by creation time, then CID bytes: the order of
// every list a store returns, except All.
func Compare[T wire.Object](a, b T) int {
	return cmp.Or(cmp.Compare(Created(a), Created(b)), CompareCID(a.CID(), b.CID()))
}

// Sort sorts objs in place by Compare.
func Sort[T wire.Object](objs []T) { slices.SortFunc(objs, Compare[T]) }

// Retraction returns the earliest of rets that validly retracts a (signed
// by a's issuer and targeting a), or nil.
func Retraction(a *wire.Attestation, rets []*wire.Retraction) *wire.Retraction {
	var best *wire.Retraction
	for _, r := range rets {
		if r.Retracts(a) && (best == nil || Compare(r, best) < 0) {
			best = r
		}
	}
	return best
}

// Status evaluates the status of a from the retractions, consents and
// withdrawals that target it (others, and those signed by the wrong key,
// are ignored). The input slices are not modified.
func Status(a *wire.Attestation, rets []*wire.Retraction, cons []*wire.Consent, wds []*wire.ConsentWithdrawal) store.Status {
	st := store.Status{Retracted: Retraction(a, rets)}
	if a.Subject.Key == nil {
		// Consent needs the subject's key; an account-only subject has none
		// without identity links, which are the caller's business.
		return st
	}
	subject := *a.Subject.Key
	for _, w := range wds {
		if w.Target.CID().Equals(a.CID()) && w.Subject == subject {
			st.Withdrawn = append(st.Withdrawn, w)
		}
	}
	for _, c := range cons {
		if !c.Covers(a, nil) {
			continue
		}
		withdrawn := slices.ContainsFunc(st.Withdrawn, func(w *wire.ConsentWithdrawal) bool {
			return w.Withdraws(c) && w.Created >= c.Created
		})
		if withdrawn {
			st.Cancelled = append(st.Cancelled, c)
		} else {
			st.Consents = append(st.Consents, c)
		}
	}
	Sort(st.Consents)
	Sort(st.Cancelled)
	Sort(st.Withdrawn)
	return st
}
