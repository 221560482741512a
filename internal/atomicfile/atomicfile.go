// Package atomicfile writes small files so that a crash leaves either the
// old content or the new, never a mix: the data goes to a synced temporary
// file in the same directory, which then takes the file's name, and the
// directory is synced. The node's peer book and consent decisions, the
// API's token and discovery files and the CLI's outputs all use it.
//
// Errors are *fs.PathError values naming the file asked for (never the
// temporary one), so they read well as they are.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data, with permissions perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, os.Rename)
}

// Create writes data to path with permissions perm only if path does not
// exist yet (the error then wraps fs.ErrExist).
func Create(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, os.Link)
}

func write(path string, data []byte, perm os.FileMode, place func(oldpath, newpath string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pathError(path, fmt.Errorf("no directory %s: %w", dir, fs.ErrNotExist))
		}
		return pathError(path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil { // whatever the umask
		f.Close()
		return pathError(path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return pathError(path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return pathError(path, err)
	}
	if err := f.Close(); err != nil {
		return pathError(path, err)
	}
	if err := place(f.Name(), path); err != nil {
		return pathError(path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return pathError(path, err)
	}
	defer d.Close()
	_ = d.Sync() // not supported on every file system; the data itself is synced
	return nil
}

// pathError reports err as an error writing path, dropping the name of the
// temporary file an inner *fs.PathError or *os.LinkError carries.
func pathError(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &le):
		err = le.Err
	case errors.As(err, &pe) && pe.Path != path:
		err = pe.Err
	}
	return &fs.PathError{Op: "write", Path: path, Err: err}
}
