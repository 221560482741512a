// Package graphsim is the graph level of kith's simulator: it runs a
// scenario (package scenario) by computing, for many simulated people,
// their own subjective view of an attacked trust graph with the real trust
// package, and measures what the attack achieved from each viewpoint.
//
// # A run
//
// Run builds the honest population (a Barabási-Albert or Watts-Strogatz
// graph whose members rate each other by a ground truth of who
// misbehaves, a synthetic market from package gen, or a dataset file),
// draws the viewpoints (members in good standing who vouch for someone),
// and for every sweep cell injects the behaviours: new identities for
// Sybils, colluders, slanderers and promoters, attack edges from honest
// victims (random, targeted: the most vouched-for, or near: the querier's
// closest contacts, which gives each viewpoint its own attacked graph),
// fresh keys for whitewashers, warnings that answer traitors' bad trades
// step by step. Every engine then scores every viewpoint.
//
// kith's own engines (trust.Engine) take the attack as a node does: the
// view is computed on the graph without the edges honest members give the
// attackers, then those edges are applied incrementally (trust.View.SetOut),
// and a traitor's warnings step by step; the view before the attack edges
// is the reference for the costs. The other engines score whole graphs.
// Both paths agree within the propagation's error (a test checks it). A
// personalising engine ("kith") refines its model on the querier's own
// judgements once per viewpoint, on its first view.
//
// With a [consent] section each viewpoint scores only what its own node
// would hold (see consentView): its owner's attestations, the public
// consented vouches within consent.hops of it, and the warnings of those
// who vouch for it. Every viewpoint then gets its own graphs.
//
// Viewpoints are independent and run on Options.Workers goroutines, joined
// before Run returns; ctx cancels them. Every random choice comes from a
// PCG generator derived from the scenario's seed and a name per purpose,
// and every result lands in a fixed slot, so the same scenario and seed
// give byte-identical CSV and JSON whatever the number of workers.
//
// # Sweeps, populations and shards
//
// The cells of a scenario's sweep (package scenario) that share a graph,
// a seed and a number of viewpoints form one population: it is built
// once, its viewpoints drawn once, and each viewpoint measures every cell
// of it. Engine parameters ([params.NAME]) may differ between cells; each
// distinct set gets its own scorer. The work of a run is a list of units,
// one viewpoint of one population each, numbered population after
// population. RunShard measures the units of one shard (those numbered I
// modulo N), rebuilding from the scenario alone only the populations it
// needs, and returns their values (Partial: a few hundred bytes per
// viewpoint, JSON with floats that read back exactly). Merge checks that
// the partials are every shard of one run (the same scenario digest and
// build) and reduces them exactly as Run does, which is RunShard 0/1
// followed by Merge: a sharded run is byte-identical to a run in one
// process (TestShardProcesses runs the shards as separate processes,
// TestClusterScripts through simulations/cluster's Slurm script and
// Kubernetes Job).
//
// A population can be written to a graph file (WriteGraph,
// spec/sim-graph-v1.md) and loaded by a scenario ([graph] kind = "dataset",
// format "kgraph" or "auto"): every shard then reads it instead of
// generating it, with the same results.
//
// # Outputs
//
// A Result holds one Row per cell, engine, behaviour and metric: the mean
// over the viewpoints, its standard error and its 95 % confidence interval
// (Student's t), the count of viewpoints that defined it, and the values
// of the swept fields (Result.Axes). WriteCSV writes them as one tidy
// table across the sweep; WriteViewpointsCSV writes the values the means
// are taken over, one row per viewpoint and metric. Result.Provenance names
// the build (Software: module version, VCS commit or the Commit variable,
// Go version), the SHA-256 of the effective scenario, and every engine's
// parameters and model digest; Result.Populations the SHA-256 of each
// population's graph file. Result.Goals are the scenario's graph-level
// goals judged in every cell. Plot and Compare draw figures (300 dpi PNG
// beside SVG, a panel per engine with scales of its own, logarithmic axes
// where values span decades, error bars the 95 % intervals, titles naming
// the scenario and the cell, a caption naming the build). Meter measures
// what a run cost and what else the machine ran (Machine), which differs
// from run to run and is kept out of the results.
//
// # Metrics
//
// Each viewpoint gives one value per metric (the mean over the behaviour's
// subjects where there are several); a Row gives their mean, standard
// error and count. Scores with no evidence rank below every scored node.
// Percentiles and the median honest member are taken over a fixed sample
// of up to 10,000 honest members (the querier excluded).
//
//   - accuracy (behaviour "honest"): AUC of the querier's scores separating
//     members who behave from those who misbehave (up to 2,000 of each,
//     fixed per run). accuracy_cost: the reference view's accuracy minus
//     the attacked view's — the cost of the attack to honest accuracy.
//     The reference is the graph without the attack edges, which for
//     sybil, collusion and self-promotion scores honest members as the
//     honest graph does (the attackers are unreachable); with slander or
//     whitewashing it is the honest graph itself.
//   - honest_coverage (behaviour "honest"): the share of honest members
//     (sample) the querier's view has evidence about under attack — the
//     honest acceptance of reliability S1(c).
//   - captured_trust: the share of the querier's positive trust (kith: its
//     propagation mass; other engines: their positive scores, or
//     eval.TrustMasser), itself excluded, that lands on the group's
//     identities.
//   - accepted_per_attack_edge: group identities with evidence scored
//     strictly above the median honest member, divided by the attack edges
//     actually placed (simulations/eval's Task C definition). It is capped
//     at s/g: accepted_share is the share of the group's identities
//     accepted, accepted_capped 1 for a viewpoint that accepted every one
//     (its mean: the share of viewpoints at the cap), and a goal on
//     accepted_per_attack_edge says when its value is at the cap.
//   - auc_honest_vs_attacker: AUC of honest members (sample) against the
//     group's identities (up to 10,000, evenly spaced): 1 means every
//     honest member ranks above every attacker.
//   - victim_rank_drop (slander): the targets' percentile in the reference
//     view minus their percentile under attack, in percentiles;
//     victims_pushed_below_median: the share of targets at or above the
//     median before and below it after.
//   - promoted_percentile (self-promotion): the promoted identity's
//     percentile among honest members.
//   - whitewash_benefit: the new identity's percentile minus the old one's
//     (new_identity_percentile, old_identity_percentile); > 0 means
//     whitewashing pays.
//   - traitor_percentile_before_turn; detection_delay: steps of treason
//     until the traitor ranks below its threshold percentile (over the
//     detected ones); bad_trades_before_detection: detection_delay times
//     bad_per_step; undetected_share: traitors still above the threshold
//     at the last step.
package graphsim
