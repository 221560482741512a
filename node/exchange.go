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

// group returns a visible attestation followed by the objects that belong
// to it (consents, withdrawals, retraction).
func (n *Node) group(ctx context.Context, a *wire.Attestation, to wire.PublicKey) ([]wire.Object, error) {
	st, err := n.cfg.Store.Status(ctx, a.CID())
	if err != nil {
		return nil, err
	}
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

// answer computes the response to an exchange request from peer to.
func (n *Node) answer(ctx context.Context, to wire.PublicKey, req request) ([]wire.Object, error) {
	var out []wire.Object
	switch req.Op {
	case opQuery:
		q := store.Query{Retracted: true, Withdrawn: true}
		if req.Subject != "" {
			s, _ := wire.ParseSubject(req.Subject) // validated by decodeRequest
			q.SubjectKey, q.Acct = s.Key, s.Acct
		}
		if req.Issuer != "" {
			k, _ := wire.ParsePublicKey(req.Issuer)
			q.Issuer = &k
		}
		atts, err := n.cfg.Store.Attestations(ctx, q)
		if err != nil {
			return nil, err
		}
		limit := int(req.Limit)
		if limit == 0 {
			limit = MaxResponseObjects
		}
		sent := 0
		for _, a := range atts {
			if a.Created < req.Since || a.Audience.Scope == wire.Private {
				continue
			}
			g, err := n.group(ctx, a, to)
			if err != nil {
				return nil, err
			}
			if len(g) == 0 {
				continue
			}
			if len(out)+len(g) > MaxResponseObjects || sent == limit {
				break
			}
			out = append(out, g...)
			sent++
		}
	case opGet:
		for _, k := range req.Keys {
			o, err := n.cfg.Store.Get(ctx, cidOfKey(k))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ok, err := n.mayShare(ctx, o, to)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// mayShare reports whether one object may be sent to peer to.
func (n *Node) mayShare(ctx context.Context, o wire.Object, to wire.PublicKey) (bool, error) {
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
	if !ok {
		return false, nil
	}
	st, err := n.cfg.Store.Status(ctx, t)
	if err != nil {
		return false, err
	}
	return visible(att, st, to), nil
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
	b, err := readFrame(bufio.NewReader(s), MaxRequestSize)
	if err != nil {
		s.Reset()
		return
	}
	req, err := decodeRequest(b)
	if err != nil {
		n.log.Debug("bad exchange request", "peer", from, "err", err)
		s.Reset()
		return
	}
	objs, err := n.answer(n.runCtx, to, req)
	if err != nil {
		n.log.Warn("exchange: answering failed", "peer", from, "err", err)
		s.Reset()
		return
	}
	w := bufio.NewWriter(n.tapWriter(s, ExchangeProtocol, from))
	for _, o := range objs {
		if err := writeFrame(w, o.Raw()); err != nil {
			s.Reset()
			return
		}
	}
	if err := writeFrame(w, nil); err != nil || w.Flush() != nil {
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

// request sends an exchange request to p and returns the raw objects of the
// response.
func (n *Node) request(ctx context.Context, p peer.ID, req request) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	s, release, err := n.openStream(ctx, p, ExchangeProtocol)
	if err != nil {
		return nil, fmt.Errorf("node: exchange with %s: %w", p, err)
	}
	defer s.Close()
	defer release()
	if err := writeFrame(n.tapWriter(s, ExchangeProtocol, p), encodeRequest(req)); err != nil {
		s.Reset()
		return nil, fmt.Errorf("node: exchange with %s: %w", p, err)
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return nil, fmt.Errorf("node: exchange with %s: %w", p, err)
	}
	r := bufio.NewReader(s)
	var raws [][]byte
	for {
		b, err := readFrame(r, wire.MaxObjectSize)
		if err != nil {
			s.Reset()
			return nil, fmt.Errorf("node: exchange with %s: %w", p, err)
		}
		if b == nil {
			return raws, nil
		}
		if len(raws) == MaxResponseObjects {
			s.Reset()
			return nil, fmt.Errorf("node: exchange with %s: %w: more than %d objects", p, ErrProtocol, MaxResponseObjects)
		}
		raws = append(raws, b)
	}
}

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

func (n *Node) fetchAndStore(ctx context.Context, p peer.ID, req request) (int, error) {
	raws, err := n.request(ctx, p, req)
	if err != nil {
		return 0, err
	}
	if len(raws) == 0 {
		return 0, nil
	}
	objs, err := n.open(raws)
	if err != nil && !errors.Is(err, errIgnore) {
		return 0, fmt.Errorf("node: response from %s: %w", p, err)
	}
	if err != nil {
		// Some object expired or is from the future: check one at a time.
		objs = objs[:0]
		for _, r := range raws {
			if o, err := n.open([][]byte{r}); err == nil {
				objs = append(objs, o...)
			}
		}
	}
	keep, err := n.admit(ctx, objs)
	if err != nil {
		return 0, fmt.Errorf("node: response from %s: %w", p, err)
	}
	return n.ingest(ctx, keep)
}

// admit filters verified objects received by exchange down to what this
// node may hold: public attestations with a consent (in the batch or the
// store) or about this node (a consent request), attestations whose peer
// audience names this node, and the consents, withdrawals and retractions
// that belong to those, signed by the right key. A private attestation is
// a protocol violation.
func (n *Node) admit(ctx context.Context, objs []wire.Object) ([]wire.Object, error) {
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
	for _, o := range objs {
		switch v := o.(type) {
		case *wire.Attestation:
			ok := v.Audience.Scope == wire.Peers && v.Audience.Allows(n.me)
			if v.Audience.Scope == wire.Public && v.Kind == wire.Vouch {
				ok = consented[v.CID()] || (v.Subject.Key != nil && *v.Subject.Key == n.me) || v.Issuer == n.me
				if !ok {
					st, err := n.cfg.Store.Status(ctx, v.CID())
					ok = err == nil && len(st.Consents) > 0
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
			a, err := lookup(v.Target.CID())
			if err != nil {
				return nil, err
			}
			if a != nil && a.Subject.Key != nil && *a.Subject.Key == v.Subject {
				keep = append(keep, v)
			}
		case *wire.Retraction:
			a, err := lookup(v.Target.CID())
			if err != nil {
				return nil, err
			}
			if a != nil && a.Issuer == v.Issuer {
				keep = append(keep, v)
			}
		case *wire.IdentityLink:
			keep = append(keep, v)
		}
	}
	return keep, nil
}
