package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Consent states of an attestation about the owner.
const (
	ConsentPending   = "pending"   // public, no decision yet
	ConsentApproved  = "approved"  // a live consent by the owner exists (not withdrawn, not expired)
	ConsentDeclined  = "declined"  // the owner declined; never gossiped
	ConsentWithdrawn = "withdrawn" // the owner consented, then withdrew or every consent expired
)

// Errors of the consent calls; branch with errors.Is.
var (
	ErrNotAboutMe   = errors.New("the attestation is not a public vouch about this node")
	ErrNotFound     = errors.New("no such attestation")
	ErrWrongState   = errors.New("not possible in the attestation's consent state")
	ErrRetractedAtt = errors.New("the attestation is retracted")
)

// ConsentRequest is a public attestation about the owner and the owner's
// decision on it.
type ConsentRequest struct {
	Attestation *wire.Attestation
	State       string
	// Superseded counts the older pending requests of the same issuer in
	// the same context that this one stands for (they are not listed: only
	// an issuer's latest statement about a subject in a context counts).
	Superseded int
}

// ConsentRequestTTL is how long a consent request stays pending: an older
// unanswered request is no longer listed, refused when delivered, and no
// longer counts against its issuer's pending requests. It matches how long
// an issuer's node retries the delivery (outboxKeep).
const ConsentRequestTTL = outboxKeep

// Decisions records the owner's declined consent requests in a file
// (consent.json in the data directory). Safe for concurrent use.
type Decisions struct {
	mu       sync.Mutex
	path     string // "" = memory only
	declined map[string]bool
}

type decisionsFile struct {
	Declined []string `json:"declined"`
}

// OpenDecisions reads the decisions kept in dir ("" keeps them in memory).
func OpenDecisions(dir string) (*Decisions, error) {
	d := &Decisions{declined: map[string]bool{}}
	if dir == "" {
		return d, nil
	}
	d.path = filepath.Join(dir, "consent.json")
	var f decisionsFile
	if err := readJSONFile(d.path, &f); err != nil {
		return nil, fmt.Errorf("node: consent decisions: %w", err)
	}
	for _, c := range f.Declined {
		d.declined[c] = true
	}
	return d, nil
}

// Declined reports whether the owner declined the attestation c.
func (d *Decisions) Declined(c cid.Cid) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.declined[c.String()]
}

// set records (or clears) a decline and saves the file durably.
func (d *Decisions) set(c cid.Cid, declined bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if declined {
		d.declined[c.String()] = true
	} else {
		delete(d.declined, c.String())
	}
	if d.path == "" {
		return nil
	}
	f := decisionsFile{Declined: []string{}}
	for k := range d.declined {
		f.Declined = append(f.Declined, k)
	}
	slices.Sort(f.Declined)
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(d.path, b, 0o600)
}

// readJSONFile decodes the JSON file at path into v; a missing file leaves
// v as it is.
func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ConsentRequests lists the public attestations about me in st with the
// owner's decision on each, oldest first. Pending requests older than
// ConsentRequestTTL at now are left out, and pending requests of one issuer
// in one context are coalesced into the newest (ConsentRequest.Superseded
// counts the others). It works on a store without a running node.
func ConsentRequests(ctx context.Context, st store.Store, me wire.PublicKey, d *Decisions, now time.Time) ([]ConsentRequest, error) {
	atts, err := st.Attestations(ctx, store.Query{SubjectKey: &me, Withdrawn: true})
	if err != nil {
		return nil, fmt.Errorf("node: consent requests: %w", err)
	}
	type group struct {
		issuer  wire.PublicKey
		context string
	}
	newest := map[group]int{} // index in out of the newest pending request
	var out []ConsentRequest
	for _, a := range atts {
		if a.Audience.Scope != wire.Public || a.Kind != wire.Vouch {
			continue
		}
		s, err := st.Status(ctx, a.CID())
		if err != nil {
			return nil, fmt.Errorf("node: consent requests: %w", err)
		}
		state := consentState(a, s, d, now)
		if state == ConsentPending {
			if expiredRequest(a, now) {
				continue
			}
			g := group{a.Issuer, a.Context}
			if i, ok := newest[g]; ok { // atts are oldest first: a is newer
				out[i].Attestation = a
				out[i].Superseded++
				continue
			}
			newest[g] = len(out)
		}
		out = append(out, ConsentRequest{Attestation: a, State: state})
	}
	return out, nil
}

// expiredRequest reports whether a consent request made at a.Created is
// past ConsentRequestTTL at now.
func expiredRequest(a *wire.Attestation, now time.Time) bool {
	return now.Sub(a.CreatedAt()) > ConsentRequestTTL
}

// pendingFrom counts the pending, unexpired consent requests of issuer held
// for this node.
func (n *Node) pendingFrom(ctx context.Context, issuer wire.PublicKey) (int, error) {
	me := n.me
	atts, err := n.cfg.Store.Attestations(ctx, store.Query{Issuer: &issuer, SubjectKey: &me, Withdrawn: true})
	if err != nil {
		return 0, err
	}
	now, k := n.cfg.Now(), 0
	for _, a := range atts {
		if a.Audience.Scope != wire.Public || a.Kind != wire.Vouch || expiredRequest(a, now) {
			continue
		}
		s, err := n.cfg.Store.Status(ctx, a.CID())
		if err != nil {
			return 0, err
		}
		if consentState(a, s, n.inbox, now) == ConsentPending {
			k++
		}
	}
	return k, nil
}

// errOverBudget: a peer (or an issuer) is over its budget (spec/node-v1.md
// §7).
var errOverBudget = errors.New("over budget")

// admitConsentRequest applies the consent-request rows of the budget to a
// public vouch a about this node, new to it, delivered by peer from: its
// issuer's pending requests held (and the unstored ones already admitted
// with it, batched), and, if charge, from's rate (the consent protocol
// charges the rate for every stream, before reading it). A request
// delivered again (the issuer retrying) is not new and passes.
func (n *Node) admitConsentRequest(ctx context.Context, from peer.ID, a *wire.Attestation, batched int, charge bool) (fresh bool, err error) {
	have, err := n.cfg.Store.Has(ctx, a.CID())
	if err != nil || have {
		return false, err
	}
	if expiredRequest(a, n.cfg.Now()) {
		return false, fmt.Errorf("%w: consent request made %s, more than %v ago", errIgnore, a.CreatedAt().UTC().Format(time.RFC3339), ConsentRequestTTL)
	}
	pending, err := n.pendingFrom(ctx, a.Issuer)
	if err != nil {
		return false, err
	}
	if pending += batched; pending >= n.lim.pendingPerIssue {
		n.overBudget.Add(1)
		return false, fmt.Errorf("%w: %s has %d consent requests pending here (at most %d)", errOverBudget, a.Issuer, pending, n.lim.pendingPerIssue)
	}
	if charge && !n.lim.consents.allow(from, 1) {
		n.overBudget.Add(1)
		return false, fmt.Errorf("%w: consent requests from %s", errOverBudget, from)
	}
	return true, nil
}

// consentState is the owner's decision on a, with status s, at now. A
// consent that has expired is no longer live (spec/node-v1.md §4): when
// every consent has expired, the owner's consent has ended as a withdrawal
// ends it.
func consentState(a *wire.Attestation, s store.Status, d *Decisions, now time.Time) string {
	switch {
	case len(liveStatus(s, now).Consents) > 0:
		return ConsentApproved
	case len(s.Withdrawn) > 0 || len(s.Consents) > 0:
		return ConsentWithdrawn
	case d != nil && d.Declined(a.CID()):
		return ConsentDeclined
	}
	return ConsentPending
}

// ownAttestation loads an attestation that must be a public statement
// about me, with its status.
func ownAttestation(ctx context.Context, st store.Store, me wire.PublicKey, c cid.Cid) (*wire.Attestation, store.Status, error) {
	o, err := st.Get(ctx, c)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Status{}, fmt.Errorf("%w: %s", ErrNotFound, c)
	}
	if err != nil {
		return nil, store.Status{}, err
	}
	a, ok := o.(*wire.Attestation)
	if !ok {
		return nil, store.Status{}, fmt.Errorf("%w: %s is a %s", ErrNotFound, c, o.Type())
	}
	if a.Audience.Scope != wire.Public || a.Kind != wire.Vouch || a.Subject.Key == nil || *a.Subject.Key != me {
		return nil, store.Status{}, fmt.Errorf("%w: %s", ErrNotAboutMe, c)
	}
	s, err := st.Status(ctx, c)
	if err != nil {
		return nil, store.Status{}, err
	}
	if s.Retracted != nil {
		return nil, store.Status{}, fmt.Errorf("%w: %s", ErrRetractedAtt, c)
	}
	return a, s, nil
}

// SignConsent signs and stores the owner's consent to the attestation c
// (which must be a public statement about key's owner), clearing a
// decline. It works without a running node; Node.Approve also gossips it.
func SignConsent(ctx context.Context, st store.Store, key *wire.PrivateKey, d *Decisions, c cid.Cid, now time.Time) (*wire.Attestation, *wire.Consent, error) {
	a, s, err := ownAttestation(ctx, st, key.Public(), c)
	if err != nil {
		return nil, nil, err
	}
	if live := liveStatus(s, now).Consents; len(live) > 0 {
		return a, live[len(live)-1], nil
	}
	created := uint64(now.Unix())
	for _, w := range s.Withdrawn {
		created = max(created, w.Created+1) // a consent must postdate the withdrawals it overrides
	}
	con := &wire.Consent{Target: wire.LinkTo(c), Created: created}
	if err := con.Sign(key); err != nil {
		return nil, nil, err
	}
	if _, err := st.Put(ctx, con); err != nil {
		return nil, nil, err
	}
	if d != nil {
		if err := d.set(c, false); err != nil {
			return nil, nil, err
		}
	}
	return a, con, nil
}

// SignWithdrawal signs and stores the owner's withdrawal of consent to c.
func SignWithdrawal(ctx context.Context, st store.Store, key *wire.PrivateKey, c cid.Cid, now time.Time) (*wire.ConsentWithdrawal, error) {
	_, s, err := ownAttestation(ctx, st, key.Public(), c)
	if err != nil {
		return nil, err
	}
	if len(liveStatus(s, now).Consents) == 0 {
		return nil, fmt.Errorf("%w: no live consent to withdraw for %s", ErrWrongState, c)
	}
	created := uint64(now.Unix())
	for _, k := range s.Consents {
		created = max(created, k.Created)
	}
	w := &wire.ConsentWithdrawal{Target: wire.LinkTo(c), Created: created}
	if err := w.Sign(key); err != nil {
		return nil, err
	}
	if _, err := st.Put(ctx, w); err != nil {
		return nil, err
	}
	return w, nil
}

// Decline records that the owner declines the consent request c.
func Decline(ctx context.Context, st store.Store, me wire.PublicKey, d *Decisions, c cid.Cid) error {
	_, s, err := ownAttestation(ctx, st, me, c)
	if err != nil {
		return err
	}
	if len(s.Consents) > 0 {
		return fmt.Errorf("%w: %s is approved; withdraw the consent instead", ErrWrongState, c)
	}
	return d.set(c, true)
}

// ConsentRequests lists the public attestations about the owner.
func (n *Node) ConsentRequests(ctx context.Context) ([]ConsentRequest, error) {
	return ConsentRequests(ctx, n.cfg.Store, n.me, n.inbox, n.cfg.Now())
}

// Approve consents to the attestation c and gossips the proof.
func (n *Node) Approve(ctx context.Context, c cid.Cid) (*wire.Consent, error) {
	a, con, err := SignConsent(ctx, n.cfg.Store, n.cfg.Key, n.inbox, c, n.cfg.Now())
	if err != nil {
		return nil, err
	}
	if err := n.refreshGroup(ctx, string(c.Bytes())); err != nil {
		return nil, err
	}
	if err := n.publish(ctx, a, con); err != nil {
		return con, err
	}
	return con, nil
}

// Decline records that the owner declines the consent request c.
func (n *Node) Decline(ctx context.Context, c cid.Cid) error {
	return Decline(ctx, n.cfg.Store, n.me, n.inbox, c)
}

// Withdraw withdraws the owner's consent to c and gossips the withdrawal.
func (n *Node) Withdraw(ctx context.Context, c cid.Cid) (*wire.ConsentWithdrawal, error) {
	w, err := SignWithdrawal(ctx, n.cfg.Store, n.cfg.Key, c, n.cfg.Now())
	if err != nil {
		return nil, err
	}
	if err := n.refreshGroup(ctx, string(c.Bytes())); err != nil {
		return nil, err
	}
	return w, n.publish(ctx, w)
}

// Import stores objects the owner brought from a verified bundle, anyone's,
// and counts them in the node's public set (and so in what it reconciles
// with peers) as objects fetched from a peer are: a consented public
// statement becomes public at once, without a restart. It reports the
// objects the store did not hold. Nothing is sent; the owner's own new
// statements go through Submit.
func (n *Node) Import(ctx context.Context, objs ...wire.Object) (int, error) {
	return n.ingest(ctx, objs)
}

// Submit stores the owner's own new objects and sends them where they go:
// a public attestation about another node becomes a consent request to
// that node; a retraction of a public attestation is gossiped. Private and
// peer-audience attestations stay in the store (peers named in the
// audience fetch them on request).
func (n *Node) Submit(ctx context.Context, objs ...wire.Object) error {
	for _, o := range objs {
		if o.Signer() != n.me {
			return fmt.Errorf("node: submit: %s is signed by %s, not this node", o.CID(), o.Signer())
		}
	}
	if _, err := n.ingest(ctx, objs); err != nil {
		return err
	}
	for _, o := range objs {
		switch v := o.(type) {
		case *wire.Attestation:
			if v.Audience.Scope == wire.Public && v.Kind == wire.Vouch && v.Subject.Key != nil && *v.Subject.Key != n.me {
				n.spawn(func() { n.sendConsentRequest(v) })
			}
		case *wire.Retraction:
			if err := n.checkAbout(ctx, v); err == nil {
				t, _ := n.cfg.Store.Get(ctx, v.Target.CID())
				if a, ok := t.(*wire.Attestation); ok && a.Audience.Scope == wire.Public {
					if err := n.publish(ctx, v); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// requestConsent hands a public attestation to its subject's node.
func (n *Node) requestConsent(ctx context.Context, a *wire.Attestation) error {
	p, _, err := peerOfKey(*a.Subject.Key)
	if err != nil {
		return err
	}
	if err := n.reach(ctx, p); err != nil {
		return err
	}
	s, release, err := n.openStream(ctx, p, ConsentProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	defer release()
	if err := writeFrame(n.tapWriter(s, ConsentProtocol, p), a.Raw()); err != nil {
		s.Reset()
		return err
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return err
	}
	ack, err := readFrame(bufio.NewReader(s), 0)
	if err != nil || ack != nil {
		s.Reset()
		return fmt.Errorf("no acknowledgement: %w", err)
	}
	return nil
}

// handleConsent receives a consent request: a public attestation about
// this node, delivered by its issuer's node.
func (n *Node) handleConsent(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	from := s.Conn().RemotePeer()
	// Every request counts against the peer's rate, before it is read or
	// verified (spec/node-v1.md §5, §7).
	if !n.lim.consents.allow(from, 1) {
		n.overBudget.Add(1)
		s.Reset()
		return
	}
	b, err := readFrame(bufio.NewReader(s), wire.MaxObjectSize)
	if err == nil && b == nil {
		err = fmt.Errorf("%w: empty consent request", ErrProtocol)
	}
	var a *wire.Attestation
	if err == nil {
		a, err = n.checkConsentRequest(from, b)
	}
	if err == nil {
		_, err = n.admitConsentRequest(n.runCtx, from, a, 0, false)
	}
	if err == nil {
		_, err = n.ingest(n.runCtx, []wire.Object{a})
	}
	if err != nil {
		n.log.Debug("consent request refused", "peer", from, "err", err)
		s.Reset()
		return
	}
	n.log.Info("consent request received", "cid", a.CID(), "issuer", a.Issuer, "kind", a.Kind, "context", a.Context)
	if err := writeFrame(s, nil); err != nil {
		s.Reset()
	}
}

func (n *Node) checkConsentRequest(from peer.ID, b []byte) (*wire.Attestation, error) {
	objs, err := n.open([][]byte{b}, false)
	if err != nil {
		return nil, err
	}
	a, ok := objs[0].(*wire.Attestation)
	if !ok {
		return nil, fmt.Errorf("%w: consent request carries a %s", ErrProtocol, objs[0].Type())
	}
	k, err := PeerKey(from)
	if err != nil {
		return nil, err
	}
	if a.Issuer != k || a.Audience.Scope != wire.Public || a.Kind != wire.Vouch || a.Subject.Key == nil || *a.Subject.Key != n.me {
		return nil, fmt.Errorf("%w: not a public vouch about this node from its issuer", ErrProtocol)
	}
	return a, nil
}

// peerOfKey converts a kith public key into its peer ID.
func peerOfKey(k wire.PublicKey) (peer.ID, wire.PublicKey, error) {
	id, err := peer.Decode(k.String())
	if err != nil {
		return "", k, fmt.Errorf("node: key %s: %w", k, err)
	}
	return id, k, nil
}
