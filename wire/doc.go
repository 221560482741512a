// Package wire defines kith's signed, content-addressed objects and their
// canonical encoding, version 1.
//
// Every object (Attestation, Retraction, Consent, ConsentWithdrawal,
// IdentityLink, Bundle) is a DAG-CBOR map with short text keys, encoded
// deterministically (RFC 8949 core deterministic encoding, which for kith's
// keys coincides with DAG-CBOR's length-first key order). An object is signed
// with Ed25519 over a domain-separated signing input:
//
//	"kith/1/" || type || 0x00 || canonical encoding of the object without "sig"
//
// and its identifier is a CIDv1 (codec dag-cbor, multihash sha2-256) of the
// complete signed encoding. The normative description, with test vectors, is
// spec/wire-v1.md.
//
// Decoding is strict: inputs over the size caps, indefinite lengths, unknown
// or duplicate keys, tags other than the CID link tag 42, and any encoding that
// does not re-encode to the identical bytes are rejected. Every rejection is an
// *Error whose Unwrap gives one of the sentinel errors (ErrTooLarge,
// ErrMalformed, ErrNotCanonical, ...), so callers branch with errors.Is.
//
// Signatures are checked under the ZIP-215 rules (cofactored verification, as
// used by batch verification), both one at a time and in batches, so that the
// two paths never disagree.
//
// Values returned by Decode and by the Sign methods are immutable: their
// encoding and CID are computed once and cached. Mutating an exported field
// after signing makes the object inconsistent; build a new one instead. All
// package-level functions are safe for concurrent use.
//
// This package must not import networking code (libp2p); the node package
// converts between these types and the network.
package wire
