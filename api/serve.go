package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// DefaultAddr is the API's default TCP address: loopback, a random port.
const DefaultAddr = "127.0.0.1:0"

// Serve serves the API on ln until ctx is done, then shuts down gracefully:
// it stops accepting, lets running requests finish for up to
// ShutdownTimeout, closes what remains, and returns once every connection
// is closed. It returns nil after a shutdown caused by ctx, or the error
// that stopped it. ln is closed in every case.
//
// Serve refuses a TCP listener that is not on a loopback address unless
// ServerOptions.AllowNonLoopback is set. It blocks; the caller owns the
// goroutine it runs in. One Server may Serve several listeners at once
// (say TCP and a unix socket), each in its own call.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.checkListener(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	var conns connTracker
	ln = &capListener{Listener: ln, slots: make(chan struct{}, s.opts.MaxConns), conns: &conns}
	hs := &http.Server{
		Handler:           s,
		ConnState:         conns.hook,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.opts.RequestTimeout + 10*time.Second, // time to write the 504
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// Requests keep ctx's values but not its cancellation: shutdown
		// lets them finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }() // joined below, on every path
	select {
	case err := <-done:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	// Shutdown waits up to 5 s for connections that never sent a byte
	// (a client's spare, pre-dialled ones); nothing runs on them: close them.
	conns.closeFresh()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("api: shutdown: %w", err)
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("api: serve: %w", serr)
	}
	return err
}

// connTracker closes, once shutdown begins, the connections on which no
// request has started, and tracks the idle keep-alive connections
// (capListener closes the oldest when the cap is reached).
type connTracker struct {
	mu      sync.Mutex
	closing bool
	fresh   map[net.Conn]bool
	idle    map[net.Conn]time.Time
}

func (t *connTracker) hook(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateIdle {
		if t.idle == nil {
			t.idle = make(map[net.Conn]time.Time)
		}
		t.idle[c] = time.Now()
	} else {
		delete(t.idle, c)
	}
	switch {
	case st == http.StateNew && t.closing:
		c.Close()
	case st == http.StateNew:
		if t.fresh == nil {
			t.fresh = make(map[net.Conn]bool)
		}
		t.fresh[c] = true
	default:
		delete(t.fresh, c)
	}
}

// closeIdle closes the connection idle the longest, and reports whether
// there was one.
func (t *connTracker) closeIdle() bool {
	t.mu.Lock()
	var oldest net.Conn
	var at time.Time
	for c, since := range t.idle {
		if oldest == nil || since.Before(at) {
			oldest, at = c, since
		}
	}
	delete(t.idle, oldest)
	t.mu.Unlock()
	if oldest == nil {
		return false
	}
	oldest.Close()
	return true
}

// DefaultMaxConns is the default ServerOptions.MaxConns.
const DefaultMaxConns = 64

// capListener caps the open connections: at the cap, a new connection
// takes the place of the one idle the longest, or, if none is idle, is
// closed at once. (Issue 24: 1,000 idle keep-alive connections held the
// daemon's descriptors.)
type capListener struct {
	net.Listener
	slots chan struct{}
	conns *connTracker
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		for {
			select {
			case l.slots <- struct{}{}:
				return &capConn{Conn: c, slots: l.slots}, nil
			default:
			}
			if !l.conns.closeIdle() {
				break
			}
		}
		c.Close()
	}
}

// capConn gives its slot back when closed.
type capConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *capConn) Close() error {
	c.once.Do(func() { <-c.slots })
	return c.Conn.Close()
}

func (t *connTracker) closeFresh() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = true
	for c := range t.fresh {
		c.Close()
	}
	t.fresh = nil
}

// ListenAndServe listens on addr (see Listen) and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := Listen(ctx, addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

func (s *Server) checkListener(a net.Addr) error {
	switch a := a.(type) {
	case *net.TCPAddr:
		if !a.IP.IsLoopback() && !s.opts.AllowNonLoopback {
			return fmt.Errorf("api: refusing to serve on %s: not a loopback address (set AllowNonLoopback to allow)", a)
		}
		return nil
	case *net.UnixAddr:
		return nil
	}
	return fmt.Errorf("api: refusing to serve on %s %s: want TCP on loopback or a unix socket", a.Network(), a)
}

// Listen listens on a TCP loopback address "host:port", where host is a
// loopback IP address or "localhost" (taken as 127.0.0.1, without asking
// DNS). An empty addr means DefaultAddr. Any other host, including an empty
// one (all interfaces), is refused.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("api: listen %q: not a loopback address (use 127.0.0.1, [::1] or localhost)", addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(ip.String(), port))
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return ln, nil
}

// ListenUnix listens on a unix socket at path, mode 0600, removing a stale
// socket file left by a daemon that died (but refusing when one answers).
// Put the socket in the 0700 data directory: the mode is set right after
// the bind. Where the OS reports peer credentials (Linux), connections from
// another user are closed unanswered.
func ListenUnix(ctx context.Context, path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("api: listen %s: exists and is not a socket", path)
		}
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "unix", path)
		cancel()
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("api: listen %s: another process is serving on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("api: removing stale socket: %w", err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	return &sameUserListener{Listener: ln, uid: os.Getuid()}, nil
}

// errNoPeerCred: the OS does not report a unix socket peer's uid.
var errNoPeerCred = errors.New("peer credentials not supported")

// sameUserListener closes connections whose peer is another user.
type sameUserListener struct {
	net.Listener
	uid int
}

func (l *sameUserListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if errors.Is(err, errNoPeerCred) {
			return c, nil // the socket file's mode is the guard
		}
		if err != nil || uid != l.uid {
			c.Close()
			continue
		}
		return c, nil
	}
}
