package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/kith-net/kith/internal/atomicfile"
)

// DiscoveryFile is the name of the file, in the data directory, where a
// running daemon says where its API is.
const DiscoveryFile = "api.json"

// ErrNoDaemon is returned by Discover when no daemon answers for the data
// directory: the CLI then works on the store directly.
var ErrNoDaemon = errors.New("api: no daemon running")

// Discovery is the content of api.json.
type Discovery struct {
	URL string `json:"url"` // as NewClient takes it: http://127.0.0.1:PORT or unix:/path
	PID int    `json:"pid"`
}

// WriteDiscovery writes dir/api.json (mode 0600, atomically), for a daemon
// at start.
func WriteDiscovery(dir string, d Discovery) error {
	if err := checkLocalURL(d.URL); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, DiscoveryFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("api: writing discovery file: %w", err)
	}
	return nil
}

// RemoveDiscovery removes dir/api.json if it names process pid, for a
// daemon at stop (a newer daemon's file is left alone).
func RemoveDiscovery(dir string, pid int) error {
	d, err := ReadDiscovery(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && d.PID != pid {
		return nil
	}
	if err := os.Remove(filepath.Join(dir, DiscoveryFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("api: removing discovery file: %w", err)
	}
	return nil
}

// ReadDiscovery reads dir/api.json, refusing one others could write or read.
func ReadDiscovery(dir string) (Discovery, error) {
	b, err := readPrivateFile(filepath.Join(dir, DiscoveryFile), 4096)
	if err != nil {
		return Discovery{}, err
	}
	var d Discovery
	if err := json.Unmarshal(b, &d); err != nil {
		return Discovery{}, fmt.Errorf("api: %s: %w", DiscoveryFile, err)
	}
	if err := checkLocalURL(d.URL); err != nil {
		return Discovery{}, err
	}
	return d, nil
}

// checkLocalURL accepts only URLs on this machine: the token must never be
// sent elsewhere.
func checkLocalURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("api: discovery URL: %w", err)
	}
	switch u.Scheme {
	case "unix":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("api: discovery URL %q is not a loopback http:// or unix: URL", s)
}

// Discover returns a Client for the daemon serving the data directory dir,
// after checking that it answers (GET /v1/status, within 2 s). It returns
// ErrNoDaemon when there is no api.json or nothing listens where it says
// (a daemon that died), and another error when a daemon answers but
// refuses (a wrong token, say): then the CLI must not open the store.
func Discover(ctx context.Context, dir string) (*Client, error) {
	d, err := ReadDiscovery(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDaemon
	}
	if err != nil {
		return nil, err
	}
	tok, err := LoadToken(dir)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(d.URL, tok, nil)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Status(pctx); err != nil {
		var apiErr *Error
		var opErr *net.OpError
		if !errors.As(err, &apiErr) && errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, fmt.Errorf("%w (stale %s: %v)", ErrNoDaemon, DiscoveryFile, err)
		}
		return nil, fmt.Errorf("api: daemon at %s: %w", d.URL, err)
	}
	return c, nil
}
