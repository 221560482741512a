//go:build unix

package main

import "syscall"

// Everything kith writes (the store badger grows, the vault, the peer
// book, the API token) is for its owner alone, whatever the umask it was
// started with (issue 24: store files were 0644).
func init() { syscall.Umask(0o077) }
