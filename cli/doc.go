// Package cli implements the kith command: its subcommands, flags, output
// and exit codes. cmd/kith is a thin main around Main, so every command can
// be run and tested in-process without building a binary.
//
// Names that scripts rely on are stable: the flags --home, --json,
// --passphrase-file; the environment variables KITH_HOME and
// KITH_PASSPHRASE; the JSON field names of `kith id --json` and
// `kith list --json`.
//
// Exit codes: 0 success, 1 failure (the error is one line on standard
// error, and nothing was written), 2 bad usage.
//
// Main is safe to call concurrently with distinct Env values; commands that
// open the store hold its directory lock for their duration.
package cli
