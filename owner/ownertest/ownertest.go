// Package ownertest has in-memory implementations of the owner service's
// interfaces for tests of the owner service and of what is built on it:
// a Vault that counts its writes, and a Network over the store alone, as
// a command without a daemon has it, with consent decisions kept in
// memory. Both are safe for concurrent use.
package ownertest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Vault is an owner.Vault in memory.
type Vault struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts int
}

// NewVault returns an empty Vault.
func NewVault() *Vault { return &Vault{m: map[string][]byte{}} }

// Get implements owner.Vault.
func (v *Vault) Get(name string) ([]byte, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	b, ok := v.m[name]
	return b, ok
}

// Put implements owner.Vault.
func (v *Vault) Put(entries map[string][]byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.puts++
	for k, b := range entries {
		if b == nil {
			delete(v.m, k)
		} else {
			v.m[k] = b
		}
	}
	return nil
}

// Writes is how many times Put was called.
func (v *Vault) Writes() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.puts
}

// Network is an owner.Network over a store alone (Online false): Submit
// stores, consent decisions are kept in memory.
type Network struct {
	Store store.Store
	// Submitted counts the objects submitted.
	Submitted atomic.Int64

	mu       sync.Mutex
	consents []owner.Consent
}

// SetConsents sets the consent requests Consents lists.
func (n *Network) SetConsents(cs []owner.Consent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.consents = append([]owner.Consent(nil), cs...)
}

// Online implements owner.Network.
func (n *Network) Online() bool { return false }

// Submit implements owner.Network.
func (n *Network) Submit(ctx context.Context, objs ...wire.Object) error {
	n.Submitted.Add(int64(len(objs)))
	_, err := n.Store.Put(ctx, objs...)
	return err
}

// Import implements owner.Network.
func (n *Network) Import(ctx context.Context, objs ...wire.Object) (int, error) {
	return n.Store.Put(ctx, objs...)
}

// Consents implements owner.Network.
func (n *Network) Consents(context.Context) ([]owner.Consent, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]owner.Consent(nil), n.consents...), nil
}

func (n *Network) decide(c cid.Cid, st api.ConsentState) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.consents {
		if n.consents[i].Attestation.CID() == c {
			n.consents[i].State = st
			return nil
		}
	}
	return api.Errorf(api.CodeNotFound, "no consent request %s", c)
}

// Approve implements owner.Network.
func (n *Network) Approve(_ context.Context, c cid.Cid) error {
	return n.decide(c, api.ConsentApproved)
}

// Decline implements owner.Network.
func (n *Network) Decline(_ context.Context, c cid.Cid) error {
	return n.decide(c, api.ConsentDeclined)
}

// Withdraw implements owner.Network.
func (n *Network) Withdraw(_ context.Context, c cid.Cid) error {
	return n.decide(c, api.ConsentWithdrawn)
}

// Status implements owner.Network.
func (n *Network) Status() owner.NetStatus { return owner.NetStatus{} }

// Peers implements owner.Network.
func (n *Network) Peers() []owner.Peer { return nil }

// Metrics implements owner.Network.
func (n *Network) Metrics() []api.Metric { return nil }
