package vault

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// passwords returns a ReadPassword func yielding answers in order.
func passwords(answers ...string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if len(answers) == 0 {
			return nil, io.EOF
		}
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}
}

func writePassFile(t *testing.T, content string, mode fs.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSourcePassphrase(t *testing.T) {
	yes := func() bool { return true }
	no := func() bool { return false }
	tests := []struct {
		name    string
		src     func(t *testing.T) Source
		confirm bool
		want    string
		wantErr error // nil: success; errAny: any error
	}{
		{"env", func(*testing.T) Source {
			return Source{Env: "KITH_PASSPHRASE", LookupEnv: env(map[string]string{"KITH_PASSPHRASE": "from env"})}
		}, false, "from env", nil},
		{"env is not confirmed", func(*testing.T) Source {
			return Source{Env: "KITH_PASSPHRASE", LookupEnv: env(map[string]string{"KITH_PASSPHRASE": "from env"}), ReadPassword: passwords()}
		}, true, "from env", nil},
		{"env set but empty", func(*testing.T) Source {
			return Source{Env: "KITH_PASSPHRASE", LookupEnv: env(map[string]string{"KITH_PASSPHRASE": ""}), ReadPassword: passwords("x")}
		}, false, "", ErrEmptyPassphrase},
		{"env wins over file", func(t *testing.T) Source {
			return Source{Env: "P", LookupEnv: env(map[string]string{"P": "env"}), File: writePassFile(t, "file\n", 0o600)}
		}, false, "env", nil},
		{"file with trailing newline", func(t *testing.T) Source {
			return Source{Env: "P", LookupEnv: env(nil), File: writePassFile(t, "from file\n", 0o600)}
		}, false, "from file", nil},
		{"file with CRLF", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "from file\r\n", 0o600)}
		}, false, "from file", nil},
		{"file without newline", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "from file", 0o600)}
		}, false, "from file", nil},
		{"file first line only", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "line one \nline two\n", 0o400)}
		}, true, "line one ", nil},
		{"file wins over prompt", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "file\n", 0o600), ReadPassword: passwords("prompt", "prompt")}
		}, true, "file", nil},
		{"file insecure 0644", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "secret\n", 0o644), ReadPassword: passwords("x")}
		}, false, "", ErrInsecurePermissions},
		{"file insecure 0640", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "secret\n", 0o640)}
		}, false, "", ErrInsecurePermissions},
		{"file empty", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "", 0o600)}
		}, false, "", ErrEmptyPassphrase},
		{"file empty first line", func(t *testing.T) Source {
			return Source{File: writePassFile(t, "\r\nsecond\n", 0o600)}
		}, false, "", ErrEmptyPassphrase},
		{"file too long", func(t *testing.T) Source {
			return Source{File: writePassFile(t, strings.Repeat("x", maxPassphraseLen+1)+"\n", 0o600)}
		}, false, "", errAny},
		{"file longest line", func(t *testing.T) Source {
			return Source{File: writePassFile(t, strings.Repeat("x", maxPassphraseLen)+"\r\n", 0o600)}
		}, false, strings.Repeat("x", maxPassphraseLen), nil},
		{"file missing", func(t *testing.T) Source {
			return Source{File: filepath.Join(t.TempDir(), "missing"), ReadPassword: passwords("x")}
		}, false, "", fs.ErrNotExist},
		{"prompt", func(*testing.T) Source {
			return Source{IsTerminal: yes, ReadPassword: passwords("typed")}
		}, false, "typed", nil},
		{"prompt confirm match", func(*testing.T) Source {
			return Source{Env: "P", LookupEnv: env(nil), IsTerminal: yes, ReadPassword: passwords("typed", "typed")}
		}, true, "typed", nil},
		{"prompt confirm mismatch", func(*testing.T) Source {
			return Source{IsTerminal: yes, ReadPassword: passwords("typed", "typo")}
		}, true, "", ErrPassphraseMismatch},
		{"prompt empty", func(*testing.T) Source {
			return Source{IsTerminal: yes, ReadPassword: passwords("")}
		}, false, "", ErrEmptyPassphrase},
		{"prompt read error", func(*testing.T) Source {
			return Source{IsTerminal: yes, ReadPassword: passwords()}
		}, false, "", io.EOF},
		{"prompt reader", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader("typed\r\n")}
		}, false, "typed", nil},
		{"prompt reader confirm", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader("typed\ntyped")}
		}, true, "typed", nil},
		{"prompt reader confirm mismatch", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader("typed\ntypo\n")}
		}, true, "", ErrPassphraseMismatch},
		{"prompt reader confirm missing", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader("typed\n")}
		}, true, "", ErrNoPassphrase},
		{"prompt reader EOF", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader("")}
		}, false, "", ErrNoPassphrase},
		{"prompt reader empty line", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader("\n")}
		}, false, "", ErrEmptyPassphrase},
		{"prompt reader too long", func(*testing.T) Source {
			return Source{Prompt: strings.NewReader(strings.Repeat("x", maxPassphraseLen+1))}
		}, false, "", errAny},
		{"not a terminal", func(*testing.T) Source {
			return Source{Env: "KITH_PASSPHRASE", LookupEnv: env(nil), IsTerminal: no, ReadPassword: passwords("typed")}
		}, false, "", ErrNoPassphrase},
		{"none available", func(*testing.T) Source {
			return Source{Env: "KITH_PASSPHRASE", LookupEnv: env(nil)}
		}, false, "", ErrNoPassphrase},
		{"zero source", func(*testing.T) Source { return Source{} }, false, "", ErrNoPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if runtime.GOOS == "windows" && errors.Is(tt.wantErr, ErrInsecurePermissions) {
				t.Skip("Unix permissions")
			}
			got, err := tt.src(t).Passphrase(tt.confirm)
			switch {
			case tt.wantErr == nil:
				if err != nil {
					t.Fatalf("Passphrase = %v", err)
				}
				if string(got) != tt.want {
					t.Fatalf("Passphrase = %q, want %q", got, tt.want)
				}
			case tt.wantErr == errAny:
				if err == nil {
					t.Fatalf("Passphrase = %q, want an error", got)
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Passphrase = %q, %v; want %v", got, err, tt.wantErr)
				}
			}
			if err != nil {
				if got != nil {
					t.Errorf("passphrase %q returned with error", got)
				}
				if !strings.HasPrefix(err.Error(), "vault: ") {
					t.Errorf("error %q does not start with \"vault: \"", err)
				}
			}
		})
	}
}

var errAny = errors.New("any error")

func TestSourcePromptOutput(t *testing.T) {
	var out bytes.Buffer
	s := Source{PromptOut: &out, IsTerminal: func() bool { return true }, ReadPassword: passwords("a", "a")}
	if _, err := s.Passphrase(true); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "Passphrase: \nRepeat passphrase: \n"; got != want {
		t.Errorf("prompt output %q, want %q", got, want)
	}
}

func TestSourcePromptReaderDoesNotOverread(t *testing.T) {
	r := strings.NewReader("first\nrest of input")
	if _, err := (Source{Prompt: r}).Passphrase(false); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "rest of input" {
		t.Errorf("remaining input %q", rest)
	}
}

func TestSourceDefaultLookupEnv(t *testing.T) {
	t.Setenv("KITH_VAULT_TEST_PASSPHRASE", "real env")
	got, err := Source{Env: "KITH_VAULT_TEST_PASSPHRASE"}.Passphrase(false)
	if err != nil || string(got) != "real env" {
		t.Fatalf("Passphrase = %q, %v", got, err)
	}
}

// TestSourceWithVault uses a Source-provided passphrase end to end.
func TestSourceWithVault(t *testing.T) {
	t.Parallel()
	file := writePassFile(t, "hunter2\n", 0o600)
	pass, err := Source{File: file}.Passphrase(true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vault")
	s := testSecrets(t)
	mustCreate(t, path, pass, s, tiny)
	if got := mustOpen(t, path, []byte("hunter2")); !equalSecrets(got, s) {
		t.Fatal("round trip failed")
	}
}

// TestPromptPassword: PromptPassword shows each label itself (the caller
// turns echo off first) and takes the place of PromptOut and ReadPassword.
func TestPromptPassword(t *testing.T) {
	var labels []string
	answers := []string{"typed", "typed"}
	s := Source{IsTerminal: func() bool { return true }, ReadPassword: passwords("not used"),
		PromptPassword: func(label string) ([]byte, error) {
			labels = append(labels, label)
			a := answers[0]
			answers = answers[1:]
			return []byte(a), nil
		}}
	p, err := s.Passphrase(true)
	if err != nil || string(p) != "typed" {
		t.Fatalf("Passphrase = %q, %v", p, err)
	}
	if len(labels) != 2 || labels[0] != "Passphrase: " || labels[1] != "Repeat passphrase: " {
		t.Fatalf("labels %q", labels)
	}
}
