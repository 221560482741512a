package api

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTokenFormat(tok); err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Fatalf("second load: %q, %v; want the same token", again, err)
	}
	read, err := LoadToken(dir)
	if err != nil || read != tok {
		t.Fatalf("LoadToken: %q, %v", read, err)
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %d entries, want only %s", len(ents), TokenFile)
	}
	other, err := LoadOrCreateToken(t.TempDir())
	if err != nil || other == tok {
		t.Fatalf("tokens of two homes: %q %q %v", tok, other, err)
	}
}

func TestTokenFileRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602, 0o666} {
		dir := t.TempDir()
		if _, err := LoadOrCreateToken(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, TokenFile), mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateToken(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %v: LoadOrCreateToken: %v", mode, err)
		}
		if _, err := LoadToken(dir); err == nil {
			t.Errorf("mode %v: LoadToken succeeded", mode)
		}
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"short": "abcd\n", "not hex": strings.Repeat("z", 64), "empty": ""} {
		if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateToken(dir); err == nil {
			t.Errorf("%s token accepted", name)
		}
	}
	// A symlink is not followed.
	dir = t.TempDir()
	target := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(target, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, TokenFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadToken(dir); err == nil {
		t.Error("token symlink followed")
	}
	if _, err := LoadToken(t.TempDir()); !errors.Is(err, ErrNoToken) {
		t.Errorf("no file: %v, want ErrNoToken", err)
	}
}

func TestTokenDigest(t *testing.T) {
	d := digestToken(testToken)
	if !d.matches(testToken) {
		t.Error("own token refused")
	}
	for _, bad := range []string{"", testToken[:63], testToken + "0", strings.ToUpper(testToken)} {
		if d.matches(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := NewServer(newFake(), ServerOptions{Token: "short"}); err == nil {
		t.Error("NewServer accepted a short token")
	}
	if _, err := NewServer(nil, ServerOptions{Token: testToken}); err == nil {
		t.Error("NewServer accepted a nil service")
	}
}
