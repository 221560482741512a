package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// withService runs fn against the daemon when one serves this home, and
// against the store directly (unlocking the vault) when none does. A daemon
// that answers but refuses is an error: the store is then in its hands.
func (a *app) withService(ctx context.Context, fn func(api.Service) error) error {
	home, err := a.homeDir()
	if err != nil {
		return err
	}
	c, err := api.Discover(ctx, home)
	switch {
	case err == nil:
		return fn(c)
	case errors.Is(err, api.ErrNoDaemon):
		return a.withSession(ctx, func(s *session) error {
			return fn(&localService{a: a, s: s})
		})
	default:
		return fmt.Errorf("the kith daemon for %s: %w", home, err)
	}
}

// localService answers the API from an unlocked session; with a running
// node (the daemon) it also sends what must go to the network.
type localService struct {
	a       *app
	s       *session
	n       *node.Node // nil when no daemon runs
	started time.Time
	// bootstrap are the daemon's --bootstrap peers, for Status.
	bootstrap []bootstrapPeer
	// views serialises the calls that build the owner's trust view: they
	// may re-check Fediverse links and rewrite the session's vault.
	viewMu sync.Mutex
}

var _ api.Service = (*localService)(nil)

// apiError turns an error into the API error the user should see.
func apiError(err error) error {
	var ae *api.Error
	var we *wire.Error
	var ue usageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return err
	case errors.Is(err, store.ErrNotFound), errors.Is(err, node.ErrNotFound):
		return api.Errorf(api.CodeNotFound, "%s", oneLine(err.Error()))
	case errors.Is(err, node.ErrWrongState), errors.Is(err, node.ErrRetractedAtt):
		return api.Errorf(api.CodeConflict, "%s", oneLine(err.Error()))
	case errors.As(err, &ue):
		return api.Errorf(api.CodeInvalid, "%s", oneLine(ue.Error()))
	case errors.As(err, &we) && err == error(we):
		return api.Errorf(api.CodeInvalid, "%s", wireMessage(we))
	case errors.Is(err, node.ErrNotAboutMe), errors.As(err, &we), errors.Is(err, store.ErrInvalid), errors.Is(err, errInvalidRequest):
		return api.Errorf(api.CodeInvalid, "%s", oneLine(err.Error()))
	case errors.Is(err, store.ErrUnwritable):
		return api.Errorf(api.CodeUnavailable, "%s", oneLine(err.Error()))
	}
	return err
}

// version is the kith version the daemon reports.
const version = "0.1.0-dev"

// errInvalidRequest marks a request the service refuses as malformed.
var errInvalidRequest = errors.New("invalid request")

func (l *localService) Status(ctx context.Context) (api.Status, error) {
	n, err := l.s.store.Count(ctx)
	if err != nil {
		return api.Status{}, err
	}
	st := api.Status{PeerID: l.s.key.Public().String(), Addrs: []string{}, Version: version, Objects: n, Topic: node.TopicName}
	st.Warnings = []string{}
	if h, ok := l.s.store.(interface{ Err() error }); ok {
		if err := h.Err(); err != nil {
			st.StoreError = err.Error()
		}
	}
	if l.n != nil {
		st.Addrs = l.n.Addrs()
		st.Started = l.started
		st.Peers = l.n.Stats().Peers
		st.Warnings = l.bootstrapWarnings()
	}
	return st, nil
}

func (l *localService) Peers(ctx context.Context) ([]api.Peer, error) {
	out := []api.Peer{}
	if l.n == nil {
		return out, nil
	}
	ps := l.n.Peers()
	trustIn := l.peerTrust(ctx)
	for _, p := range ps {
		ap := api.Peer{ID: p.ID.String(), Addrs: p.Addrs, Connected: p.Connected, Score: p.Score}
		if ap.Addrs == nil {
			ap.Addrs = []string{}
		}
		if k, err := node.PeerKey(p.ID); err == nil {
			if t, ok := trustIn[k]; ok {
				ap.Trust = &t
			}
		}
		out = append(out, ap)
	}
	return out, nil
}

// peerTrust computes the owner's trust (the engine's score) in every key
// the owner's general view covers.
func (l *localService) peerTrust(ctx context.Context) map[wire.PublicKey]float64 {
	out := map[wire.PublicKey]float64{}
	l.viewMu.Lock()
	defer l.viewMu.Unlock()
	tv, err := l.a.openView(ctx, l.s, api.DefaultContext)
	if err != nil {
		return out
	}
	scores := make([]float64, tv.view.N())
	if err := tv.engine.ScoreView(ctx, tv.view, scores); err != nil {
		return out
	}
	for v, x := range scores {
		if sub := tv.index.Subjects[v]; sub.Key != nil && !math.IsNaN(x) {
			out[*sub.Key] = x
		}
	}
	return out
}

func (l *localService) Query(ctx context.Context, req api.QueryRequest) (json.RawMessage, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	l.viewMu.Lock()
	q, err := l.a.answerQuery(ctx, l.s, req.Subject, req.Context)
	l.viewMu.Unlock()
	if err != nil {
		return nil, apiError(err)
	}
	return json.Marshal(q)
}

func (l *localService) Rank(ctx context.Context, req api.RankRequest) (json.RawMessage, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	l.viewMu.Lock()
	rows, err := l.a.answerRank(ctx, l.s, req.Context, req.Bottom, req.Limit)
	l.viewMu.Unlock()
	if err != nil {
		return nil, apiError(err)
	}
	return json.Marshal(rows)
}

func (l *localService) Attestations(ctx context.Context, req api.ListRequest) ([]api.Attestation, error) {
	q := store.Query{Context: req.Context, Kind: wire.Kind(req.Kind), Retracted: req.All, Withdrawn: req.All}
	if req.Kind != "" && q.Kind != wire.Vouch && q.Kind != wire.Warn {
		return nil, apiError(usagef("kind %q: want vouch or warn", req.Kind))
	}
	if req.Context != "" {
		if err := wire.ValidateContext(req.Context); err != nil {
			return nil, apiError(badInput("--context", err))
		}
	}
	switch req.By {
	case "":
	case "me":
		k := l.s.key.Public()
		q.Issuer = &k
	default:
		k, err := wire.ParsePublicKey(req.By)
		if err != nil {
			return nil, apiError(usagef("--by %q: want me, a peer ID (12D3KooW...) or a did:key", req.By))
		}
		q.Issuer = &k
	}
	if req.About != "" {
		sub, err := wire.ParseSubject(req.About)
		if err != nil {
			return nil, apiError(badInput("--about", err))
		}
		q.SubjectKey, q.Acct = sub.Key, sub.Acct
	}
	atts, err := l.s.store.Attestations(ctx, q)
	if err != nil {
		return nil, apiError(err)
	}
	return l.views(ctx, atts)
}

func (l *localService) views(ctx context.Context, atts []*wire.Attestation) ([]api.Attestation, error) {
	now := l.a.env.Now()
	out := make([]api.Attestation, 0, len(atts))
	type key struct {
		issuer  wire.PublicKey
		context string
	}
	live := map[key][]*wire.Attestation{} // the issuer's live attestations in a context
	for _, att := range atts {
		st, err := l.s.store.Status(ctx, att.CID())
		if err != nil {
			return nil, err
		}
		v := viewOf(att, st, now)
		if !v.Retracted && !v.Expired {
			k := key{att.Issuer, att.Context}
			if _, ok := live[k]; !ok {
				issuer := att.Issuer
				if live[k], err = l.s.store.Attestations(ctx, store.Query{Issuer: &issuer, Context: att.Context}); err != nil {
					return nil, err
				}
			}
			if superseded(att, live[k], now) {
				v.Superseded, v.State = true, api.AttestationSuperseded
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// newAttestation builds and signs an attestation from a request.
func (a *app) newAttestation(req api.AttestRequest, key *wire.PrivateKey) (*wire.Attestation, error) {
	req = req.WithDefaults()
	if req.Kind != api.KindVouch && req.Kind != api.KindWarn {
		return nil, usagef("kind %q: want vouch or warn", req.Kind)
	}
	subject, err := wire.ParseSubject(req.Subject)
	if err != nil {
		return nil, badInput("subject", err)
	}
	aud, err := wire.ParseAudience(req.Audience)
	if err != nil {
		return nil, badInput("--audience", err)
	}
	if req.Kind == api.KindWarn && aud.Scope == wire.Public {
		return nil, usagef("warnings are never broadcast: give the peers who may receive it (--audience 12D3KooW...,12D3KooW...) or keep it private")
	}
	now := a.env.Now()
	exp, err := parseExpiry(req.Expires, now)
	if err != nil {
		return nil, err
	}
	nonce, err := wire.NewNonce(a.env.Rand)
	if err != nil {
		return nil, err
	}
	att := &wire.Attestation{
		Subject: subject, Kind: wire.Kind(req.Kind), Context: req.Context, Strength: req.Strength,
		Reason: req.Reason, Evidence: req.Evidence, Created: uint64(now.Unix()), Expires: exp,
		Audience: aud, Nonce: nonce,
	}
	if key == nil { // validate only
		if err := validateUnsigned(att); err != nil {
			return nil, badInput("", err)
		}
		return att, nil
	}
	if err := att.Sign(key); err != nil {
		return nil, badInput("", err)
	}
	return att, nil
}

func (l *localService) Attest(ctx context.Context, req api.AttestRequest) (api.Attestation, error) {
	att, err := l.a.newAttestation(req, l.s.key)
	if err != nil {
		return api.Attestation{}, apiError(err)
	}
	if err := l.submit(ctx, att); err != nil {
		return api.Attestation{}, err
	}
	vs, err := l.views(ctx, []*wire.Attestation{att})
	if err != nil {
		return api.Attestation{}, err
	}
	return vs[0], nil
}

// submit stores the owner's new objects and, with a running node, sends
// them where they go (consent requests, gossip).
func (l *localService) submit(ctx context.Context, objs ...wire.Object) error {
	if l.n != nil {
		return apiError(l.n.Submit(ctx, objs...))
	}
	_, err := l.s.store.Put(ctx, objs...)
	return apiError(err)
}

func (l *localService) Retract(ctx context.Context, req api.RetractRequest) (api.Retraction, error) {
	id, err := parseCID(req.CID)
	if err != nil {
		return api.Retraction{}, apiError(err)
	}
	o, err := l.s.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Retraction{}, api.Errorf(api.CodeNotFound, "retract %s: no such attestation in your store", id)
	}
	if err != nil {
		return api.Retraction{}, apiError(fmt.Errorf("retract %s: %w", id, err))
	}
	att, ok := o.(*wire.Attestation)
	if !ok {
		return api.Retraction{}, apiError(hinted{fmt.Sprintf("retract %s: it is a %s, not an attestation", id, o.Type()), errInvalidRequest})
	}
	if att.Issuer != l.s.key.Public() {
		return api.Retraction{}, apiError(hinted{fmt.Sprintf("retract %s: issued by %s, not by you; only its issuer can retract it", id, att.Issuer), errInvalidRequest})
	}
	st, err := l.s.store.Status(ctx, id)
	if err != nil {
		return api.Retraction{}, err
	}
	if st.Retracted != nil {
		return api.Retraction{}, api.Errorf(api.CodeConflict, "retract %s: already retracted by %s", id, st.Retracted.CID())
	}
	r := &wire.Retraction{Target: wire.LinkTo(id), Created: uint64(l.a.env.Now().Unix()), Reason: req.Reason}
	if err := r.Sign(l.s.key); err != nil {
		return api.Retraction{}, apiError(err)
	}
	if err := l.submit(ctx, r); err != nil {
		return api.Retraction{}, err
	}
	return api.Retraction{CID: r.CID().String(), Target: id.String(), Created: time.Unix(int64(r.Created), 0).UTC()}, nil
}

func (l *localService) decisions() (*node.Decisions, error) {
	return node.OpenDecisions(l.s.home)
}

func consentView(r node.ConsentRequest) api.ConsentRequest {
	a := r.Attestation
	return api.ConsentRequest{
		CID: a.CID().String(), Issuer: a.Issuer.String(), Kind: string(a.Kind), Context: a.Context,
		Strength: a.Strength, Reason: a.Reason, Created: a.CreatedAt().UTC(), State: api.ConsentState(r.State),
		Superseded: r.Superseded,
	}
}

func (l *localService) Consents(ctx context.Context) ([]api.ConsentRequest, error) {
	var rs []node.ConsentRequest
	var err error
	if l.n != nil {
		rs, err = l.n.ConsentRequests(ctx)
	} else {
		var d *node.Decisions
		if d, err = l.decisions(); err == nil {
			rs, err = node.ConsentRequests(ctx, l.s.store, l.s.key.Public(), d, l.a.env.Now())
		}
	}
	if err != nil {
		return nil, apiError(err)
	}
	out := make([]api.ConsentRequest, 0, len(rs))
	for _, r := range rs {
		out = append(out, consentView(r))
	}
	return out, nil
}

// consentAfter returns the request c as it stands after an action.
func (l *localService) consentAfter(ctx context.Context, c cid.Cid) (api.ConsentRequest, error) {
	rs, err := l.Consents(ctx)
	if err != nil {
		return api.ConsentRequest{}, err
	}
	for _, r := range rs {
		if r.CID == c.String() {
			return r, nil
		}
	}
	return api.ConsentRequest{}, api.Errorf(api.CodeNotFound, "no consent request %s", c)
}

func (l *localService) consentAction(ctx context.Context, s string, online func(cid.Cid) error, offline func(cid.Cid, *node.Decisions) error) (api.ConsentRequest, error) {
	c, err := parseCID(s)
	if err != nil {
		return api.ConsentRequest{}, apiError(err)
	}
	if l.n != nil {
		err = online(c)
	} else {
		var d *node.Decisions
		if d, err = l.decisions(); err == nil {
			err = offline(c, d)
		}
	}
	if err != nil {
		return api.ConsentRequest{}, apiError(err)
	}
	return l.consentAfter(ctx, c)
}

func (l *localService) Approve(ctx context.Context, s string) (api.ConsentRequest, error) {
	return l.consentAction(ctx, s,
		func(c cid.Cid) error { _, err := l.n.Approve(ctx, c); return err },
		func(c cid.Cid, d *node.Decisions) error {
			_, _, err := node.SignConsent(ctx, l.s.store, l.s.key, d, c, l.a.env.Now())
			return err
		})
}

func (l *localService) Decline(ctx context.Context, s string) (api.ConsentRequest, error) {
	return l.consentAction(ctx, s,
		func(c cid.Cid) error { return l.n.Decline(ctx, c) },
		func(c cid.Cid, d *node.Decisions) error { return node.Decline(ctx, l.s.store, l.s.key.Public(), d, c) })
}

func (l *localService) Withdraw(ctx context.Context, s string) (api.ConsentRequest, error) {
	return l.consentAction(ctx, s,
		func(c cid.Cid) error { _, err := l.n.Withdraw(ctx, c); return err },
		func(c cid.Cid, _ *node.Decisions) error {
			_, err := node.SignWithdrawal(ctx, l.s.store, l.s.key, c, l.a.env.Now())
			return err
		})
}

func (l *localService) Metrics(ctx context.Context) ([]api.Metric, error) {
	n, err := l.s.store.Count(ctx)
	if err != nil {
		return nil, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge := func(name, help string, v float64) api.Metric {
		return api.Metric{Name: name, Help: help, Kind: api.Gauge, Value: v}
	}
	counter := func(name, help string, v int64) api.Metric {
		return api.Metric{Name: name, Help: help, Kind: api.Counter, Value: float64(v)}
	}
	m := []api.Metric{
		gauge("kith_store_objects", "Objects in the store.", float64(n)),
		gauge("kith_goroutines", "Goroutines of the daemon.", float64(runtime.NumGoroutine())),
		gauge("kith_go_heap_inuse_bytes", "Bytes of the Go heap in use.", float64(ms.HeapInuse)),
		gauge("kith_go_sys_bytes", "Bytes of memory the Go runtime holds from the system.", float64(ms.Sys)),
	}
	if l.n != nil {
		st := l.n.Stats()
		m = append(m,
			gauge("kith_peers_connected", "Peers connected now.", float64(st.Peers)),
			gauge("kith_gossip_mesh_peers", "Peers in the gossip topic's mesh.", float64(st.MeshPeers)),
			gauge("kith_public_set_objects", "Consented public objects the node offers to peers.", float64(st.PublicSet)),
			counter("kith_objects_received_total", "Objects stored from the network.", st.Stored),
			counter("kith_gossip_rejected_total", "Gossip messages rejected (their sender penalised).", st.Rejected),
			counter("kith_gossip_ignored_total", "Gossip messages ignored.", st.Ignored),
			counter("kith_gossip_published_total", "Gossip messages this node published.", st.Published),
			counter("kith_gossip_validated_total", "Gossip messages that entered validation.", st.Validated),
			counter("kith_gossip_throttled_total", "Gossip messages dropped unvalidated because validation was full.", st.Throttled),
			counter("kith_gossip_gated_rpcs_total", "Gossip RPCs the peer gater dropped.", st.Gated),
			gauge("kith_streams_open", "libp2p streams open now.", float64(st.HostStreamsOpen)),
			gauge("kith_uptime_seconds", "Seconds since the daemon started.", l.a.env.Now().Sub(l.started).Seconds()),
		)
	}
	return m, nil
}

// bootstrapWarnings says which --bootstrap peers are unusable or not
// connected, and when the node has no peer at all.
func (l *localService) bootstrapWarnings() []string {
	out := []string{}
	connected := map[string]bool{}
	for _, p := range l.n.Host().Network().Peers() {
		connected[p.String()] = true
	}
	for _, b := range l.bootstrap {
		switch {
		case b.err != nil:
			out = append(out, fmt.Sprintf("bootstrap %s: %v; ignored", b.addr, b.err))
		case !connected[b.id.String()]:
			out = append(out, fmt.Sprintf("bootstrap %s: not connected (unreachable, or not running)", b.addr))
		}
	}
	if len(connected) == 0 {
		out = append(out, "no peers: nothing reached this node and it reached nobody (give --bootstrap, or run another node on this network)")
	}
	return out
}
