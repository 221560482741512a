package vault

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// File format version 2 (see spec/vault-v2.md; version 1, spec/vault-v1.md,
// is still read):
//
//	offset  size  field
//	     0     7  magic "KITHVLT"
//	     7     1  version (2; 1 in version 1 files)
//	     8     4  Argon2id memory in KiB, uint32 big-endian
//	    12     4  Argon2id passes, uint32 big-endian
//	    16     1  Argon2id lanes, uint8
//	    17    16  salt
//	    33    24  XChaCha20-Poly1305 nonce
//	    57    32  passphrase check value
//	    89    32  header digest: SHA-256 of bytes 0..88 (version 2 only)
//	   121     …  ciphertext of the encoded Secrets, followed by the 16-byte tag
//
// The digest needs no passphrase: a damaged header is told from a wrong
// passphrase before the KDF runs. A version 1 file has no digest; there a
// damaged check value is still told apart (the AEAD authenticates the
// header with the check the passphrase gives), a damaged salt or KDF
// parameter is not.
const (
	magic       = "KITHVLT"
	version1    = 1
	version2    = 2
	saltLen     = 16
	nonceLen    = chacha20poly1305.NonceSizeX
	checkLen    = 32
	digestLen   = sha256.Size
	keyLen      = chacha20poly1305.KeySize
	masterLen   = 32
	offVersion  = len(magic)
	offMemory   = offVersion + 1
	offTime     = offMemory + 4
	offThreads  = offTime + 4
	offSalt     = offThreads + 1
	offNonce    = offSalt + saltLen
	offCheck    = offNonce + nonceLen
	v1HeaderLen = offCheck + checkLen // 89
	offDigest   = v1HeaderLen
	headerLen   = offDigest + digestLen // 121, the header this package writes

	// maxFileSize caps the size of a vault file.
	maxFileSize = 1 << 20
	// maxNameLen caps the length of an Extra secret name.
	maxNameLen = 1024
	// minPlaintextLen is the encoded size of Secrets with no Extra entries.
	minPlaintextLen = 32 + 32 + 4
	// minFileLen is the size of the smallest valid version 2 vault file.
	minFileLen = headerLen + minPlaintextLen + chacha20poly1305.Overhead

	infoAEADKey = "kith vault v1 aead key"
	infoCheck   = "kith vault v1 passphrase check"
)

// header is a parsed header.
type header struct {
	version byte
	params  Params
	salt    [saltLen]byte
	nonce   [nonceLen]byte
	check   [checkLen]byte
}

// len is the header's size in its version's layout.
func (h *header) len() int {
	if h.version == version1 {
		return v1HeaderLen
	}
	return headerLen
}

// marshal encodes the header in its version's layout (version 2 when
// unset), with the digest of version 2.
func (h *header) marshal() []byte {
	if h.version == 0 {
		h.version = version2
	}
	b := make([]byte, h.len())
	copy(b, magic)
	b[offVersion] = h.version
	binary.BigEndian.PutUint32(b[offMemory:], h.params.Memory)
	binary.BigEndian.PutUint32(b[offTime:], h.params.Time)
	b[offThreads] = h.params.Threads
	copy(b[offSalt:], h.salt[:])
	copy(b[offNonce:], h.nonce[:])
	copy(b[offCheck:], h.check[:])
	if h.version == version2 {
		d := sha256.Sum256(b[:offDigest])
		copy(b[offDigest:], d[:])
	}
	return b
}

// parseHeader parses and validates the header of a vault file without running
// the KDF. Parameters with a memory cost above maxMemory KiB are refused. It
// returns the header and the ciphertext that follows it.
func parseHeader(data []byte, maxMemory uint32) (header, []byte, error) {
	var h header
	if len(data) < offVersion+1 || string(data[:len(magic)]) != magic {
		return h, nil, fmt.Errorf("%w: not a vault file", ErrCorrupt)
	}
	h.version = data[offVersion]
	if h.version != version1 && h.version != version2 {
		return h, nil, fmt.Errorf("%w: version %d", ErrUnsupportedVersion, h.version)
	}
	if len(data) > maxFileSize {
		return h, nil, fmt.Errorf("%w: file larger than %d bytes", ErrCorrupt, maxFileSize)
	}
	if min := h.len() + minPlaintextLen + chacha20poly1305.Overhead; len(data) < min {
		return h, nil, fmt.Errorf("%w: truncated (%d bytes)", ErrCorrupt, len(data))
	}
	if h.version == version2 {
		d := sha256.Sum256(data[:offDigest])
		if subtle.ConstantTimeCompare(d[:], data[offDigest:headerLen]) != 1 {
			return h, nil, fmt.Errorf("%w: the header is damaged (its digest does not match)", ErrCorrupt)
		}
	}
	h.params = Params{
		Memory:  binary.BigEndian.Uint32(data[offMemory:]),
		Time:    binary.BigEndian.Uint32(data[offTime:]),
		Threads: data[offThreads],
	}
	if err := h.params.Validate(); err != nil {
		return h, nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if h.params.Memory > maxMemory {
		return h, nil, fmt.Errorf("%w: %w: memory %d KiB exceeds %d KiB", ErrCorrupt, ErrInvalidParams, h.params.Memory, maxMemory)
	}
	copy(h.salt[:], data[offSalt:])
	copy(h.nonce[:], data[offNonce:])
	copy(h.check[:], data[offCheck:])
	return h, data[h.len():], nil
}

// deriveKeys stretches passphrase with Argon2id and derives the AEAD key and
// the passphrase check value. The caller must zero both.
func deriveKeys(passphrase []byte, salt []byte, p Params) (key, check []byte, err error) {
	master := argon2.IDKey(passphrase, salt, p.Time, p.Memory, p.Threads, masterLen)
	defer clear(master)
	key, err = hkdf.Key(sha256.New, master, nil, infoAEADKey, keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: derive key: %w", err)
	}
	check, err = hkdf.Key(sha256.New, master, nil, infoCheck, checkLen)
	if err != nil {
		clear(key)
		return nil, nil, fmt.Errorf("vault: derive check value: %w", err)
	}
	return key, check, nil
}

// seal encrypts s under passphrase with parameters p and returns the complete
// file contents. The salt and then the nonce are read from rand.
func seal(passphrase []byte, s *Secrets, p Params, rand io.Reader) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	plaintext, err := encodeSecrets(s)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	if headerLen+len(plaintext)+chacha20poly1305.Overhead > maxFileSize {
		return nil, fmt.Errorf("vault: secrets too large: encoded vault would exceed %d bytes", maxFileSize)
	}
	h := header{version: version2, params: p}
	if _, err := io.ReadFull(rand, h.salt[:]); err != nil {
		return nil, fmt.Errorf("vault: read salt: %w", err)
	}
	if _, err := io.ReadFull(rand, h.nonce[:]); err != nil {
		return nil, fmt.Errorf("vault: read nonce: %w", err)
	}
	key, check, err := deriveKeys(passphrase, h.salt[:], p)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	copy(h.check[:], check)
	clear(check)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	hdr := h.marshal()
	out := make([]byte, len(hdr), len(hdr)+len(plaintext)+aead.Overhead())
	copy(out, hdr)
	return aead.Seal(out, h.nonce[:], plaintext, hdr), nil
}

// deriveFunc derives the AEAD key and the check value (deriveKeys); tests
// pass a spy to see whether the KDF ran.
type deriveFunc func(passphrase, salt []byte, p Params) (key, check []byte, err error)

// decrypt parses, authenticates and decodes a complete vault file. KDF
// parameters are validated (memory capped at maxMemory KiB) before the KDF
// runs. On error the returned Secrets are zero.
func decrypt(data, passphrase []byte, maxMemory uint32) (Secrets, Params, error) {
	return decryptWith(data, passphrase, maxMemory, deriveKeys)
}

func decryptWith(data, passphrase []byte, maxMemory uint32, derive deriveFunc) (Secrets, Params, error) {
	if len(passphrase) == 0 {
		return Secrets{}, Params{}, ErrEmptyPassphrase
	}
	h, ciphertext, err := parseHeader(data, maxMemory)
	if err != nil {
		return Secrets{}, Params{}, err
	}
	key, check, err := derive(passphrase, h.salt[:], h.params)
	if err != nil {
		return Secrets{}, Params{}, err
	}
	defer clear(key)
	defer clear(check)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return Secrets{}, Params{}, fmt.Errorf("vault: %w", err)
	}
	ad := data[:h.len()]
	if subtle.ConstantTimeCompare(check, h.check[:]) != 1 {
		if h.version == version1 && checkDamaged(aead, h, check, ciphertext) {
			return Secrets{}, Params{}, fmt.Errorf("%w: the passphrase is right but the file's check value is damaged", ErrCorrupt)
		}
		return Secrets{}, Params{}, ErrWrongPassphrase
	}
	plaintext, err := aead.Open(nil, h.nonce[:], ciphertext, ad)
	if err != nil {
		return Secrets{}, Params{}, fmt.Errorf("%w: authentication failed", ErrCorrupt)
	}
	defer clear(plaintext)
	s, err := decodeSecrets(plaintext)
	if err != nil {
		return Secrets{}, Params{}, err
	}
	return s, h.params, nil
}

// checkDamaged reports whether a version 1 file whose check value does not
// match the passphrase authenticates once the check the passphrase gives is
// put in its header: then the passphrase is right and only the check value
// was damaged. The plaintext is discarded either way.
func checkDamaged(aead cipher.AEAD, h header, check, ciphertext []byte) bool {
	copy(h.check[:], check)
	pt, err := aead.Open(nil, h.nonce[:], ciphertext, h.marshal())
	clear(pt)
	return err == nil
}

// encodeSecrets returns the canonical encoding of s:
//
//	Identity (32) || StoreKey (32) || uint32 count ||
//	count × (uint16 name length || name || uint32 value length || value)
//
// with entries sorted by name in ascending byte order and integers big-endian.
func encodeSecrets(s *Secrets) ([]byte, error) {
	names := make([]string, 0, len(s.Extra))
	size := minPlaintextLen
	for name, v := range s.Extra {
		if err := checkName(name); err != nil {
			return nil, err
		}
		if len(v) > maxFileSize {
			return nil, fmt.Errorf("vault: extra secret %q too large", name)
		}
		names = append(names, name)
		size += 2 + len(name) + 4 + len(v)
	}
	if size > maxFileSize {
		return nil, fmt.Errorf("vault: secrets too large: encoded vault would exceed %d bytes", maxFileSize)
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = append(b, s.Identity[:]...)
	b = append(b, s.StoreKey[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, name := range names {
		v := s.Extra[name]
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b, nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("vault: extra secret name is empty")
	case len(name) > maxNameLen:
		return fmt.Errorf("vault: extra secret name longer than %d bytes", maxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("vault: extra secret name %q is not valid UTF-8", name)
	}
	return nil
}

// decodeSecrets decodes the canonical encoding produced by encodeSecrets,
// rejecting anything non-canonical. The returned Secrets do not alias b.
func decodeSecrets(b []byte) (Secrets, error) {
	var s Secrets
	fail := func(msg string) (Secrets, error) {
		s.Wipe()
		return Secrets{}, fmt.Errorf("%w: plaintext: %s", ErrCorrupt, msg)
	}
	if len(b) < minPlaintextLen {
		return fail("truncated")
	}
	copy(s.Identity[:], b[0:32])
	copy(s.StoreKey[:], b[32:64])
	n := binary.BigEndian.Uint32(b[64:68])
	b = b[68:]
	s.Extra = make(map[string][]byte)
	prev := ""
	for i := uint32(0); i < n; i++ {
		if len(b) < 2 {
			return fail("truncated entry")
		}
		nl := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if len(b) < nl {
			return fail("truncated name")
		}
		name := string(b[:nl])
		b = b[nl:]
		if err := checkName(name); err != nil {
			return fail("bad name")
		}
		if i > 0 && name <= prev {
			return fail("names not strictly ascending")
		}
		prev = name
		if len(b) < 4 {
			return fail("truncated value length")
		}
		vl := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(len(b)) < uint64(vl) {
			return fail("truncated value")
		}
		v := make([]byte, vl)
		copy(v, b)
		s.Extra[name] = v
		b = b[vl:]
	}
	if len(b) != 0 {
		return fail("trailing bytes")
	}
	return s, nil
}
