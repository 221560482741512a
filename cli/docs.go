package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manCommand writes man pages generated from the commands themselves, so
// they never drift from --help.
func (a *app) manCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "man",
		Short: "Write a man page for every command (kith.1, kith-vouch.1, ...) to a directory",
		Long: `Write a man page for every command, generated from the same text as --help,
to --dir. To install them for yourself:

  kith man --dir ~/.local/share/man/man1 && man kith`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // the pages are the same for the same version
			header := &doc.GenManHeader{Title: "KITH", Section: "1", Source: "kith " + version, Manual: "kith manual"}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			if a.json {
				return a.printJSON(map[string]string{"dir": dir})
			}
			_, err := fmt.Fprintf(a.env.Stdout, "man pages written to %s\n", dir)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "man", "directory to write the pages to")
	return cmd
}
