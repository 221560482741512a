package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kith-net/kith/api"
)

func (a *app) uiCommand() *cobra.Command {
	var pair, open bool
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open the web page of the running daemon (a one-time login link), or pair the browser extension",
		Long: `Print a one-time login link to the daemon's web page, on its local API
address: ask about someone, your statements, the consent inbox, the network,
the Fediverse link and import, the model. The link works once, within five
minutes, and only in a browser on this computer; run kith ui again for a new
one. With --open, also open it in the default browser.

With --pair, print a one-time pairing code for the kith browser extension
instead: paste it in the extension's options page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDaemon(cmd.Context(), func(svc api.Service) error {
				c, ok := svc.(*api.Client)
				if !ok {
					return errors.New("ui: the daemon's API client is needed")
				}
				if pair {
					res, err := c.UIPair(cmd.Context())
					if err != nil {
						return err
					}
					if a.json {
						return a.printJSON(res)
					}
					_, err = fmt.Fprintf(a.env.Stdout, "pairing code (once, until %s): %s\n", res.Expires.Local().Format("15:04:05"), res.Code)
					return err
				}
				res, err := c.UILogin(cmd.Context())
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(res)
				}
				fmt.Fprintf(a.env.Stdout, "%s\n", res.URL)
				if open {
					if err := openBrowser(cmd.Context(), res.URL); err != nil {
						fmt.Fprintf(a.env.Stderr, "kith: could not open a browser (%v); open the link above yourself\n", err)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&pair, "pair", false, "print a pairing code for the browser extension instead")
	cmd.Flags().BoolVar(&open, "open", false, "also open the link in the default browser")
	return cmd
}

// openBrowser hands url to the desktop's opener and waits for it (it
// returns at once, leaving the browser running).
func openBrowser(ctx context.Context, url string) error {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return errors.New("not supported on windows")
	}
	return exec.CommandContext(ctx, name, url).Run()
}
