package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// tiny are deliberately weak parameters that keep tests fast.
var tiny = Params{Memory: 64, Time: 1, Threads: 1}

// seqReader is a deterministic "random" source yielding next, next+1, ….
type seqReader struct{ next byte }

func (r *seqReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

func testSecrets(t testing.TB) Secrets {
	t.Helper()
	s, err := NewSecrets(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Extra["fedi-token:alice@host"] = []byte("token-of-alice-0123456789")
	s.Extra["empty"] = nil
	s.Extra["ünïcode name"] = bytes.Repeat([]byte{0xAB}, 300)
	return s
}

func equalSecrets(a, b Secrets) bool {
	return a.Identity == b.Identity && a.StoreKey == b.StoreKey && maps.EqualFunc(a.Extra, b.Extra, bytes.Equal)
}

func isZero(s Secrets) bool {
	return s.Identity == [32]byte{} && s.StoreKey == [32]byte{} && s.Extra == nil
}

func mustCreate(t testing.TB, path string, pass []byte, s Secrets, p Params) {
	t.Helper()
	if err := Create(path, pass, s, p, nil); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func mustOpen(t testing.TB, path string, pass []byte) Secrets {
	t.Helper()
	s, err := Open(path, pass)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func fileParams(t testing.TB, path string) (Params, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := parseHeader(data, MaxMemory)
	if err != nil {
		t.Fatal(err)
	}
	return h.params, h.salt[:]
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"default", DefaultParams, true},
		{"tiny", tiny, true},
		{"min memory for threads", Params{Memory: 32, Time: 1, Threads: 4}, true},
		{"max", Params{Memory: MaxMemory, Time: MaxTime, Threads: 255}, true},
		{"zero", Params{}, false},
		{"zero threads", Params{Memory: 64, Time: 1, Threads: 0}, false},
		{"zero time", Params{Memory: 64, Time: 0, Threads: 1}, false},
		{"zero memory", Params{Memory: 0, Time: 1, Threads: 1}, false},
		{"memory below 8 KiB per thread", Params{Memory: 31, Time: 1, Threads: 4}, false},
		{"memory above 4 GiB", Params{Memory: MaxMemory + 1, Time: 1, Threads: 1}, false},
		{"memory max uint32", Params{Memory: ^uint32(0), Time: 1, Threads: 1}, false},
		{"time too large", Params{Memory: 64, Time: MaxTime + 1, Threads: 1}, false},
		{"time max uint32", Params{Memory: 64, Time: ^uint32(0), Threads: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate(%+v) = %v, want nil", tt.p, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("Validate(%+v) = %v, want ErrInvalidParams", tt.p, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "vault: ") {
				t.Errorf("error %q does not start with \"vault: \"", err)
			}
		})
	}
}

func TestNewSecrets(t *testing.T) {
	s, err := NewSecrets(&seqReader{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity[0] != 0 || s.Identity[31] != 31 || s.StoreKey[0] != 32 || s.StoreKey[31] != 63 {
		t.Errorf("NewSecrets did not read Identity then StoreKey from rand: %x %x", s.Identity, s.StoreKey)
	}
	if s.Extra == nil {
		t.Error("Extra is nil")
	}
	a, _ := NewSecrets(nil)
	b, _ := NewSecrets(nil)
	if a.Identity == b.Identity || a.StoreKey == b.StoreKey || a.Identity == a.StoreKey {
		t.Error("NewSecrets(nil) returned repeated values")
	}
	if _, err := NewSecrets(bytes.NewReader(make([]byte, 40))); err == nil {
		t.Error("NewSecrets with short rand succeeded")
	}
}

func TestSecretsWipe(t *testing.T) {
	s := testSecrets(t)
	v := s.Extra["fedi-token:alice@host"]
	s.Wipe()
	if s.Identity != [32]byte{} || s.StoreKey != [32]byte{} || len(s.Extra) != 0 {
		t.Errorf("Wipe left secrets: %+v", s)
	}
	if !bytes.Equal(v, make([]byte, len(v))) {
		t.Errorf("Wipe did not zero Extra value: %q", v)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string][]byte
	}{
		{"nil extra", nil},
		{"empty extra", map[string][]byte{}},
		{"one extra", map[string][]byte{"fedi-token:alice@host": []byte("tok")}},
		{"many extras", map[string][]byte{
			"b": []byte("2"), "a": []byte("1"), "c": nil, "ü": {0, 1, 2},
			strings.Repeat("n", maxNameLen): bytes.Repeat([]byte{7}, 10000),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "vault")
			pass := []byte("correct horse battery staple")
			s, err := NewSecrets(nil)
			if err != nil {
				t.Fatal(err)
			}
			s.Extra = tt.extra
			mustCreate(t, path, pass, s, tiny)
			got := mustOpen(t, path, pass)
			if !equalSecrets(got, s) {
				t.Fatalf("Open returned %+v, want %+v", got, s)
			}
			if got.Extra == nil {
				t.Error("Open returned nil Extra")
			}
			for name, v := range got.Extra {
				if v == nil {
					t.Errorf("Extra[%q] is nil, want empty non-nil slice", name)
				}
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault")
	pass := []byte("pass")
	p := Params{Memory: 128, Time: 2, Threads: 2}
	s := testSecrets(t)
	mustCreate(t, path, pass, s, p)
	_, salt1 := fileParams(t, path)

	s2 := mustOpen(t, path, pass)
	s2.Extra["fedi-token:bob@host"] = []byte("bob-token")
	delete(s2.Extra, "empty")
	s2.StoreKey[0] ^= 1
	if err := Update(path, pass, s2, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := mustOpen(t, path, pass)
	if !equalSecrets(got, s2) {
		t.Fatalf("after Update Open returned %+v, want %+v", got, s2)
	}
	gotP, salt2 := fileParams(t, path)
	if gotP != p {
		t.Errorf("Update changed params to %+v, want %+v", gotP, p)
	}
	if bytes.Equal(salt1, salt2) {
		t.Error("Update reused the salt")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after Update = %#o, want 0600", fi.Mode().Perm())
	}

	before, _ := os.ReadFile(path)
	if err := Update(path, []byte("wrong"), s, nil); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Update with wrong passphrase = %v, want ErrWrongPassphrase", err)
	}
	if err := Update(path, nil, s, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("Update with empty passphrase = %v, want ErrEmptyPassphrase", err)
	}
	bad := s
	bad.Extra = map[string][]byte{"": []byte("x")}
	if err := Update(path, pass, bad, nil); err == nil {
		t.Fatal("Update with empty Extra name succeeded")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed Update modified the file")
	}
	if err := Update(filepath.Join(dir, "missing"), pass, s, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of missing file = %v, want ErrNotFound", err)
	}
	assertNoTempFiles(t, dir)
}

func TestChangePassphrase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault")
	oldPass, newPass := []byte("old passphrase"), []byte("new passphrase")
	s := testSecrets(t)
	mustCreate(t, path, oldPass, s, tiny)

	if err := ChangePassphrase(path, []byte("not it"), newPass, nil); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("ChangePassphrase with wrong old = %v, want ErrWrongPassphrase", err)
	}
	if err := ChangePassphrase(path, oldPass, nil, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("ChangePassphrase to empty = %v, want ErrEmptyPassphrase", err)
	}
	if err := ChangePassphrase(path, nil, newPass, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("ChangePassphrase from empty = %v, want ErrEmptyPassphrase", err)
	}
	mustOpen(t, path, oldPass) // still the old passphrase

	if err := ChangePassphrase(path, oldPass, newPass, nil); err != nil {
		t.Fatalf("ChangePassphrase: %v", err)
	}
	if _, err := Open(path, oldPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Open with old passphrase after change = %v, want ErrWrongPassphrase", err)
	}
	if got := mustOpen(t, path, newPass); !equalSecrets(got, s) {
		t.Fatalf("secrets changed across ChangePassphrase: %+v, want %+v", got, s)
	}
	if p, _ := fileParams(t, path); p != tiny {
		t.Errorf("ChangePassphrase changed params to %+v", p)
	}
	if err := ChangePassphrase(filepath.Join(dir, "missing"), oldPass, newPass, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("ChangePassphrase of missing file = %v, want ErrNotFound", err)
	}
	assertNoTempFiles(t, dir)
}

func TestWrongPassphrase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("right")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	for _, wrong := range [][]byte{[]byte("wrong"), []byte("right "), []byte("Right"), []byte("righ"), {0}} {
		s, err := Open(path, wrong)
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Errorf("Open(%q) = %v, want ErrWrongPassphrase", wrong, err)
		}
		if errors.Is(err, ErrCorrupt) {
			t.Errorf("Open(%q) error %v is also ErrCorrupt", wrong, err)
		}
		if !isZero(s) {
			t.Errorf("Open(%q) returned secrets %+v", wrong, s)
		}
	}
	if s, err := Open(path, nil); !errors.Is(err, ErrEmptyPassphrase) || !isZero(s) {
		t.Errorf("Open(nil) = %+v, %v; want ErrEmptyPassphrase", s, err)
	}
}

// tamperMaxMemory caps the memory cost accepted while opening tampered files,
// so that bit flips in the memory field cannot make the test allocate
// gigabytes; flips above the cap are rejected as absurd before the KDF.
const tamperMaxMemory = 1024

func TestTamperEveryBit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	s := testSecrets(t)
	s.Extra = map[string][]byte{"fedi-token:alice@host": []byte("tok")}
	mustCreate(t, path, pass, s, tiny)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := openFile(path, pass, tamperMaxMemory); err != nil || !equalSecrets(got, s) {
		t.Fatalf("untampered open: %v", err)
	}
	counts := map[string]int{}
	for i := range orig {
		for bit := range 8 {
			data := bytes.Clone(orig)
			data[i] ^= 1 << bit
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, _, err := openFile(path, pass, tamperMaxMemory)
			switch {
			case err == nil:
				t.Fatalf("byte %d bit %d: tampered file opened", i, bit)
			case errors.Is(err, ErrWrongPassphrase):
				counts["wrong passphrase"]++
			case errors.Is(err, ErrUnsupportedVersion):
				counts["unsupported version"]++
			case errors.Is(err, ErrCorrupt):
				counts["corrupt"]++
			default:
				t.Fatalf("byte %d bit %d: unexpected error %v", i, bit, err)
			}
			if !isZero(got) {
				t.Fatalf("byte %d bit %d: secrets returned with error", i, bit)
			}
		}
	}
	t.Logf("%d bytes × 8 bits flipped: %v", len(orig), counts)
	// With the right passphrase, no damage reads as a wrong passphrase.
	if counts["wrong passphrase"] != 0 {
		t.Errorf("%d flipped bits reported as a wrong passphrase: %v", counts["wrong passphrase"], counts)
	}
	// Nonce and ciphertext flips must be detected by the AEAD, version flips
	// by the version check.
	if counts["corrupt"] < 8*(len(orig)-offNonce-checkLen) || counts["unsupported version"] != 8 {
		t.Errorf("unexpected error distribution %v", counts)
	}
}

func TestTamperHeaderFieldsIsCorruptWhenCheckMatches(t *testing.T) {
	// With the check value intact, changing only AD-covered bytes that do not
	// feed the KDF (the nonce) must be reported as ErrCorrupt.
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	data, _ := os.ReadFile(path)
	data[offNonce] ^= 0x80
	if _, _, err := decrypt(data, pass, MaxMemory); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("nonce flip = %v, want ErrCorrupt only", err)
	}
}

func TestTruncateAndExtend(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	orig, _ := os.ReadFile(path)
	for n := range len(orig) {
		if err := os.WriteFile(path, orig[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := Open(path, pass); !errors.Is(err, ErrCorrupt) || !isZero(s) {
			t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
	for _, suffix := range [][]byte{{0}, []byte("garbage"), make([]byte, 16)} {
		if err := os.WriteFile(path, append(bytes.Clone(orig), suffix...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, pass); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("extended by %d bytes: %v, want ErrCorrupt", len(suffix), err)
		}
	}
}

func TestOversizedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	orig, _ := os.ReadFile(path)
	big := append(orig, make([]byte, maxFileSize)...)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, pass); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("oversized file: %v, want ErrCorrupt", err)
	}
}

func TestSecretsTooLarge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	s := testSecrets(t)
	s.Extra["big"] = make([]byte, maxFileSize-headerLen-minPlaintextLen)
	if err := Create(path, []byte("pass"), s, tiny, nil); err == nil {
		t.Fatal("Create with oversized secrets succeeded")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed Create left a file: %v", err)
	}
	// Just below the limit works.
	s = testSecrets(t)
	s.Extra = map[string][]byte{"big": make([]byte, maxFileSize-minFileLen-2-3-4)}
	mustCreate(t, path, []byte("pass"), s, tiny)
	if got := mustOpen(t, path, []byte("pass")); !equalSecrets(got, s) {
		t.Fatal("large secrets did not round-trip")
	}
}

func TestInvalidExtraNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", strings.Repeat("x", maxNameLen+1), "bad\xffutf8"} {
		path := filepath.Join(t.TempDir(), "vault")
		s := testSecrets(t)
		s.Extra[name] = []byte("v")
		if err := Create(path, []byte("pass"), s, tiny, nil); err == nil {
			t.Errorf("Create with Extra name %q succeeded", name)
		}
	}
}

func TestFileAndDirModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	t.Parallel()
	root := t.TempDir()
	path := filepath.Join(root, "a", "b", "vault")
	mustCreate(t, path, []byte("pass"), testSecrets(t), tiny)
	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("dir %s mode = %#o, want 0700", d, fi.Mode().Perm())
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want -rw-------", fi.Mode())
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func TestNoPlaintextInFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	s := testSecrets(t)
	mustCreate(t, path, []byte("pass"), s, tiny)
	data, _ := os.ReadFile(path)
	secrets := map[string][]byte{
		"identity":  s.Identity[:],
		"store key": s.StoreKey[:],
		"token":     s.Extra["fedi-token:alice@host"],
	}
	for what, secret := range secrets {
		// No 8-byte window of any secret may appear in the file.
		for i := 0; i+8 <= len(secret); i++ {
			if bytes.Contains(data, secret[i:i+8]) {
				t.Fatalf("file contains %s bytes %x", what, secret[i:i+8])
			}
		}
	}
	for _, name := range []string{"fedi-token", "alice"} {
		if bytes.Contains(data, []byte(name)) {
			t.Errorf("file contains Extra name %q in plaintext", name)
		}
	}
}

func TestInsecurePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	tests := []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o700, true},
		{0o640, false}, {0o604, false}, {0o644, false}, {0o660, false}, {0o606, false}, {0o610, false}, {0o601, false}, {0o777, false},
	}
	for _, tt := range tests {
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, pass)
		if tt.ok && err != nil {
			t.Errorf("mode %#o: Open = %v, want success", tt.mode, err)
		}
		if !tt.ok {
			if !errors.Is(err, ErrInsecurePermissions) || !isZero(s) {
				t.Errorf("mode %#o: Open = %v, want ErrInsecurePermissions", tt.mode, err)
			} else if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		}
	}
}

func TestOpenNotFoundAndNotRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing"), []byte("p")); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	if _, err := Open(dir, []byte("p")); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Open(directory) = %v, want a non-regular-file error", err)
	}
}

func TestOpenNotAVault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i, content := range [][]byte{nil, []byte("hello"), []byte("KITHVLT"), bytes.Repeat([]byte{0}, 200), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")} {
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, []byte("p")); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Open(%q) = %v, want ErrCorrupt", content, err)
		}
	}
}

func TestUnsupportedVersion(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	data, _ := os.ReadFile(path)
	for _, v := range []byte{0, 3, 255} {
		data[offVersion] = v
		// A future version may use a different layout, so even a short file
		// with the magic reports the version.
		for _, d := range [][]byte{data, data[:offVersion+1]} {
			if err := os.WriteFile(path, d, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(path, pass); !errors.Is(err, ErrUnsupportedVersion) {
				t.Errorf("version %d, %d bytes: %v, want ErrUnsupportedVersion", v, len(d), err)
			}
		}
	}
}

// TestAbsurdParamsRejectedBeforeKDF patches the KDF parameters of a valid file.
// Had the KDF run, memory 0xFFFFFFFF KiB would try to allocate 4 TiB, time
// 0xFFFFFFFF would never finish and threads 0 would panic inside argon2.
func TestAbsurdParamsRejectedBeforeKDF(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	orig, _ := os.ReadFile(path)
	tests := []struct {
		name string
		p    Params
	}{
		{"memory max uint32", Params{Memory: ^uint32(0), Time: 1, Threads: 1}},
		{"memory 4 GiB + 1 KiB", Params{Memory: MaxMemory + 1, Time: 1, Threads: 1}},
		{"time max uint32", Params{Memory: 64, Time: ^uint32(0), Threads: 1}},
		{"time too large", Params{Memory: 64, Time: MaxTime + 1, Threads: 1}},
		{"zero time", Params{Memory: 64, Time: 0, Threads: 1}},
		{"zero threads", Params{Memory: 64, Time: 1, Threads: 0}},
		{"zero memory", Params{Memory: 0, Time: 1, Threads: 1}},
		{"memory below 8 KiB per thread", Params{Memory: 8*255 - 1, Time: 1, Threads: 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Clone(orig)
			binary.BigEndian.PutUint32(data[offMemory:], tt.p.Memory)
			binary.BigEndian.PutUint32(data[offTime:], tt.p.Time)
			data[offThreads] = tt.p.Threads
			redigest(data) // a header written so, not damaged
			p := filepath.Join(t.TempDir(), "vault")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(p, pass); !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("Open = %v, want ErrCorrupt and ErrInvalidParams", err)
			}
			kdfRuns := 0
			spy := func(pass, salt []byte, p Params) ([]byte, []byte, error) {
				kdfRuns++
				return deriveKeys(pass, salt, p)
			}
			if _, _, err := decryptWith(data, pass, MaxMemory, spy); !errors.Is(err, ErrInvalidParams) || kdfRuns != 0 {
				t.Fatalf("decrypt = %v after %d KDF runs, want ErrInvalidParams after none", err, kdfRuns)
			}
		})
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault")
	pass := []byte("first")
	s := testSecrets(t)
	mustCreate(t, path, pass, s, tiny)
	if err := Create(path, []byte("second"), testSecrets(t), tiny, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	if got := mustOpen(t, path, pass); !equalSecrets(got, s) {
		t.Fatal("second Create modified the vault")
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Create(other, pass, s, tiny, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over empty file = %v, want ErrExists", err)
	}
	assertNoTempFiles(t, dir)
}

// TestWriteFileNoClobber covers the hard-link installation step that makes
// Create safe against a file appearing after its existence check.
func TestWriteFileNoClobber(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault")
	if err := os.WriteFile(path, []byte("existing"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("new"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("writeFile over existing file = %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "existing" {
		t.Fatalf("existing file changed to %q", b)
	}
	if err := writeFile(path, []byte("new"), true); err != nil {
		t.Fatalf("writeFile with replace: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("file not replaced: %q", b)
	}
	assertNoTempFiles(t, dir)
}

func TestCreateArgumentErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := testSecrets(t)
	if err := Create(filepath.Join(dir, "a"), nil, s, tiny, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("Create with empty passphrase = %v", err)
	}
	if err := Create(filepath.Join(dir, "b"), []byte("p"), s, Params{}, nil); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("Create with zero params = %v", err)
	}
	if err := Create(filepath.Join(dir, "c"), []byte("p"), s, tiny, bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("Create with exhausted rand succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed Creates left files: %v", entries)
	}
}

// TestConcurrentCreateSamePath checks that exactly one of many concurrent
// Creates of the same path wins and the others get ErrExists.
func TestConcurrentCreateSamePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = Create(path, []byte(fmt.Sprint("pass", i)), testSecrets(t), tiny, nil)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("Creates %d and %d both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, ErrExists):
			t.Fatalf("Create %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no Create succeeded")
	}
	mustOpen(t, path, []byte(fmt.Sprint("pass", winner)))
	assertNoTempFiles(t, dir)
}

// TestConcurrentDistinctPaths exercises the full API concurrently on distinct
// paths (run with -race).
func TestConcurrentDistinctPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			path := filepath.Join(dir, fmt.Sprint("v", i))
			pass := []byte(fmt.Sprint("p", i))
			s := testSecrets(t)
			if err := Create(path, pass, s, tiny, nil); err != nil {
				t.Error(err)
				return
			}
			s.Extra["n"] = []byte{byte(i)}
			if err := Update(path, pass, s, nil); err != nil {
				t.Error(err)
				return
			}
			if err := ChangePassphrase(path, pass, append(pass, '!'), nil); err != nil {
				t.Error(err)
				return
			}
			got, err := Open(path, append(pass, '!'))
			if err != nil || !equalSecrets(got, s) {
				t.Errorf("path %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// TestConcurrentUpdatesSamePath checks that readers never observe a torn file
// while writers replace it.
func TestConcurrentUpdatesSamePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vault")
	pass := []byte("pass")
	mustCreate(t, path, pass, testSecrets(t), tiny)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				s := testSecrets(t)
				s.Extra["writer"] = []byte{byte(i), byte(j)}
				if err := Update(path, pass, s, nil); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range 10 {
				if _, err := Open(path, pass); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	assertNoTempFiles(t, dir)
}

func TestDecodeSecretsRejectsNonCanonical(t *testing.T) {
	base := make([]byte, 64)
	entry := func(name, value string) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
		return append(b, value...)
	}
	build := func(count uint32, entries ...[]byte) []byte {
		b := binary.BigEndian.AppendUint32(bytes.Clone(base), count)
		for _, e := range entries {
			b = append(b, e...)
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"no extras", build(0), true},
		{"sorted", build(2, entry("a", "1"), entry("b", "")), true},
		{"short", base, false},
		{"unsorted", build(2, entry("b", "1"), entry("a", "2")), false},
		{"duplicate", build(2, entry("a", "1"), entry("a", "2")), false},
		{"empty name", build(1, entry("", "1")), false},
		{"invalid utf8 name", build(1, entry("\xff", "1")), false},
		{"count too large", build(2, entry("a", "1")), false},
		{"trailing bytes", append(build(1, entry("a", "1")), 0), false},
		{"truncated value", build(1, entry("a", "12345"))[:64+4+2+1+4+2], false},
		{"huge value length", append(build(1), 0, 1, 'a', 0xff, 0xff, 0xff, 0xff), false},
		{"huge count", build(0xffffffff), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := decodeSecrets(tt.b)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				enc, err := encodeSecrets(&s)
				if err != nil || !bytes.Equal(enc, tt.b) {
					t.Fatalf("re-encoding differs: %x vs %x (%v)", enc, tt.b, err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !isZero(s) {
				t.Fatalf("decodeSecrets = %+v, %v; want ErrCorrupt", s, err)
			}
		})
	}
}

// Test vector (also in spec/vault-v1.md): deterministic inputs, fixed output.
var (
	vectorPassphrase = []byte("correct horse battery staple")
	vectorParams     = Params{Memory: 64, Time: 1, Threads: 1}
)

func vectorSecrets() Secrets {
	var s Secrets
	for i := range 32 {
		s.Identity[i] = byte(i)
		s.StoreKey[i] = byte(0x80 + i)
	}
	s.Extra = map[string][]byte{"fedi-token:alice@host": []byte("example-token")}
	return s
}

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	h, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(h)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVector: the version 2 vector (spec/vault-v2.md) is what seal writes
// from the vector's inputs; it and the version 1 vector (spec/vault-v1.md)
// decrypt to the vector's secrets.
func TestVector(t *testing.T) {
	t.Parallel()
	s := vectorSecrets()
	// Salt 0x40…0x4f, then nonce 0x50…0x67.
	got, err := seal(vectorPassphrase, &s, vectorParams, &seqReader{next: 0x40})
	if err != nil {
		t.Fatal(err)
	}
	want := readVector(t, "vector-v2.hex")
	if !bytes.Equal(got, want) {
		t.Fatalf("vector mismatch\n got %x\nwant %x", got, want)
	}
	for _, name := range []string{"vector-v1.hex", "vector-v2.hex"} {
		dec, p, err := decrypt(readVector(t, name), vectorPassphrase, MaxMemory)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p != vectorParams || !equalSecrets(dec, s) {
			t.Fatalf("%s decrypts to %+v %+v", name, p, dec)
		}
	}
}

// TestV1DamagedCheckIsCorrupt: in a version 1 file (no header digest), a
// damaged check value is told from a wrong passphrase: with the right one,
// the AEAD authenticates the header carrying the check it derives.
func TestV1DamagedCheckIsCorrupt(t *testing.T) {
	t.Parallel()
	v1 := readVector(t, "vector-v1.hex")
	for i := offCheck; i < offCheck+checkLen; i++ {
		data := bytes.Clone(v1)
		data[i] ^= 0x10
		if _, _, err := decrypt(data, vectorPassphrase, MaxMemory); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("check byte %d flipped: %v, want ErrCorrupt", i, err)
		}
		if _, _, err := decrypt(data, []byte("not the passphrase"), MaxMemory); !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("check byte %d flipped, wrong passphrase: %v, want ErrWrongPassphrase", i, err)
		}
	}
}

// TestDamageNeedsNoPassphrase: a version 2 file with any header byte
// damaged is reported as damaged even under a wrong passphrase, before the
// KDF runs.
func TestDamageNeedsNoPassphrase(t *testing.T) {
	t.Parallel()
	v2 := readVector(t, "vector-v2.hex")
	for i := offMemory; i < headerLen; i++ {
		data := bytes.Clone(v2)
		data[i] ^= 0x01
		runs := 0
		spy := func(pass, salt []byte, p Params) ([]byte, []byte, error) {
			runs++
			return deriveKeys(pass, salt, p)
		}
		_, _, err := decryptWith(data, []byte("not the passphrase"), MaxMemory, spy)
		if !errors.Is(err, ErrCorrupt) || runs != 0 {
			t.Fatalf("header byte %d flipped: %v after %d KDF runs, want ErrCorrupt before the KDF", i, err, runs)
		}
	}
}

// redigest recomputes the header digest of a version 2 file after a test
// changed its header on purpose.
func redigest(data []byte) {
	d := sha256.Sum256(data[:offDigest])
	copy(data[offDigest:], d[:])
}

func TestDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("DefaultParams KDF is slow")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vault")
	pass := []byte("pass")
	s := testSecrets(t)
	start := time.Now()
	mustCreate(t, path, pass, s, DefaultParams)
	created := time.Since(start)
	if got := mustOpen(t, path, pass); !equalSecrets(got, s) {
		t.Fatal("round trip with DefaultParams failed")
	}
	if p, _ := fileParams(t, path); p != DefaultParams {
		t.Fatalf("file params %+v, want %+v", p, DefaultParams)
	}
	if _, err := Open(path, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	t.Logf("Create with DefaultParams took %v", created)
}

func BenchmarkOpenDefaultParams(b *testing.B) {
	path := filepath.Join(b.TempDir(), "vault")
	pass := []byte("correct horse battery staple")
	mustCreate(b, path, pass, testSecrets(b), DefaultParams)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(path, pass); err != nil {
			b.Fatal(err)
		}
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
