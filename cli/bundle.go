package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/internal/atomicfile"
	"github.com/kith-net/kith/owner"
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
attestations unless --public-only: keep the file as private as the store.
--out never replaces an existing file unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out != "" && out != "-" && !force {
				if _, err := os.Lstat(out); err == nil {
					return fmt.Errorf("export: %s exists; pass --force to replace it", out)
				}
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				res, err := svc.Export(cmd.Context(), api.ExportRequest{PublicOnly: publicOnly})
				if err != nil {
					return err
				}
				switch {
				case out == "" || out == "-":
					_, err = a.env.Stdout.Write(res.Bundle)
				case force:
					err = atomicfile.Write(out, res.Bundle, 0o600)
				default:
					if err = atomicfile.Create(out, res.Bundle, 0o600); errors.Is(err, fs.ErrExist) {
						return fmt.Errorf("export: %s exists; pass --force to replace it", out)
					}
				}
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				if a.json && out != "" && out != "-" {
					return a.printJSON(map[string]any{"file": out, "cid": res.CID, "objects": res.Objects, "skipped": res.Skipped})
				}
				fmt.Fprintf(a.env.Stderr, "exported %d objects (bundle %s)\n", res.Objects, res.CID)
				if res.Skipped > 0 {
					fmt.Fprintf(a.env.Stderr, "left out %d expired objects\n", res.Skipped)
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
			_, b, err := a.readBundle(args[0]) // checked here, to say which file is wrong
			if err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(svc api.Service) error {
				res, err := svc.Import(cmd.Context(), api.ImportRequest{Bundle: b.Raw()})
				if err != nil {
					return fmt.Errorf("import %s: %w", args[0], err)
				}
				if a.json {
					return a.printJSON(res)
				}
				_, err = fmt.Fprintf(a.env.Stdout, "imported %d objects (%d new) from bundle %s signed by %s\n", res.Objects, res.Added, res.Bundle, res.Signer)
				return err
			})
		},
	}
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
		return nil, nil, owner.BundleError("import "+name, err)
	}
	if err := b.Verify(now); err != nil {
		return nil, nil, owner.BundleError("import "+name, err)
	}
	objs, err := b.OpenObjects(now)
	if err != nil {
		return nil, nil, owner.BundleError("import "+name, err)
	}
	return objs, b, nil
}
