package vault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// checkPerms reports an error wrapping ErrInsecurePermissions if fi grants any
// permission to group or others. It does nothing on Windows.
func checkPerms(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o, so others may read it; it must be accessible to its owner only (chmod 600 %s)",
			ErrInsecurePermissions, path, perm, path)
	}
	return nil
}

// readVaultFile reads a vault file, refusing non-regular files, files with
// insecure permissions and files larger than maxFileSize.
func readVaultFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, fmt.Errorf("vault: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("vault: %q is not a regular file", path)
	}
	if err := checkPerms(path, fi); err != nil {
		return nil, err
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%w: %q is larger than %d bytes", ErrCorrupt, path, maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("vault: read %q: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: %q is larger than %d bytes", ErrCorrupt, path, maxFileSize)
	}
	return data, nil
}

// writeFile atomically writes data to path with mode 0600 via a synced
// temporary file in the same directory, then syncs the directory. If replace
// is false, an existing file at path is never replaced and ErrExists is
// returned instead. A missing parent directory is created with mode 0700.
func writeFile(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("vault: create directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("vault: create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if tmp != "" {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("vault: chmod temporary file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("vault: write temporary file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("vault: sync temporary file: %w", err)
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return fmt.Errorf("vault: close temporary file: %w", cerr)
	}
	if replace {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("vault: replace %q: %w", path, err)
		}
		tmp = ""
	} else if err := installNew(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// installNew moves the complete file tmp to path without ever replacing an
// existing file: it hard-links tmp to path (which fails if path exists) and
// leaves removal of tmp to the caller. On file systems without hard links it
// falls back to checking that path is absent and renaming, which is racy
// against concurrent creators of the same path.
func installNew(tmp, path string) error {
	lerr := os.Link(tmp, path)
	if lerr == nil {
		return nil
	}
	if errors.Is(lerr, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vault: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("vault: install %q (after link failed: %w): %w", path, lerr, err)
	}
	return nil
}

// syncDir fsyncs a directory so that a rename or link in it is durable. It
// does nothing on Windows, where directories cannot be synced.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("vault: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("vault: sync directory: %w", err)
	}
	return nil
}
