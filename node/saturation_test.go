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

// G5 of the reliability plan: a victim whose validation cannot keep up is
// flooded. Its validation is held (no message from another peer finishes
// validating) until the flood has filled the topic's 1,024 validations in
// flight twice over, so saturation is a state the test reaches, whatever
// the machine's speed. The validation throttle then drops part of what
// arrives (more than a third of what enters validation, which turns pubsub's
// peer gater on); honest proofs published meanwhile by the other nodes are
// throttled too; once validation resumes, the flooder is cut off, and every
// honest proof reaches the victim, by gossip or, for those the throttle
// dropped (pubsub marks a message seen before it throttles it), by resync.
func TestValidationSaturation(t *testing.T) {
	hold := make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	tn := newTestNet(t, 10, netOptions{degree: 4, resync: 5 * time.Second, configure: func(i int, c *Config) {
		if i == 0 {
			c.holdValidate = hold
		}
	}})
	victim := tn.nodes[0]
	evilKey, err := wire.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	evil, et, evilCtx := tn.attacker(evilKey, victim)
	tn.waitMeshes()

	// The flood: malformed messages, as fast as the attacker can send
	// them, until the victim has taken in twice the validations in flight
	// a topic allows (or 100,000 messages were sent).
	const saturated = 2 * 1024
	arrived := func() int64 {
		st := victim.Stats()
		return st.Validated + st.Throttled
	}
	stop := make(chan struct{})
	done := make(chan int)
	go func() { // the attacker; joined through done
		sent := 0
		defer func() { done <- sent }()
		for ; sent < 100_000; sent++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := et.Publish(evilCtx, fmt.Appendf(nil, "junk %d", sent)); err != nil {
				return
			}
		}
	}()
	tn.waitFor(2*time.Minute, "the flood to saturate the victim's validation", func() bool { return arrived() >= saturated })

	// Honest proofs from the other nodes during the flood.
	ctx := context.Background()
	var honest []cid.Cid
	for i := range 30 {
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
	close(stop)
	sent := <-done
	st := victim.Stats()
	ratio := float64(st.Throttled) / float64(max(st.Validated, 1))
	t.Logf("attacker sent %d messages; victim: %d entered validation, %d throttled (%.2f), %d RPCs gated, %d rejected", sent, st.Validated, st.Throttled, ratio, st.Gated, st.Rejected)
	if ratio <= 0.33 {
		t.Errorf("throttled/validated = %.2f: the flood did not saturate validation enough for the peer gater (> 0.33)", ratio)
	}
	release()

	held := func() int {
		k := 0
		for _, c := range honest {
			if ok, _ := victim.cfg.Store.Has(ctx, c); ok {
				k++
			}
		}
		return k
	}
	atRelease := held()
	took := tn.waitFor(2*time.Minute, "every honest proof at the victim", func() bool { return held() == len(honest) })
	t.Logf("honest proofs at the victim: %d of %d when validation resumed, all %v later", atRelease, len(honest), took.Round(time.Millisecond))

	// The flooder is cut off, the honest peers are not.
	tn.waitFor(time.Minute, "the flooder's score to fall below the graylist threshold", func() bool {
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
