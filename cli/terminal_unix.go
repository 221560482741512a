//go:build linux || darwin

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readPassword turns the terminal fd's echo off, writes prompt to out, and
// reads one line, as golang.org/x/term's ReadPassword does, but returns as
// soon as ctx ends (Ctrl-C, SIGTERM), restoring the terminal's settings on
// every path. It waits in poll(2) on the terminal and on a pipe that ctx's
// end writes to, so nothing is left blocked in a read.
func readPassword(ctx context.Context, fd int, prompt string, out io.Writer) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, ioctlReadTermios)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	noEcho.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlWriteTermios, &noEcho); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	defer unix.IoctlSetTermios(fd, ioctlWriteTermios, old) //nolint:errcheck // best effort on the way out
	if _, err := io.WriteString(out, prompt); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	defer io.WriteString(out, "\n") //nolint:errcheck // the newline the user typed is not echoed

	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	defer w.Close()
	stop := context.AfterFunc(ctx, func() { w.Write([]byte{0}) }) //nolint:errcheck // a wake-up only
	defer stop()

	line := make([]byte, 0, maxPassphrase) // never grows: no copy of the secret is left behind
	buf := make([]byte, 256)
	defer clear(buf)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(r.Fd()), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			clear(line)
			return nil, fmt.Errorf("terminal: %w", err)
		}
		if fds[1].Revents != 0 {
			clear(line)
			return nil, context.Cause(ctx)
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			clear(line)
			return nil, fmt.Errorf("terminal: %w", err)
		}
		if n == 0 { // end of input
			return line, nil
		}
		for _, c := range buf[:n] {
			switch c {
			case '\n':
				return line, nil
			case '\r':
			case '\b', 0x7f: // the line discipline handles erasing; raw bytes may still come
				if len(line) > 0 {
					line = line[:len(line)-1]
				}
			default:
				if len(line) == cap(line) {
					clear(line)
					return nil, fmt.Errorf("terminal: passphrase longer than %d bytes", maxPassphrase)
				}
				line = append(line, c)
			}
		}
	}
}

// maxPassphrase is the longest passphrase the prompt takes, as the vault
// package's.
const maxPassphrase = 4096
