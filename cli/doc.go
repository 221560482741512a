// Package cli implements the kith command: its subcommands, flags, output
// and exit codes. cmd/kith is a thin main around Main, so every command can
// be run and tested in-process without building a binary.
//
// A Program is kith's commands and, through its Extend, another package's:
// cmd/kith-lab adds the research lab's (package cli/lab) over the same
// plumbing (App: the environment, the global flags, the printing; Usage
// errors). Nothing here imports the lab, so the node's binary links none
// of it.
//
// Names that scripts rely on are stable: the flags --home, --json,
// --passphrase-file; the environment variables KITH_HOME and
// KITH_PASSPHRASE; the JSON field names of every --json output, each
// described by a JSON Schema in cli/schema (kith schema prints them).
//
// Exit codes: 0 success, 1 failure (the error is one line on standard
// error, and nothing was written), 2 bad usage (usageError: an unknown
// command or flag, a wrong argument count, an invalid value; cobra's
// errors are typed where they arise, never recognised by their text), 128
// plus the signal's number after SIGINT or SIGTERM (130, 143). The first
// signal cancels Main's context (SignalContext); a second one ends the
// process.
//
// While a daemon (kith run) serves a home, every command goes through its
// local API (package api) instead of opening the store; without one, a
// command runs the owner service (package owner) on the store itself. This
// package keeps the flags and the printing, and the two owner.Network
// adapters: over a running node.Node (the daemon) and over the store alone.
//
// Main is safe to call concurrently with distinct Env values; commands that
// open the store hold its directory lock for their duration.
package cli
