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

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/node"
	"github.com/kith-net/kith/node/recon"
	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/wire"
)

// peerTrustRefresh is how often the daemon recomputes the owner's trust in
// peers for gossip scoring.
const peerTrustRefresh = 5 * time.Minute

func (a *app) runCommand() *cobra.Command {
	var (
		listen, bootstrap  []string
		apiAddr, logFormat string
		noMDNS, debug      bool
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
commands talk to it instead of opening the store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := a.daemonLogger(logFormat, debug)
			if err != nil {
				return err
			}
			return a.withSession(cmd.Context(), func(s *session) error {
				return a.runDaemon(cmd.Context(), s, log, daemonOptions{listen: listen, bootstrap: bootstrap, api: apiAddr, noMDNS: noMDNS})
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&listen, "listen", nil, "multiaddr to listen on (repeatable; default all interfaces, TCP and QUIC, random ports)")
	f.StringArrayVar(&bootstrap, "bootstrap", nil, "peer to connect to, a multiaddr ending in /p2p/<peer id> (repeatable)")
	f.StringVar(&apiAddr, "api", api.DefaultAddr, "local API address (loopback only), or unix:/path/to/socket")
	f.BoolVar(&noMDNS, "no-mdns", false, "do not look for peers on the local network")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&debug, "debug", false, "log debug messages")
	return cmd
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
	listen, bootstrap []string
	api               string
	noMDNS            bool
}

// runDaemon runs the node and the API until ctx ends.
func (a *app) runDaemon(ctx context.Context, s *session, log *slog.Logger, o daemonOptions) error {
	// Unlocking the vault ran argon2id over 64 MiB: give that memory back
	// to the system before settling in for a long run.
	debug.FreeOSMemory()
	svc := &localService{a: a, s: s, started: a.env.Now()}
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
	svc.n = n
	defer n.Close()

	token, err := api.LoadOrCreateToken(s.home)
	if err != nil {
		return err
	}
	srv, err := api.NewServer(svc, api.ServerOptions{Token: token, Logger: log.With("component", "api")})
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
			trustCache.set(svc.peerTrust(serveCtx))
			select {
			case <-serveCtx.Done():
				return
			case <-t.C:
			}
		}
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
				fmt.Fprintln(tw, "STATE\tKIND\tCONTEXT\tSTRENGTH\tISSUER\tCREATED\tCID")
				superseded := 0
				for _, r := range rs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.State, r.Kind, r.Context, r.Strength, r.Issuer, r.Created.Format("2006-01-02"), r.CID)
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
				if _, err := wire.ParseCID(args[0]); err != nil {
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
