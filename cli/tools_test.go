package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionCompletionMan: --version names the version and the Go
// version; completion scripts for bash, zsh and fish; a man page per
// command, generated from the commands.
func TestVersionCompletionMan(t *testing.T) {
	n := newNode(t, "alice")
	if out := n.ok("--version"); !strings.HasPrefix(out, "kith ") || !strings.Contains(out, runtime.Version()) || !strings.Contains(out, "commit ") {
		t.Fatalf("--version: %q", out)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(n.ok("version", "--json")), &v); err != nil || v["go"] != runtime.Version() || v["version"] == "" {
		t.Fatalf("version --json: %v %v", v, err)
	}
	for shell, want := range map[string]string{"bash": "bash completion", "zsh": "#compdef kith", "fish": "fish completion"} {
		if out := n.ok("completion", shell); !strings.Contains(out, want) || !strings.Contains(out, "kith") {
			t.Errorf("completion %s: %.80q", shell, out)
		}
	}
	n.failWith(2, `unknown command "tcsh"`, "completion", "tcsh")
	dir := filepath.Join(t.TempDir(), "man1")
	n.ok("man", "--dir", dir)
	for _, page := range []string{"kith.1", "kith-vouch.1", "kith-run.1", "kith-consent-approve.1", "kith-key-backup.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		if !strings.Contains(string(b), ".TH \"KITH\"") || !strings.Contains(string(b), ".SH NAME") {
			t.Errorf("%s is not a man page: %.200s", page, b)
		}
	}
}
