// Package perf holds kith's performance cases: the operations whose speed
// the project tracks (sign, verify, encode, decode, CID, ingest), written once
// and run both by `go test -bench` and by `kith-lab bench`, which prints them as
// a table beside the raw Ed25519 verification rate measured in the same run.
//
// A Case's Run function is an ordinary benchmark body; Measure runs cases
// with testing.Benchmark. Nothing here runs at import time.
package perf
