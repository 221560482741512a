package owner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// Network is what the owner service needs of the peer-to-peer side. The
// daemon's implementation sends over a running node; the one a command
// uses without a daemon works on the store alone (Online false). Errors
// an implementation returns for the caller to see must be *api.Error.
type Network interface {
	// Online reports whether a node runs (the daemon).
	Online() bool
	// Submit stores the owner's new objects and sends them where they go
	// (consent requests, gossip); offline it only stores them.
	Submit(ctx context.Context, objs ...wire.Object) error
	// Import stores verified objects of anyone's from a bundle, reporting
	// those the store did not hold; a running node also takes them into
	// what it serves peers. Nothing is sent.
	Import(ctx context.Context, objs ...wire.Object) (int, error)
	// Consents lists the public statements about the owner and the
	// owner's decision on each.
	Consents(ctx context.Context) ([]Consent, error)
	// Approve, Decline and Withdraw record the owner's decision on the
	// attestation c (signing and sending a consent or a withdrawal).
	Approve(ctx context.Context, c cid.Cid) error
	Decline(ctx context.Context, c cid.Cid) error
	Withdraw(ctx context.Context, c cid.Cid) error
	// Status describes the running node; zero offline.
	Status() NetStatus
	// Peers lists the peers the node knows; nil offline.
	Peers() []Peer
	// Metrics are the node's own metrics; nil offline.
	Metrics() []api.Metric
}

// Consent is a public statement about the owner and the owner's decision.
type Consent struct {
	Attestation *wire.Attestation
	State       api.ConsentState
	// Superseded counts the older pending requests of the same issuer in
	// the same context that this one stands for.
	Superseded int
}

// NetStatus is what Status reports of a running node.
type NetStatus struct {
	Addrs    []string
	Peers    int // connected
	Warnings []string
}

// Peer is one peer a running node knows.
type Peer struct {
	ID        string
	Key       *wire.PublicKey // nil when the peer ID holds no kith key
	Addrs     []string
	Connected bool
	Score     float64 // gossip score
}

// Vault is the owner's vault: named entries kept encrypted beside the
// node's identity (logins, verified links, refined models).
type Vault interface {
	// Get returns the entry name.
	Get(name string) ([]byte, bool)
	// Put sets the entries (a nil value deletes one) and writes the vault
	// before it returns.
	Put(entries map[string][]byte) error
}

// Config is what a Service runs on. Key, Store, Vault and Network are
// required; the rest have defaults.
type Config struct {
	Key     *wire.PrivateKey
	Store   store.Store
	Vault   Vault
	Network Network
	// Now is the clock (default time.Now); Rand the source of nonces
	// (required for anything that signs).
	Now  func() time.Time
	Rand io.Reader
	// Logger receives the background jobs' reports. Default: discard.
	Logger *slog.Logger
	// Started is when the daemon started, for Status.
	Started time.Time
	// Version is the kith version and Topic the gossip topic's name that
	// Status reports.
	Version, Topic string
	// AllowHTTP lets Fediverse instances on loopback hosts be reached over
	// plain http (tests, a local GoToSocial).
	AllowHTTP bool
}

// Service is the owner service; see the package doc.
type Service struct {
	key   *wire.PrivateKey
	st    store.Store
	vault Vault
	net   Network
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	cfg   Config
	// mu serialises the calls that read or write the vault's entries and
	// build the owner's trust view from them.
	mu sync.Mutex
}

var _ api.Service = (*Service)(nil)

// New returns the owner service over cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Key == nil || cfg.Store == nil || cfg.Vault == nil || cfg.Network == nil {
		return nil, errors.New("owner: New: Key, Store, Vault and Network are required")
	}
	s := &Service{key: cfg.Key, st: cfg.Store, vault: cfg.Vault, net: cfg.Network, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger, cfg: cfg}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Status implements api.Service.
func (s *Service) Status(ctx context.Context) (api.Status, error) {
	n, err := s.st.Count(ctx)
	if err != nil {
		return api.Status{}, err
	}
	st := api.Status{PeerID: s.key.Public().String(), Addrs: []string{}, Version: s.cfg.Version, Objects: n, Topic: s.cfg.Topic}
	st.Warnings = []string{}
	if h, ok := s.st.(interface{ Err() error }); ok {
		if err := h.Err(); err != nil {
			st.StoreError = err.Error()
		}
	}
	if s.net.Online() {
		ns := s.net.Status()
		st.Addrs = ns.Addrs
		st.Started = s.cfg.Started
		st.Peers = ns.Peers
		st.Warnings = ns.Warnings
	}
	return st, nil
}

// Peers implements api.Service.
func (s *Service) Peers(ctx context.Context) ([]api.Peer, error) {
	out := []api.Peer{}
	if !s.net.Online() {
		return out, nil
	}
	ps := s.net.Peers()
	trustIn := s.PeerTrust(ctx)
	for _, p := range ps {
		ap := api.Peer{ID: p.ID, Addrs: p.Addrs, Connected: p.Connected, Score: p.Score}
		if ap.Addrs == nil {
			ap.Addrs = []string{}
		}
		if p.Key != nil {
			if t, ok := trustIn[*p.Key]; ok {
				ap.Trust = &t
			}
		}
		out = append(out, ap)
	}
	return out, nil
}

// PeerTrust computes the owner's trust (the engine's score) in every key
// the owner's general view covers; empty when the view cannot be built.
func (s *Service) PeerTrust(ctx context.Context) map[wire.PublicKey]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	tv, err := s.openView(ctx, api.DefaultContext)
	if err != nil {
		return map[wire.PublicKey]float64{}
	}
	out, err := tv.keyScores(ctx)
	if err != nil {
		return map[wire.PublicKey]float64{}
	}
	return out
}

// Attestations implements api.Service.
func (s *Service) Attestations(ctx context.Context, req api.ListRequest) ([]api.Attestation, error) {
	q := store.Query{Context: req.Context, Kind: wire.Kind(req.Kind), Retracted: req.All, Withdrawn: req.All}
	if req.Kind != "" && q.Kind != wire.Vouch && q.Kind != wire.Warn {
		return nil, invalidf("kind %q: want vouch or warn", req.Kind)
	}
	if req.Context != "" {
		if err := wire.ValidateContext(req.Context); err != nil {
			return nil, BadInput("--context", err)
		}
	}
	switch req.By {
	case "":
	case "me":
		k := s.key.Public()
		q.Issuer = &k
	default:
		k, err := wire.ParsePublicKey(req.By)
		if err != nil {
			return nil, invalidf("--by %q: want me, a peer ID (12D3KooW...) or a did:key", req.By)
		}
		q.Issuer = &k
	}
	if req.About != "" {
		sub, err := wire.ParseSubject(req.About)
		if err != nil {
			return nil, BadInput("--about", err)
		}
		q.SubjectKey, q.Acct = sub.Key, sub.Acct
	}
	atts, err := s.st.Attestations(ctx, q)
	if err != nil {
		return nil, apiError(err)
	}
	return s.views(ctx, atts)
}

func (s *Service) views(ctx context.Context, atts []*wire.Attestation) ([]api.Attestation, error) {
	now := s.now()
	out := make([]api.Attestation, 0, len(atts))
	type key struct {
		issuer  wire.PublicKey
		context string
	}
	live := map[key][]*wire.Attestation{} // the issuer's live attestations in a context
	for _, att := range atts {
		st, err := s.st.Status(ctx, att.CID())
		if err != nil {
			return nil, err
		}
		v := ViewOf(att, st, now)
		if !v.Retracted && !v.Expired {
			k := key{att.Issuer, att.Context}
			if _, ok := live[k]; !ok {
				issuer := att.Issuer
				if live[k], err = s.st.Attestations(ctx, store.Query{Issuer: &issuer, Context: att.Context}); err != nil {
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

// ViewOf is the JSON form of an attestation in command and API output
// (api.Attestation; field names are stable).
func ViewOf(a *wire.Attestation, st store.Status, now time.Time) api.Attestation {
	v := api.Attestation{
		CID: a.CID().String(), Kind: string(a.Kind), Issuer: a.Issuer.String(),
		Subject: a.Subject.String(), SubjectAcct: a.Subject.Acct,
		Context: a.Context, Strength: a.Strength, Reason: a.Reason, Evidence: a.Evidence,
		Created: a.CreatedAt().Format(time.RFC3339), Audience: a.Audience.String(),
		Retracted: st.Retracted != nil, Consents: len(st.Consents),
	}
	if a.Subject.Key != nil {
		v.SubjectKey = a.Subject.Key.String()
	}
	if a.Expires != 0 {
		v.Expires = a.ExpiresAt().Format(time.RFC3339)
		v.Expired = !now.Before(a.ExpiresAt())
	}
	v.State = api.AttestationActive
	switch {
	case v.Retracted:
		v.State = api.AttestationRetracted
	case v.Expired:
		v.State = api.AttestationExpired
	}
	return v
}

// sameSubject reports whether two subjects name the same node as the trust
// engine sees them: the same key or the same account.
func sameSubject(x, y wire.Subject) bool {
	return x.Key != nil && y.Key != nil && *x.Key == *y.Key || x.Acct != "" && x.Acct == y.Acct
}

// superseded reports whether among later (the issuer's live attestations in
// att's context, oldest first) one made after att is about the same
// subject: the trust engine counts only the latest.
func superseded(att *wire.Attestation, later []*wire.Attestation, now time.Time) bool {
	after := false
	for _, o := range later {
		if o.CID() == att.CID() {
			after = true // same Created: the later one in the store's order wins
			continue
		}
		if o.Expires != 0 && !now.Before(o.ExpiresAt()) || !sameSubject(o.Subject, att.Subject) {
			continue
		}
		if o.Created > att.Created || o.Created == att.Created && after {
			return true
		}
	}
	return false
}

// NewAttestation builds an attestation from a request, with the same
// validation for every caller (the CLI's flags, the API, the web page),
// and signs it with key. With a nil key it only validates (now and rand
// still make the expiry and the nonce). A refused request is an
// *api.Error with CodeInvalid.
func NewAttestation(req api.AttestRequest, key *wire.PrivateKey, now time.Time, rand io.Reader) (*wire.Attestation, error) {
	req = req.WithDefaults()
	if req.Kind != api.KindVouch && req.Kind != api.KindWarn {
		return nil, invalidf("kind %q: want vouch or warn", req.Kind)
	}
	if req.Strength < wire.MinStrength || req.Strength > wire.MaxStrength {
		return nil, invalidf("--strength %d: want %d..%d", req.Strength, wire.MinStrength, wire.MaxStrength)
	}
	subject, err := wire.ParseSubject(req.Subject)
	if err != nil {
		return nil, BadInput("subject", err)
	}
	aud, err := wire.ParseAudience(req.Audience)
	if err != nil {
		return nil, BadInput("--audience", err)
	}
	if req.Kind == api.KindWarn && aud.Scope == wire.Public {
		return nil, invalidf("warnings are never broadcast: give the peers who may receive it (--audience 12D3KooW...,12D3KooW...) or keep it private")
	}
	exp, err := ParseExpiry(req.Expires, now)
	if err != nil {
		return nil, err
	}
	nonce, err := wire.NewNonce(rand)
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
			return nil, BadInput("", err)
		}
		return att, nil
	}
	if err := att.Sign(key); err != nil {
		return nil, BadInput("", err)
	}
	return att, nil
}

// validateUnsigned checks an attestation's fields without a key, by signing
// it with a throwaway key whose public key stands in for the issuer.
func validateUnsigned(a *wire.Attestation) error {
	k := wire.NewPrivateKey([32]byte{0x6b, 0x69, 0x74, 0x68})
	if a.Subject.Key != nil && *a.Subject.Key == k.Public() {
		return nil
	}
	return a.Sign(k)
}

// ParseExpiry turns a duration (90d, 12h, 2w) or a date (2027-01-31, RFC
// 3339) into Unix seconds (0 = none).
func ParseExpiry(s string, now time.Time) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	if n := len(s); n > 1 && strings.ContainsAny(s[n-1:], "dw") {
		v, err := parseUint32(s[:n-1])
		if err == nil && v > 0 {
			unit := 24 * time.Hour
			if s[n-1] == 'w' {
				unit *= 7
			}
			return uint64(now.Add(time.Duration(v) * unit).Unix()), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return uint64(now.Add(d).Unix()), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return 0, invalidf("--expires %s is in the past", s)
			}
			return uint64(t.Unix()), nil
		}
	}
	return 0, invalidf("--expires %q: want a duration (90d, 12h, 2w) or a date (2027-01-31)", s)
}

// Attest implements api.Service.
func (s *Service) Attest(ctx context.Context, req api.AttestRequest) (api.Attestation, error) {
	att, err := NewAttestation(req, s.key, s.now(), s.rand)
	if err != nil {
		return api.Attestation{}, apiError(err)
	}
	if err := s.net.Submit(ctx, att); err != nil {
		return api.Attestation{}, apiError(err)
	}
	vs, err := s.views(ctx, []*wire.Attestation{att})
	if err != nil {
		return api.Attestation{}, err
	}
	return vs[0], nil
}

// Retract implements api.Service.
func (s *Service) Retract(ctx context.Context, req api.RetractRequest) (api.Retraction, error) {
	id, err := ParseCID(req.CID)
	if err != nil {
		return api.Retraction{}, err
	}
	o, err := s.st.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.Retraction{}, api.Errorf(api.CodeNotFound, "retract %s: no such attestation in your store", id)
	}
	if err != nil {
		return api.Retraction{}, apiError(fmt.Errorf("retract %s: %w", id, err))
	}
	att, ok := o.(*wire.Attestation)
	if !ok {
		return api.Retraction{}, invalidf("retract %s: it is a %s, not an attestation", id, o.Type())
	}
	if att.Issuer != s.key.Public() {
		return api.Retraction{}, invalidf("retract %s: issued by %s, not by you; only its issuer can retract it", id, att.Issuer)
	}
	st, err := s.st.Status(ctx, id)
	if err != nil {
		return api.Retraction{}, err
	}
	if st.Retracted != nil {
		return api.Retraction{}, api.Errorf(api.CodeConflict, "retract %s: already retracted by %s", id, st.Retracted.CID())
	}
	r := &wire.Retraction{Target: wire.LinkTo(id), Created: uint64(s.now().Unix()), Reason: req.Reason}
	if err := r.Sign(s.key); err != nil {
		return api.Retraction{}, apiError(err)
	}
	if err := s.net.Submit(ctx, r); err != nil {
		return api.Retraction{}, apiError(err)
	}
	return api.Retraction{CID: r.CID().String(), Target: id.String(), Created: time.Unix(int64(r.Created), 0).UTC()}, nil
}

func consentView(r Consent) api.ConsentRequest {
	a := r.Attestation
	return api.ConsentRequest{
		CID: a.CID().String(), Issuer: a.Issuer.String(), Kind: string(a.Kind), Context: a.Context,
		Strength: a.Strength, Reason: a.Reason, Created: a.CreatedAt().UTC(), State: r.State,
		Superseded: r.Superseded,
	}
}

// Consents implements api.Service.
func (s *Service) Consents(ctx context.Context) ([]api.ConsentRequest, error) {
	rs, err := s.net.Consents(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	out := make([]api.ConsentRequest, 0, len(rs))
	for _, r := range rs {
		out = append(out, consentView(r))
	}
	return out, nil
}

// consentAction runs act on the CID s and returns the request as it
// stands after it.
func (s *Service) consentAction(ctx context.Context, c string, act func(context.Context, cid.Cid) error) (api.ConsentRequest, error) {
	id, err := ParseCID(c)
	if err != nil {
		return api.ConsentRequest{}, err
	}
	if err := act(ctx, id); err != nil {
		return api.ConsentRequest{}, apiError(err)
	}
	rs, err := s.Consents(ctx)
	if err != nil {
		return api.ConsentRequest{}, err
	}
	for _, r := range rs {
		if r.CID == id.String() {
			return r, nil
		}
	}
	return api.ConsentRequest{}, api.Errorf(api.CodeNotFound, "no consent request %s", id)
}

// Approve implements api.Service.
func (s *Service) Approve(ctx context.Context, c string) (api.ConsentRequest, error) {
	return s.consentAction(ctx, c, s.net.Approve)
}

// Decline implements api.Service.
func (s *Service) Decline(ctx context.Context, c string) (api.ConsentRequest, error) {
	return s.consentAction(ctx, c, s.net.Decline)
}

// Withdraw implements api.Service.
func (s *Service) Withdraw(ctx context.Context, c string) (api.ConsentRequest, error) {
	return s.consentAction(ctx, c, s.net.Withdraw)
}

// Metrics implements api.Service.
func (s *Service) Metrics(ctx context.Context) ([]api.Metric, error) {
	n, err := s.st.Count(ctx)
	if err != nil {
		return nil, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge := func(name, help string, v float64) api.Metric {
		return api.Metric{Name: name, Help: help, Kind: api.Gauge, Value: v}
	}
	m := []api.Metric{
		gauge("kith_store_objects", "Objects in the store.", float64(n)),
		gauge("kith_goroutines", "Goroutines of the daemon.", float64(runtime.NumGoroutine())),
		gauge("kith_go_heap_inuse_bytes", "Bytes of the Go heap in use.", float64(ms.HeapInuse)),
		gauge("kith_go_sys_bytes", "Bytes of memory the Go runtime holds from the system.", float64(ms.Sys)),
	}
	if s.net.Online() {
		m = append(m, s.net.Metrics()...)
		m = append(m, gauge("kith_uptime_seconds", "Seconds since the daemon started.", s.now().Sub(s.cfg.Started).Seconds()))
	}
	return m, nil
}

// Export implements api.Service.
func (s *Service) Export(ctx context.Context, req api.ExportRequest) (api.ExportResult, error) {
	var objs []wire.Object
	skipped := 0
	now := s.now()
	err := s.st.All(ctx, func(o wire.Object) error {
		if att, ok := o.(*wire.Attestation); ok && req.PublicOnly && att.Audience.Scope != wire.Public {
			return nil
		}
		// An importer refuses expired objects, so a bundle carrying one
		// could never be imported.
		if err := o.Verify(now); err != nil {
			skipped++
			return nil
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return api.ExportResult{}, err
	}
	b := wire.NewBundle(now, objs...)
	if err := b.Sign(s.key); err != nil {
		return api.ExportResult{}, ownerError(fmt.Errorf("export: %w", err))
	}
	if len(b.Raw()) > api.MaxBundleBytes && s.net.Online() {
		return api.ExportResult{}, api.Errorf(api.CodeTooLarge, "export: the bundle is %d bytes, over the API's %d", len(b.Raw()), api.MaxBundleBytes)
	}
	return api.ExportResult{Bundle: b.Raw(), CID: b.CID().String(), Objects: len(objs), Skipped: skipped}, nil
}

// Import implements api.Service. The owner's own objects that are new to
// the store go to the node as the owner's (consent requests, gossip), the
// rest to the store; all are stored in one write.
func (s *Service) Import(ctx context.Context, req api.ImportRequest) (api.ImportResult, error) {
	now := s.now()
	b, err := wire.DecodeBundle(req.Bundle)
	if err == nil {
		err = b.Verify(now)
	}
	var objs []wire.Object
	if err == nil {
		objs, err = b.OpenObjects(now)
	}
	if err != nil {
		return api.ImportResult{}, ownerError(BundleError("import", err))
	}
	var mine []wire.Object
	if s.net.Online() {
		me := s.key.Public()
		for _, o := range objs {
			if o.Signer() != me {
				continue
			}
			if _, err := s.st.Get(ctx, o.CID()); errors.Is(err, store.ErrNotFound) {
				mine = append(mine, o)
			}
		}
	}
	added, err := s.net.Import(ctx, objs...)
	if err != nil {
		return api.ImportResult{}, ownerError(fmt.Errorf("import: %w", err))
	}
	if len(mine) > 0 {
		if err := s.net.Submit(ctx, mine...); err != nil {
			return api.ImportResult{}, ownerError(fmt.Errorf("import: stored, but sending your statements on: %w", err))
		}
	}
	return api.ImportResult{Bundle: b.CID().String(), Signer: b.Issuer.String(), Objects: len(objs), Added: added}, nil
}
