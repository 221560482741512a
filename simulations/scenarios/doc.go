// Package scenarios is the library of scenarios shipped with kith's
// simulator: the *.toml files of this directory, embedded in the binary.
// Each is a scenario file (package scenario documents the format); Names
// lists them and Open finds one by name or reads a file. Everything here is
// read-only and safe for concurrent use.
package scenarios
