package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/atomicfile"
	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/vault"
	"github.com/kith-net/kith/wire"
)

// minPassphrase is the shortest passphrase init accepts (issue 24: a
// one-character passphrase was accepted).
const minPassphrase = 8

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the node identity, the encrypted vault and the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := a.homeDir()
			if err != nil {
				return err
			}
			vpath := filepath.Join(home, vaultFile)
			if _, err := os.Stat(vpath); err == nil {
				return fmt.Errorf("%s is already initialised (vault %s exists)", home, vpath)
			}
			params := a.env.KDF
			if params == (vault.Params{}) {
				params = vault.DefaultParams
			}
			pass, err := a.passphraseSource().Passphrase(true)
			if err != nil {
				return passphraseHint(err)
			}
			defer clear(pass)
			if n := utf8.RuneCount(pass); n < minPassphrase {
				return usagef("the passphrase has %d characters; it protects the node's key and store, so give it at least %d", n, minPassphrase)
			}
			secrets, err := vault.NewSecrets(a.env.Rand)
			if err != nil {
				return err
			}
			defer secrets.Wipe()
			if err := os.MkdirAll(home, 0o700); err != nil {
				return fmt.Errorf("create home: %w", err)
			}
			if err := os.Chmod(home, 0o700); err != nil {
				return fmt.Errorf("create home: %w", err)
			}
			key := wire.NewPrivateKey(secrets.Identity)
			// The store first: if it cannot be created, no vault is left
			// behind to make the next init refuse.
			st, err := badgerstore.Open(cmd.Context(), badgerstore.Options{
				Dir:           filepath.Join(home, storeDir),
				EncryptionKey: secrets.StoreKey[:],
				Logger:        a.env.Logger,
			})
			if err != nil {
				return err
			}
			secrets.Extra[storeMarker] = st.ID()
			if err := st.Close(); err != nil {
				return err
			}
			if err := atomicfile.Write(filepath.Join(home, idFile), []byte(key.Public().String()+"\n"), 0o600); err != nil {
				return err
			}
			if err := vault.Create(vpath, pass, secrets, params, a.env.Rand); err != nil {
				if errors.Is(err, vault.ErrExists) {
					return fmt.Errorf("%s is already initialised", home)
				}
				return err
			}
			return a.printID(key.Public(), home)
		},
	}
}

func (a *app) idCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Print this node's identity (peer ID and did:key); needs no passphrase",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			home, err := a.homeDir()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(filepath.Join(home, idFile))
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%w: %s has no identity (run kith init)", errNotInitialised, home)
			}
			if err != nil {
				return err
			}
			k, err := wire.ParsePublicKey(strings.TrimSpace(string(b)))
			if err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(home, idFile), err)
			}
			return a.printID(k, home)
		},
	}
}

func (a *app) printID(k wire.PublicKey, home string) error {
	if a.json {
		return a.printJSON(map[string]string{"peer_id": k.String(), "did_key": k.DIDKey(), "home": home})
	}
	_, err := fmt.Fprintf(a.env.Stdout, "peer ID  %s\ndid:key  %s\nhome     %s\n", k, k.DIDKey(), home)
	return err
}
