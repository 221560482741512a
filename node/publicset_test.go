package node

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/store/badger"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// TestPublicSetOnDisk: a node given a key store (badger's key set, as the
// daemon passes) keeps its public set's keys there. Its set equals the in-memory set of a node on the same
// objects, follows new objects the same way, and is rebuilt at a restart.
func TestPublicSetOnDisk(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	var objs []wire.Object
	var unconsented, withdrawn *wire.Attestation
	for i := range 60 {
		issuer, subject := mustKey(t), mustKey(t)
		a := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "good trade")
		objs = append(objs, a)
		if i%4 == 3 {
			unconsented = a
			continue // no consent: not in the set
		}
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(subject); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, c)
		if i%5 == 0 {
			w := &wire.ConsentWithdrawal{Target: wire.LinkTo(a.CID()), Created: a.Created + 1}
			if err := w.Sign(subject); err != nil {
				t.Fatal(err)
			}
			objs = append(objs, w)
			withdrawn = a
		}
	}
	if _, err := st.Put(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "publicset")
	var keys *badger.KeySet[recon.Key]
	start := func(onDisk bool) *Node {
		t.Helper()
		cfg := Config{Key: mustKey(t), Store: st, Listen: loopback[:1], NoMDNS: true, NoDHT: true, Logger: testLogger(t)}
		if onDisk {
			var err error
			if keys, err = badger.OpenKeySet[recon.Key](ctx, dir, testLogger(t)); err != nil {
				t.Fatal(err)
			}
			cfg.PublicSetKeys = keys
		}
		nd, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return nd
	}
	same := func(when string, disk, memory *Node) {
		t.Helper()
		dn, dfp := disk.set.Fingerprint()
		mn, mfp := memory.set.Fingerprint()
		if dn != mn || dfp != mfp || dn == 0 {
			t.Fatalf("%s: on disk (%d, %x), in memory (%d, %x)", when, dn, dfp, mn, mfp)
		}
		if err := disk.set.Err(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	disk, memory := start(true), start(false)
	defer memory.Close()
	var last recon.Key
	for i := range last {
		last[i] = 0xff
	}
	held := 0
	if err := keys.Scan(recon.Key{}, last, func(recon.Key) error { held++; return nil }); err != nil || held != disk.PublicSetLen() || held == 0 {
		t.Fatalf("the key store on disk holds %d keys (%v), the set %d", held, err, disk.PublicSetLen())
	}
	same("at start", disk, memory)

	// A new consented proof comes in.
	issuer, subject := mustKey(t), mustKey(t)
	b := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "prompt")
	cb := &wire.Consent{Target: wire.LinkTo(b.CID()), Created: b.Created}
	if err := cb.Sign(subject); err != nil {
		t.Fatal(err)
	}
	for _, nd := range []*Node{disk, memory} {
		if _, err := nd.ingest(ctx, []wire.Object{b, cb}); err != nil {
			t.Fatal(err)
		}
		if !nd.InPublicSet(b.CID()) || !nd.InPublicSet(cb.CID()) || nd.InPublicSet(unconsented.CID()) || nd.InPublicSet(withdrawn.CID()) {
			t.Fatal("set membership wrong after ingest")
		}
	}
	same("after ingest", disk, memory)

	// Its subject withdraws: the proof leaves, the withdrawal enters.
	wb := &wire.ConsentWithdrawal{Target: wire.LinkTo(b.CID()), Created: b.Created + 1}
	if err := wb.Sign(subject); err != nil {
		t.Fatal(err)
	}
	for _, nd := range []*Node{disk, memory} {
		if _, err := nd.ingest(ctx, []wire.Object{wb}); err != nil {
			t.Fatal(err)
		}
		if nd.InPublicSet(b.CID()) || !nd.InPublicSet(wb.CID()) {
			t.Fatal("set membership wrong after a withdrawal")
		}
	}
	same("after a withdrawal", disk, memory)

	if err := disk.Close(); err != nil {
		t.Fatal(err)
	}
	if err := keys.Close(); err != nil {
		t.Fatal(err)
	}
	disk = start(true)
	defer keys.Close()
	defer disk.Close()
	same("after restart", disk, memory)
}
