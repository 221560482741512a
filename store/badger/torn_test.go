package badger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// newestFile returns the path of the file with extension ext and the
// highest number in dir (badger names its logs 000001.vlog, 00001.mem, ...).
func newestFile(t *testing.T, dir, ext string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	best, bestN := "", -1
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(m), ext))
		if err == nil && n > bestN {
			best, bestN = m, n
		}
	}
	if best == "" {
		t.Fatalf("no %s file in %s", ext, dir)
	}
	return best
}

// tear truncates path to the end of its written part (the files are
// preallocated: that is the last non-zero byte) minus up to cut more bytes,
// then flips flips random bytes in the last 4 KiB of what is left.
func tear(t *testing.T, rng *rand.Rand, path string, cut, flips int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	written := len(bytes.TrimRight(b, "\x00"))
	b = b[:written-rng.IntN(min(cut, written)+1)]
	region := min(4096, len(b))
	var flipped []int
	for range flips {
		if region == 0 {
			break
		}
		p := len(b) - 1 - rng.IntN(region)
		b[p] ^= byte(1 + rng.IntN(255))
		flipped = append(flipped, p)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s: %d bytes written, truncated to %d, bytes flipped at %v", filepath.Base(path), written, len(b), flipped)
}

// TestTornTail kills a writer, damages the tail of the newest log file,
// and checks that the store then either refuses to open with a clear error
// or opens and serves only objects that verify and that the writer wrote.
//
// With kith's objects stored inline, the memtable WAL (.mem) holds every
// write and the value log (.vlog) only its 20-byte header; both are torn.
func TestTornTail(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	if os.Getenv(envCrashDir) != "" {
		t.Skip("inside a writer process")
	}
	tests := []struct {
		name  string
		ext   string
		cut   int // bytes cut off the written end, at most
		flips int
	}{
		{"mem truncated", ".mem", 4096, 0},
		{"mem flipped", ".mem", 0, 1},
		{"mem flipped more", ".mem", 0, 8},
		{"mem truncated and flipped", ".mem", 4096, 8},
		{"mem truncated and flipped again", ".mem", 4096, 8},
		{"vlog truncated", ".vlog", 4096, 0},
		{"vlog truncated and flipped", ".vlog", 4096, 8},
	}
	base := crashSeed(t)
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := base + uint64(n)
			rng := rand.New(rand.NewPCG(seed, 0x746f726e))
			dir := t.TempDir()
			acked := runWriter(t, dir, seed, 150*time.Millisecond+time.Duration(rng.Int64N(int64(300*time.Millisecond))))
			t.Logf("acked %d; %s", len(acked), tear(t, rng, newestFile(t, dir, tt.ext), tt.cut, tt.flips))
			ctx := context.Background()
			s, err := Open(ctx, Options{Dir: dir, EncryptionKey: testKey})
			if err != nil {
				if !strings.HasPrefix(err.Error(), "store: open") {
					t.Fatalf("open failed with an error that does not say what failed: %v", err)
				}
				t.Logf("open refused the damaged store: %v", err)
				return
			}
			defer s.Close()
			a := auditStore(t, s, seed, acked)
			// Every acknowledged object is either intact or absent (lost to
			// the damage); none is served damaged.
			for _, id := range acked {
				c, _ := wire.ParseCID(id)
				o, err := s.Get(ctx, c)
				switch {
				case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCorrupt):
				case err != nil:
					t.Fatalf("Get(%s): %v", id, err)
				default:
					if _, err := wire.Open(o.Raw(), time.Now()); err != nil {
						t.Fatalf("Get(%s) served an object that does not verify: %v", id, err)
					}
				}
			}
			atts, err := s.Attestations(ctx, store.Query{Retracted: true})
			if err != nil && !errors.Is(err, store.ErrCorrupt) {
				t.Fatal(err)
			}
			for _, o := range atts {
				if _, err := wire.Open(o.Raw(), time.Now()); err != nil {
					t.Fatalf("Attestations served an object that does not verify: %v", err)
				}
			}
			t.Logf("opened: stored %d, acknowledged but lost to the damage %d, phantoms %d", a.stored, a.lost, a.phantoms)
		})
	}
}
