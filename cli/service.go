package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/owner"
	"github.com/kith-net/kith/wire"
)

// withService runs fn against the daemon when one serves this home, and
// against the owner service on the store directly (unlocking the vault)
// when none does. A daemon that answers but refuses is an error: the store
// is then in its hands.
func (a *app) withService(ctx context.Context, fn func(api.Service) error) error {
	return a.withServiceOpts(ctx, false, fn)
}

// withViewService is withService for the commands that build the owner's
// trust view (query, rank, model train): without a daemon, it first runs
// the link job in this process (links due for a check are checked again,
// and what it finds is said on standard error), as the daemon does in the
// background.
func (a *app) withViewService(ctx context.Context, fn func(api.Service) error) error {
	return a.withServiceOpts(ctx, true, fn)
}

func (a *app) withServiceOpts(ctx context.Context, recheck bool, fn func(api.Service) error) error {
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
			svc, err := a.ownerService(s, offlineNetwork{s: s, now: a.env.Now}, nil)
			if err != nil {
				return err
			}
			if recheck {
				checks, err := svc.RecheckLinks(ctx, 0)
				if err != nil {
					return err
				}
				for _, c := range checks {
					if !c.Verified {
						fmt.Fprintf(a.env.Stderr, "kith: %s\n", c)
					}
				}
			}
			return fn(svc)
		})
	default:
		return fmt.Errorf("the kith daemon for %s: %w", home, err)
	}
}

// ownerService is the owner service over an unlocked session.
func (a *app) ownerService(s *session, net owner.Network, cfg *owner.Config) (*owner.Service, error) {
	c := owner.Config{}
	if cfg != nil {
		c = *cfg
	}
	c.Key, c.Store, c.Vault, c.Network = s.key, s.store, sessionVault{s: s, a: a}, net
	c.Now, c.Rand, c.Version, c.Topic = a.env.Now, a.env.Rand, version, node.TopicName
	c.AllowHTTP = a.allowHTTP()
	if c.Logger == nil {
		c.Logger = a.env.Logger
	}
	return owner.New(c)
}

// allowHTTP: KITH_FEDI_HTTP_LOOPBACK=1 lets instances on loopback hosts
// be reached over plain http (tests, a local GoToSocial).
func (a *app) allowHTTP() bool {
	v, _ := a.env.LookupEnv("KITH_FEDI_HTTP_LOOPBACK")
	return v == "1"
}

// version is the kith version the daemon reports.
const version = "0.1.0-dev"

// sessionVault is the owner.Vault of an unlocked session: the vault's
// Extra entries, written back with the session's passphrase.
type sessionVault struct {
	s *session
	a *app
}

func (v sessionVault) Get(name string) ([]byte, bool) {
	b, ok := v.s.secrets.Extra[name]
	return b, ok
}

func (v sessionVault) Put(entries map[string][]byte) error {
	old := maps.Clone(v.s.secrets.Extra)
	if v.s.secrets.Extra == nil {
		v.s.secrets.Extra = map[string][]byte{}
	}
	for k, b := range entries {
		if b == nil {
			delete(v.s.secrets.Extra, k)
		} else {
			v.s.secrets.Extra[k] = b
		}
	}
	if err := v.s.saveSecrets(v.a.env.Rand); err != nil {
		v.s.secrets.Extra = old // the vault on disk is unchanged
		return err
	}
	return nil
}

// netError turns the node's errors into the API errors the owner sees.
func netError(err error) error {
	var ae *api.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return err
	case errors.Is(err, node.ErrNotFound):
		return api.Errorf(api.CodeNotFound, "%s", oneLine(err.Error()))
	case errors.Is(err, node.ErrWrongState), errors.Is(err, node.ErrRetractedAtt):
		return api.Errorf(api.CodeConflict, "%s", oneLine(err.Error()))
	case errors.Is(err, node.ErrNotAboutMe):
		return api.Errorf(api.CodeInvalid, "%s", oneLine(err.Error()))
	}
	return err
}

// offlineNetwork is the owner.Network of a command run without a daemon:
// the store and the home's consent decisions, nothing sent.
type offlineNetwork struct {
	s   *session
	now func() time.Time
}

func (offlineNetwork) Online() bool { return false }

func (o offlineNetwork) Submit(ctx context.Context, objs ...wire.Object) error {
	_, err := o.s.store.Put(ctx, objs...)
	return err
}

func (o offlineNetwork) Import(ctx context.Context, objs ...wire.Object) (int, error) {
	return o.s.store.Put(ctx, objs...)
}

func (o offlineNetwork) Consents(ctx context.Context) ([]owner.Consent, error) {
	d, err := node.OpenDecisions(o.s.home)
	if err != nil {
		return nil, netError(err)
	}
	rs, err := node.ConsentRequests(ctx, o.s.store, o.s.key.Public(), d, o.now())
	return consentsOf(rs), netError(err)
}

func (o offlineNetwork) Approve(ctx context.Context, c cid.Cid) error {
	d, err := node.OpenDecisions(o.s.home)
	if err == nil {
		_, _, err = node.SignConsent(ctx, o.s.store, o.s.key, d, c, o.now())
	}
	return netError(err)
}

func (o offlineNetwork) Decline(ctx context.Context, c cid.Cid) error {
	d, err := node.OpenDecisions(o.s.home)
	if err == nil {
		err = node.Decline(ctx, o.s.store, o.s.key.Public(), d, c)
	}
	return netError(err)
}

func (o offlineNetwork) Withdraw(ctx context.Context, c cid.Cid) error {
	_, err := node.SignWithdrawal(ctx, o.s.store, o.s.key, c, o.now())
	return netError(err)
}

func (offlineNetwork) Status() owner.NetStatus { return owner.NetStatus{} }
func (offlineNetwork) Peers() []owner.Peer     { return nil }
func (offlineNetwork) Metrics() []api.Metric   { return nil }

func consentsOf(rs []node.ConsentRequest) []owner.Consent {
	out := make([]owner.Consent, 0, len(rs))
	for _, r := range rs {
		out = append(out, owner.Consent{Attestation: r.Attestation, State: api.ConsentState(r.State), Superseded: r.Superseded})
	}
	return out
}

// daemonNetwork is the owner.Network of the daemon: a running node.
type daemonNetwork struct {
	n *node.Node
	// bootstrap are the daemon's --bootstrap peers, for Status.
	bootstrap []bootstrapPeer
}

func (daemonNetwork) Online() bool { return true }

func (d daemonNetwork) Submit(ctx context.Context, objs ...wire.Object) error {
	return netError(d.n.Submit(ctx, objs...))
}

func (d daemonNetwork) Import(ctx context.Context, objs ...wire.Object) (int, error) {
	added, err := d.n.Import(ctx, objs...)
	return added, netError(err)
}

func (d daemonNetwork) Consents(ctx context.Context) ([]owner.Consent, error) {
	rs, err := d.n.ConsentRequests(ctx)
	return consentsOf(rs), netError(err)
}

func (d daemonNetwork) Approve(ctx context.Context, c cid.Cid) error {
	_, err := d.n.Approve(ctx, c)
	return netError(err)
}

func (d daemonNetwork) Decline(ctx context.Context, c cid.Cid) error {
	return netError(d.n.Decline(ctx, c))
}

func (d daemonNetwork) Withdraw(ctx context.Context, c cid.Cid) error {
	_, err := d.n.Withdraw(ctx, c)
	return netError(err)
}

func (d daemonNetwork) Status() owner.NetStatus {
	return owner.NetStatus{Addrs: d.n.Addrs(), Peers: d.n.Stats().Peers, Warnings: d.bootstrapWarnings()}
}

func (d daemonNetwork) Peers() []owner.Peer {
	var out []owner.Peer
	for _, p := range d.n.Peers() {
		op := owner.Peer{ID: p.ID.String(), Addrs: p.Addrs, Connected: p.Connected, Score: p.Score}
		if k, err := node.PeerKey(p.ID); err == nil {
			op.Key = &k
		}
		out = append(out, op)
	}
	return out
}

func (d daemonNetwork) Metrics() []api.Metric {
	st := d.n.Stats()
	gauge := func(name, help string, v float64) api.Metric {
		return api.Metric{Name: name, Help: help, Kind: api.Gauge, Value: v}
	}
	counter := func(name, help string, v int64) api.Metric {
		return api.Metric{Name: name, Help: help, Kind: api.Counter, Value: float64(v)}
	}
	return []api.Metric{
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
	}
}

// bootstrapWarnings says which --bootstrap peers are unusable or not
// connected, and when the node has no peer at all.
func (d daemonNetwork) bootstrapWarnings() []string {
	out := []string{}
	connected := map[string]bool{}
	for _, p := range d.n.Host().Network().Peers() {
		connected[p.String()] = true
	}
	for _, b := range d.bootstrap {
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
