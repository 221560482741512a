//go:build !linux && !darwin

package cli

import (
	"context"
	"io"

	"golang.org/x/term"
)

// readPassword reads a passphrase without echo. On this system the read
// cannot be interrupted: ctx's end returns at once, and the read goes on
// until the process exits, which it does right after.
func readPassword(ctx context.Context, fd int, prompt string, out io.Writer) ([]byte, error) {
	io.WriteString(out, prompt)     //nolint:errcheck // a prompt
	defer io.WriteString(out, "\n") //nolint:errcheck // the newline typed is not echoed
	type result struct {
		b   []byte
		err error
	}
	c := make(chan result, 1)
	go func() { b, err := term.ReadPassword(fd); c <- result{b, err} }() // see above
	select {
	case r := <-c:
		return r.b, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
