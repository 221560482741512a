// Package scenarios is the library of scenarios shipped with kith's
// simulator: the *.toml files of this directory, embedded in the binary.
// Each is a scenario file (package scenario documents the format) that
// states its goals ([[goal]]: the reliability plan's and issue 23's), so
// that kith sim run says which it meets and which it misses. Names lists
// them and Open finds one by name or reads a file. Everything here is
// read-only and safe for concurrent use.
package scenarios
