package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/store"
	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/vault"
	"github.com/kith-net/kith/wire"
)

// Files inside the home directory.
const (
	vaultFile = "vault" // encrypted secrets (vault package)
	idFile    = "id"    // the node's peer ID in text form, readable without the passphrase
	storeDir  = "store" // the encrypted badger store
	// publicSetDir holds the daemon's public-set keys (a cache rebuilt at
	// every start; node.Config.PublicSetKeys).
	publicSetDir = "publicset"
)

// storeMarker names the vault entry that records the store's ID
// (badger.Store.ID): a home whose store went missing, or was replaced, is
// refused rather than opened empty (issue 24).
const storeMarker = "store-id"

// newStoreEnv, set to 1, lets a command start an empty store in place of a
// lost one (the error that refuses the home says so).
const newStoreEnv = "KITH_NEW_STORE"

// storeLockWait is how long a command waits for another kith process (the
// daemon starting, another command) to let go of the store.
const storeLockWait = 10 * time.Second

// errDaemonRunning says a daemon holds the store this command needs.
var errDaemonRunning = errors.New("daemon running")

// errNotInitialised says the home has no vault.
var errNotInitialised = errors.New("not initialised")

// homeDir resolves the home directory: --home, $KITH_HOME, then the user's
// data home.
func (a *app) homeDir() (string, error) {
	if a.home != "" {
		return filepath.Abs(a.home)
	}
	if h, ok := a.env.LookupEnv("KITH_HOME"); ok && h != "" {
		return filepath.Abs(h)
	}
	if x, ok := a.env.LookupEnv("XDG_DATA_HOME"); ok && x != "" {
		return filepath.Join(x, "kith"), nil
	}
	if h, ok := a.env.LookupEnv("HOME"); ok && h != "" {
		return filepath.Join(h, ".local", "share", "kith"), nil
	}
	return "", usagef("no home directory: set --home or KITH_HOME")
}

func (a *app) passphraseSource(ctx context.Context) vault.Source {
	isTerminal := a.env.IsTerminal
	if isTerminal == nil {
		isTerminal = func() bool { return false }
	}
	var promptPassword func(string) ([]byte, error)
	if a.env.ReadPassword != nil {
		promptPassword = func(label string) ([]byte, error) { return a.env.ReadPassword(ctx, label) }
	}
	return vault.Source{
		Env:            "KITH_PASSPHRASE",
		LookupEnv:      a.env.LookupEnv,
		File:           a.passphraseFile,
		Prompt:         a.env.Stdin,
		PromptOut:      a.env.Stderr,
		IsTerminal:     isTerminal,
		PromptPassword: promptPassword,
	}
}

// session is an unlocked node: its key, its secrets and its open store.
type session struct {
	home    string
	key     *wire.PrivateKey
	store   store.Store
	secrets vault.Secrets
	pass    []byte
}

func (s *session) Close() error {
	s.secrets.Wipe()
	clear(s.pass)
	return s.store.Close()
}

// saveSecrets rewrites the vault with the session's secrets.
func (s *session) saveSecrets(rand io.Reader) error {
	return vault.Update(filepath.Join(s.home, vaultFile), s.pass, s.secrets, rand)
}

// unlock opens the vault and the store of an initialised home.
func (a *app) unlock(ctx context.Context) (*session, error) {
	home, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	vpath := filepath.Join(home, vaultFile)
	if _, err := os.Stat(vpath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no vault in %s (run kith init)", errNotInitialised, home)
	}
	if _, err := api.Discover(ctx, home); err == nil {
		return nil, fmt.Errorf("%w: a kith daemon is running for %s and holds the store; this command needs it stopped", errDaemonRunning, home)
	}
	pass, err := a.passphraseSource(ctx).Passphrase(false)
	if err != nil {
		return nil, passphraseHint(err)
	}
	secrets, err := vault.Open(vpath, pass)
	if err != nil {
		clear(pass)
		return nil, vaultError(vpath, err)
	}
	key := wire.NewPrivateKey(secrets.Identity)
	if id, err := os.ReadFile(filepath.Join(home, idFile)); err == nil && strings.TrimSpace(string(id)) != key.Public().String() {
		secrets.Wipe()
		clear(pass)
		return nil, fmt.Errorf("%s names %s but the vault holds %s", filepath.Join(home, idFile), strings.TrimSpace(string(id)), key.Public())
	}
	sdir := filepath.Join(home, storeDir)
	marker := secrets.Extra[storeMarker]
	fresh := false
	if v, ok := a.env.LookupEnv(newStoreEnv); ok && v == "1" {
		marker, fresh = nil, true
	}
	st, err := badgerstore.Open(ctx, badgerstore.Options{
		Dir:           sdir,
		EncryptionKey: secrets.StoreKey[:],
		Logger:        a.env.Logger,
		ID:            marker,
		LockWait:      storeLockWait,
	})
	if err != nil {
		secrets.Wipe()
		clear(pass)
		if errors.Is(err, store.ErrWrongStore) {
			return nil, fmt.Errorf("%w: %s is not this home's store (it is missing, empty or another's); restore it from a backup, or, if it is lost for good, run the command again with %s=1 to start an empty store, then kith import your latest export", err, sdir, newStoreEnv)
		}
		return nil, err
	}
	s := &session{home: home, key: key, store: st, secrets: secrets, pass: pass}
	if id := st.ID(); fresh || !bytes.Equal(marker, id) {
		// A home made before store IDs, or a new store: record it.
		s.secrets.Extra[storeMarker] = id
		if err := s.saveSecrets(a.env.Rand); err != nil {
			s.Close()
			return nil, fmt.Errorf("recording the store in the vault: %w", err)
		}
	}
	return s, nil
}

// withSession runs fn on an unlocked node and closes it.
func (a *app) withSession(ctx context.Context, fn func(*session) error) (err error) {
	s, err := a.unlock(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	return fn(s)
}

// passphraseHint says what to do when no passphrase source is available.
func passphraseHint(err error) error {
	switch {
	case errors.Is(err, vault.ErrNoPassphrase):
		return hinted{"no passphrase: set KITH_PASSPHRASE, pass --passphrase-file FILE, or run kith in a terminal to be asked", err}
	case errors.Is(err, vault.ErrPassphraseMismatch):
		return hinted{"the two passphrases differ; nothing was written", err}
	}
	return err
}

// vaultError says what an error opening the vault at path means for the
// owner, and what to do about it.
func vaultError(path string, err error) error {
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase):
		return hinted{fmt.Sprintf("wrong passphrase for the vault %s", path), err}
	case errors.Is(err, vault.ErrCorrupt):
		return hinted{fmt.Sprintf("the vault %s is damaged (%s); the passphrase was not the problem: restore your key from its backup with kith init --restore FILE into a new home (kith key backup makes one)",
			path, strings.TrimPrefix(err.Error(), vault.ErrCorrupt.Error()+": ")), err}
	case errors.Is(err, vault.ErrUnsupportedVersion):
		return hinted{fmt.Sprintf("the vault %s is in a format this kith (%s) does not read (%s): use a newer kith, or restore from a key backup if the file is damaged",
			path, version, strings.TrimPrefix(err.Error(), vault.ErrUnsupportedVersion.Error()+": ")), err}
	}
	return err
}

// selfID is this node's peer ID from the home's id file, or "" when it
// cannot be read.
func (a *app) selfID() string {
	home, err := a.homeDir()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(home, idFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
