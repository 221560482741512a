package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// streamTimeout bounds one exchange, consent or sync stream.
const streamTimeout = 30 * time.Second

// visible reports whether attestation a (with status st) may be sent to the
// peer whose key is to: never if private; to the named peers if its audience
// is a peer list; if it is a public vouch, to anyone once its subject has
// consented, and before that only to its subject (who must see it to
// consent) and issuer. A public warning is never sent: warnings go only to
// the peers their audience names.
func visible(a *wire.Attestation, st store.Status, to wire.PublicKey) bool {
	switch a.Audience.Scope {
	case wire.Peers:
		return a.Audience.Allows(to)
	case wire.Public:
		if a.Kind != wire.Vouch { // warnings are never broadcast
			return false
		}
		if len(st.Consents) > 0 || a.Issuer == to {
			return true
		}
		return a.Subject.Key != nil && *a.Subject.Key == to
	}
	return false
}

// liveStatus returns st with the consents that have expired at now moved
// from Consents to Cancelled. A live consent is one the subject signed, no
// later withdrawal cancels, and that has not expired: an expired consent
// is no longer effective (spec/wire-v1.md §5.3) and is never sent to a
// peer (wire-v1 §7). The store's Status has no clock, so the node applies
// the expiry wherever it decides what to send or hold.
func liveStatus(st store.Status, now time.Time) store.Status {
	var live, expired []*wire.Consent
	for _, c := range st.Consents {
		if expiredAt(c, now) {
			expired = append(expired, c)
		} else {
			live = append(live, c)
		}
	}
	if len(expired) == 0 {
		return st
	}
	st.Consents = live
	st.Cancelled = append(append([]*wire.Consent(nil), st.Cancelled...), expired...)
	return st
}

// expiredAt reports whether o has an expiry and it has passed at now.
func expiredAt(o wire.Object, now time.Time) bool {
	_, expires := objectTimes(o)
	return expires != 0 && uint64(max(now.Unix(), 0)) >= expires
}

// group returns a visible attestation followed by the objects that belong
// to it (live consents, withdrawals, retraction).
func (n *Node) group(ctx context.Context, a *wire.Attestation, to wire.PublicKey) ([]wire.Object, error) {
	st, err := n.cfg.Store.Status(ctx, a.CID())
	if err != nil {
		return nil, err
	}
	st = liveStatus(st, n.cfg.Now())
	if !visible(a, st, to) {
		return nil, nil
	}
	out := []wire.Object{a}
	for _, c := range st.Consents {
		out = append(out, c)
	}
	for _, w := range st.Withdrawn {
		out = append(out, w)
	}
	if st.Retracted != nil {
		out = append(out, st.Retracted)
	}
	return out, nil
}

// answerPage is how many attestations answer reads from the store at a
// time, and answerScan how many it reads for one query at most: a query is
// paged through the store's index, never loaded whole, so its cost is
// bounded whatever the store holds.
const (
	answerPage = 256
	answerScan = 2 * MaxResponseObjects
)

// answer computes the response to an exchange request from peer to.
func (n *Node) answer(ctx context.Context, to wire.PublicKey, req request) ([]wire.Object, error) {
	out, _, err := n.respond(ctx, to, req)
	return out, err
}

// respond computes the response to an exchange request from peer to and,
// for a query that stopped before it had read every matching attestation
// (the limit, the object cap or the scan bound), the position to ask again
// from: after the last attestation it read to the end (sent or not
// visible). Exchange 1.1.0 sends that position in its trailer.
func (n *Node) respond(ctx context.Context, to wire.PublicKey, req request) (out []wire.Object, next *position, err error) {
	switch req.Op {
	case opQuery:
		q := store.Query{Retracted: true, Withdrawn: true, Since: req.Since, After: req.at().after, Limit: answerPage}
		if req.Subject != "" {
			s, _ := wire.ParseSubject(req.Subject) // validated by decodeRequest
			q.SubjectKey, q.Acct = s.Key, s.Acct
		}
		if req.Issuer != "" {
			k, _ := wire.ParsePublicKey(req.Issuer)
			q.Issuer = &k
		}
		limit := int(req.Limit)
		if limit == 0 {
			limit = MaxResponseObjects
		}
		sent := 0
		read := req.at() // after the last attestation read to the end
		for scanned := 0; ; {
			if scanned >= answerScan {
				return out, &read, nil // the scan bound: more may match
			}
			atts, err := n.cfg.Store.Attestations(ctx, q)
			if err != nil {
				return nil, nil, err
			}
			now := n.cfg.Now()
			for _, a := range atts {
				scanned++
				g, err := n.visibleGroup(ctx, a, to, now)
				if err != nil {
					return nil, nil, err
				}
				if len(out)+len(g) > MaxResponseObjects && len(g) > 0 || sent == limit && len(g) > 0 {
					if len(g) > MaxResponseObjects {
						// It can never be sent whole: skip it, as if
						// not visible, rather than stop every query
						// that reaches it.
						read = position{since: a.Created, after: a.CID()}
						continue
					}
					return out, &read, nil
				}
				if len(g) > 0 {
					out = append(out, g...)
					sent++
				}
				read = position{since: a.Created, after: a.CID()}
			}
			if len(atts) < answerPage {
				return out, nil, nil
			}
			last := atts[len(atts)-1]
			q.Since, q.After = last.Created, last.CID()
		}
	case opGet:
		for _, k := range req.Keys {
			o, err := n.cfg.Store.Get(ctx, cidOfKey(k))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			ok, err := n.mayShare(ctx, o, to)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				out = append(out, o)
			}
		}
	}
	return out, nil, nil
}

// visibleGroup returns the group of a if a query may send it to peer to
// at now, and nothing otherwise.
func (n *Node) visibleGroup(ctx context.Context, a *wire.Attestation, to wire.PublicKey, now time.Time) ([]wire.Object, error) {
	if a.Audience.Scope == wire.Private || a.Expires != 0 && !now.Before(a.ExpiresAt()) {
		return nil, nil // never sent; expired: no node would take it
	}
	return n.group(ctx, a, to)
}

// mayShare reports whether one object may be sent to peer to.
func (n *Node) mayShare(ctx context.Context, o wire.Object, to wire.PublicKey) (bool, error) {
	now := n.cfg.Now()
	if expiredAt(o, now) {
		return false, nil // never sent once expired (spec/wire-v1.md §7)
	}
	if _, ok := o.(*wire.IdentityLink); ok {
		return true, nil
	}
	// The public set is offered to every peer: a withdrawal or retraction
	// in it is sent even though its proof is no longer visible (a node
	// still holding the proof needs it, and resync asks for it by key).
	if n.InPublicSet(o.CID()) {
		return true, nil
	}
	t, ok := targetOf(o)
	if !ok {
		return false, nil
	}
	a := o
	if !t.Equals(o.CID()) {
		var err error
		if a, err = n.cfg.Store.Get(ctx, t); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return false, err
		}
	}
	att, ok := a.(*wire.Attestation)
	if !ok || expiredAt(att, now) {
		return false, nil
	}
	st, err := n.cfg.Store.Status(ctx, t)
	if err != nil {
		return false, err
	}
	return visible(att, liveStatus(st, now), to), nil
}

// handleExchange serves one exchange request.
func (n *Node) handleExchange(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	from := s.Conn().RemotePeer()
	to, err := PeerKey(from)
	if err != nil {
		s.Reset()
		return
	}
	release, ok := n.serveWithin(from, n.lim.querySlots, n.lim.queries)
	if !ok {
		s.Reset()
		return
	}
	defer release()
	b, err := readFrame(bufio.NewReader(s), MaxRequestSize)
	if err != nil {
		s.Reset()
		return
	}
	proto := string(s.Protocol())
	req, err := decodeRequest(b)
	if err == nil && req.After != nil && proto != ExchangeProtocol11 {
		err = fmt.Errorf("%w: after in an exchange %s request", ErrProtocol, proto)
	}
	if err != nil {
		n.log.Debug("bad exchange request", "peer", from, "err", err)
		s.Reset()
		return
	}
	objs, next, err := n.respond(n.runCtx, to, req)
	if err != nil {
		n.log.Warn("exchange: answering failed", "peer", from, "err", err)
		s.Reset()
		return
	}
	w := bufio.NewWriter(n.tapWriter(s, proto, from))
	for _, o := range objs {
		if err := writeFrame(w, o.Raw()); err != nil {
			s.Reset()
			return
		}
	}
	err = writeFrame(w, nil)
	if err == nil && proto == ExchangeProtocol11 {
		err = writeFrame(w, encodeTrailer(next))
	}
	if err != nil || w.Flush() != nil {
		s.Reset()
	}
}

// tapWriter passes what is written on a stream to the test tap, if any.
func (n *Node) tapWriter(w io.Writer, proto string, to peer.ID) io.Writer {
	if n.cfg.tap == nil {
		return w
	}
	return tapW{w: w, f: func(b []byte) { n.cfg.tap(proto, to, b) }}
}

type tapW struct {
	w io.Writer
	f func([]byte)
}

func (t tapW) Write(b []byte) (int, error) {
	t.f(append([]byte(nil), b...))
	return t.w.Write(b)
}

// response is what request read of an exchange response.
type response struct {
	raws [][]byte // the objects
	// truncated: the requester stopped reading at its byte budget.
	truncated bool
	// next: where to ask again for the rest of a query the responder cut
	// short (exchange 1.1.0); nil when the response is complete, or came
	// by 1.0.0, which cannot say.
	next *position
}

// request sends an exchange request to p, by exchange 1.1.0 or, when p
// does not speak it, 1.0.0 (then without After), and returns the
// response. It reads at most maxBytes of objects (and one more object):
// past that, it stops and returns what it read, with truncated set, since
// the node would not store more from p (its budget, spec/node-v1.md §4.1,
// §7).
func (n *Node) request(ctx context.Context, p peer.ID, req request, maxBytes int) (resp response, err error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	fail := func(err error) (response, error) {
		return response{}, fmt.Errorf("node: exchange with %s: %w", p, err)
	}
	s, release, err := n.openStream(ctx, p, ExchangeProtocol11, ExchangeProtocol)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	defer release()
	proto := string(s.Protocol())
	if proto != ExchangeProtocol11 && req.After != nil {
		s.Reset()
		return fail(fmt.Errorf("%w: the peer speaks %s, which has no after", errNoContinuation, proto))
	}
	if err := writeFrame(n.tapWriter(s, proto, p), encodeRequest(req)); err != nil {
		s.Reset()
		return fail(err)
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return fail(err)
	}
	r := bufio.NewReader(s)
	defer func() { n.fetched.Add(int64(len(resp.raws))) }()
	read := 0
	for {
		if read > maxBytes {
			s.Reset()
			resp.truncated = true
			return resp, nil
		}
		b, err := readFrame(r, wire.MaxObjectSize)
		if err != nil {
			s.Reset()
			return fail(err)
		}
		if b == nil {
			break
		}
		if len(resp.raws) == MaxResponseObjects {
			s.Reset()
			return fail(fmt.Errorf("%w: more than %d objects", ErrProtocol, MaxResponseObjects))
		}
		resp.raws = append(resp.raws, b)
		read += len(b)
	}
	if proto != ExchangeProtocol11 {
		return resp, nil
	}
	b, err := readFrame(r, MaxTrailerSize)
	if err == nil && b == nil {
		err = fmt.Errorf("%w: empty trailer", ErrProtocol)
	}
	if err == nil {
		resp.next, err = decodeTrailer(b)
	}
	if err == nil && resp.next != nil && (req.Op != opQuery || !req.at().before(*resp.next)) {
		err = fmt.Errorf("%w: a continuation that does not advance the %s request", ErrProtocol, req.Op)
	}
	if err != nil {
		s.Reset()
		return fail(err)
	}
	return resp, nil
}

// errNoContinuation: a continuation cannot be asked of a peer that speaks
// only exchange 1.0.0.
var errNoContinuation = errors.New("no continuation in exchange 1.0.0")

// maxFollow is how many continuations one Fetch follows: with the first
// request, at most 5 of the responder's 60 exchange requests a minute
// (spec/node-v1.md §7) and 5 scan bounds of its store. What is left comes
// with a later query or by resync.
const maxFollow = 4

// Fetch asks peer p for attestations (about subject, by issuer, created at
// or after since; "" and 0 mean any), checks and stores what its audience
// rules let this node hold, and returns how many objects were new.
func (n *Node) Fetch(ctx context.Context, p peer.ID, subject, issuer string, since time.Time) (int, error) {
	req := request{Op: opQuery, Subject: subject, Issuer: issuer}
	if !since.IsZero() {
		req.Since = uint64(since.Unix())
	}
	if err := req.validate(); err != nil {
		return 0, err
	}
	return n.fetchAndStore(ctx, p, req)
}

// fetchAndStore sends req to p and stores what this node may hold of the
// response; for a query cut short by the responder, it follows the
// continuation (at most maxFollow times, and not once this node stopped
// reading at p's byte budget). It returns how many objects were new.
func (n *Node) fetchAndStore(ctx context.Context, p peer.ID, req request) (int, error) {
	added := 0
	for follows := 0; ; follows++ {
		resp, err := n.request(ctx, p, req, n.lim.bytes.available(p))
		if err != nil {
			return added, err
		}
		raws := resp.raws
		if resp.truncated && req.Op == opQuery {
			// A query response cut short may end in a group without its
			// withdrawals or retraction: drop its last group (spec/node-v1.md
			// §4.1).
			raws = withoutLastGroup(raws)
		}
		k, err := n.storeFrom(ctx, p, raws)
		added += k
		if err != nil || resp.next == nil || resp.truncated || follows == maxFollow {
			return added, err
		}
		req.Since, req.After = resp.next.since, resp.next.after.Bytes()
	}
}

// withoutLastGroup drops, from the objects of a query response, the last
// attestation and what follows it (its group: a query response sends each
// attestation followed by its consents, withdrawals and retraction).
// Objects that do not decode are left to storeFrom, which refuses them.
func withoutLastGroup(raws [][]byte) [][]byte {
	for i := len(raws) - 1; i >= 0; i-- {
		if o, err := wire.Decode(raws[i]); err == nil && o.Type() == wire.TypeAttestation {
			return raws[:i]
		}
	}
	return nil
}

// storeFrom checks the raw objects peer p sent and stores what this node
// may hold (admit) and p's budget allows (withinBudget). It returns how
// many objects were new.
func (n *Node) storeFrom(ctx context.Context, p peer.ID, raws [][]byte) (int, error) {
	if len(raws) == 0 {
		return 0, nil
	}
	from, err := PeerKey(p)
	if err != nil {
		return 0, err
	}
	objs, err := n.open(raws, false)
	if err != nil && !errors.Is(err, errIgnore) {
		return 0, fmt.Errorf("node: response from %s: %w", p, err)
	}
	if err != nil {
		// Some object expired or is from the future: check one at a time.
		objs = objs[:0]
		for _, r := range raws {
			if o, err := n.open([][]byte{r}, false); err == nil {
				objs = append(objs, o...)
			}
		}
	}
	keep, err := n.admit(ctx, p, from, objs)
	if err != nil {
		return 0, fmt.Errorf("node: response from %s: %w", p, err)
	}
	if keep, err = n.withinBudget(ctx, p, keep); err != nil {
		return 0, fmt.Errorf("node: response from %s: %w", p, err)
	}
	return n.ingest(ctx, keep)
}

// withinBudget keeps the objects of a response from p that p's budget lets
// this node store (spec/node-v1.md §7): new objects count against p's
// objects and bytes, new attestations against their issuer's. Objects are
// kept by group (an attestation with the objects that target it), a group
// whole or not at all, in the order of the response; what is left out is
// fetched again by a later resync.
func (n *Node) withinBudget(ctx context.Context, p peer.ID, objs []wire.Object) ([]wire.Object, error) {
	var order []string
	groups := map[string][]wire.Object{}
	for _, o := range objs {
		k := string(o.CID().Bytes())
		if t, ok := targetOf(o); ok {
			k = string(t.Bytes())
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], o)
	}
	var keep []wire.Object
	for _, k := range order {
		g := groups[k]
		var fresh []wire.Object
		size := 0
		var issuer *wire.PublicKey
		for _, o := range g {
			have, err := n.cfg.Store.Has(ctx, o.CID())
			if err != nil {
				return nil, err
			}
			if have {
				continue
			}
			fresh = append(fresh, o)
			size += len(o.Raw())
			if a, ok := o.(*wire.Attestation); ok && a.Issuer != n.me {
				issuer = &a.Issuer
			}
		}
		if len(fresh) == 0 {
			continue
		}
		if !n.lim.objects.allow(p, len(fresh)) || !n.lim.bytes.allow(p, size) || (issuer != nil && !n.lim.issuers.allow(*issuer, 1)) {
			n.overBudget.Add(1)
			continue
		}
		keep = append(keep, fresh...)
	}
	return keep, nil
}

// admit filters verified objects received by exchange from peer p (key
// from) down to what this node may hold: public attestations with a
// consent (in the batch or the store), or about this node and issued by p
// (a consent request, within the consent-request budget), attestations
// whose peer audience names this node, the consents, withdrawals and
// retractions that belong to those, signed by the right key, and the
// withdrawals and retractions of attestations the node does not hold
// (tombstones, see keepTombstone). A private attestation is a protocol
// violation.
func (n *Node) admit(ctx context.Context, p peer.ID, from wire.PublicKey, objs []wire.Object) ([]wire.Object, error) {
	atts := map[cid.Cid]*wire.Attestation{}
	for _, o := range objs {
		if a, ok := o.(*wire.Attestation); ok {
			if a.Audience.Scope == wire.Private {
				return nil, fmt.Errorf("%w: a private attestation was sent", ErrProtocol)
			}
			atts[a.CID()] = a
		}
	}
	lookup := func(c cid.Cid) (*wire.Attestation, error) {
		if a, ok := atts[c]; ok {
			return a, nil
		}
		o, err := n.cfg.Store.Get(ctx, c)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		a, _ := o.(*wire.Attestation)
		return a, nil
	}
	consented := map[cid.Cid]bool{}
	for _, o := range objs {
		if c, ok := o.(*wire.Consent); ok {
			if a, ok := atts[c.Target.CID()]; ok && c.Covers(a, nil) {
				consented[a.CID()] = true
			}
		}
	}
	var keep []wire.Object
	requests := 0 // new consent requests admitted (all from one issuer: from)
	for _, o := range objs {
		switch v := o.(type) {
		case *wire.Attestation:
			ok := v.Audience.Scope == wire.Peers && v.Audience.Allows(n.me)
			if v.Audience.Scope == wire.Public && v.Kind == wire.Vouch {
				ok = consented[v.CID()] || v.Issuer == n.me
				if !ok {
					st, err := n.cfg.Store.Status(ctx, v.CID())
					ok = err == nil && len(liveStatus(st, n.cfg.Now()).Consents) > 0
				}
				if !ok && v.Subject.Key != nil && *v.Subject.Key == n.me && v.Issuer == from {
					// A consent request, from its issuer: within budget.
					fresh, err := n.admitConsentRequest(ctx, p, v, requests, true)
					if err != nil && !errors.Is(err, errOverBudget) && !errors.Is(err, errIgnore) {
						return nil, err
					}
					if ok = err == nil; fresh {
						requests++
					}
				}
			}
			if ok {
				keep = append(keep, v)
			}
		case *wire.Consent:
			a, err := lookup(v.Target.CID())
			if err != nil {
				return nil, err
			}
			if a != nil && v.Covers(a, nil) {
				keep = append(keep, v)
			}
		case *wire.ConsentWithdrawal:
			// A tombstone whose target this node does not hold is kept
			// too (keepTombstone), within the peer's budget.
			a, err := lookup(v.Target.CID())
			if err != nil {
				return nil, err
			}
			if a == nil || a.Subject.Key != nil && *a.Subject.Key == v.Subject {
				keep = append(keep, v)
			}
		case *wire.Retraction:
			a, err := lookup(v.Target.CID())
			if err != nil {
				return nil, err
			}
			if a == nil || a.Issuer == v.Issuer {
				keep = append(keep, v)
			}
		case *wire.IdentityLink:
			keep = append(keep, v)
		}
	}
	return keep, nil
}
