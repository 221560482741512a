package trust

import (
	"fmt"
	"time"

	"github.com/kith-net/kith/wire"
)

// Index names the nodes of a graph built from attestations: each node is a
// node key, a Fediverse account, or both (a key and the account it is
// verifiably linked to).
type Index struct {
	keys  map[wire.PublicKey]NodeID
	accts map[string]NodeID
	// Subjects[v] says who node v is.
	Subjects []wire.Subject
	linked   map[NodeID]bool
}

// Linked reports whether v's Fediverse account is verifiably linked to its
// key (it came from BuildOptions.Links).
func (ix *Index) Linked(v NodeID) bool { return ix.linked[v] }

// Lookup returns the node of a subject: by key first, then by account.
func (ix *Index) Lookup(s wire.Subject) (NodeID, bool) {
	if s.Key != nil {
		if v, ok := ix.keys[*s.Key]; ok {
			return v, true
		}
	}
	if s.Acct != "" {
		if v, ok := ix.accts[s.Acct]; ok {
			return v, true
		}
	}
	return 0, false
}

// Key returns the node of a key.
func (ix *Index) Key(k wire.PublicKey) (NodeID, bool) {
	v, ok := ix.keys[k]
	return v, ok
}

func (ix *Index) node(s wire.Subject) NodeID {
	if v, ok := ix.Lookup(s); ok {
		// Learn the other half of a subject that names both.
		sub := &ix.Subjects[v]
		if s.Key != nil && sub.Key == nil {
			k := *s.Key
			sub.Key = &k
			ix.keys[k] = v
		}
		if s.Acct != "" && sub.Acct == "" {
			sub.Acct = s.Acct
			ix.accts[s.Acct] = v
		}
		return v
	}
	v := NodeID(len(ix.Subjects))
	ix.Subjects = append(ix.Subjects, s)
	if s.Key != nil {
		ix.keys[*s.Key] = v
	}
	if s.Acct != "" {
		ix.accts[s.Acct] = v
	}
	return v
}

// BuildOptions say which attestations count.
type BuildOptions struct {
	// Context selects the attestations of one context ("" means
	// "general").
	Context string
	// Now is when expiry is judged.
	Now time.Time
	// Retracted reports attestations withdrawn by their issuer (nil: none).
	Retracted func(*wire.Attestation) bool
	// Links are verified identity links, account to key: an attestation
	// about the account counts for the key's node.
	Links map[string]wire.PublicKey
	// Self is the querier's key; it is always node 0, so that a view can
	// be built even when the querier has made no attestation yet.
	Self wire.PublicKey
}

// Build turns attestations into a graph: a vouch is an edge of weight
// strength/100, a warning of weight −strength/100; expired and retracted
// attestations and those of other contexts are left out; when an issuer
// made several about the same subject, the latest counts.
func Build(atts []*wire.Attestation, o BuildOptions) (*Graph, *Index, error) {
	ctx := o.Context
	if ctx == "" {
		ctx = "general"
	}
	ix := &Index{keys: map[wire.PublicKey]NodeID{}, accts: map[string]NodeID{}, linked: map[NodeID]bool{}}
	self := o.Self
	ix.node(wire.Subject{Key: &self})
	for acct, k := range o.Links {
		kk := k
		ix.linked[ix.node(wire.Subject{Key: &kk, Acct: acct})] = true
	}
	now := uint64(o.Now.Unix())
	var edges []Edge
	for _, a := range atts {
		if a.Context != ctx || (a.Expires != 0 && now >= a.Expires) || (o.Retracted != nil && o.Retracted(a)) {
			continue
		}
		from := ix.node(wire.KeySubject(a.Issuer))
		to := ix.node(a.Subject)
		if from == to {
			continue
		}
		w := float64(a.Strength) / wire.MaxStrength
		if a.Kind == wire.Warn {
			w = -w
		}
		edges = append(edges, Edge{From: from, To: to, Weight: w, Time: int64(a.Created)})
	}
	g, err := NewGraph(len(ix.Subjects), edges)
	if err != nil {
		return nil, nil, fmt.Errorf("trust: build: %w", err)
	}
	return g, ix, nil
}
