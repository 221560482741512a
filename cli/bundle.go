package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/wire"
)

func (a *app) exportCommand() *cobra.Command {
	var out string
	var publicOnly, force bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the store's objects as one signed bundle",
		Long: `Write every object in the store (your attestations, retractions, and what you
received) to one bundle signed by this node. Expired objects are left out. The bundle includes private
attestations unless --public-only: keep the file as private as the store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSession(cmd.Context(), func(s *session) error {
				var objs []wire.Object
				skipped := 0
				now := a.env.Now()
				err := s.store.All(cmd.Context(), func(o wire.Object) error {
					if att, ok := o.(*wire.Attestation); ok && publicOnly && att.Audience.Scope != wire.Public {
						return nil
					}
					// An importer refuses expired objects, so a bundle
					// carrying one could never be imported.
					if err := o.Verify(now); err != nil {
						skipped++
						return nil
					}
					objs = append(objs, o)
					return nil
				})
				if err != nil {
					return err
				}
				b := wire.NewBundle(a.env.Now(), objs...)
				if err := b.Sign(s.key); err != nil {
					return err
				}
				switch {
				case out == "" || out == "-":
					_, err = a.env.Stdout.Write(b.Raw())
				case force:
					err = atomicfile.Write(out, b.Raw(), 0o600)
				default:
					if err = atomicfile.Create(out, b.Raw(), 0o600); errors.Is(err, fs.ErrExist) {
						return fmt.Errorf("export: %s exists; pass --force to replace it", out)
					}
				}
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				fmt.Fprintf(a.env.Stderr, "exported %d objects (bundle %s)\n", len(objs), b.CID())
				if skipped > 0 {
					fmt.Fprintf(a.env.Stderr, "left out %d expired objects\n", skipped)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this file (default standard output)")
	cmd.Flags().BoolVar(&publicOnly, "public-only", false, "leave out attestations that are not public")
	cmd.Flags().BoolVar(&force, "force", false, "replace --out if it exists")
	return cmd
}

func (a *app) importCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import <file|->",
		Short: "Verify a signed bundle and store its objects (all or nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			objs, b, err := a.readBundle(args[0])
			if err != nil {
				return err
			}
			return a.withSession(cmd.Context(), func(s *session) error {
				added, err := s.store.Put(cmd.Context(), objs...)
				if err != nil {
					return fmt.Errorf("import %s: %w", args[0], err)
				}
				if a.json {
					return a.printJSON(map[string]any{"bundle": b.CID().String(), "signer": b.Issuer.String(), "objects": len(objs), "added": added})
				}
				_, err = fmt.Fprintf(a.env.Stdout, "imported %d objects (%d new) from bundle %s signed by %s\n", len(objs), added, b.CID(), b.Issuer)
				return err
			})
		},
	}
}

// bundleError says why a bundle was refused, in words: a file that is not
// a bundle at all, or which object of it failed which check.
func bundleError(op string, err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrWrongType), errors.Is(err, wire.ErrUnknownField),
		errors.Is(err, wire.ErrNotCanonical), errors.Is(err, wire.ErrUnsupportedVersion):
		return hinted{fmt.Sprintf("%s: not a kith bundle, or a damaged one (%s); nothing was imported", op, we.Err), err}
	}
	return hinted{fmt.Sprintf("%s: refused, nothing was imported: %s", op, wireMessage(we)), err}
}

// readBundle reads, decodes and verifies a bundle from a file ("-" is
// standard input) and returns its objects, each verified.
func (a *app) readBundle(name string) ([]wire.Object, *wire.Bundle, error) {
	var r io.Reader = a.env.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, wire.MaxBundleSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	now := a.env.Now()
	b, err := wire.DecodeBundle(raw)
	if err != nil {
		return nil, nil, bundleError("import "+name, err)
	}
	if err := b.Verify(now); err != nil {
		return nil, nil, bundleError("import "+name, err)
	}
	objs, err := b.OpenObjects(now)
	if err != nil {
		return nil, nil, bundleError("import "+name, err)
	}
	return objs, b, nil
}
