package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/wire"
)

// G5 of the reliability plan: a victim whose validation is slow (every
// message takes a second) is flooded. The validation throttle drops part
// of what arrives (more than a third of what enters validation, which
// turns pubsub's peer gater on); the flooder is cut off; and the honest
// proofs published meanwhile by the other nodes still all reach the
// victim, by gossip or, for those the throttle dropped (pubsub marks a
// message seen before it throttles it), by resync.
func TestValidationSaturation(t *testing.T) {
	const slow = time.Second
	tn := newTestNet(t, 10, netOptions{degree: 4, resync: 5 * time.Second, configure: func(i int, c *Config) {
		if i == 0 {
			c.slowValidate = slow
		}
	}})
	victim := tn.nodes[0]
	evilKey, err := wire.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	evil, et, evilCtx := tn.attacker(evilKey, victim)
	tn.waitMeshes()

	// The flood: 8,000 malformed messages, as fast as the attacker can
	// send them (well beyond the 1,024 validations in flight a topic
	// allows).
	done := make(chan struct{})
	go func() { // the attacker; joined through done
		defer close(done)
		for i := range 8000 {
			if err := et.Publish(evilCtx, fmt.Appendf(nil, "junk %d", i)); err != nil {
				return
			}
		}
	}()
	// Honest proofs from the other nodes during the flood: 5 a second for
	// 6 s.
	ctx := context.Background()
	var honest []cid.Cid
	for i := range 30 {
		time.Sleep(200 * time.Millisecond)
		issuer, subject := mustKey(t), mustKey(t)
		a := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, fmt.Sprintf("honest %d", i))
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(subject); err != nil {
			t.Fatal(err)
		}
		if err := tn.nodes[1+i%9].publish(ctx, a, c); err != nil {
			t.Fatal(err)
		}
		honest = append(honest, c.CID())
	}
	<-done
	st := victim.Stats()
	ratio := float64(st.Throttled) / float64(max(st.Validated, 1))
	t.Logf("victim: %d messages entered validation, %d throttled (%.2f), %d RPCs gated, %d rejected", st.Validated, st.Throttled, ratio, st.Gated, st.Rejected)
	if ratio <= 0.33 {
		t.Errorf("throttled/validated = %.2f: the flood did not saturate validation enough for the peer gater (> 0.33)", ratio)
	}

	held := func() int {
		k := 0
		for _, c := range honest {
			if ok, _ := victim.cfg.Store.Has(ctx, c); ok {
				k++
			}
		}
		return k
	}
	atEnd := held()
	took := tn.waitFor(30*time.Second, "every honest proof at the victim", func() bool { return held() == len(honest) })
	t.Logf("honest proofs at the victim: %d of %d when the flood ended, all %v later", atEnd, len(honest), took.Round(time.Millisecond))

	// The flooder is cut off, the honest peers are not.
	tn.waitFor(10*time.Second, "the flooder's score to fall below the graylist threshold", func() bool {
		s, ok := victim.scores()[evil]
		return ok && s < GraylistThreshold
	})
	for p, s := range victim.scores() {
		if p != evil && s < 0 {
			t.Errorf("the victim scores honest peer %s %.1f", p.ShortString(), s)
		}
	}
	if n, _ := victim.cfg.Store.Count(ctx); n != 2*len(honest) {
		t.Errorf("the victim stores %d objects, want the %d of the honest proofs", n, 2*len(honest))
	}
}
