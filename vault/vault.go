package vault

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
)

// Sentinel errors. Returned errors wrap these; test with [errors.Is].
var (
	// ErrNotFound means there is no vault file at the given path.
	ErrNotFound = errors.New("vault: not found")
	// ErrExists means Create was asked to create a vault where a file already exists.
	ErrExists = errors.New("vault: already exists")
	// ErrWrongPassphrase means the passphrase does not match the vault.
	ErrWrongPassphrase = errors.New("vault: wrong passphrase")
	// ErrCorrupt means the file is not a valid vault or failed authentication.
	ErrCorrupt = errors.New("vault: corrupt or tampered vault file")
	// ErrUnsupportedVersion means the file is a vault of an unknown format version.
	ErrUnsupportedVersion = errors.New("vault: unsupported vault format version")
	// ErrEmptyPassphrase means an empty passphrase was given or configured.
	ErrEmptyPassphrase = errors.New("vault: empty passphrase")
	// ErrInsecurePermissions means a vault or passphrase file is accessible to
	// group or others.
	ErrInsecurePermissions = errors.New("vault: insecure permissions")
	// ErrInvalidParams means KDF parameters are zero or absurd.
	ErrInvalidParams = errors.New("vault: invalid KDF parameters")
)

// Limits enforced by [Params.Validate].
const (
	// MaxMemory is the largest accepted Argon2id memory cost, in KiB (4 GiB).
	MaxMemory = 4 * 1024 * 1024
	// MaxTime is the largest accepted Argon2id number of passes.
	MaxTime = 64
)

// Params are the Argon2id cost parameters.
type Params struct {
	Memory  uint32 // memory cost in KiB
	Time    uint32 // number of passes over the memory
	Threads uint8  // degree of parallelism (lanes)
}

// DefaultParams are the parameters used for new vaults: 64 MiB, 3 passes, 4
// lanes.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4}

// Validate reports whether p is usable: Threads and Time must be non-zero,
// Time at most [MaxTime], Memory at least 8 KiB per thread and at most
// [MaxMemory] KiB. The error wraps [ErrInvalidParams].
func (p Params) Validate() error {
	switch {
	case p.Threads == 0:
		return fmt.Errorf("%w: threads is 0", ErrInvalidParams)
	case p.Time == 0:
		return fmt.Errorf("%w: time is 0", ErrInvalidParams)
	case p.Time > MaxTime:
		return fmt.Errorf("%w: time %d exceeds %d", ErrInvalidParams, p.Time, MaxTime)
	case uint64(p.Memory) < 8*uint64(p.Threads):
		return fmt.Errorf("%w: memory %d KiB is below 8 KiB per thread (%d threads)", ErrInvalidParams, p.Memory, p.Threads)
	case p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB exceeds %d KiB", ErrInvalidParams, p.Memory, MaxMemory)
	}
	return nil
}

// Secrets are the node secrets kept in a vault.
type Secrets struct {
	Identity [32]byte          // Ed25519 seed of the node identity
	StoreKey [32]byte          // data key for the encrypted badger store
	Extra    map[string][]byte // named secrets added later (e.g. "fedi-token:alice@host")
}

// NewSecrets returns Secrets with Identity and StoreKey read from rand (in that
// order) and an empty, non-nil Extra map. If rand is nil, crypto/rand.Reader is
// used.
func NewSecrets(rand io.Reader) (Secrets, error) {
	rand = randOrDefault(rand)
	var s Secrets
	if _, err := io.ReadFull(rand, s.Identity[:]); err != nil {
		return Secrets{}, fmt.Errorf("vault: generate identity: %w", err)
	}
	if _, err := io.ReadFull(rand, s.StoreKey[:]); err != nil {
		clear(s.Identity[:])
		return Secrets{}, fmt.Errorf("vault: generate store key: %w", err)
	}
	s.Extra = make(map[string][]byte)
	return s, nil
}

// Wipe zeroes Identity, StoreKey and every Extra value in place and empties
// Extra. Other copies of the secrets are not affected.
func (s *Secrets) Wipe() {
	clear(s.Identity[:])
	clear(s.StoreKey[:])
	for _, v := range s.Extra {
		clear(v)
	}
	clear(s.Extra)
}

// Create encrypts s under passphrase with KDF parameters p and writes it to a
// new file at path with mode 0600, creating a missing parent directory with
// mode 0700. It fails with [ErrExists] if path already exists and never
// replaces an existing file. Salt and nonce are read from rand; if rand is nil,
// crypto/rand.Reader is used.
//
// Extra names must be non-empty valid UTF-8 of at most 1024 bytes, and the
// encoded file must not exceed 1 MiB.
func Create(path string, passphrase []byte, s Secrets, p Params, rand io.Reader) error {
	if len(passphrase) == 0 {
		return ErrEmptyPassphrase
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vault: %w", err)
	}
	data, err := seal(passphrase, &s, p, randOrDefault(rand))
	if err != nil {
		return err
	}
	return writeFile(path, data, false)
}

// Open reads the vault at path and decrypts it with passphrase.
//
// It fails with [ErrNotFound] if there is no file, [ErrInsecurePermissions] if
// the file is accessible to group or others, [ErrEmptyPassphrase],
// [ErrWrongPassphrase], [ErrUnsupportedVersion] or [ErrCorrupt]. On error the
// returned Secrets are zero. On success Extra is non-nil and every value is a
// fresh, non-nil slice.
func Open(path string, passphrase []byte) (Secrets, error) {
	s, _, err := openFile(path, passphrase, MaxMemory)
	return s, err
}

// Update replaces the secrets in the existing vault at path with s. The
// passphrase must be the vault's current passphrase (the vault is decrypted
// first, so a corrupt vault is not overwritten); the KDF parameters are kept,
// and a fresh salt and nonce are read from rand (crypto/rand.Reader if nil).
// The file is replaced atomically.
func Update(path string, passphrase []byte, s Secrets, rand io.Reader) error {
	old, p, err := openFile(path, passphrase, MaxMemory)
	if err != nil {
		return err
	}
	old.Wipe()
	data, err := seal(passphrase, &s, p, randOrDefault(rand))
	if err != nil {
		return err
	}
	return writeFile(path, data, true)
}

// ChangePassphrase re-encrypts the vault at path, currently protected by
// oldPassphrase, under newPassphrase. The secrets and KDF parameters are kept;
// a fresh salt and nonce are read from rand (crypto/rand.Reader if nil). The
// file is replaced atomically. An empty newPassphrase fails with
// [ErrEmptyPassphrase] before the vault is read.
func ChangePassphrase(path string, oldPassphrase, newPassphrase []byte, rand io.Reader) error {
	if len(newPassphrase) == 0 {
		return fmt.Errorf("%w: new passphrase", ErrEmptyPassphrase)
	}
	s, p, err := openFile(path, oldPassphrase, MaxMemory)
	if err != nil {
		return err
	}
	defer s.Wipe()
	data, err := seal(newPassphrase, &s, p, randOrDefault(rand))
	if err != nil {
		return err
	}
	return writeFile(path, data, true)
}

// openFile reads and decrypts the vault at path, refusing files whose memory
// cost exceeds maxMemory KiB before running the KDF.
func openFile(path string, passphrase []byte, maxMemory uint32) (Secrets, Params, error) {
	if len(passphrase) == 0 {
		return Secrets{}, Params{}, ErrEmptyPassphrase
	}
	data, err := readVaultFile(path)
	if err != nil {
		return Secrets{}, Params{}, err
	}
	return decrypt(data, passphrase, maxMemory)
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return cryptorand.Reader
	}
	return r
}
