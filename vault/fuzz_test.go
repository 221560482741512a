package vault

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzPassphrase is the passphrase of the vault files in testdata/fuzz/FuzzOpen.
var fuzzPassphrase = []byte("fuzz")

// Fuzzed headers with costs above these limits are only parsed, so that each
// execution stays fast; the parser itself enforces MaxMemory and MaxTime.
const (
	fuzzMaxMemory = 256 // KiB
	fuzzMaxTime   = 4
)

// FuzzOpen decodes arbitrary file contents: parsing must never panic, a
// parsed header must re-marshal to the same bytes, and decryption either fails
// with a sentinel error or yields secrets that re-encode canonically.
func FuzzOpen(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("KITHVLT\x01"))
	s := vectorSecrets()
	if data, err := seal(fuzzPassphrase, &s, tiny, &seqReader{}); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, ct, err := parseHeader(data, MaxMemory)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("parseHeader: unexpected error %v", err)
			}
			return
		}
		if err := h.params.Validate(); err != nil {
			t.Fatalf("parseHeader accepted invalid params: %v", err)
		}
		if !bytes.Equal(h.marshal(), data[:h.len()]) || len(ct) != len(data)-h.len() {
			t.Fatal("header does not round-trip")
		}
		if h.params.Memory > fuzzMaxMemory || h.params.Time > fuzzMaxTime {
			return
		}
		s, p, err := decrypt(data, fuzzPassphrase, fuzzMaxMemory)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongPassphrase) {
				t.Fatalf("decrypt: unexpected error %v", err)
			}
			if !isZero(s) {
				t.Fatal("secrets returned with error")
			}
			return
		}
		if p != h.params {
			t.Fatalf("params %+v, header says %+v", p, h.params)
		}
		if _, err := encodeSecrets(&s); err != nil {
			t.Fatalf("decrypted secrets do not re-encode: %v", err)
		}
	})
}

// FuzzDecodeSecrets checks that the plaintext decoder never panics and accepts
// only the canonical encoding.
func FuzzDecodeSecrets(f *testing.F) {
	f.Add([]byte{})
	s := vectorSecrets()
	if b, err := encodeSecrets(&s); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSecrets(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !isZero(s) {
				t.Fatalf("decodeSecrets: %+v, %v", s, err)
			}
			return
		}
		enc, err := encodeSecrets(&s)
		if err != nil {
			t.Fatalf("encodeSecrets: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("non-canonical input accepted:\n in %x\nout %x", b, enc)
		}
	})
}
