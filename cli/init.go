package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/internal/atomicfile"
	badgerstore "github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/vault"
	"github.com/kith-net/kith/wire"
)

// minPassphrase is the shortest passphrase init accepts (issue 24: a
// one-character passphrase was accepted).
const minPassphrase = 8

// passphraseHelp says how every command that opens the vault gets its
// passphrase.
const passphraseHelp = `The vault's passphrase comes from, in this order: $KITH_PASSPHRASE; the first
line of --passphrase-file FILE (the file must not be readable by others); an
interactive prompt when standard input is a terminal (asked twice by init).
Without any of them kith stops and says so.`

func (a *app) initCommand() *cobra.Command {
	var restore, bundle string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the node identity, the encrypted vault and the store",
		Long: `Create this node in the home directory (--home, $KITH_HOME, else
$XDG_DATA_HOME/kith or ~/.local/share/kith): a new identity (an Ed25519 key,
whose peer ID is printed), the vault that keeps it encrypted under your
passphrase (argon2id + XChaCha20-Poly1305), and the encrypted store.

` + passphraseHelp + `

With --restore FILE, the identity (and the rest of the vault: Fediverse logins,
trained models) comes from a key backup made by kith key backup, whose
passphrase the new vault keeps; --import BUNDLE then fills the store from a
bundle made by kith export, so your statements are yours again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundle != "" && restore == "" {
				return usagef("--import needs --restore: a bundle of your statements is yours only with your key (without it, use kith import after init)")
			}
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
			var objs []wire.Object
			if bundle != "" { // read and check it before anything is written
				if objs, _, err = a.readBundle(bundle); err != nil {
					return err
				}
			}
			pass, err := a.passphraseSource(cmd.Context()).Passphrase(restore == "")
			if err != nil {
				return passphraseHint(err)
			}
			defer clear(pass)
			if n := utf8.RuneCount(pass); restore == "" && n < minPassphrase {
				return usagef("the passphrase has %d characters; it protects the node's key and store, so give it at least %d", n, minPassphrase)
			}
			var secrets vault.Secrets
			if restore != "" {
				if secrets, err = vault.Open(restore, pass); err != nil {
					return fmt.Errorf("--restore: %w", vaultError(restore, err))
				}
			} else if secrets, err = vault.NewSecrets(a.env.Rand); err != nil {
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
			added := 0
			if len(objs) > 0 {
				if added, err = st.Put(cmd.Context(), objs...); err != nil {
					st.Close()
					return fmt.Errorf("--import %s: %w", bundle, err)
				}
			}
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
			if bundle != "" && !a.json {
				fmt.Fprintf(a.env.Stderr, "restored %d objects from %s (%d new)\n", len(objs), bundle, added)
			}
			return a.printID(key.Public(), home)
		},
	}
	cmd.Flags().StringVar(&restore, "restore", "", "take the identity from this key backup (kith key backup) instead of making a new one")
	cmd.Flags().StringVar(&bundle, "import", "", "with --restore: fill the new store from this bundle (kith export)")
	return cmd
}

func (a *app) keyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Back up this node's key",
	}
	var out string
	var force bool
	backup := &cobra.Command{
		Use:   "backup",
		Short: "Write an encrypted backup of the node's key (and the rest of the vault) to a file",
		Long: `Write the vault's secrets (the node's identity key, the store key, Fediverse
logins and trained models) to --out, encrypted under the vault's passphrase in
the vault's own format. Keep it somewhere else than this machine. With it,
kith init --restore FILE makes this node again on a new machine, and
--import BUNDLE (from kith export) brings its store back: without the key, an
import of your own bundle makes your statements a stranger's.

Works while the daemon runs (it reads the vault file only).

` + passphraseHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out FILE is required: where to write the backup")
			}
			home, err := a.homeDir()
			if err != nil {
				return err
			}
			vpath := filepath.Join(home, vaultFile)
			if _, err := os.Stat(vpath); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%w: no vault in %s (run kith init)", errNotInitialised, home)
			}
			pass, err := a.passphraseSource(cmd.Context()).Passphrase(false)
			if err != nil {
				return passphraseHint(err)
			}
			defer clear(pass)
			secrets, err := vault.Open(vpath, pass)
			if err != nil {
				return vaultError(vpath, err)
			}
			defer secrets.Wipe()
			params := a.env.KDF
			if params == (vault.Params{}) {
				params = vault.DefaultParams
			}
			if force {
				if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("key backup: %w", err)
				}
			}
			if err := vault.Create(out, pass, secrets, params, a.env.Rand); err != nil {
				if errors.Is(err, vault.ErrExists) {
					return fmt.Errorf("key backup: %s exists; pass --force to replace it", out)
				}
				return fmt.Errorf("key backup: %w", err)
			}
			id := wire.NewPrivateKey(secrets.Identity).Public()
			if a.json {
				return a.printJSON(map[string]string{"file": out, "peer_id": id.String()})
			}
			_, err = fmt.Fprintf(a.env.Stdout, "key of %s backed up to %s (encrypted under your passphrase; restore with kith init --restore %s)\n", id, out, out)
			return err
		},
	}
	backup.Flags().StringVarP(&out, "out", "o", "", "file to write the backup to (mode 0600)")
	backup.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	cmd.AddCommand(backup)
	return cmd
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
