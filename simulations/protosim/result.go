package protosim

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Result is what a protocol-level run measured. Durations are written in
// milliseconds or seconds as their JSON names say.
type Result struct {
	Scenario      string        `json:"scenario"`
	Seed          uint64        `json:"seed"`
	Nodes         int           `json:"nodes"`     // honest nodes
	Attackers     int           `json:"attackers"` // eclipse attackers
	Steps         int           `json:"steps"`
	Step          time.Duration `json:"-"`
	Latency       time.Duration `json:"-"` // one-way link latency
	Jitter        float64       `json:"jitter"`
	Loss          float64       `json:"loss"`
	BandwidthMbit float64       `json:"bandwidth_mbit"`
	Ignored       []string      `json:"ignored,omitempty"`
	// Cell holds the values of the swept fields of the cell this run
	// measured (nil without a sweep).
	Cell map[string]string `json:"cell,omitempty"`
	// Clock is "real" (the nodes ran in real time, sharing this machine)
	// or "virtual" (inside a testing/synctest bubble: Options.Virtual).
	Clock string `json:"clock"`

	// Plan is a digest of the workload the seed fixed: every attestation
	// made (step, issuer, subject, kind, audience, nonce, reason, and the
	// consent its subject will give), every node stopped, every partition.
	// Two runs of a scenario with one seed have the same Plan, on either
	// clock; what the network then does with the workload (arrival
	// times, which requests arrived by which step, bytes) depends on
	// timing and is not reproducible to the byte.
	Plan string `json:"plan"`

	Attestations int `json:"attestations"` // made by honest nodes
	Private      int `json:"private"`      // of which private (warnings and some vouches)
	Requested    int `json:"requested"`    // of which public: consent requested
	// RequestsLost counts consent requests that never reached their
	// subject's node by the end of the run.
	RequestsLost int `json:"requests_lost"`
	Granted      int `json:"granted"`
	Declined     int `json:"declined"`
	Withdrawn    int `json:"withdrawn"`
	SkippedDown  int `json:"skipped_down"` // ratings not made because the issuer was down
	Restarts     int `json:"restarts"`

	// Stranded counts consented statements that never left their
	// subject's node, down at the end since just after approving (they go
	// out when it is back); they are not counted in Proofs.
	Stranded int `json:"stranded"`
	// Proofs is the consented statements still in circulation at the end;
	// Expected counts (proof, node) pairs over the nodes up at the end
	// (the subject excepted), Delivered those that arrived.
	Proofs    int     `json:"proofs"`
	Expected  int     `json:"expected"`
	Delivered int     `json:"delivered"`
	Delivery  float64 `json:"delivery"`
	// Latencies from the subject's approval to each node storing the proof.
	LatencyP50 time.Duration `json:"-"`
	LatencyP99 time.Duration `json:"-"`
	LatencyMax time.Duration `json:"-"`
	// WithdrawalsDelivered counts withdrawals that reached every node up
	// at the end that holds the proof; StaleHolders counts the (withdrawn
	// proof, node) pairs where the proof arrived and its withdrawal did not.
	WithdrawalsExpected  int `json:"withdrawals_expected"`
	WithdrawalsDelivered int `json:"withdrawals_delivered"`
	StaleHolders         int `json:"stale_holders"`
	// HealConvergence is how long after the (last) heal the last proof
	// made before it reached its last node; Converged says whether every
	// proof did. Zero without partitions.
	HealConvergence time.Duration `json:"-"`
	Converged       bool          `json:"converged"`

	BytesSent          int64   `json:"bytes_sent"` // by honest nodes, UDP payloads
	BytesPerNodeSecond float64 `json:"bytes_per_node_second"`
	BytesPerDelivery   float64 `json:"bytes_per_delivery"`
	PacketsLost        float64 `json:"packets_lost"` // share lost to loss and partitions

	// PrivateLeaks counts private attestations (or their canaries) found
	// on a node other than their issuer; UnconsentedLeaks, public
	// statements whose subject declined found on a third node. Both must
	// be 0.
	PrivateLeaks     int `json:"private_leaks"`
	UnconsentedLeaks int `json:"unconsented_leaks"`

	AttackerConns int `json:"attacker_connections"`
	// PeersTrusted is the mean number of keys an honest node up at the end
	// trusted above neutral at its last refresh (PeerTrustRefresh): the
	// peers its gossip score favours, as a daemon's would.
	PeersTrusted float64 `json:"peers_trusted"`
	// Active attackers (a behaviour's attack invalid, ihave or graft):
	// Graylisted is the share of (honest node, active attacker) pairs,
	// connected after the attacker's group began, whose score at the
	// honest node fell below node.GraylistThreshold by the end, and
	// GraylistP50 and GraylistMax how long after the attack began it did.
	// Scores are sampled at the end of every step, from the snapshot
	// pubsub refreshes every second: the times are at that resolution.
	// HonestGraylisted counts (honest node, honest peer) pairs ever seen
	// below the threshold: the attack's collateral, 0 when all is well.
	Graylisted       float64       `json:"attackers_graylisted"`
	GraylistPairs    int           `json:"graylist_pairs"`
	GraylistP50      time.Duration `json:"-"`
	GraylistMax      time.Duration `json:"-"`
	HonestGraylisted int           `json:"honest_graylisted"`
	// AttackLatencyP99 is the p99 latency of the deliveries of proofs
	// approved from the first active attack's step on (0 without one):
	// the attack's cost to the protocol, beside the whole run's.
	AttackLatencyP99 time.Duration `json:"-"`

	Duration time.Duration `json:"-"` // time the run took on its clock, drain included
	Drained  time.Duration `json:"-"` // wait after the last step
	// MaxLag is the largest delay of a step's end against the clock, and
	// ClockBehind that delay over the simulated time; FellBehind says it
	// exceeds MaxBehind: the run's timings then include this machine's
	// queueing, and its figures are marked. (In virtual time steps take
	// the time their work needs and the clock waits: 0.)
	MaxLag      time.Duration `json:"-"`
	ClockBehind float64       `json:"clock_behind"`
	FellBehind  bool          `json:"fell_behind"`

	Timeline []Tick `json:"timeline"`
}

// Tick is the network's state at the end of one step.
type Tick struct {
	Step        int     `json:"step"`
	Seconds     float64 `json:"seconds"`
	Up          int     `json:"up"` // honest nodes running
	Partitioned bool    `json:"partitioned"`
	Proofs      int     `json:"proofs"`     // in circulation so far
	Delivered   float64 `json:"delivered"`  // share of (proof, node up) pairs delivered
	BytesSent   int64   `json:"bytes_sent"` // so far, by honest nodes
	// Peers is the mean number of peers an honest node up is connected to
	// (attackers included).
	Peers float64 `json:"peers"`
	// BehindS is how late the step ended against the clock, in seconds.
	BehindS float64 `json:"behind_s"`
	// Approved counts the proofs approved during this step that are in
	// circulation at the end, and LatencyP50MS and LatencyP99MS are the
	// latencies of their deliveries (filled in once the run is over; 0
	// without deliveries): when in the run proofs were slow.
	Approved     int     `json:"approved"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	// Drain marks the last tick: after the wait for the last deliveries.
	Drain bool `json:"drain,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// units are the JSON fields of a Result's durations, in the units their
// names say, and the level.
type units struct {
	Level            string  `json:"level"`
	StepS            float64 `json:"step_s"`
	LatencyMS        float64 `json:"latency_ms"`
	LatencyP50MS     float64 `json:"latency_p50_ms"`
	LatencyP99MS     float64 `json:"latency_p99_ms"`
	LatencyMaxMS     float64 `json:"latency_max_ms"`
	HealConvergenceS float64 `json:"heal_convergence_s"`
	DurationS        float64 `json:"duration_s"`
	DrainedS         float64 `json:"drained_s"`
	MaxLagS          float64 `json:"max_lag_s"`
	GraylistP50S     float64 `json:"graylist_p50_s"`
	GraylistMaxS     float64 `json:"graylist_max_s"`
	AttackP99MS      float64 `json:"attack_latency_p99_ms"`
}

// MarshalJSON writes the durations in the units their names say.
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		*plain
		units
	}{(*plain)(r), units{Level, r.Step.Seconds(), ms(r.Latency), ms(r.LatencyP50), ms(r.LatencyP99), ms(r.LatencyMax),
		r.HealConvergence.Seconds(), r.Duration.Seconds(), r.Drained.Seconds(), r.MaxLag.Seconds(),
		r.GraylistP50.Seconds(), r.GraylistMax.Seconds(), ms(r.AttackLatencyP99)}})
}

// readResult reads one Result as MarshalJSON writes it.
func readResult(raw []byte) (*Result, error) {
	type plain Result
	var x struct {
		plain
		units
	}
	if err := json.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("protosim: results: %w", err)
	}
	if x.Level != Level {
		return nil, fmt.Errorf("protosim: results of level %q, not %q", x.Level, Level)
	}
	res := Result(x.plain)
	d := func(v, unit float64) time.Duration { return time.Duration(math.Round(v * unit)) }
	res.Step, res.Latency = d(x.StepS, float64(time.Second)), d(x.LatencyMS, float64(time.Millisecond))
	res.LatencyP50, res.LatencyP99, res.LatencyMax = d(x.LatencyP50MS, float64(time.Millisecond)), d(x.LatencyP99MS, float64(time.Millisecond)), d(x.LatencyMaxMS, float64(time.Millisecond))
	res.HealConvergence, res.Duration, res.Drained = d(x.HealConvergenceS, float64(time.Second)), d(x.DurationS, float64(time.Second)), d(x.DrainedS, float64(time.Second))
	res.MaxLag = d(x.MaxLagS, float64(time.Second))
	res.GraylistP50, res.GraylistMax = d(x.GraylistP50S, float64(time.Second)), d(x.GraylistMaxS, float64(time.Second))
	res.AttackLatencyP99 = d(x.AttackP99MS, float64(time.Millisecond))
	return &res, nil
}

// Level names the protocol level in results.json ("level").
const Level = "protocol"
