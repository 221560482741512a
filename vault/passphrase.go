package vault

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNoPassphrase means no passphrase source is available: the environment
// variable is unset, no passphrase file is configured and prompting is not
// possible.
var ErrNoPassphrase = errors.New("vault: no passphrase available")

// ErrPassphraseMismatch means the two passphrases entered at a confirming
// prompt differ.
var ErrPassphraseMismatch = errors.New("vault: passphrases do not match")

// maxPassphraseLen caps the length of a passphrase read from a file or prompt.
const maxPassphraseLen = 4096

// Source says where a passphrase comes from, in order: the environment
// variable (name given, e.g. KITH_PASSPHRASE), a file (first line, trailing
// \r\n trimmed), an interactive terminal prompt.
//
// The environment variable is used if it is set; otherwise the file, if one is
// configured; otherwise the prompt, if prompting is possible. A source that is
// used but fails (for example an unreadable file) yields its error; later
// sources are not tried. All fields are optional; a zero Source has no source and yields
// [ErrNoPassphrase]. Source keeps no global state, so tests can inject every
// dependency.
type Source struct {
	// Env names the environment variable holding the passphrase (e.g.
	// "KITH_PASSPHRASE"). Empty disables the environment source. If the
	// variable is set but empty, Passphrase fails with ErrEmptyPassphrase.
	Env string
	// LookupEnv looks up environment variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)

	// File names a file whose first line is the passphrase. Empty disables the
	// file source. The file must exist, and must not be accessible by group or
	// others (ErrInsecurePermissions; not checked on Windows).
	File string

	// Prompt supplies the passphrase line by line (trailing \r\n trimmed) when
	// ReadPassword is nil; it is read byte by byte so nothing after the line is
	// consumed. It does not suppress echo and is meant for tests and piped
	// input.
	Prompt io.Reader
	// PromptOut receives the prompt text ("Passphrase: "); nil discards it.
	// Use standard error in a CLI.
	PromptOut io.Writer
	// IsTerminal reports whether interactive prompting is possible (in a CLI:
	// term.IsTerminal on standard input's file descriptor). Nil means prompting
	// is possible whenever ReadPassword or Prompt is set.
	IsTerminal func() bool
	// ReadPassword reads one passphrase without echo (in a CLI:
	// term.ReadPassword on standard input's file descriptor). It takes
	// precedence over Prompt.
	ReadPassword func() ([]byte, error)
	// PromptPassword, when set, takes the place of PromptOut and
	// ReadPassword: it shows label and reads one passphrase without echo.
	// It should turn echo off before it shows the label, so that nothing
	// typed as soon as the label appears is echoed.
	PromptPassword func(label string) ([]byte, error)
}

// Passphrase returns the passphrase from the first available source: the
// environment variable, then the file, then an interactive prompt. With
// confirm set (for creating a vault), the prompt asks twice and fails with
// [ErrPassphraseMismatch] if the answers differ; confirm does not affect the
// environment and file sources. It fails with [ErrNoPassphrase] when no source
// is available (non-interactive, no environment variable, no file) and with
// [ErrEmptyPassphrase] when the source yields an empty passphrase. The caller
// owns the returned slice and should zero it after use.
func (s Source) Passphrase(confirm bool) ([]byte, error) {
	if s.Env != "" {
		lookup := s.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		if v, ok := lookup(s.Env); ok {
			if v == "" {
				return nil, fmt.Errorf("%w: $%s is set but empty", ErrEmptyPassphrase, s.Env)
			}
			return []byte(v), nil
		}
	}
	if s.File != "" {
		return readPassphraseFile(s.File)
	}
	if !s.canPrompt() {
		if s.Env != "" {
			return nil, fmt.Errorf("%w: set $%s, configure a passphrase file, or run interactively", ErrNoPassphrase, s.Env)
		}
		return nil, fmt.Errorf("%w: configure a passphrase file or run interactively", ErrNoPassphrase)
	}
	p, err := s.prompt("Passphrase: ")
	if err != nil {
		return nil, err
	}
	if !confirm {
		return p, nil
	}
	again, err := s.prompt("Repeat passphrase: ")
	if err != nil {
		clear(p)
		return nil, err
	}
	defer clear(again)
	if subtle.ConstantTimeCompare(p, again) != 1 {
		clear(p)
		return nil, ErrPassphraseMismatch
	}
	return p, nil
}

func (s Source) canPrompt() bool {
	if s.ReadPassword == nil && s.Prompt == nil && s.PromptPassword == nil {
		return false
	}
	return s.IsTerminal == nil || s.IsTerminal()
}

// prompt writes label to PromptOut and reads one passphrase.
func (s Source) prompt(label string) ([]byte, error) {
	if s.PromptPassword != nil {
		p, err := s.PromptPassword(label)
		if err != nil {
			clear(p)
			return nil, fmt.Errorf("vault: read passphrase: %w", err)
		}
		if len(p) > maxPassphraseLen {
			clear(p)
			return nil, fmt.Errorf("vault: passphrase longer than %d bytes", maxPassphraseLen)
		}
		if len(p) == 0 {
			return nil, ErrEmptyPassphrase
		}
		return p, nil
	}
	out := s.PromptOut
	if out == nil {
		out = io.Discard
	}
	if _, err := io.WriteString(out, label); err != nil {
		return nil, fmt.Errorf("vault: write prompt: %w", err)
	}
	var (
		p   []byte
		err error
	)
	if s.ReadPassword != nil {
		p, err = s.ReadPassword()
		// ReadPassword does not echo the newline typed by the user.
		_, _ = io.WriteString(out, "\n")
		if err != nil {
			clear(p)
			return nil, fmt.Errorf("vault: read passphrase: %w", err)
		}
		if len(p) > maxPassphraseLen {
			clear(p)
			return nil, fmt.Errorf("vault: passphrase longer than %d bytes", maxPassphraseLen)
		}
	} else if p, err = readLine(s.Prompt); err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, ErrEmptyPassphrase
	}
	return p, nil
}

// readLine reads one line from r a byte at a time, so that nothing beyond the
// line is consumed, and returns it without the trailing \r\n. EOF before any
// byte yields ErrNoPassphrase; EOF after some bytes ends the line.
func readLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 64)
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return trimCR(buf), nil
			}
			if len(buf) == maxPassphraseLen {
				clear(buf)
				return nil, fmt.Errorf("vault: passphrase longer than %d bytes", maxPassphraseLen)
			}
			buf = appendSecret(buf, b[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) == 0 {
				return nil, fmt.Errorf("%w: end of input at prompt", ErrNoPassphrase)
			}
			return trimCR(buf), nil
		}
		if err != nil {
			clear(buf)
			return nil, fmt.Errorf("vault: read passphrase: %w", err)
		}
	}
}

// appendSecret appends c to buf, zeroing the old backing array if it has to
// grow.
func appendSecret(buf []byte, c byte) []byte {
	if len(buf) < cap(buf) {
		return append(buf, c)
	}
	grown := make([]byte, len(buf), 2*cap(buf)+1)
	copy(grown, buf)
	clear(buf)
	return append(grown, c)
}

func trimCR(b []byte) []byte {
	return bytes.TrimSuffix(b, []byte("\r"))
}

// readPassphraseFile returns the first line of the file at path, without the
// trailing \r\n.
func readPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("vault: passphrase file %s: %w", path, pe.Err)
		}
		return nil, fmt.Errorf("vault: passphrase file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: passphrase file: %w", err)
	}
	// Named pipes are allowed for process substitution, e.g. <(pass show kith).
	if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("vault: passphrase file %q is not a regular file", path)
	}
	if err := checkPerms(path, fi); err != nil {
		return nil, err
	}
	// Read at most one byte more than the longest line we accept, plus "\r\n".
	buf := make([]byte, maxPassphraseLen+2)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		clear(buf)
		return nil, fmt.Errorf("vault: read passphrase file: %w", err)
	}
	data := buf[:n]
	defer clear(buf)
	line, _, found := bytes.Cut(data, []byte("\n"))
	if !found && n == len(buf) {
		return nil, fmt.Errorf("vault: passphrase file %q: first line longer than %d bytes", path, maxPassphraseLen)
	}
	line = trimCR(line)
	if len(line) > maxPassphraseLen {
		return nil, fmt.Errorf("vault: passphrase file %q: first line longer than %d bytes", path, maxPassphraseLen)
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("%w: passphrase file %q has an empty first line", ErrEmptyPassphrase, path)
	}
	return bytes.Clone(line), nil
}
