// Package scenario is the file format of kith's simulator: one TOML file
// describes a population, its honest trust graph, the attackers and their
// behaviours, the network it runs on, the time steps, the seed, the
// engines to compare and their parameters, the sweeps over any of these
// fields, and the goals the scenario must meet.
//
// Parse decodes strictly (unknown keys are errors), fills the documented
// defaults and validates every field; its errors name the file, the field
// and, where the key is in the file, its line. A Scenario is a plain value:
// it holds no resources and is safe to share between goroutines once
// parsed, as long as nobody modifies it.
//
// # Two levels
//
// The graph level (package graphsim) runs every simulated person's
// subjective view with the real trust package on a graph; it measures the
// reputation attacks (sybil, slander, self-promotion, whitewash,
// collusion, traitor). The protocol level runs the real node (gossip,
// exchange, consent, resync) on a simulated network; its fields — the
// [network] latency, jitter, loss and partitions, [churn], consent
// withdrawals and the eclipse behaviour — are parsed and validated here so
// that one file serves both levels, and a graph-level run reports them as
// ignored (Scenario.ProtocolOnly). [consent] serves both: the protocol
// level runs the real consent exchange; the graph level gives each
// viewpoint only the attestations its node would hold (its own, the public
// consented ones within consent.hops, warnings shared with it). A scenario
// with no graph-level behaviour needs the protocol level
// (Scenario.GraphLevel is false).
//
// # Sweeps
//
// A [sweep] maps fields to lists of values; its cells are every
// combination, the first axis outermost (Cells). The scenario of one cell
// (At, CellScenarios) is the scenario as parsed, its defaults filled, with
// the cell's values set and validated again, so a value no scenario may
// take is an error naming the cell. Defaults that follow from another
// field (a traitor's turn_at from steps, a market's edges from nodes) keep
// the value the scenario's own fields gave them. name, description,
// engines, goal and sweep cannot be swept; 0 in a field whose zero means
// its default means the default.
//
// # Goals
//
// A [[goal]] names a metric of one level, a comparison and a threshold,
// the engine and behaviour it judges at the graph level, and optionally
// the cells it applies to (where) and another cell each is compared with
// (relative_to). JudgeGoals checks them on a run's results; every
// Outcome says met, missed, undefined or not run, with the value, its 95 %
// interval and whether the whole interval is on the side of the verdict.
//
// Encode writes a scenario back as TOML that Parse reads to the same
// scenario: kith sim run writes the effective scenario of a run (defaults
// filled, command-line overrides applied) with its results.
//
// # Format
//
//	name = "sybil"                 # required: [a-z0-9-]+
//	description = "..."            # one paragraph, shown by `kith sim list`
//	seed = 1                       # everything random follows from it (default 1)
//	steps = 1                      # time steps (default 1); traitors turn at a step
//	step = "1h"                    # duration of a step, for attestation times (default 1h)
//	viewpoints = 100               # querier viewpoints measured (default 100)
//	engines = ["kith", "ppr"]      # engines compared (default ["kith"])
//
//	[graph]                        # the honest population
//	kind = "barabasi-albert"       # barabasi-albert | watts-strogatz | market | dataset
//	nodes = 10000                  # population size (generators)
//	degree = 10                    # BA: vouches per newcomer; WS: ring neighbours (even)
//	rewire = 0.1                   # WS: rewiring probability
//	reciprocity = 0.3              # BA, WS: chance a vouch is answered
//	bad_share = 0.1                # share of honest-graph members who misbehave (ground truth)
//	noise = 0.05                   # chance a rating has the wrong sign
//	edges = 60000                  # market: ratings
//	path = "data/out.advogato"     # dataset: file, relative to the scenario file
//	format = "auto"                # dataset: snap | konect | kgraph (the simulator's graph file) | auto
//	labels = "gt.csv"              # dataset: optional node labels (+1 benign, -1 bad)
//
//	[[behaviour]]                  # zero or more attacker groups
//	kind = "sybil"                 # sybil | collusion | slander | self-promotion | whitewash | traitor | eclipse
//	size = 100                     # s: identities (sybil, collusion, slander, self-promotion), actors (whitewash, traitor)
//	attack_edges = 10              # g: vouches from honest members to the group
//	victims = "random"             # who gives the attack edges: random | targeted | near (the querier's contacts)
//	degree = 10                    # sybil: vouches per Sybil inside the region; eclipse: attacker connections
//	attack_weight = 0.5            # weight of an attack edge, (0, 1] (default 0.5)
//	targets = 10                   # slander: honest members slandered
//	target_choice = "targeted"     # slander: random | targeted (the most vouched-for)
//	turn_at = 5                    # traitor: the step at which traitors turn
//	bad_per_step = 2               # traitor: bad trades (each answered by a warning) per step after the turn
//	threshold = 50                 # traitor: detected once ranked below this percentile of honest members
//	attack = "withhold"            # eclipse: withhold | invalid | ihave | graft (see Behaviour.Attack)
//	attack_at = 0                  # eclipse: the step an active attack starts (covert flash when > 0)
//	join = "after"                 # eclipse: after (the honest network has started) | boot (cold boot)
//
//	[params.ppr]                   # engine parameters, by engine (checked by the runner)
//	damping = 0.9
//
//	[[goal]]                       # what the scenario must achieve (see Goal)
//	metric = "accepted_per_attack_edge"
//	compare = "<="
//	threshold = 9.2
//	where = { attack_edges = [1, 10] }
//
//	[sweep]                        # optional: every combination of these values is a cell
//	size = [100, 1000, 10000]      # shorthand: every behaviour's s
//	attack_edges = [1, 10, 100]    # shorthand: every behaviour's g (not traitors')
//	behaviour.victims = ["random", "near"]  # a field of every behaviour
//	"behaviour[1].attack_weight" = [0.2, 1] # of one behaviour
//	consent.grant = [0.5, 0.9]     # any field: a table and its key
//	params.ppr.damping = [0.5, 0.85]
//	seed = [1, 2, 3]               # independent replicates
//
//	[network]                      # protocol level only
//	latency = "25ms"
//	jitter = 0.1                   # share of the latency
//	loss = 0.05                    # share of packets lost
//	bandwidth = 10                 # Mbit/s each way per node (default 100)
//	[[network.partition]]
//	at = 2                         # step the partition starts
//	heal = 4                       # step it heals (> at)
//	groups = 2                     # parts the population is split into
//
//	[churn]                        # protocol level only
//	rate = 0.1                     # share of nodes that restart per step
//	downtime = 1                   # steps a restarted node stays down
//
//	[consent]                      # both levels (revoke and hops: one level each)
//	public = 0.5                   # share of attestations made public
//	grant = 0.9                    # chance a subject consents to a public statement
//	revoke = 0.01                  # chance per step a subject withdraws consent (protocol)
//	hops = 2                       # how far consented proofs reach a querier (graph; 0: unlimited)
package scenario
