package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAndCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Write(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("content %q, want two", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	if err := Create(p, []byte("three"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file: %v, want ErrExist", err)
	}
	q := filepath.Join(dir, "g")
	if err := Create(q, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(q); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Fatalf("%d entries left in the directory, want 2 (no temporary files)", len(es))
	}
}

// TestErrorsNameTheFile: an error names the file asked for, never the
// temporary one, and still matches the errno.
func TestErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "x.kith")
	err := Write(missing, []byte("x"), 0o600)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Write into a missing directory: %v, want a PathError for %s matching ErrNotExist", err, missing)
	}
	if strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("error names the temporary file: %v", err)
	}
	p := filepath.Join(dir, "f")
	if err := Write(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err = Create(p, []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrExist) || strings.Contains(err.Error(), ".tmp") || !strings.Contains(err.Error(), p) {
		t.Fatalf("Create over an existing file: %v", err)
	}
}
