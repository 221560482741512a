package node

import (
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/wire"
)

// Gossip does not keep order: a consent withdrawal (or a retraction) can
// reach a node before the proof it cancels, when both are published within
// moments. The node cannot check it then (its target is unknown), ignores
// the message, and gossip will not offer it again; the proof arriving next
// would then stay live on that node. So verified withdrawals and
// retractions whose target is unknown are kept for a while as orphans: a
// proof that arrives later is checked against them, and they are stored
// with it.
const (
	orphanTTL = 10 * time.Minute
	orphanCap = 1024
)

// orphans holds signed withdrawals and retractions waiting for their
// target attestation. Safe for concurrent use.
type orphans struct {
	mu sync.Mutex
	m  map[cid.Cid][]orphan // target -> objects
	n  int
}

type orphan struct {
	obj wire.Object
	at  time.Time
}

// add keeps o (a verified *wire.ConsentWithdrawal or *wire.Retraction) until
// its target arrives, for orphanTTL; when full, expired entries go first,
// and if none expired the object is not kept.
func (p *orphans) add(o wire.Object, now time.Time) {
	t, ok := targetOf(o)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[cid.Cid][]orphan{}
	}
	if p.n >= orphanCap {
		for k, os := range p.m {
			kept := os[:0]
			for _, x := range os {
				if now.Sub(x.at) <= orphanTTL {
					kept = append(kept, x)
				}
			}
			p.n -= len(os) - len(kept)
			if len(kept) == 0 {
				delete(p.m, k)
			} else {
				p.m[k] = kept
			}
		}
		if p.n >= orphanCap {
			return
		}
	}
	for _, x := range p.m[t] {
		if x.obj.CID() == o.CID() {
			return
		}
	}
	p.m[t] = append(p.m[t], orphan{o, now})
	p.n++
}

// take removes and returns the orphans of attestation a that belong to it:
// withdrawals signed by its subject, retractions signed by its issuer.
func (p *orphans) take(a *wire.Attestation, now time.Time) []wire.Object {
	p.mu.Lock()
	defer p.mu.Unlock()
	os, ok := p.m[a.CID()]
	if !ok {
		return nil
	}
	delete(p.m, a.CID())
	p.n -= len(os)
	var out []wire.Object
	for _, x := range os {
		if now.Sub(x.at) <= orphanTTL && belongs(x.obj, a) {
			out = append(out, x.obj)
		}
	}
	return out
}

// cancels reports whether an orphan of a cancels a proof whose newest
// consent was created at consented: a retraction, or a withdrawal made at
// or after it.
func (p *orphans) cancels(a *wire.Attestation, consented uint64, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.m[a.CID()] {
		if now.Sub(x.at) > orphanTTL || !belongs(x.obj, a) {
			continue
		}
		switch v := x.obj.(type) {
		case *wire.Retraction:
			return true
		case *wire.ConsentWithdrawal:
			if v.Created >= consented {
				return true
			}
		}
	}
	return false
}

// belongs reports whether o was signed by the one entitled to cancel a.
func belongs(o wire.Object, a *wire.Attestation) bool {
	switch v := o.(type) {
	case *wire.Retraction:
		return v.Issuer == a.Issuer
	case *wire.ConsentWithdrawal:
		return a.Subject.Key != nil && v.Subject == *a.Subject.Key
	}
	return false
}
