package protosim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kith-net/kith/simulations/scenario"
)

// raid is a small network under one active attack (%s), whose attackers
// join at %s and start at step %d (a covert flash when > 0: until then
// they only hold their mesh places).
const raid = `
name = "raid"
seed = 5
steps = 12
step = "1s"

[graph]
kind = "barabasi-albert"
nodes = 16
degree = 2

[[behaviour]]
kind = "eclipse"
size = 12
degree = 8
attack = %q
join = %q
attack_at = %d

[network]
latency = "10ms"

[consent]
public = 1.0
grant = 1.0
`

// TestActiveAttacks runs each active attack in virtual time and checks
// that every honest node that met an attacker graylisted it, a few
// heartbeats after the attack began, that no honest peer was graylisted,
// and that every proof still reached every node.
func TestActiveAttacks(t *testing.T) {
	run := func(t *testing.T, s *scenario.Scenario) *Result {
		var res *Result
		synctest.Test(t, func(t *testing.T) {
			var err error
			if res, err = Run(context.Background(), s, Options{Virtual: true, Drain: time.Minute}); err != nil {
				t.Fatal(err)
			}
		})
		return res
	}
	// The control: the same network without the attackers.
	src := fmt.Sprintf(raid, "withhold", "after", 0)
	src = src[:strings.Index(src, "[[behaviour]]")] + src[strings.Index(src, "[network]"):]
	cs, err := scenario.Parse([]byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	control := run(t, cs)
	t.Logf("control: delivery %.4f (%d/%d), p99 %v", control.Delivery, control.Delivered, control.Expected, control.LatencyP99)
	for _, c := range []struct {
		mode, join string
		at         int
	}{
		{scenario.AttackInvalid, scenario.JoinAfter, 4},
		{scenario.AttackIHave, scenario.JoinAfter, 4},
		{scenario.AttackGraft, scenario.JoinAfter, 4},
		// A cold boot: each node meets its attackers as it starts, and
		// they attack from the first step.
		{scenario.AttackInvalid, scenario.JoinBoot, 0},
	} {
		mode := c.mode
		t.Run(c.mode+"-"+c.join, func(t *testing.T) {
			s, err := scenario.Parse(fmt.Appendf(nil, raid, c.mode, c.join, c.at), "")
			if err != nil {
				t.Fatal(err)
			}
			res := run(t, s)
			t.Logf("%s: graylisted %.3f of %d pairs, after p50 %v max %v; honest graylisted %d; delivery %.4f (%d/%d), p99 %v, after the attack began %v",
				mode, res.Graylisted, res.GraylistPairs, res.GraylistP50, res.GraylistMax, res.HonestGraylisted,
				res.Delivery, res.Delivered, res.Expected, res.LatencyP99, res.AttackLatencyP99)
			if res.GraylistPairs < s.Behaviours[0].Size {
				t.Errorf("%d (honest node, attacker) pairs met after the attack began; want at least one per attacker (%d)", res.GraylistPairs, s.Behaviours[0].Size)
			}
			if res.Graylisted != 1 {
				t.Errorf("%.3f of the pairs graylisted; want all", res.Graylisted)
			}
			// Virtual time: the protocol's own timers (heartbeat 1 s,
			// IWANT follow-up 3 s, score snapshot 1 s), not this machine.
			if res.GraylistMax > 8*time.Second {
				t.Errorf("the last pair graylisted %v after the attack began", res.GraylistMax)
			}
			if res.HonestGraylisted != 0 {
				t.Errorf("%d (honest node, honest peer) pairs graylisted", res.HonestGraylisted)
			}
			if res.Delivery != 1 {
				t.Errorf("delivery %.4f (%d/%d)", res.Delivery, res.Delivered, res.Expected)
			}
			// The goal of the gossipsub v1.1 evaluation: once the
			// attackers are graylisted, latency is the control's, within
			// a factor of 2.
			if res.AttackLatencyP99 <= 0 || res.AttackLatencyP99 > 2*control.LatencyP99 {
				t.Errorf("p99 after the attack began %v; the control's p99 %v", res.AttackLatencyP99, control.LatencyP99)
			}
		})
	}
}
