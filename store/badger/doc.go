// Package badger is kith's on-disk [store.Store], built on BadgerDB v4 and
// encrypted at rest.
//
// It keeps every contract of package store; in particular all methods are
// safe for concurrent use, and a Put that returns nil is durable.
//
// # Durability
//
// The database runs with SyncWrites: Put returns only after badger's
// write-ahead log is fsynced (msync(MS_SYNC) of the memtable WAL), so an
// acknowledged object survives kill -9 and power loss. Every object is at
// most [wire.MaxObjectSize] bytes, far below the value threshold, so values
// are stored inline in the LSM tree and its WAL; the value log stays empty
// and needs no garbage collection. (This matters: badger v4 reports a failed
// fsync of the memtable WAL to the committing transaction, but only logs a
// failed fsync of the value log.) One gap remains in badger: when the
// memtable fills up it creates a new WAL file without fsyncing the
// directory. On ext4 (and other journaling file systems that commit the
// creation with the file's first fsync) that is harmless; elsewhere a power
// cut right after such a rotation could lose the new file. The crash tests
// kill the process, which cannot show this; power-loss safety rests on the
// fsync calls described here.
//
// Each object is written in the same badger transaction as all of its index
// entries, so a crash never leaves an object without its indexes or an index
// entry without its object. A Put is one transaction when it fits in one
// (about 1 MiB of objects and index entries, over a thousand typical
// attestations); a larger Put is split into several transactions at object
// boundaries, each atomic and durable, committed in order. If one fails, Put
// returns the number of new objects in the transactions that committed.
//
// After a commit fails for any reason other than a transaction conflict
// (which is retried), the outcome of that commit is unknown: the objects may
// be visible but not durable. The store then refuses every later Put with
// an error wrapping the first failure (see "Write failures"); reads keep
// working. Close and reopen the store to recover: replay then shows exactly
// what reached the disk.
//
// # Write failures
//
// A store whose writes fail keeps failing fast instead of hanging: Err
// reports the failure (an error wrapping [store.ErrUnwritable]), Put
// refuses every write with it, the first failure is logged once, and reads
// keep working. Three causes are recognised. A commit that fails, or a
// memtable flush badger logs as failed (it retries those every second
// without end): both stay until the store is reopened. The store's
// directory gone or replaced (badger would go on writing its WAL into files
// deleted with it, so writes would seem to work until the next flush):
// checked at every Put. And less free space on the file system than
// [Options.MinFree] (64 MiB by default): badger writes its WAL through a
// memory mapping, where running out of space is a SIGBUS that kills the
// process, so the store stops accepting writes while it still has room to
// finish its memtable and flush it, and accepts them again once there is
// room. Something else filling the disk past the reserve can still crash
// the process that way. A commit waits for badger (it cannot be
// interrupted) until it is done or writes are known to fail. Close waits at
// most 5 s once writes fail, then returns the failure, leaving badger's
// goroutines behind; the process is expected to exit.
//
// # Opening
//
// Before badger sees the directory, Open refuses the damage badger does not
// survive, with an error wrapping [store.ErrCorrupt] that names the file and
// says how to recover (restore from a backup, or move the store aside and
// import an export): a MANIFEST missing beside tables (badger deletes every
// table its MANIFEST does not list, emptying the store silently), a missing
// KEYREGISTRY (an encrypted store's data keys: badger panics reading the
// tables), and a table whose footer or index checksum is wrong (a truncated
// table: badger panics in a goroutine of its own). It removes memtable
// files a crash left empty (badger would fail its next open once), and sets
// the directory's mode to 0700 and its files' to 0600. A store has a random
// 16-byte ID (meta/id, [Store.ID]); opened with [Options.ID], a missing,
// empty or foreign store (another ID, or another encryption key) is refused
// with [store.ErrWrongStore] and never created. Another process holding the
// store is waited for up to [Options.LockWait], then named (its PID and
// command line, from badger's LOCK file) in an error wrapping
// [store.ErrInUse].
//
// On recovery badger replays its WAL and truncates it at the first entry
// that fails its checksum, and discards a transaction whose commit marker is
// missing. Badger v4 has no "Truncate" option (v2 had one); only a
// read-only open refuses a WAL that needs truncation (badger's
// ErrTruncateNeeded).
//
// # Integrity
//
// Every read of a stored object recomputes the CID of its bytes and compares
// it with the key it was read under; on a mismatch, or if the bytes do not
// decode, the read fails with an error wrapping [store.ErrCorrupt] and the
// object is never returned. Signatures are not re-checked: matching the CID
// proves the bytes are the ones that were verified before Put.
//
// # Encryption
//
// [Options.EncryptionKey] (32 bytes, AES-256) turns on badger's encryption
// at rest: SSTables, WAL and value log are encrypted with data keys that are
// themselves encrypted with this key and rotated every 10 days. A nil key
// means no encryption and is meant for tests only. Opening an encrypted
// store with a different key, or without one, fails. Key names (which
// contain public keys, accounts and contexts) are encrypted too, but the
// sizes and number of files are not.
//
// # Memory and files
//
// The configuration suits a small node: a 4 MiB memtable (two at most, each
// with an arena of about 5 MiB), 1 MiB tables at the base level, an 8 MiB
// block cache (blocks as decrypted and decompressed), a 16 MiB index cache
// and two compactors. A table being written (a flushed memtable, a
// compaction's output) is held in memory whole until it is on disk, in a
// buffer about twice its size. What a node costs under sustained gossip is
// measured by the soak (node's TestSoak; the README's "Memory"). WAL and
// value log files are preallocated sparse (8 MiB and 128 MiB of address
// space) and memory-mapped: page cache, which the kernel can reclaim.
//
// # Key layout
//
// Schema version 1. CIDs are their binary form (self-delimiting, 36 bytes
// for kith's CIDv1 dag-cbor sha2-256); keys are 32-byte Ed25519 public keys;
// created is the object's creation time as an 8-byte big-endian uint64, so
// that every index sorts by creation time, then CID. Accounts and contexts
// cannot contain a 0x00 byte (package wire validates them), so 0x00
// terminates them unambiguously. Index values are empty.
//
//	o/  <cid>                                          the object's signed encoding
//	ai/ <issuer> <created> <cid>                       attestation by issuer
//	ak/ <subject key> <created> <cid>                  attestation by subject key
//	aa/ <acct> 0x00 <created> <cid>                    attestation by subject account
//	ac/ <context> 0x00 <kind> 0x00 <created> <cid>     attestation by context and kind
//	at/ <created> <cid>                                every attestation, by time
//	rt/ <target cid> <issuer> <cid>                    retraction by target
//	ct/ <target cid> <cid>                             consent by target
//	wt/ <target cid> <cid>                             consent withdrawal by target
//	la/ <acct> 0x00 <cid>                              identity link by account
//	lk/ <key> <cid>                                    identity link by key
//	meta/schema                                        schema version, 8-byte big-endian uint64
//	meta/id                                            the store's ID, 16 random bytes (Store.ID)
//
// A query scans one index range chosen by the most selective field set
// (issuer, then subject key, then account, then context with or without
// kind, else at/), in creation order, and filters the rest; a Limit stops
// the scan early. The retraction index carries the retraction's issuer so
// that excluding retracted attestations is one seek per candidate.
//
// Opening an empty directory writes schema version 1. Opening a store whose
// schema is newer than this build's fails with an error wrapping
// [store.ErrSchemaTooNew] that names both versions.
//
// # Goroutines and closing
//
// The package starts no goroutines of its own but the one Close runs
// badger's close in (joined, unless writes fail: see "Write failures");
// badger runs its compactors, memtable flusher and writer. Close waits for
// calls in progress, then closes the database; a second Close is a no-op.
package badger
