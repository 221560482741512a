package node

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// The public set is what the node offers to every peer and reconciles
// (node/recon): for each public attestation with a live consent (signed by
// its subject, not withdrawn since, not expired), the
// attestation and its live consents; for each public attestation known, its
// retraction and its subject's consent withdrawals; nothing of an
// attestation that has expired. Membership is a
// function of the objects a node holds, so two nodes holding the same
// objects hold the same set, and reconciliation converges.

// keyOf returns an object CID's recon key: the sha2-256 digest inside it.
func keyOf(c cid.Cid) (recon.Key, bool) {
	var k recon.Key
	dm, err := multihash.Decode(c.Hash())
	if err != nil || dm.Code != multihash.SHA2_256 || len(dm.Digest) != 32 || c.Prefix().Codec != cid.DagCBOR || c.Version() != 1 {
		return k, false
	}
	copy(k[:], dm.Digest)
	return k, true
}

// cidOfKey rebuilds the CID of a kith object from its recon key.
func cidOfKey(k []byte) cid.Cid {
	mh, err := multihash.Encode(k, multihash.SHA2_256)
	if err != nil {
		return cid.Undef
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}

// targetOf returns the attestation an object belongs to.
func targetOf(o wire.Object) (cid.Cid, bool) {
	switch v := o.(type) {
	case *wire.Attestation:
		return v.CID(), true
	case *wire.Consent:
		return v.Target.CID(), true
	case *wire.ConsentWithdrawal:
		return v.Target.CID(), true
	case *wire.Retraction:
		return v.Target.CID(), true
	}
	return cid.Undef, false
}

// loadBatch is how many keys loadSet adds to the public set at a time (one
// key-store transaction).
const loadBatch = 4096

// loadSet builds the public set from the store, into the empty set.
func (n *Node) loadSet(ctx context.Context) error {
	var atts []cid.Cid
	err := n.cfg.Store.All(ctx, func(o wire.Object) error {
		if a, ok := o.(*wire.Attestation); ok && a.Audience.Scope == wire.Public {
			atts = append(atts, a.CID())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("node: loading the public set: %w", err)
	}
	var batch []recon.Key
	flush := func() error {
		_, _, err := n.set.Update(batch, nil)
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("node: loading the public set: %w", err)
		}
		return nil
	}
	for _, c := range atts {
		members, _, err := n.groupMembers(ctx, c)
		if err != nil {
			return err
		}
		for _, m := range members {
			if k, ok := keyOf(m); ok {
				batch = append(batch, k)
			}
		}
		if len(batch) >= loadBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// groupMembers returns the public-set members of one attestation's group,
// and every object of the group the store holds (members or not: the
// attestation, its consents live and cancelled, its withdrawals, its
// retraction): whatever was ever a member is among them, since objects
// never leave the store.
func (n *Node) groupMembers(ctx context.Context, att cid.Cid) (members, all []cid.Cid, err error) {
	o, err := n.cfg.Store.Get(ctx, att)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("node: store: %w", err)
	}
	a, ok := o.(*wire.Attestation)
	if !ok || a.Audience.Scope != wire.Public || a.Kind != wire.Vouch {
		return nil, nil, nil
	}
	st, err := n.cfg.Store.Status(ctx, att)
	if err != nil {
		return nil, nil, fmt.Errorf("node: store: %w", err)
	}
	now := n.cfg.Now()
	st = liveStatus(st, now) // expired consents are not live (they are in Cancelled)
	if expiredAt(a, now) {
		// Expired: nothing of it is offered (no node would take it).
		all = append(all, att)
		for _, o := range st.Consents {
			all = append(all, o.CID())
		}
		for _, o := range st.Cancelled {
			all = append(all, o.CID())
		}
		for _, o := range st.Withdrawn {
			all = append(all, o.CID())
		}
		if st.Retracted != nil {
			all = append(all, st.Retracted.CID())
		}
		return nil, all, nil
	}
	// The group changes when the attestation expires, and, while it is a
	// member through its consents, when the first of those expires.
	next := a.Expires
	if st.Retracted != nil {
		members = append(members, st.Retracted.CID())
	} else if len(st.Consents) > 0 {
		members = append(members, att)
		for _, c := range st.Consents {
			members = append(members, c.CID())
			if c.Expires != 0 && (next == 0 || c.Expires < next) {
				next = c.Expires
			}
		}
	}
	if next != 0 {
		defer func() {
			if len(members) > 0 {
				n.expiring.add(att, next)
			}
		}()
	}
	for _, w := range st.Withdrawn {
		members = append(members, w.CID())
	}
	all = append(all, members...)
	if st.Retracted != nil || len(st.Consents) == 0 {
		all = append(all, att)
		for _, c := range st.Consents {
			all = append(all, c.CID())
		}
	}
	for _, c := range st.Cancelled {
		all = append(all, c.CID())
	}
	return members, all, nil
}

// expiring remembers when the groups in the public set change by
// themselves: an attestation with an expiry leaves it when it expires, and
// one present through consents that expire loses them then. Safe for
// concurrent use.
type expiring struct {
	mu sync.Mutex
	h  expiryHeap
	in map[expiryEntry]bool
}

type expiryEntry struct {
	at  uint64 // Unix seconds
	att cid.Cid
}

type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (e *expiring) add(att cid.Cid, at uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.in == nil {
		e.in = map[expiryEntry]bool{}
	}
	if x := (expiryEntry{at, att}); !e.in[x] {
		e.in[x] = true
		heap.Push(&e.h, x)
	}
}

// due removes and returns the attestations expired at now.
func (e *expiring) due(now time.Time) []cid.Cid {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []cid.Cid
	for len(e.h) > 0 && int64(e.h[0].at) <= now.Unix() {
		x := heap.Pop(&e.h).(expiryEntry)
		delete(e.in, x)
		out = append(out, x.att)
	}
	return out
}

// sweepExpired takes the groups of expired attestations out of the public
// set. It runs before every reconciliation, served or run.
func (n *Node) sweepExpired(ctx context.Context) error {
	for _, att := range n.expiring.due(n.cfg.Now()) {
		if err := n.refreshGroup(ctx, string(att.Bytes())); err != nil {
			return err
		}
	}
	return nil
}

// refreshGroup brings the set up to date for one attestation's group (the
// CID's bytes as a string): it adds the group's members and removes the
// group's other objects. Refreshes are serialised, so the set always
// follows the newest reading of the store.
func (n *Node) refreshGroup(ctx context.Context, att string) error {
	c, err := cid.Cast([]byte(att))
	if err != nil {
		return nil
	}
	n.groupMu.Lock()
	defer n.groupMu.Unlock()
	members, all, err := n.groupMembers(ctx, c)
	if err != nil {
		return err
	}
	keep := make(map[recon.Key]bool, len(members))
	var add, del []recon.Key
	for _, m := range members {
		if k, ok := keyOf(m); ok {
			keep[k] = true
			add = append(add, k)
		}
	}
	for _, o := range all {
		if k, ok := keyOf(o); ok && !keep[k] {
			del = append(del, k)
		}
	}
	if _, _, err := n.set.Update(add, del); err != nil {
		return fmt.Errorf("node: public set: %w", err)
	}
	return nil
}

// InPublicSet reports whether the object with CID c is in the node's
// public set (offered to every peer).
func (n *Node) InPublicSet(c cid.Cid) bool {
	k, ok := keyOf(c)
	return ok && n.set.Has(k)
}

// PublicSetLen returns the size of the public set.
func (n *Node) PublicSetLen() int { return n.set.Len() }
