package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// MaxSize caps the scenario files Parse accepts (1 MiB).
const MaxSize = 1 << 20

// Limits on sizes, so that a typo cannot ask for a graph no machine holds.
const (
	MaxNodes      = 50_000_000
	MaxSteps      = 100_000
	MaxViewpoints = 10_000_000
	// MaxClique caps colluding cliques and slanderer groups, whose
	// members all vouch for each other.
	MaxClique = 2000
)

// The graph kinds.
const (
	GraphBarabasiAlbert = "barabasi-albert"
	GraphWattsStrogatz  = "watts-strogatz"
	GraphMarket         = "market"
	GraphDataset        = "dataset"
)

// The behaviour kinds. Eclipse is protocol level; the others are measured
// at the graph level.
const (
	Sybil         = "sybil"
	Collusion     = "collusion"
	Slander       = "slander"
	SelfPromotion = "self-promotion"
	Whitewash     = "whitewash"
	Traitor       = "traitor"
	Eclipse       = "eclipse"
)

// The victim choices: which honest members give the attack edges.
const (
	VictimsRandom   = "random"   // uniform among members who vouch for someone
	VictimsTargeted = "targeted" // the most vouched-for members
	VictimsNear     = "near"     // the querier's closest contacts, breadth first (one attacked graph per viewpoint)
)

// FormatGraphFile is the simulator's binary graph file (a population with
// its ground truth: see spec/sim-graph-v1.md); "auto" recognises it too.
const FormatGraphFile = "kgraph"

// ErrInvalid is wrapped by every error about a scenario's content.
var ErrInvalid = errors.New("invalid scenario")

// Scenario is one simulation. Parse fills the defaults documented on each
// field.
type Scenario struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// Seed: the same scenario and seed give the same results (default 1).
	Seed uint64 `toml:"seed"`
	// Steps is the number of time steps (default 1). Behaviours are in
	// place from the start; traitors turn at TurnAt.
	Steps int `toml:"steps"`
	// Step is the duration of a time step (default 1h): attestations made
	// at step k carry the time k·Step.
	Step Duration `toml:"step"`
	// Viewpoints is the number of querier viewpoints measured (default
	// 100), drawn from the honest members who vouch for someone.
	Viewpoints int `toml:"viewpoints"`
	// Engines to compare (default ["kith"]). The names are checked by the
	// runner, which knows the engines.
	Engines    []string    `toml:"engines"`
	Graph      Graph       `toml:"graph"`
	Behaviours []Behaviour `toml:"behaviour"`
	// Sweep is the [sweep] section (written last by Encode).
	Sweep Sweep `toml:"-"`
	// Protocol level only.
	Network *Network `toml:"network"`
	Churn   *Churn   `toml:"churn"`
	Consent *Consent `toml:"consent"`
	// Params sets engine parameters ([params.ppr] damping = 0.9): engine
	// name, then parameter name. The graph level checks them (it knows
	// the engines).
	Params map[string]map[string]any `toml:"params"`
	// Goals are what the scenario must achieve (see Goal).
	Goals []Goal `toml:"goal"`

	// File is where the scenario was read from ("" if from bytes); dataset
	// paths are relative to its directory.
	File string `toml:"-"`
	// lines maps a field path ("behaviour[1].size") to its line.
	lines map[string]int
}

// Graph describes the honest population and how its members rate each
// other.
type Graph struct {
	Kind string `toml:"kind"`
	// Nodes is the population size of a generated graph.
	Nodes int `toml:"nodes"`
	// Degree: Barabási-Albert, the vouches each newcomer gives (default
	// 5); Watts-Strogatz, the ring neighbours each member vouches for
	// (even, default 10).
	Degree int `toml:"degree"`
	// Rewire is the Watts-Strogatz rewiring probability (default 0.1).
	Rewire float64 `toml:"rewire"`
	// Reciprocity is the chance a vouch is answered by one back (default
	// 0.3).
	Reciprocity float64 `toml:"reciprocity"`
	// BadShare is the share of members who misbehave: the others warn
	// about them instead of vouching (default 0.1). It is the ground
	// truth of honest accuracy.
	BadShare float64 `toml:"bad_share"`
	// Noise is the chance a rating has the wrong sign (default 0.05).
	Noise float64 `toml:"noise"`
	// Edges is the number of ratings of a market (default 6·Nodes).
	Edges int `toml:"edges"`
	// Path, Format and Labels load a dataset (see package dataset); Path
	// and Labels are relative to the scenario file's directory.
	Path   string `toml:"path"`
	Format string `toml:"format"`
	Labels string `toml:"labels"`
}

// Behaviour is a group of attackers (or, for traitors and whitewashers,
// members who turn bad).
type Behaviour struct {
	Kind string `toml:"kind"`
	// Size is s: the identities the group controls (sybil, collusion,
	// slander, self-promotion, eclipse) or the members who act
	// (whitewash, traitor). Default 100 for sybil, collusion and eclipse,
	// 10 otherwise, 1 for traitor and whitewash.
	Size int `toml:"size"`
	// AttackEdges is g: vouches from honest members to the group (default
	// 10). Whitewashers regain g vouches under their new identity.
	AttackEdges int `toml:"attack_edges"`
	// Victims chooses the honest members giving the attack edges (default
	// random).
	Victims string `toml:"victims"`
	// Degree: sybil, the vouches each Sybil gives inside the region
	// (default 10); eclipse, the connections of each attacker (default
	// 100).
	Degree int `toml:"degree"`
	// AttackWeight is the weight of each attack edge, in (0, 1] (default
	// 0.5).
	AttackWeight float64 `toml:"attack_weight"`
	// Targets is the number of honest members slandered (default 10).
	Targets int `toml:"targets"`
	// TargetChoice picks the slandered: random or targeted, the most
	// vouched-for (default targeted).
	TargetChoice string `toml:"target_choice"`
	// TurnAt is the step at which traitors turn (default steps/2).
	TurnAt int `toml:"turn_at"`
	// BadPerStep is the number of bad trades a traitor makes per step
	// after turning; each is answered by a warning (default 2).
	BadPerStep int `toml:"bad_per_step"`
	// Threshold is the percentile of honest members below which a traitor
	// counts as detected (default 50: below the median).
	Threshold float64 `toml:"threshold"`
	// Attack is what eclipse attackers do (protocol level): withhold
	// (default: join the proofs topic and forward nothing), or, speaking
	// gossipsub by hand, one of the active attacks: invalid (flood their
	// targets with proofs that fail validation), ihave (advertise message
	// IDs they never deliver: IHAVE spam and broken IWANT promises) or
	// graft (PRUNE and GRAFT again within the backoff: GRAFT spam).
	Attack string `toml:"attack"`
	// AttackAt is the step at which active attackers start (default 0):
	// a covert flash when > 0, all of them at once after holding their
	// mesh places quietly. Withholding attackers have nothing to start.
	AttackAt int `toml:"attack_at"`
	// Join is when eclipse attackers connect: after (default: once every
	// honest node has started and bootstrapped) or boot (a cold boot:
	// each honest node meets its attackers as it starts, before its mesh
	// has formed).
	Join string `toml:"join"`
}

// When eclipse attackers connect (Behaviour.Join).
const (
	JoinAfter = "after"
	JoinBoot  = "boot"
)

// The eclipse attacks (Behaviour.Attack).
const (
	AttackWithhold = "withhold"
	AttackInvalid  = "invalid"
	AttackIHave    = "ihave"
	AttackGraft    = "graft"
)

// Network is the simulated network of the protocol level.
type Network struct {
	Latency Duration `toml:"latency"`
	Jitter  float64  `toml:"jitter"` // share of Latency, [0, 1]
	Loss    float64  `toml:"loss"`   // packet loss, [0, 1)
	// Bandwidth is each node's link speed, each way, in Mbit/s (0: the
	// protocol level's default, 100).
	Bandwidth  float64     `toml:"bandwidth"`
	Partitions []Partition `toml:"partition"`
}

// Partition splits the population into Groups parts from step At until
// step Heal.
type Partition struct {
	At     int `toml:"at"`
	Heal   int `toml:"heal"`
	Groups int `toml:"groups"`
}

// Churn restarts a share of the nodes every step (protocol level).
type Churn struct {
	Rate     float64 `toml:"rate"`
	Downtime int     `toml:"downtime"`
}

// Consent describes how subjects consent to public statements about them
// (protocol level).
type Consent struct {
	Public float64 `toml:"public"`
	Grant  float64 `toml:"grant"`
	Revoke float64 `toml:"revoke"`
	Hops   int     `toml:"hops"`
}

// Duration is a time.Duration written as a Go duration string ("25ms").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	x, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if x < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	d.Duration = x
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(b, path)
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Parse decodes a scenario strictly, fills its defaults and validates it.
// file names the source in errors and anchors relative dataset paths.
func Parse(b []byte, file string) (*Scenario, error) {
	where := file
	if where == "" {
		where = "scenario"
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", where, ErrInvalid, MaxSize)
	}
	return parse(b, file, true)
}

// document is a scenario file as decoded: the sweep is a table of paths.
type document struct {
	Scenario
	Sweep map[string]any `toml:"sweep"`
}

// parse is Parse after the size check.
func parse(b []byte, file string, cells bool) (*Scenario, error) {
	where := file
	if where == "" {
		where = "scenario"
	}
	var d document
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, decodeError(where, err)
	}
	s := d.Scenario
	s.File = file
	s.lines = keyLines(b)
	sw, err := s.sweepOf(d.Sweep)
	if err != nil {
		return nil, s.errorf(where, err)
	}
	s.Sweep = sw
	if err := s.fill(); err != nil {
		return nil, s.errorf(where, err)
	}
	if cells && len(s.Sweep.Axes) > 0 {
		if _, err := s.CellScenarios(); err != nil {
			return nil, s.errorf(where, err)
		}
	}
	return &s, nil
}

// parseCell decodes and validates the scenario of one cell, returning
// validation errors unwrapped (the caller places them in the sweep).
func parseCell(b []byte, file string) (*Scenario, error) {
	var s Scenario
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var se *toml.StrictMissingError
		if errors.As(err, &se) && len(se.Errors) > 0 {
			return nil, fmt.Errorf("no field %s", strings.Join(se.Errors[0].Key(), "."))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("%s: %s", strings.Join(de.Key(), "."), de.Error())
		}
		return nil, err
	}
	s.File = file
	if err := s.fill(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Encode writes the scenario as a TOML file that Parse reads back to the
// same scenario, defaults filled: the effective scenario of a run.
func (s *Scenario) Encode() ([]byte, error) {
	b, err := toml.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("scenario: encode: %w", err)
	}
	buf := bytes.NewBuffer(b)
	if err := s.Sweep.encode(buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Portable returns a copy of s whose dataset paths are absolute, so that
// its encoding reads the same files from any directory.
func (s *Scenario) Portable() (*Scenario, error) {
	c := *s
	for _, p := range []*string{&c.Graph.Path, &c.Graph.Labels} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(s.Resolve(*p))
		if err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
		*p = abs
	}
	return &c, nil
}

// decodeError turns go-toml's errors into "file:line:col: message" lines.
func decodeError(where string, err error) error {
	var se *toml.StrictMissingError
	if errors.As(err, &se) && len(se.Errors) > 0 {
		var parts []string
		for i, e := range se.Errors {
			row, col := e.Position()
			if i == 0 {
				parts = append(parts, fmt.Sprintf("unknown field %q", strings.Join(e.Key(), ".")))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s:%d:%d: unknown field %q", where, row, col, strings.Join(e.Key(), ".")))
		}
		row, col := se.Errors[0].Position()
		return fmt.Errorf("%s:%d:%d: %w: %s", where, row, col, ErrInvalid, strings.Join(parts, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("%s:%d:%d: %w: %s: %s", where, row, col, ErrInvalid, key, de.Error())
		}
		return fmt.Errorf("%s:%d:%d: %w: %s", where, row, col, ErrInvalid, de.Error())
	}
	return fmt.Errorf("%s: %w: %v", where, ErrInvalid, err)
}

// fieldError is a validation error about one field.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func bad(field, format string, args ...any) error {
	return &fieldError{field, fmt.Sprintf(format, args...)}
}

// errorf places a validation error at its field's line when the field is
// in the file.
func (s *Scenario) errorf(where string, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		if line, ok := s.lineOf(fe.field); ok {
			return fmt.Errorf("%s:%d: %w: %s", where, line, ErrInvalid, fe)
		}
	}
	return fmt.Errorf("%s: %w: %v", where, ErrInvalid, err)
}

// lineOf finds the line of a field, or of the nearest enclosing table.
func (s *Scenario) lineOf(field string) (int, bool) {
	for f := field; f != ""; {
		if l, ok := s.lines[f]; ok {
			return l, true
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0, false
}

func (s *Scenario) fill() error {
	// Canonical form: an empty list is no list.
	if len(s.Behaviours) == 0 {
		s.Behaviours = nil
	}
	if len(s.Params) == 0 {
		s.Params = nil
	}
	if s.Network != nil && len(s.Network.Partitions) == 0 {
		s.Network.Partitions = nil
	}
	if s.Name == "" {
		return bad("name", "missing")
	}
	if !nameRE.MatchString(s.Name) {
		return bad("name", "%q: want lower-case letters, digits and dashes", s.Name)
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.Steps == 0 {
		s.Steps = 1
	}
	if s.Steps < 1 || s.Steps > MaxSteps {
		return bad("steps", "%d outside 1..%d", s.Steps, MaxSteps)
	}
	if s.Step.Duration == 0 {
		s.Step.Duration = time.Hour
	}
	if s.Step.Duration < time.Second {
		return bad("step", "%s is shorter than a second (attestation times are in seconds)", s.Step)
	}
	if s.Viewpoints == 0 {
		s.Viewpoints = 100
	}
	if s.Viewpoints < 1 || s.Viewpoints > MaxViewpoints {
		return bad("viewpoints", "%d outside 1..%d", s.Viewpoints, MaxViewpoints)
	}
	if len(s.Engines) == 0 {
		s.Engines = []string{"kith"}
	}
	seen := map[string]bool{}
	for i, e := range s.Engines {
		if e == "" || seen[e] {
			return bad(fmt.Sprintf("engines[%d]", i), "empty or duplicate engine %q", e)
		}
		seen[e] = true
	}
	if err := s.Graph.fill(); err != nil {
		return err
	}
	for i := range s.Behaviours {
		if err := s.Behaviours[i].fill(fmt.Sprintf("behaviour[%d]", i), s.Steps); err != nil {
			return err
		}
	}
	if err := s.Sweep.validate(); err != nil {
		return err
	}
	for i, b := range s.Behaviours {
		if (b.Kind == Collusion || b.Kind == Slander) && b.Size > MaxClique {
			return bad(fmt.Sprintf("behaviour[%d].size", i), "%d: a %s group of s members has s(s-1) edges; at most %d", b.Size, b.Kind, MaxClique)
		}
	}
	if (s.Sweep.Has(FieldSize) || s.Sweep.Has(FieldAttackEdges)) && len(s.Behaviours) == 0 {
		return bad("sweep", "a sweep over size or attack_edges needs at least one [[behaviour]]")
	}
	for name, ps := range s.Params {
		if name == "" || len(ps) == 0 {
			return bad("params."+name, "an empty table of parameters")
		}
	}
	if err := s.validateGoals(); err != nil {
		return err
	}
	if s.Network != nil {
		if err := s.Network.validate(s.Steps); err != nil {
			return err
		}
	}
	if c := s.Churn; c != nil {
		if !prob(c.Rate) {
			return bad("churn.rate", "%v outside [0, 1]", c.Rate)
		}
		if c.Downtime == 0 {
			c.Downtime = 1
		}
		if c.Downtime < 1 || c.Downtime > s.Steps {
			return bad("churn.downtime", "%d outside 1..steps (%d)", c.Downtime, s.Steps)
		}
	}
	if c := s.Consent; c != nil {
		for _, f := range []struct {
			name string
			v    float64
		}{{"public", c.Public}, {"grant", c.Grant}, {"revoke", c.Revoke}} {
			if !prob(f.v) {
				return bad("consent."+f.name, "%v outside [0, 1]", f.v)
			}
		}
		if c.Hops < 0 {
			return bad("consent.hops", "%d is negative", c.Hops)
		}
	}
	return nil
}

func prob(x float64) bool { return x >= 0 && x <= 1 } // false for NaN

func (g *Graph) fill() error {
	switch g.Kind {
	case "":
		return bad("graph.kind", "missing (barabasi-albert, watts-strogatz, market or dataset)")
	case GraphBarabasiAlbert, GraphWattsStrogatz, GraphMarket:
		if g.Path != "" || g.Format != "" || g.Labels != "" {
			return bad("graph.path", "only a dataset graph reads a file")
		}
		if g.Nodes < 3 || g.Nodes > MaxNodes {
			return bad("graph.nodes", "%d outside 3..%d", g.Nodes, MaxNodes)
		}
	case GraphDataset:
		if g.Path == "" {
			return bad("graph.path", "missing: a dataset graph needs a file")
		}
		if g.Nodes != 0 || g.Degree != 0 || g.Edges != 0 || g.Rewire != 0 || g.Reciprocity != 0 || g.BadShare != 0 || g.Noise != 0 {
			return bad("graph.kind", "a dataset graph takes only path, format and labels")
		}
		switch g.Format {
		case "":
			g.Format = "auto"
		case "auto", "snap", "konect", FormatGraphFile:
		default:
			return bad("graph.format", "%q: want snap, konect, kgraph or auto", g.Format)
		}
		return nil
	default:
		return bad("graph.kind", "%q: want barabasi-albert, watts-strogatz, market or dataset", g.Kind)
	}
	if g.Kind == GraphMarket {
		if g.Degree != 0 || g.Rewire != 0 {
			return bad("graph.degree", "a market takes nodes, edges, reciprocity, bad_share and noise")
		}
		if g.Edges == 0 {
			g.Edges = 6 * g.Nodes
		}
		if g.Edges < 1 || float64(g.Edges) > float64(g.Nodes)*float64(g.Nodes-1)/2 {
			return bad("graph.edges", "%d outside 1..nodes·(nodes-1)/2", g.Edges)
		}
	} else if g.Edges != 0 {
		return bad("graph.edges", "only a market takes an edge count (use degree)")
	}
	switch g.Kind {
	case GraphBarabasiAlbert:
		if g.Degree == 0 {
			g.Degree = 5
		}
		if g.Rewire != 0 {
			return bad("graph.rewire", "only watts-strogatz rewires")
		}
		if g.Degree < 1 || g.Degree >= g.Nodes {
			return bad("graph.degree", "%d outside 1..nodes-1", g.Degree)
		}
	case GraphWattsStrogatz:
		if g.Degree == 0 {
			g.Degree = 10
		}
		if g.Rewire == 0 {
			g.Rewire = 0.1
		}
		if g.Degree < 2 || g.Degree%2 != 0 || g.Degree >= g.Nodes {
			return bad("graph.degree", "%d: want an even number in 2..nodes-1", g.Degree)
		}
		if !prob(g.Rewire) {
			return bad("graph.rewire", "%v outside [0, 1]", g.Rewire)
		}
	}
	if g.Reciprocity == 0 {
		g.Reciprocity = 0.3
	}
	if g.BadShare == 0 {
		g.BadShare = 0.1
	}
	if g.Noise == 0 {
		g.Noise = 0.05
	}
	if !prob(g.Reciprocity) {
		return bad("graph.reciprocity", "%v outside [0, 1]", g.Reciprocity)
	}
	if !(g.BadShare >= 0 && g.BadShare < 1) {
		return bad("graph.bad_share", "%v outside [0, 1)", g.BadShare)
	}
	if !(g.Noise >= 0 && g.Noise <= 0.5) {
		return bad("graph.noise", "%v outside [0, 0.5]", g.Noise)
	}
	return nil
}

func (b *Behaviour) fill(at string, steps int) error {
	field := func(f string) string { return at + "." + f }
	switch b.Kind {
	case Sybil, Collusion, Slander, SelfPromotion, Whitewash, Traitor, Eclipse:
	case "":
		return bad(field("kind"), "missing")
	default:
		return bad(field("kind"), "%q: want sybil, collusion, slander, self-promotion, whitewash, traitor or eclipse", b.Kind)
	}
	if b.Size == 0 {
		switch b.Kind {
		case Sybil, Collusion, Eclipse:
			b.Size = 100
		case Traitor, Whitewash:
			b.Size = 1
		default:
			b.Size = 10
		}
	}
	if b.Size < 1 || b.Size > MaxNodes {
		return bad(field("size"), "%d outside 1..%d", b.Size, MaxNodes)
	}
	if b.Kind == Collusion && b.Size < 2 {
		return bad(field("size"), "a clique needs at least 2 members")
	}
	if b.AttackEdges == 0 && b.Kind != Traitor {
		b.AttackEdges = 10
	}
	if b.AttackEdges < 0 || b.AttackEdges > MaxNodes || (b.Kind != Traitor && b.AttackEdges < 1) {
		return bad(field("attack_edges"), "%d outside 1..%d", b.AttackEdges, MaxNodes)
	}
	if b.Kind == Traitor && b.AttackEdges != 0 {
		return bad(field("attack_edges"), "traitors are members already: they need no attack edges")
	}
	switch b.Victims {
	case "":
		b.Victims = VictimsRandom
	case VictimsRandom, VictimsTargeted, VictimsNear:
	default:
		return bad(field("victims"), "%q: want random, targeted or near", b.Victims)
	}
	if b.Degree == 0 {
		switch b.Kind {
		case Sybil:
			b.Degree = 10
		case Eclipse:
			b.Degree = 100
		}
	}
	if b.Degree < 0 || (b.Degree > 0 && b.Kind != Sybil && b.Kind != Eclipse) {
		return bad(field("degree"), "only sybil and eclipse take a degree (>= 1)")
	}
	if b.AttackWeight == 0 {
		b.AttackWeight = 0.5
	}
	if !(b.AttackWeight > 0 && b.AttackWeight <= 1) {
		return bad(field("attack_weight"), "%v outside (0, 1]", b.AttackWeight)
	}
	if b.Kind == Slander {
		if b.Targets == 0 {
			b.Targets = 10
		}
		if b.TargetChoice == "" {
			b.TargetChoice = VictimsTargeted
		}
	}
	if b.Targets < 0 || (b.Targets != 0 && b.Kind != Slander) {
		return bad(field("targets"), "only slander takes targets (>= 1)")
	}
	if b.TargetChoice != "" && b.TargetChoice != VictimsRandom && b.TargetChoice != VictimsTargeted {
		return bad(field("target_choice"), "%q: want random or targeted", b.TargetChoice)
	}
	if b.TargetChoice != "" && b.Kind != Slander {
		return bad(field("target_choice"), "only slander chooses targets")
	}
	switch {
	case b.Kind != Eclipse && (b.Attack != "" || b.AttackAt != 0 || b.Join != ""):
		return bad(field("attack"), "only eclipse takes attack, attack_at and join")
	case b.Kind != Eclipse:
	case b.Attack == "":
		b.Attack = AttackWithhold
	case b.Attack != AttackWithhold && b.Attack != AttackInvalid && b.Attack != AttackIHave && b.Attack != AttackGraft:
		return bad(field("attack"), "%q: want withhold, invalid, ihave or graft", b.Attack)
	}
	if b.Kind == Eclipse && b.Join == "" {
		b.Join = JoinAfter
	}
	if b.Join != "" && b.Join != JoinAfter && b.Join != JoinBoot {
		return bad(field("join"), "%q: want after or boot", b.Join)
	}
	if b.AttackAt < 0 || (b.AttackAt > 0 && b.AttackAt >= steps) {
		return bad(field("attack_at"), "%d outside 0..steps-1 (%d)", b.AttackAt, steps-1)
	}
	if b.Kind == Traitor {
		if steps < 2 {
			return bad("steps", "traitors need at least 2 steps (good, then bad)")
		}
		if b.TurnAt == 0 {
			b.TurnAt = steps / 2
		}
		if b.BadPerStep == 0 {
			b.BadPerStep = 2
		}
		if b.Threshold == 0 {
			b.Threshold = 50
		}
		if b.TurnAt < 1 || b.TurnAt >= steps {
			return bad(field("turn_at"), "%d outside 1..steps-1 (%d)", b.TurnAt, steps-1)
		}
		if b.BadPerStep < 1 {
			return bad(field("bad_per_step"), "%d: want >= 1", b.BadPerStep)
		}
		if !(b.Threshold > 0 && b.Threshold < 100) {
			return bad(field("threshold"), "%v outside (0, 100)", b.Threshold)
		}
	} else if b.TurnAt != 0 || b.BadPerStep != 0 || b.Threshold != 0 {
		return bad(field("turn_at"), "only traitors take turn_at, bad_per_step and threshold")
	}
	return nil
}

func (n *Network) validate(steps int) error {
	if n.Latency.Duration > time.Minute {
		return bad("network.latency", "%s is longer than a minute", n.Latency)
	}
	if !prob(n.Jitter) {
		return bad("network.jitter", "%v outside [0, 1]", n.Jitter)
	}
	if !(n.Loss >= 0 && n.Loss < 1) {
		return bad("network.loss", "%v outside [0, 1)", n.Loss)
	}
	if !(n.Bandwidth >= 0 && n.Bandwidth <= 100_000) {
		return bad("network.bandwidth", "%v Mbit/s outside [0, 100000]", n.Bandwidth)
	}
	for i := range n.Partitions {
		p := &n.Partitions[i]
		at := fmt.Sprintf("network.partition[%d]", i)
		if p.Groups == 0 {
			p.Groups = 2
		}
		if p.At < 0 || p.At >= steps {
			return bad(at+".at", "%d outside 0..steps-1 (%d)", p.At, steps-1)
		}
		if p.Heal <= p.At || p.Heal > steps {
			return bad(at+".heal", "%d outside at+1..steps (%d..%d)", p.Heal, p.At+1, steps)
		}
		if p.Groups < 2 || p.Groups > 1000 {
			return bad(at+".groups", "%d outside 2..1000", p.Groups)
		}
	}
	return nil
}

// GraphLevel reports whether the graph level measures something in s: at
// least one behaviour other than eclipse.
func (s *Scenario) GraphLevel() bool {
	for _, b := range s.Behaviours {
		if b.Kind != Eclipse {
			return true
		}
	}
	return false
}

// ProtocolOnly lists the parts of s that only the protocol level
// simulates (and a graph-level run ignores), in file order.
func (s *Scenario) ProtocolOnly() []string {
	var out []string
	for i, b := range s.Behaviours {
		if b.Kind == Eclipse {
			out = append(out, fmt.Sprintf("behaviour[%d] (eclipse)", i))
		}
	}
	if n := s.Network; n != nil {
		if n.Latency.Duration > 0 || n.Jitter > 0 {
			out = append(out, "network latency")
		}
		if n.Loss > 0 {
			out = append(out, "network loss")
		}
		if n.Bandwidth > 0 {
			out = append(out, "network bandwidth")
		}
		if len(n.Partitions) > 0 {
			out = append(out, "network partitions")
		}
	}
	if s.Churn != nil {
		out = append(out, "churn")
	}
	if s.Consent != nil && s.Consent.Revoke > 0 {
		out = append(out, "consent.revoke")
	}
	return out
}

// Resolve returns a path from the scenario file's directory (p itself if
// absolute or if the scenario has no file).
func (s *Scenario) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || s.File == "" {
		return p
	}
	return filepath.Join(filepath.Dir(s.File), p)
}
