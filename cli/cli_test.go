package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/cli"
	"github.com/kith-net/kith/vault"
	"github.com/kith-net/kith/wire"
)

// node is one kith home driven through cli.Main in-process.
type node struct {
	t    *testing.T
	home string
	vars map[string]string
	now  time.Time
	rng  *rand.ChaCha8
}

func newNode(t *testing.T, name string) *node {
	t.Helper()
	h := fnv.New64a()
	h.Write([]byte(t.Name() + "/" + name))
	var seed [32]byte
	s := h.Sum64()
	for i := range seed {
		seed[i] = byte(s >> (8 * (i % 8)))
	}
	return &node{
		t:    t,
		home: filepath.Join(t.TempDir(), name),
		vars: map[string]string{"KITH_PASSPHRASE": "correct horse " + name},
		now:  time.Unix(1700000000, 0),
		rng:  rand.NewChaCha8(seed),
	}
}

// run executes kith with args; --home is passed through KITH_HOME.
func (n *node) run(args ...string) (stdout, stderr string, code int) {
	n.t.Helper()
	var out, errb bytes.Buffer
	n.vars["KITH_HOME"] = n.home
	env := cli.Env{
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""),
		LookupEnv: func(k string) (string, bool) { v, ok := n.vars[k]; return v, ok },
		Now:       func() time.Time { return n.now },
		Rand:      n.rng,
		KDF:       vault.Params{Memory: 64, Time: 1, Threads: 1},
	}
	code = cli.Main(context.Background(), args, env)
	n.now = n.now.Add(time.Minute) // every command runs a minute after the last
	return out.String(), errb.String(), code
}

func (n *node) ok(args ...string) string {
	n.t.Helper()
	out, errs, code := n.run(args...)
	if code != 0 {
		n.t.Fatalf("kith %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fail runs a command that must fail with a one-line error containing want.
func (n *node) fail(want string, args ...string) {
	n.t.Helper()
	out, errs, code := n.run(args...)
	if code == 0 {
		n.t.Fatalf("kith %s: succeeded, want error %q; output %s", strings.Join(args, " "), want, out)
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.HasPrefix(errs, "kith: ") {
		n.t.Fatalf("kith %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
}

func (n *node) id() string {
	n.t.Helper()
	var v struct {
		PeerID string `json:"peer_id"`
	}
	if err := json.Unmarshal([]byte(n.ok("id", "--json")), &v); err != nil {
		n.t.Fatal(err)
	}
	return v.PeerID
}

type listed struct {
	CID      string `json:"cid"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	Context  string `json:"context"`
	Audience string `json:"audience"`
	Strength uint64 `json:"strength"`
	Reason   string `json:"reason"`
	Expires  string `json:"expires"`
}

func (n *node) list(args ...string) []listed {
	n.t.Helper()
	var v []listed
	if err := json.Unmarshal([]byte(n.ok(append([]string{"list", "--json"}, args...)...)), &v); err != nil {
		n.t.Fatal(err)
	}
	return v
}

func TestInitIDAndVault(t *testing.T) {
	a := newNode(t, "alice")
	a.fail("not initialised", "id")
	a.fail("run kith init", "list")
	a.ok("init")
	a.fail("already initialised", "init")
	id := a.id()
	if _, err := wire.ParsePublicKey(id); err != nil || !strings.HasPrefix(id, "12D3KooW") {
		t.Fatalf("peer_id %q: %v", id, err)
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"", 0o700}, {"vault", 0o600}, {"id", 0o600}} {
		fi, err := os.Stat(filepath.Join(a.home, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.name, fi.Mode().Perm(), f.mode)
		}
	}
	a.vars["KITH_PASSPHRASE"] = "wrong"
	a.fail("wrong passphrase", "list")
	delete(a.vars, "KITH_PASSPHRASE")
	a.fail("no passphrase", "list")
}

func TestVouchWarnListRetract(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	bob := b.id()

	a.ok("vouch", bob, "--context", "expertise:go", "--strength", "90", "--reason", "reviews my code", "--audience", "public")
	expires := a.now.Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	a.ok("warn", "@Mallory@Example.Social", "--context", "spam", "--strength", "70", "--expires", "30d", "--evidence", "https://example.social/@mallory/1")
	a.ok("vouch", "@carol@localhost:18080", "--audience", bob)

	all := a.list()
	if len(all) != 3 {
		t.Fatalf("list: %d attestations, want 3: %+v", len(all), all)
	}
	want := []listed{
		{Kind: "vouch", Subject: bob, Context: "expertise:go", Audience: "public", Strength: 90, Reason: "reviews my code"},
		{Kind: "warn", Subject: "acct:mallory@example.social", Context: "spam", Audience: "private", Strength: 70, Expires: expires},
		{Kind: "vouch", Subject: "acct:carol@localhost:18080", Context: "general", Audience: bob, Strength: 50},
	}
	for i, w := range want {
		got := all[i]
		w.CID = got.CID
		if got != w {
			t.Errorf("attestation %d:\n got %+v\nwant %+v", i, got, w)
		}
		if _, err := wire.ParseCID(got.CID); err != nil {
			t.Errorf("cid %q: %v", got.CID, err)
		}
	}
	if got := a.list("--about", "@mallory@example.social"); len(got) != 1 || got[0].Kind != "warn" {
		t.Errorf("--about: %+v", got)
	}
	if got := a.list("--context", "expertise:go"); len(got) != 1 {
		t.Errorf("--context: %+v", got)
	}
	if got := a.list("--by", "me", "--kind", "vouch"); len(got) != 2 {
		t.Errorf("--by me --kind vouch: %+v", got)
	}
	if got := a.list("--by", bob); len(got) != 0 {
		t.Errorf("--by bob: %+v", got)
	}

	a.ok("retract", all[0].CID, "--reason", "wrong person")
	if got := a.list(); len(got) != 2 {
		t.Errorf("after retract: %d listed", len(got))
	}
	if got := a.list("--all"); len(got) != 3 {
		t.Errorf("--all after retract: %d listed", len(got))
	}
	a.fail("already retracted", "retract", all[0].CID)
	// Human-readable output names the state.
	if out := a.ok("list", "--all"); !strings.Contains(out, "retracted") || !strings.Contains(out, "KIND") {
		t.Errorf("table output:\n%s", out)
	}
}

// TestBadInputWritesNothing: every bad input fails with a one-line error
// naming the problem, and the store is unchanged.
func TestBadInputWritesNothing(t *testing.T) {
	a := newNode(t, "alice")
	a.ok("init")
	a.ok("vouch", "@bob@example.social")
	before := len(a.list("--all"))
	self := a.id()
	cases := []struct {
		want string
		args []string
	}{
		{"not a peer ID", []string{"vouch", "bob"}},
		{"bad host", []string{"vouch", "@bob@exa_mple.social"}},
		{"strength", []string{"vouch", "@bob@example.social", "--strength", "0"}},
		{"strength", []string{"warn", "@bob@example.social", "--strength", "101"}},
		{"context", []string{"vouch", "@bob@example.social", "--context", "Bad Takes"}},
		{"audience", []string{"vouch", "@bob@example.social", "--audience", "friends"}},
		{"evidence", []string{"vouch", "@bob@example.social", "--evidence", "ftp://x/y"}},
		{"--expires", []string{"vouch", "@bob@example.social", "--expires", "soon"}},
		{"in the past", []string{"vouch", "@bob@example.social", "--expires", "2001-01-01"}},
		{"its own issuer", []string{"vouch", self}},
		{"reason", []string{"vouch", "@bob@example.social", "--reason", strings.Repeat("x", 600)}},
		{"no such attestation", []string{"retract", "bafyreifks4um5v6eevtzppj2z5aj6rdfzpmzdqjsgfjgln5cjiqmrhtdpa"}},
		{"is not a CID", []string{"retract", "nonsense"}},
		{"unknown flag", []string{"vouch", "@bob@example.social", "--colour", "red"}},
		{"accepts 1 arg", []string{"vouch"}},
		{"import", []string{"import", filepath.Join(t.TempDir(), "missing")}},
	}
	for _, c := range cases {
		a.fail(c.want, c.args...)
	}
	if after := len(a.list("--all")); after != before {
		t.Fatalf("store changed: %d -> %d attestations", before, after)
	}
}

func TestExportImport(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	a.ok("vouch", b.id(), "--audience", "public")
	a.ok("warn", "@mallory@example.social", "--context", "spam")
	cid := a.list()[0].CID
	a.ok("retract", cid)
	bundle := filepath.Join(t.TempDir(), "alice.kith")
	a.ok("export", "--out", bundle)
	if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file: %v %v", fi, err)
	}

	b.ok("import", bundle)
	if got := b.list("--all"); len(got) != 2 {
		t.Fatalf("bob after import: %d attestations", len(got))
	}
	if got := b.list(); len(got) != 1 {
		t.Fatalf("bob after import: retraction not honoured, %d active", len(got))
	}
	// Importing again adds nothing.
	var res struct{ Objects, Added int }
	if err := json.Unmarshal([]byte(b.ok("import", bundle, "--json")), &res); err != nil || res.Objects != 3 || res.Added != 0 {
		t.Fatalf("re-import: %+v %v", res, err)
	}

	// A tampered bundle, a truncated one, and a bundle with one forged
	// object are refused whole.
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	c := newNode(t, "carol")
	c.ok("init")
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-3] ^= 0x40
	c.fail("import", "import", write("flipped", flipped))
	c.fail("malformed", "import", write("truncated", raw[:len(raw)/2]))
	c.fail("malformed", "import", write("garbage", []byte("not a bundle")))

	d, err := wire.DecodeBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Clone(d.Objects[1])
	forged[len(forged)-1] ^= 0x01 // strength changes; the signature no longer holds
	k := wire.NewPrivateKey([32]byte{9})
	nb := &wire.Bundle{Created: 1700000000, Objects: [][]byte{d.Objects[0], forged}}
	if err := nb.Sign(k); err != nil {
		t.Fatal(err)
	}
	c.fail("bad signature", "import", write("forged", nb.Raw()))
	if got := c.list("--all"); len(got) != 0 {
		t.Fatalf("carol imported %d attestations from refused bundles", len(got))
	}
}

// TestQueryAndRank: alice vouches for bob; bob's statements reach alice in
// a bundle; alice's view then trusts carol through bob and sees bob's
// warning about mallory. Unknown subjects get "no evidence", not a zero.
func TestQueryAndRank(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	bob := b.id()
	a.ok("vouch", bob, "--strength", "90")
	b.ok("vouch", "@carol@example.social", "--strength", "80")
	b.ok("warn", "@mallory@example.social", "--strength", "90", "--reason", "scams")
	bundle := filepath.Join(t.TempDir(), "bob.kith")
	b.ok("export", "--out", bundle)
	a.ok("import", bundle)

	type answer struct {
		Subject     string   `json:"subject"`
		Covered     bool     `json:"covered"`
		Score       *float64 `json:"score"`
		Confidence  float64  `json:"confidence"`
		Explanation struct {
			Summary  string `json:"summary"`
			Vouchers []struct {
				From string `json:"from"`
			} `json:"vouchers"`
			Warners []struct {
				From string `json:"from"`
			} `json:"warners"`
			Paths []struct {
				Nodes []string `json:"nodes"`
			} `json:"paths"`
			Features []struct {
				Name string `json:"name"`
			} `json:"features"`
			OwnStatement *struct {
				Kind string `json:"kind"`
			} `json:"own_statement"`
		} `json:"explanation"`
	}
	query := func(sub string) answer {
		var ans answer
		if err := json.Unmarshal([]byte(a.ok("query", sub, "--json")), &ans); err != nil {
			t.Fatal(err)
		}
		return ans
	}
	carol := query("@carol@example.social")
	if !carol.Covered || carol.Score == nil || carol.Confidence <= 0 {
		t.Fatalf("carol: %+v", carol)
	}
	if len(carol.Explanation.Paths) == 0 || strings.Join(carol.Explanation.Paths[0].Nodes, ">") != "you>"+bob+">@carol@example.social" {
		t.Fatalf("carol's path: %+v", carol.Explanation.Paths)
	}
	if len(carol.Explanation.Vouchers) != 1 || carol.Explanation.Vouchers[0].From != bob || len(carol.Explanation.Features) == 0 {
		t.Fatalf("carol's explanation: %+v", carol.Explanation)
	}
	mallory := query("@mallory@example.social")
	if !mallory.Covered || len(mallory.Explanation.Warners) != 1 || !(*mallory.Score < *carol.Score) {
		t.Fatalf("mallory %+v, carol %v", mallory, *carol.Score)
	}
	if q := query(bob); q.Explanation.OwnStatement == nil || q.Explanation.OwnStatement.Kind != "vouch" {
		t.Fatalf("bob: own statement missing: %+v", q.Explanation)
	}
	nobody := query("@nobody@example.social")
	if nobody.Covered || nobody.Score != nil || !strings.Contains(nobody.Explanation.Summary, "no evidence") {
		t.Fatalf("unknown subject: %+v", nobody)
	}
	if out := a.ok("query", "@nobody@example.social"); !strings.Contains(out, "no evidence") {
		t.Fatalf("human output for an unknown subject: %q", out)
	}
	if out := a.ok("query", "@carol@example.social"); !strings.Contains(out, "path: you -> "+bob+" -> @carol@example.social") {
		t.Fatalf("human output:\n%s", out)
	}
	var ranked []struct {
		Subject string  `json:"subject"`
		Score   float64 `json:"score"`
	}
	if err := json.Unmarshal([]byte(a.ok("rank", "--json")), &ranked); err != nil {
		t.Fatal(err)
	}
	if len(ranked) != 3 || ranked[len(ranked)-1].Subject != "@mallory@example.social" {
		t.Fatalf("rank: %+v", ranked)
	}
	if err := json.Unmarshal([]byte(a.ok("rank", "--json", "--bottom", "--limit", "1")), &ranked); err != nil || len(ranked) != 1 || ranked[0].Subject != "@mallory@example.social" {
		t.Fatalf("rank --bottom: %+v %v", ranked, err)
	}
	a.fail("context", "query", bob, "--context", "Bad Context")

	// On-device training needs judgements, and enough of them.
	a.fail("no judgements", "model", "train", "--context", "spam")
	if out := a.ok("model", "train"); !strings.Contains(out, "kept the shipped model") || !strings.Contains(out, "fewer than the 10") {
		t.Fatalf("model train: %q", out)
	}
	if q := query("@carol@example.social"); !q.Covered || q.Score == nil {
		t.Fatalf("query with the owner's model: %+v", q)
	}
}

// TestModelTrainRefines: an owner who disagrees with the friend she
// trusts (bob vouches for twelve people, she warns about ten of them)
// refines the model on her judgements; the refined model predicts them
// better in cross-validation, so it is kept, model show says it is the one
// in use, and a thirteenth person bob vouches for scores lower for her than
// the shipped model would have it.
func TestModelTrainRefines(t *testing.T) {
	a, b := newNode(t, "alice"), newNode(t, "bob")
	a.ok("init")
	b.ok("init")
	bob := b.id()
	a.ok("vouch", bob, "--strength", "90")
	for i := range 13 {
		b.ok("vouch", fmt.Sprintf("@p%d@example.social", i), "--strength", "80")
	}
	bundle := filepath.Join(t.TempDir(), "bob.kith")
	b.ok("export", "--out", bundle)
	a.now = b.now // every command advances a node's clock: alice's catches up with bob's
	a.ok("import", bundle)
	for i := range 12 {
		if i < 2 {
			a.ok("vouch", fmt.Sprintf("@p%d@example.social", i), "--strength", "60")
		} else {
			a.ok("warn", fmt.Sprintf("@p%d@example.social", i), "--strength", "60")
		}
	}
	score := func() float64 {
		var q struct {
			Score       *float64 `json:"score"`
			Explanation struct {
				Model struct {
					Kind string `json:"kind"`
				} `json:"model"`
			} `json:"explanation"`
		}
		if err := json.Unmarshal([]byte(a.ok("query", "@p12@example.social", "--json")), &q); err != nil || q.Score == nil {
			t.Fatalf("query: %v %+v", err, q)
		}
		return *q.Score
	}
	before := score()
	var info struct {
		Kind       string `json:"kind"`
		Refinement struct {
			Judgements     int     `json:"judgements"`
			SharedLogLoss  float64 `json:"shared_log_loss"`
			RefinedLogLoss float64 `json:"refined_log_loss"`
			Used           bool    `json:"used"`
		} `json:"refinement"`
	}
	if err := json.Unmarshal([]byte(a.ok("model", "train", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	if !info.Refinement.Used || info.Kind != "refined" || info.Refinement.Judgements != 13 || !(info.Refinement.RefinedLogLoss < info.Refinement.SharedLogLoss) {
		t.Fatalf("model train: %+v", info)
	}
	if out := a.ok("model", "show"); !strings.Contains(out, "(refined, in use for general)") || !strings.Contains(out, "refined on the owner's judgements") {
		t.Fatalf("model show:\n%s", out)
	}
	if out := a.ok("model", "show", "--context", "spam"); !strings.Contains(out, "(shipped, in use for spam)") {
		t.Fatalf("model show --context spam:\n%s", out)
	}
	if after := score(); !(after < before) {
		t.Fatalf("p12, vouched by bob: %.3f with the shipped model, %.3f with alice's refined one", before, after)
	}
}

// TestQueryThroughOneContact: alice reaches carol only through bob, whom
// she vouched for; carol warns about mallory. kith query says that most of
// the answer comes through one contact, bob, and its JSON carries the
// contact and the share as the schema says.
func TestQueryThroughOneContact(t *testing.T) {
	a, b, c := newNode(t, "alice"), newNode(t, "bob"), newNode(t, "carol")
	a.ok("init")
	b.ok("init")
	c.ok("init")
	a.ok("vouch", b.id(), "--strength", "90")
	b.ok("vouch", c.id(), "--strength", "80")
	c.ok("warn", "@mallory@example.social", "--strength", "90")
	dir := t.TempDir()
	for _, n := range []*node{b, c} {
		bundle := filepath.Join(dir, n.id()+".kith")
		n.ok("export", "--out", bundle)
		if n.now.After(a.now) {
			a.now = n.now // every command advances a node's clock
		}
		a.ok("import", bundle)
	}
	out := a.ok("query", "@mallory@example.social")
	if want := "most of this comes through one contact, " + b.id() + " (100 %): "; !strings.Contains(out, want) {
		t.Fatalf("kith query lacks %q:\n%s", want, out)
	}
	js := a.ok("query", "@mallory@example.social", "--json")
	checkSchema(t, a, "query", js)
	var ans struct {
		Explanation struct {
			Through *struct {
				Contact string  `json:"contact"`
				Share   float64 `json:"share"`
				Effect  string  `json:"effect"`
			} `json:"through"`
		} `json:"explanation"`
	}
	if err := json.Unmarshal([]byte(js), &ans); err != nil {
		t.Fatal(err)
	}
	if th := ans.Explanation.Through; th == nil || th.Contact != b.id() || th.Share != 1 || th.Effect == "" {
		t.Fatalf("kith query --json: through %+v\n%s", th, js)
	}
	// Carol herself is vouched for by alice's contact bob, whose word is
	// alice's: nothing to say.
	if out := a.ok("query", c.id()); strings.Contains(out, "through one contact") {
		t.Errorf("kith query of carol:\n%s", out)
	}
}
