package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/owner"
	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/web"
	"github.com/kith-net/kith/wire"
)

// peerTrustRefresh is how often the daemon recomputes the owner's trust in
// peers for gossip scoring.
const peerTrustRefresh = 5 * time.Minute

func (a *app) runCommand() *cobra.Command {
	var (
		o          daemonOptions
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the node: gossip, exchange, consent and the local API",
		Long: `Run this node as a peer until interrupted (SIGINT or SIGTERM).

It listens on TCP and QUIC (random ports unless --listen), finds peers from
--bootstrap, its peer book and mDNS on the local network (unless --no-mdns),
gossips the public statements whose subjects consented, answers peers'
requests with what each statement's audience allows, and serves the local API
on 127.0.0.1 (bearer token in <home>/api.token). While it runs, the other
commands talk to it instead of opening the store.

The flags may also come from a TOML file, --config (default <home>/config.toml
when it exists), with the flags' names, - written _; a flag given on the
command line overrides the file:

  listen     = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
  bootstrap  = ["/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW..."]
  api        = "127.0.0.1:5151"
  no_mdns    = true
  log_format = "json"
  debug      = false
  memory_limit = "256MiB"

--memory-limit is the Go runtime's soft memory limit (GOMEMLIMIT's syntax, or
off): the garbage collector works harder to stay under it. Without the flag,
GOMEMLIMIT applies when set, else a default sized for one busy node.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.loadConfig(cmd.Flags(), configPath, &o); err != nil {
				return err
			}
			log, err := a.daemonLogger(o.logFormat, o.debug)
			if err != nil {
				return err
			}
			if err := checkBootstrap(o.bootstrap); err != nil {
				return err
			}
			limit, set, err := memoryLimit(o.memoryLimit, a.env.LookupEnv)
			if err != nil {
				return err
			}
			if set {
				debug.SetMemoryLimit(limit)
			}
			return a.withSession(cmd.Context(), func(s *session) error {
				return a.runDaemon(cmd.Context(), s, log, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "read these flags from a TOML file (default <home>/config.toml when it exists)")
	f.StringArrayVar(&o.listen, "listen", nil, "multiaddr to listen on (repeatable; default all interfaces, TCP and QUIC, random ports)")
	f.StringArrayVar(&o.bootstrap, "bootstrap", nil, "peer to connect to, a multiaddr ending in /p2p/<peer id> (repeatable)")
	f.StringVar(&o.api, "api", api.DefaultAddr, "local API address (loopback only), or unix:/path/to/socket")
	f.BoolVar(&o.noMDNS, "no-mdns", false, "do not look for peers on the local network")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.debug, "debug", false, "log debug messages")
	f.StringVar(&o.memoryLimit, "memory-limit", "", fmt.Sprintf("soft memory limit, such as 512MiB, or off (default: GOMEMLIMIT if set, else %dMiB)", node.DefaultMemoryLimit>>20))
	return cmd
}

// loadConfig applies the configuration file to o: path, else the home's
// config.toml when it exists.
func (a *app) loadConfig(flags *pflag.FlagSet, path string, o *daemonOptions) error {
	if path == "" {
		home, err := a.homeDir()
		if err != nil {
			return err
		}
		path = filepath.Join(home, configFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	c, err := loadRunConfig(path)
	if err != nil {
		return err
	}
	c.apply(flags, o)
	return nil
}

func (a *app) daemonLogger(format string, debug bool) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if debug {
		opts.Level = slog.LevelDebug
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(a.env.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.env.Stderr, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

type daemonOptions struct {
	listen, bootstrap           []string
	api, logFormat, memoryLimit string
	noMDNS, debug               bool
}

// runDaemon runs the node and the API until ctx ends.
func (a *app) runDaemon(ctx context.Context, s *session, log *slog.Logger, o daemonOptions) error {
	// Unlocking the vault ran argon2id over 64 MiB: give that memory back
	// to the system before settling in for a long run.
	debug.FreeOSMemory()
	started := a.env.Now()
	trustCache := &peerTrustCache{m: map[wire.PublicKey]float64{}}
	// The public set's keys, on disk so that memory does not grow with the
	// public objects held: a cache the node rebuilds at every start.
	keys, err := badgerstore.OpenKeySet[recon.Key](ctx, filepath.Join(s.home, publicSetDir), log)
	if err != nil {
		return err
	}
	defer keys.Close()
	n, err := node.Start(ctx, node.Config{
		Key: s.key, Store: s.store, DataDir: s.home, PublicSetKeys: keys,
		Listen: o.listen, Bootstrap: o.bootstrap, NoMDNS: o.noMDNS,
		PeerTrust: trustCache.get, Now: a.env.Now, Logger: log,
	})
	if err != nil {
		return err
	}
	defer n.Close()
	if err := checkListening(o.listen, n.Host().Network().ListenAddresses()); err != nil {
		return err
	}
	dn := daemonNetwork{n: n, bootstrap: parseBootstrap(o.bootstrap)}
	for _, b := range dn.bootstrap {
		if b.err != nil {
			log.Warn("bad bootstrap address, ignored", "addr", b.addr, "err", b.err)
			fmt.Fprintf(a.env.Stderr, "kith: --bootstrap %s: %v; ignored (kith status lists it)\n", b.addr, b.err)
		}
	}
	svc, err := a.ownerService(s, dn, &owner.Config{Started: started, Logger: log.With("component", "owner")})
	if err != nil {
		return err
	}

	token, err := api.LoadOrCreateToken(s.home)
	if err != nil {
		return err
	}
	access, err := api.NewAccess(api.AccessOptions{Dir: s.home, Now: a.env.Now, Rand: a.env.Rand})
	if err != nil {
		return err
	}
	page, err := web.New(web.Options{Service: svc, Access: access, Now: a.env.Now, Rand: a.env.Rand, Logger: log.With("component", "web")})
	if err != nil {
		return err
	}
	defer page.Close() // after the server: its jobs end last
	srv, err := api.NewServer(svc, api.ServerOptions{Token: token, Logger: log.With("component", "api"), Access: access, UI: page})
	if err != nil {
		return err
	}
	var (
		l   net.Listener
		url string
	)
	if path, ok := strings.CutPrefix(o.api, "unix:"); ok {
		l, err = api.ListenUnix(ctx, path)
		url = "unix:" + path
	} else if l, err = api.Listen(ctx, o.api); err == nil {
		url = "http://" + l.Addr().String()
	}
	if err != nil {
		return err
	}
	serveCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { // the server and the trust refresher end before the node closes
		stop()
		wg.Wait()
	}()
	errc := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); errc <- srv.Serve(serveCtx, l) }()
	if err := api.WriteDiscovery(s.home, api.Discovery{URL: url, PID: os.Getpid()}); err != nil {
		return err
	}
	defer api.RemoveDiscovery(s.home, os.Getpid())

	wg.Add(1)
	go func() { // keeps the owner's trust in peers fresh for gossip scoring
		defer wg.Done()
		t := time.NewTicker(peerTrustRefresh)
		defer t.Stop()
		for {
			trustCache.set(svc.PeerTrust(serveCtx))
			select {
			case <-serveCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	wg.Add(1)
	go func() { // the link job: verified links checked again before they fall due
		defer wg.Done()
		t := time.NewTicker(owner.LinkCheckEvery)
		defer t.Stop()
		svc.RunLinkChecks(serveCtx, t.C)
	}()

	log.Info("kith running", "peer_id", n.ID(), "addrs", n.Addrs(), "api", url, "home", s.home)
	if a.json {
		if err := a.printJSON(map[string]any{"peer_id": n.ID().String(), "addrs": n.Addrs(), "api": url}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.env.Stdout, "kith running as %s\napi %s\n", n.ID(), url)
		for _, ad := range n.Addrs() {
			fmt.Fprintf(a.env.Stdout, "listening on %s\n", ad)
		}
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("local API: %w", err)
		}
	}
	return nil
}

// peerTrustCache holds the owner's trust in peers, in [-1, 1], for the
// gossip peer score.
type peerTrustCache struct {
	mu sync.Mutex
	m  map[wire.PublicKey]float64
}

func (c *peerTrustCache) set(scores map[wire.PublicKey]float64) {
	m := make(map[wire.PublicKey]float64, len(scores))
	for k, s := range scores {
		m[k] = 2*s - 1
	}
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
}

func (c *peerTrustCache) get(k wire.PublicKey) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// withDaemon runs fn against the running daemon, or fails with a clear
// message when none runs.
func (a *app) withDaemon(ctx context.Context, fn func(api.Service) error) error {
	home, err := a.homeDir()
	if err != nil {
		return err
	}
	c, err := api.Discover(ctx, home)
	if errors.Is(err, api.ErrNoDaemon) {
		return fmt.Errorf("no kith daemon is running for %s (start one with kith run)", home)
	}
	if err != nil {
		return err
	}
	return fn(c)
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the node's identity, addresses and peers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withService(cmd.Context(), func(svc api.Service) error {
				st, err := svc.Status(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(st)
				}
				w := a.env.Stdout
				fmt.Fprintf(w, "peer id  %s\n", st.PeerID)
				if st.API == "" {
					fmt.Fprintf(w, "daemon   not running (start it with kith run)\nobjects  %d\n", st.Objects)
					return nil
				}
				fmt.Fprintf(w, "daemon   running since %s\napi      %s\npeers    %d connected\nobjects  %d\ntopic    %s\n",
					st.Started.Format(time.RFC3339), st.API, st.Peers, st.Objects, st.Topic)
				for _, ad := range st.Addrs {
					fmt.Fprintf(w, "addr     %s\n", ad)
				}
				for _, warn := range st.Warnings {
					fmt.Fprintf(w, "warning  %s\n", warn)
				}
				if st.StoreError != "" {
					fmt.Fprintf(w, "STORE    cannot be written, nothing new is stored: %s\n", st.StoreError)
				}
				return nil
			})
		},
	}
}

func (a *app) peersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected and remembered peers (needs the daemon)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDaemon(cmd.Context(), func(svc api.Service) error {
				ps, err := svc.Peers(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(ps)
				}
				if len(ps) == 0 {
					_, err := fmt.Fprintln(a.env.Stdout, "no peers")
					return err
				}
				tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "PEER\tCONNECTED\tSCORE\tTRUST\tADDRESS")
				for _, p := range ps {
					t := "-"
					if p.Trust != nil {
						t = fmt.Sprintf("%.2f", *p.Trust)
					}
					addr := ""
					if len(p.Addrs) > 0 {
						addr = p.Addrs[0]
					}
					fmt.Fprintf(tw, "%s\t%v\t%.1f\t%s\t%s\n", p.ID, p.Connected, p.Score, t, addr)
				}
				return tw.Flush()
			})
		},
	}
}

func (a *app) consentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "consent",
		Short: "Decide which public statements about you may circulate",
		Long: `When someone makes a public statement about you, your node receives a consent
request. Only statements you approve are gossiped; withdrawing takes one out of
circulation again. Statements you never approve stay with their author.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List public statements about you and your decision on each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withService(cmd.Context(), func(svc api.Service) error {
				rs, err := svc.Consents(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(rs)
				}
				if len(rs) == 0 {
					_, err := fmt.Fprintln(a.env.Stdout, "no public statements about you")
					return err
				}
				tw := tabwriter.NewWriter(a.env.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "STATE\tKIND\tCONTEXT\tSTRENGTH\tISSUER\tCREATED\tCID\tREASON")
				superseded := 0
				for _, r := range rs {
					reason := r.Reason
					if reason == "" {
						reason = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.State, r.Kind, r.Context, r.Strength, r.Issuer,
						r.Created.Format("2006-01-02"), r.CID, oneLine(reason))
					superseded += r.Superseded
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if superseded > 0 {
					_, err = fmt.Fprintf(a.env.Stdout, "and %d older pending requests, each superseded by a newer one from the same issuer in the same context\n", superseded)
				}
				return err
			})
		},
	}
	action := func(use, short string, act func(api.Service, context.Context, string) (api.ConsentRequest, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " <cid>",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if _, err := owner.ParseCID(args[0]); err != nil {
					return err
				}
				return a.withService(cmd.Context(), func(svc api.Service) error {
					r, err := act(svc, cmd.Context(), args[0])
					if err != nil {
						return err
					}
					if a.json {
						return a.printJSON(r)
					}
					_, err = fmt.Fprintf(a.env.Stdout, "%s: %s\n", r.CID, r.State)
					return err
				})
			},
		}
	}
	cmd.AddCommand(list,
		action("approve", "Let a public statement about you circulate", api.Service.Approve),
		action("decline", "Keep a public statement about you from circulating", api.Service.Decline),
		action("withdraw", "Withdraw a consent you gave: the statement stops circulating", api.Service.Withdraw),
	)
	return cmd
}

// bootstrapPeer is one --bootstrap address: its peer, or why it is unusable.
type bootstrapPeer struct {
	addr string
	id   peer.ID
	err  error
}

func parseBootstrap(addrs []string) []bootstrapPeer {
	out := make([]bootstrapPeer, 0, len(addrs))
	for _, s := range addrs {
		b := bootstrapPeer{addr: s}
		ai, err := peer.AddrInfoFromString(s)
		switch {
		case err != nil && strings.Contains(s, "/p2p/"):
			b.err = errors.New("not a multiaddr ending in /p2p/<peer id>")
		case err != nil:
			b.err = errors.New("no /p2p/<peer id> at its end")
		case len(ai.Addrs) == 0:
			b.err = errors.New("no address before /p2p/")
		default:
			b.id = ai.ID
		}
		out = append(out, b)
	}
	return out
}

// checkBootstrap refuses a bootstrap list of which no address is usable: the
// daemon would run with no way to find a peer.
func checkBootstrap(addrs []string) error {
	bs := parseBootstrap(addrs)
	var bad []string
	for _, b := range bs {
		if b.err != nil {
			bad = append(bad, fmt.Sprintf("%s (%v)", b.addr, b.err))
		}
	}
	if len(bs) > 0 && len(bad) == len(bs) {
		return usagef("--bootstrap: no usable address: %s; want /ip4/HOST/tcp/PORT/p2p/12D3KooW... (kith status on that node prints its addresses)", strings.Join(bad, "; "))
	}
	return nil
}

// checkListening fails when a --listen address with a fixed port is not
// among the addresses the host listens on: the port was taken (libp2p
// starts when at least one address works, and says nothing of the rest).
func checkListening(requested []string, listening []ma.Multiaddr) error {
	for _, r := range requested {
		want, err := ma.NewMultiaddr(r)
		if err != nil {
			continue // libp2p refused it at start
		}
		proto, port, ok := transportPort(want)
		if !ok || port == "0" {
			continue
		}
		found := false
		for _, l := range listening {
			if p, lp, ok := transportPort(l); ok && p == proto && lp == port {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("--listen %s: could not listen there: %s port %s is in use by another program, or not available here", r, proto, port)
		}
	}
	return nil
}

// transportPort returns a multiaddr's transport protocol (tcp or udp) and
// port.
func transportPort(m ma.Multiaddr) (proto, port string, ok bool) {
	if v, err := m.ValueForProtocol(ma.P_TCP); err == nil {
		return "tcp", v, true
	}
	if v, err := m.ValueForProtocol(ma.P_UDP); err == nil {
		return "udp", v, true
	}
	return "", "", false
}
