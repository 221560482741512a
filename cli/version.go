package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Commit is the source revision the binary was built from. go build stamps
// it from the git checkout (unless -buildvcs=false); a packager may set it
// with -ldflags "-X github.com/kith-net/kith/cli.Commit=REV".
var Commit = ""

// versionInfo is what kith version --json prints. Field names are stable.
type versionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`   // "" when unknown
	Modified bool   `json:"modified"` // built from a checkout with changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func buildInfo() versionInfo {
	v := versionInfo{Version: version, Commit: Commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	return v
}

// versionLine is kith --version: version, commit and Go version on one line.
func versionLine() string {
	v := buildInfo()
	commit := "unknown"
	if v.Commit != "" {
		commit = v.Commit[:min(12, len(v.Commit))]
		if v.Modified {
			commit += "+changes"
		}
	}
	return fmt.Sprintf("kith %s (commit %s, %s, %s)", v.Version, commit, v.Go, v.Platform)
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version kith was built with",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if a.json {
				return a.printJSON(buildInfo())
			}
			_, err := fmt.Fprintln(a.env.Stdout, versionLine())
			return err
		},
	}
}
