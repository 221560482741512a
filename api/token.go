package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kith-net/kith/internal/atomicfile"
)

// TokenFile is the name of the bearer token file in the data directory.
const TokenFile = "api.token"

// tokenBytes is the token's entropy: 256 bits, written as 64 hex digits.
const tokenBytes = 32

// ErrNoToken is returned by LoadToken when the data directory has no token
// file (no daemon has run there yet).
var ErrNoToken = errors.New("api: no token file")

// LoadOrCreateToken returns the bearer token in dir/api.token, creating dir
// (mode 0700) and a new random 256-bit token (file mode 0600) when there is
// none. Creation is atomic: two daemons racing get the same token. A token
// file readable or writable by group or others, not a regular file, or not
// owned by this user is refused.
func LoadOrCreateToken(dir string) (string, error) {
	return loadOrCreateToken(dir, rand.Reader)
}

func loadOrCreateToken(dir string, rnd io.Reader) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("api: token: %w", err)
	}
	tok, err := LoadToken(dir)
	if !errors.Is(err, ErrNoToken) {
		return tok, err
	}
	var b [tokenBytes]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("api: token: %w", err)
	}
	tok = hex.EncodeToString(b[:])
	if err := atomicfile.Create(filepath.Join(dir, TokenFile), []byte(tok+"\n"), 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadToken(dir) // another process won the race
		}
		return "", fmt.Errorf("api: token: %w", err)
	}
	return tok, nil
}

// LoadToken reads the bearer token in dir/api.token without creating it:
// what a client does. It returns an error wrapping ErrNoToken when there is
// no file, and refuses one that others could read (see LoadOrCreateToken).
func LoadToken(dir string) (string, error) {
	b, err := readPrivateFile(filepath.Join(dir, TokenFile), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w in %s", ErrNoToken, dir)
	}
	if err != nil {
		return "", fmt.Errorf("api: token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if err := checkTokenFormat(tok); err != nil {
		return "", fmt.Errorf("api: token file %s: %w", filepath.Join(dir, TokenFile), err)
	}
	return tok, nil
}

func checkTokenFormat(tok string) error {
	if len(tok) != 2*tokenBytes {
		return errors.New("malformed token (want 64 hex digits)")
	}
	if _, err := hex.DecodeString(tok); err != nil {
		return errors.New("malformed token (want 64 hex digits)")
	}
	return nil
}

// readPrivateFile reads at most max bytes of a regular file that belongs to
// this user and that group and others cannot access.
func readPrivateFile(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %#o: it must not be accessible to group or others (chmod 600)", path, perm)
	}
	if err := checkOwner(fi); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is too large", path)
	}
	return b, nil
}

// tokenDigest is what the server keeps and compares: comparing fixed-length
// digests in constant time reveals neither the token nor its length.
type tokenDigest [sha256.Size]byte

func digestToken(tok string) tokenDigest { return sha256.Sum256([]byte(tok)) }

func (d *tokenDigest) matches(tok string) bool {
	got := digestToken(tok)
	return subtle.ConstantTimeCompare(d[:], got[:]) == 1
}
