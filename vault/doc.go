// Package vault stores a kith node's long-term secrets (the Ed25519 identity
// seed, the data key of the encrypted store, and named extra secrets) at rest,
// encrypted under a passphrase.
//
// # Cryptography
//
// The passphrase is stretched with Argon2id (RFC 9106) using a random 16-byte
// salt and the cost parameters recorded in the file header. Two independent
// 32-byte values are derived from the Argon2id output with HKDF-SHA256: the
// XChaCha20-Poly1305 key that encrypts the secrets, and a passphrase check value
// stored in the header. The entire header (magic, version, KDF parameters,
// salt, nonce and check value) is the AEAD additional data, so any change to it
// makes decryption fail. The normative file format is specified in
// spec/vault-v2.md (version 1: spec/vault-v1.md).
//
// # Errors
//
// Callers branch on the sentinel errors with [errors.Is]:
//
//   - [ErrNotFound]: no vault file at the path.
//   - [ErrExists]: [Create] was asked to overwrite an existing file.
//   - [ErrEmptyPassphrase]: the passphrase is empty.
//   - [ErrWrongPassphrase]: the passphrase check value does not match. No key
//     material derived from a wrong passphrase is ever used to decrypt.
//   - [ErrCorrupt]: the file is not a vault, is truncated or oversized, has
//     absurd KDF parameters, or fails authentication although the passphrase
//     check matched (tampering or media corruption).
//   - [ErrUnsupportedVersion]: the file is a vault of a format version this
//     package does not implement.
//   - [ErrInsecurePermissions]: the vault file or passphrase file is
//     accessible to group or others.
//   - [ErrInvalidParams]: [Params] are zero or absurd (also wrapped together
//     with ErrCorrupt when they come from a file).
//   - [ErrNoPassphrase], [ErrPassphraseMismatch]: from [Source.Passphrase].
//
// A vault file written by this package (format version 2) carries a
// SHA-256 digest of its header, checked before the KDF runs, so a damaged
// file is reported as ErrCorrupt whatever the passphrase, and
// ErrWrongPassphrase means the file is intact and the passphrase is not its
// own. Version 1 files (no digest) are still read; there a damaged check
// value is told apart too, but a damaged salt or KDF parameter reads as a
// wrong passphrase. [Update] and [ChangePassphrase] rewrite a version 1 file
// as version 2.
//
// # Contracts
//
//   - Files: vault files are created with mode 0600. [Open] refuses (with
//     ErrInsecurePermissions) a vault file that has any group or other
//     permission bit set, like ssh does for private keys. The parent directory
//     is not checked. Permission checks are skipped on Windows, where Unix mode
//     bits are not meaningful.
//   - Directories: [Create] creates a missing parent directory (and any missing
//     ancestors) with mode 0700. Existing directories are left unchanged.
//   - Atomicity: every write goes to a temporary file with mode 0600 in the
//     same directory, which is fsynced and then moved into place; the directory
//     is fsynced afterwards. Readers therefore observe either the old or the new
//     file, never a partial one. [Create] installs the file with a hard link so
//     that an existing file is never replaced; on file systems without hard
//     links it falls back to a check followed by a rename. [Update] and
//     [ChangePassphrase] replace the path itself: if it is a symbolic link, the
//     link is replaced by a regular file.
//   - Concurrency: all functions are safe for concurrent use on distinct
//     paths. Concurrent writers to the same path never produce a torn file,
//     but the last rename wins; callers that need read-modify-write
//     consistency across processes must serialize (for example with a lock
//     file).
//   - Limits: vault files larger than 1 MiB are refused. KDF parameters read
//     from a file are validated with [Params.Validate] before Argon2id runs, so
//     a crafted file cannot make Open allocate more than 4 GiB or run an
//     unbounded number of passes.
//   - Memory hygiene: derived keys, the passphrase check value and plaintext
//     buffers are zeroed after use where Go makes that practical; copies made
//     by the runtime, by the AEAD implementation or by callers are out of reach.
//     Callers should call [Secrets.Wipe] when they are done with secrets.
//
// Passphrases are used as raw bytes, without Unicode normalization. See
// [Source] for obtaining one from the environment, a file or a terminal.
package vault
