package node

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/kith-net/kith/node/recon"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/store/mem"
	"github.com/kith-net/kith/wire"
)

// The per-peer budget (spec/node-v1.md §7, issue 24 items 2-4), each row
// checked by the attack it answers. The victim's clock is a test clock that
// moves only when the test moves it, so no bucket refills by itself: what a
// peer gets is exactly its budget, whatever the machine's speed.

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sybilProofs returns n valid proofs by issuer about throwaway subjects
// (each consent signed by its own fresh subject key): what any peer can
// mint at will.
func sybilProofs(t testing.TB, issuer *wire.PrivateKey, n int, created time.Time) []wire.Object {
	t.Helper()
	objs := make([]wire.Object, 0, 2*n)
	for i := range n {
		var seed [32]byte
		copy(seed[:], fmt.Sprintf("sybil %d %s", i, issuer.Public()))
		subject := wire.NewPrivateKey(seed)
		a := &wire.Attestation{
			Subject: wire.KeySubject(subject.Public()), Kind: wire.Vouch, Context: "general", Strength: 90,
			Reason: fmt.Sprintf("sockpuppet %d", i), Created: uint64(created.Unix()), Audience: wire.PublicAudience, Nonce: make([]byte, wire.NonceSize),
		}
		if err := a.Sign(issuer); err != nil {
			t.Fatal(err)
		}
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		if err := c.Sign(subject); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, a, c)
	}
	return objs
}

// consentRequests returns n public vouches by issuer about subject, in
// contexts spread over the contexts given.
func consentRequests(t testing.TB, issuer *wire.PrivateKey, subject wire.PublicKey, n int, created time.Time, contexts ...string) []*wire.Attestation {
	t.Helper()
	out := make([]*wire.Attestation, n)
	for i := range out {
		nonce := make([]byte, wire.NonceSize)
		copy(nonce, fmt.Sprint(i))
		a := &wire.Attestation{
			Subject: wire.KeySubject(subject), Kind: wire.Vouch, Context: contexts[i%len(contexts)], Strength: 50,
			Reason: fmt.Sprintf("please consent %d", i), Created: uint64(created.Unix()), Audience: wire.PublicAudience, Nonce: nonce,
		}
		if err := a.Sign(issuer); err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

// sockpuppetProofs returns n valid proofs, each by an issuer and about a
// subject of its own (throwaway keys): what a peer can relay at will.
func sockpuppetProofs(t testing.TB, n int, created time.Time) []wire.Object {
	t.Helper()
	objs := make([]wire.Object, 0, 2*n)
	for i := range n {
		var seed [32]byte
		copy(seed[:], fmt.Sprintf("puppet issuer %d %d", i, created.UnixNano()))
		objs = append(objs, sybilProofs(t, wire.NewPrivateKey(seed), 1, created)...)
	}
	return objs
}

// TestGreetStoreFilling (item 2): two throwaway identities, each a full kith
// node holding many objects made for the victim, connect to it; the victim
// greets them (query {subject: me}, query {issuer: peer}) and resyncs with
// them. One relays 700 valid proofs of 700 sockpuppet issuers (1,400
// objects, over its object budget); the other holds 100 consent requests
// about the victim and 150 valid proofs of its own about sockpuppets (over
// its consent-request and its issuer budget). The victim stores at most each
// budget's worth, and an honest proof published meanwhile reaches it by
// gossip. The victim's object and issuer budgets are a quarter of the
// defaults, so that the attack costs the machine less (the defaults are
// checked against the spec by TestBudgetTableMatchesSpec; the code is the
// same).
func TestGreetStoreFilling(t *testing.T) {
	clock := newTestClock()
	start := clock.now()
	budget := Budget{Objects: DefaultBudget.Objects / 4, Attestations: DefaultBudget.Attestations / 4, AttestationBurst: DefaultBudget.AttestationBurst / 4}
	var victimKey wire.PublicKey
	made := 0
	offered := map[int][]wire.Object{} // by attacker
	// A star around the victim, so that what it holds of the relay's
	// objects came from the relay (its other peers would otherwise pass
	// them on, each within a budget of its own).
	tn := newTestNet(t, 4, netOptions{links: [][2]int{{0, 1}, {0, 2}, {0, 3}}, configure: func(i int, c *Config) {
		var objs []wire.Object
		switch i {
		case 0:
			victimKey = c.Key.Public()
			c.Now = clock.now
			c.Budget = budget
		case 2: // the relay of sockpuppets
			objs = sockpuppetProofs(t, 700, start.Add(-time.Hour))
		case 3: // the issuer of requests and proofs
			for _, a := range consentRequests(t, c.Key, victimKey, 100, start.Add(-time.Hour), "general", "trade", "spam:a", "spam:b") {
				objs = append(objs, a)
			}
			objs = append(objs, sybilProofs(t, c.Key, 150, start.Add(-time.Hour))...)
		}
		if _, err := c.Store.Put(context.Background(), objs...); err != nil {
			t.Fatal(err)
		}
		made += len(objs)
		offered[i] = objs
	}})
	victim, honest := tn.nodes[0], tn.nodes[1]
	ctx := context.Background()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	// The greetings and the resyncs that follow them, with the three peers.
	tn.waitFor(2*time.Minute, "the victim's resyncs with its three peers", func() bool { return victim.Stats().Resyncs >= 3 })
	tn.waitMeshes()

	// An honest proof during the attack.
	issuer, subject := mustKey(t), mustKey(t)
	a := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, "honest")
	c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
	if err := c.Sign(subject); err != nil {
		t.Fatal(err)
	}
	if _, err := honest.ingest(ctx, []wire.Object{a, c}); err != nil {
		t.Fatal(err)
	}
	if err := honest.publish(ctx, a, c); err != nil {
		t.Fatal(err)
	}
	took := tn.waitFor(time.Minute, "the honest proof at the victim", func() bool {
		ok, _ := victim.cfg.Store.Has(ctx, c.CID())
		return ok
	})

	runtime.ReadMemStats(&ms)
	b := victim.cfg.Budget
	// held counts what the victim holds of attacker i's objects, and of
	// those, its consent requests and the attestations it issued.
	held := func(i int) (objects, requests, issued int) {
		k := tn.nodes[i].Key()
		for _, o := range offered[i] {
			if has, err := victim.cfg.Store.Has(ctx, o.CID()); err != nil {
				t.Fatal(err)
			} else if !has {
				continue
			}
			objects++
			if a, ok := o.(*wire.Attestation); ok && a.Issuer == k {
				issued++
				if *a.Subject.Key == victimKey {
					requests++
				}
			}
		}
		return objects, requests, issued
	}
	relayed, _, _ := held(2)
	stored, requests, issued := held(3)
	reqs, err := victim.ConsentRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, r := range reqs {
		if r.State == ConsentPending {
			rows++
		}
	}
	t.Logf("two attackers offered %d objects; the victim stored %d from the sockpuppet relay (object budget %d), %d from the other (%d attestations it issued, budget %d; %d consent requests, budget %d, listed in %d rows); %d refusals over budget; honest proof delivered in %v; heap %d → %d MB",
		made, relayed, b.Objects, stored, issued, b.AttestationBurst, requests, b.ConsentRequests, rows, victim.Stats().OverBudget, took.Round(time.Millisecond), heapBefore>>20, ms.HeapAlloc>>20)
	if relayed > b.Objects {
		t.Errorf("the victim stored %d objects relayed by one peer, over its budget of %d", relayed, b.Objects)
	}
	if relayed < b.Objects/2 {
		t.Errorf("the victim stored only %d of the relayed objects; the budget is %d", relayed, b.Objects)
	}
	if requests > b.ConsentRequests {
		t.Errorf("the victim holds %d consent requests from one peer, over its budget of %d", requests, b.ConsentRequests)
	}
	if issued > b.AttestationBurst {
		t.Errorf("the victim stored %d attestations of one issuer, over its budget of %d", issued, b.AttestationBurst)
	}
	if rows > 4 {
		t.Errorf("%d consent request rows listed; the requests of an issuer in a context coalesce (4 contexts)", rows)
	}
}

// rawHost adds a plain libp2p host with key to the test network, connected
// to victim: a client of the kith stream protocols, driven by hand.
func (tn *testNet) rawHost(key *wire.PrivateKey, victim *Node) host.Host {
	tn.t.Helper()
	return tn.addHost(key, victim)
}

// sendConsentRequest delivers a as a consent request from h to p; it
// reports whether p acknowledged it.
func sendConsentRequest(ctx context.Context, h host.Host, p peer.ID, a *wire.Attestation) bool {
	s, err := h.NewStream(ctx, p, protocol.ID(ConsentProtocol))
	if err != nil {
		return false
	}
	defer s.Close()
	if writeFrame(s, a.Raw()) != nil || s.CloseWrite() != nil {
		s.Reset()
		return false
	}
	ack, err := readFrame(bufio.NewReader(s), 0)
	return err == nil && ack == nil
}

// TestConsentRequestSpam (item 3): one identity sends 300 consent requests
// as fast as it can. The victim takes its budget's worth a minute, at most
// 32 pending at once from one issuer, lists them coalesced by issuer and
// context, and forgets them after ConsentRequestTTL.
func TestConsentRequestSpam(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	clock := newTestClock()
	tn := newTestNet(t, 1, netOptions{configure: func(_ int, c *Config) { c.Now = clock.now }})
	victim := tn.nodes[0]
	b := victim.cfg.Budget
	evil := mustKey(t)
	h := tn.rawHost(evil, victim)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	spam := func(n int, created time.Time) (acked int) {
		for _, a := range consentRequests(t, evil, victim.Key(), n, created, "general", "trade", "spam:a", "spam:b") {
			if sendConsentRequest(ctx, h, victim.ID(), a) {
				acked++
			}
		}
		return acked
	}
	held := func() (pending, rows int) {
		reqs, err := victim.ConsentRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			if r.State == ConsentPending {
				rows++
				pending += 1 + r.Superseded
			}
		}
		return pending, rows
	}

	acked := spam(300, clock.now())
	pending, rows := held()
	t.Logf("300 requests at once: %d acknowledged, %d pending, listed in %d rows", acked, pending, rows)
	if acked != b.ConsentRequests || pending != b.ConsentRequests {
		t.Errorf("acknowledged %d, pending %d; want the budget, %d", acked, pending, b.ConsentRequests)
	}
	if rows != 4 {
		t.Errorf("%d rows for one issuer's requests in 4 contexts, want 4", rows)
	}
	// A minute later: another minute's worth, up to the issuer's cap.
	clock.add(time.Minute)
	acked = spam(300, clock.now())
	clock.add(time.Minute)
	acked += spam(300, clock.now())
	pending, _ = held()
	t.Logf("two minutes later: %d more acknowledged, %d pending (cap %d an issuer)", acked, pending, b.PendingPerIssuer)
	if pending != b.PendingPerIssuer {
		t.Errorf("%d pending from one issuer, want the cap %d", pending, b.PendingPerIssuer)
	}
	// Another identity has a budget of its own.
	other := mustKey(t)
	h2 := tn.rawHost(other, victim)
	if a := consentRequests(t, other, victim.Key(), 1, clock.now(), "general")[0]; !sendConsentRequest(ctx, h2, victim.ID(), a) {
		t.Error("a request from another identity was refused")
	}
	// Requests expire: after ConsentRequestTTL none is listed, and the
	// issuer may ask again.
	clock.add(ConsentRequestTTL + time.Hour)
	if pending, _ = held(); pending != 0 {
		t.Errorf("%d requests still pending after %v", pending, ConsentRequestTTL)
	}
	if acked = spam(1, clock.now()); acked != 1 {
		t.Error("a fresh request after the old ones expired was refused")
	}
}

// countingStore counts what Attestations reads, and how many calls run at
// once.
type countingStore struct {
	store.Store
	mu              sync.Mutex
	calls, most     int // calls, and the most attestations one call returned
	inFlight, peak  int
	attestationsOut int
}

func (c *countingStore) Attestations(ctx context.Context, q store.Query) ([]*wire.Attestation, error) {
	c.mu.Lock()
	c.calls++
	c.inFlight++
	c.peak = max(c.peak, c.inFlight)
	c.mu.Unlock()
	atts, err := c.Store.Attestations(ctx, q)
	c.mu.Lock()
	c.inFlight--
	c.most = max(c.most, len(atts))
	c.attestationsOut += len(atts)
	c.mu.Unlock()
	return atts, err
}

// exchangeQuery sends one exchange request from h to p and returns how many
// objects came back, or an error if the stream was refused.
func exchangeQuery(ctx context.Context, h host.Host, p peer.ID, req request) (int, error) {
	s, err := h.NewStream(ctx, p, protocol.ID(ExchangeProtocol))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := writeFrame(s, encodeRequest(req)); err != nil {
		s.Reset()
		return 0, err
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return 0, err
	}
	r := bufio.NewReader(s)
	for n := 0; ; n++ {
		b, err := readFrame(r, wire.MaxObjectSize)
		if err != nil {
			return n, err
		}
		if b == nil {
			return n, nil
		}
	}
}

// TestExchangeQueryFlood (item 4): one peer sends 16 parallel queries for
// everything, five times over, to a node holding 1,500 consented proofs,
// then small queries one at a time. The node serves at most 4 at once and
// its budget's worth a minute, and each query reads the store a page at a
// time, never the whole of it.
func TestExchangeQueryFlood(t *testing.T) {
	clock := newTestClock()
	cs := &countingStore{Store: mem.New()}
	if _, err := cs.Put(context.Background(), sybilProofs(t, mustKey(t), 1500, clock.now().Add(-time.Hour))...); err != nil {
		t.Fatal(err)
	}
	tn := newTestNet(t, 1, netOptions{configure: func(_ int, c *Config) {
		c.Now = clock.now
		c.Store = cs
	}})
	victim := tn.nodes[0]
	b := victim.cfg.Budget
	h := tn.rawHost(mustKey(t), victim)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var served, refused, objects atomic.Int64
	query := func(limit uint64) {
		n, err := exchangeQuery(ctx, h, victim.ID(), request{Op: opQuery, Limit: limit})
		if err != nil {
			refused.Add(1)
			return
		}
		served.Add(1)
		objects.Add(int64(n))
	}
	for range 5 {
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				query(0)
			}()
		}
		wg.Wait()
	}
	parallel := served.Load()
	for range b.Queries {
		query(1)
	}
	cs.mu.Lock()
	calls, most, peak, read := cs.calls, cs.most, cs.peak, cs.attestationsOut
	cs.mu.Unlock()
	// The local API meanwhile (a list of everything, as kith list does).
	start := time.Now()
	if _, err := victim.cfg.Store.Attestations(ctx, store.Query{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("80 parallel queries for everything: %d served; then %d one at a time: %d served (budget %d a minute); %d objects sent, %d refused; store calls %d, at most %d attestations a call, %d at once, %d read in all; a local list afterwards %v",
		parallel, b.Queries, served.Load()-parallel, b.Queries, objects.Load(), refused.Load(), calls, most, peak, read, time.Since(start).Round(time.Millisecond))
	if served.Load() != int64(b.Queries) {
		t.Errorf("served %d queries in all, want the budget of %d", served.Load(), b.Queries)
	}
	if peak > b.QueriesAtOnce {
		t.Errorf("%d queries read the store at once, over the %d a peer may run", peak, b.QueriesAtOnce)
	}
	if most > answerPage {
		t.Errorf("one store call returned %d attestations: a query loads more than a page (%d)", most, answerPage)
	}
	if per := read / max(int(served.Load()), 1); per > answerScan+answerPage {
		t.Errorf("a query read %d attestations on average, over the scan bound %d", per, answerScan)
	}
}

// TestSyncSessionFlood: one peer opens sync session after sync session;
// the node serves its budget's worth a minute, then refuses.
func TestSyncSessionFlood(t *testing.T) {
	t.Parallel() // waits on protocol timers more than it computes
	clock := newTestClock()
	tn := newTestNet(t, 1, netOptions{configure: func(_ int, c *Config) { c.Now = clock.now }})
	victim := tn.nodes[0]
	h := tn.rawHost(mustKey(t), victim)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	session := func() bool {
		s, err := h.NewStream(ctx, victim.ID(), protocol.ID(SyncProtocol))
		if err != nil {
			return false
		}
		defer s.Close()
		_, err = recon.Reconcile(ctx, s, new(recon.Set), recon.Options{})
		return err == nil
	}
	served := 0
	for range 40 {
		if session() {
			served++
		}
	}
	t.Logf("40 sync sessions in a row: %d served (budget %d a minute)", served, victim.cfg.Budget.SyncSessions)
	if served != victim.cfg.Budget.SyncSessions {
		t.Errorf("served %d sync sessions, want the budget, %d", served, victim.cfg.Budget.SyncSessions)
	}
	clock.add(time.Minute)
	if !session() {
		t.Error("no session served after a minute")
	}
}

// The budget table of spec/node-v1.md §7 states the defaults the code
// enforces.
func TestBudgetTableMatchesSpec(t *testing.T) {
	b, err := os.ReadFile("../spec/node-v1.md")
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	d := DefaultBudget
	n := func(v int) string { // 4096 -> "4,096"
		s := strconv.Itoa(v)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	rows := []string{
		fmt.Sprintf("| gossip messages validated | %s (%d/s, burst %s) | — |", n(DefaultRateLimit*60), DefaultRateLimit, n(DefaultRateBurst)),
		fmt.Sprintf("tombstones from its gossip | %s | — |", n(d.Objects)),
		fmt.Sprintf("| bytes of those objects | %d MiB | — |", d.Bytes>>20),
		fmt.Sprintf("stored, by any path | %d (burst %d) | — |", d.Attestations, d.AttestationBurst),
		fmt.Sprintf("response from their issuer) | %d | %d pending from one issuer |", d.ConsentRequests, d.PendingPerIssuer),
		fmt.Sprintf("| exchange requests served (`query`, `get`) | %d | %d (%d for all peers) |", d.Queries, d.QueriesAtOnce, d.QueriesInAll),
		fmt.Sprintf("| sync sessions served (§6) | %d | %d (%d for all peers) |", d.SyncSessions, d.SyncAtOnce, d.SyncInAll),
		fmt.Sprintf("A node greets at most %d new peers at once", greetsAtOnce),
	}
	for _, r := range rows {
		if !strings.Contains(strings.ReplaceAll(spec, "\n", " "), r) {
			t.Errorf("spec/node-v1.md §7 does not say %q", r)
		}
	}
	if ConsentRequestTTL != 30*24*time.Hour || !strings.Contains(spec, "30 days after its creation") {
		t.Errorf("ConsentRequestTTL is %v; the spec says 30 days", ConsentRequestTTL)
	}
}

// A query response cut short for the budget keeps whole groups only: the
// last group may lack its withdrawals or retraction, and would bring a
// retracted proof back to life at the requester (spec/node-v1.md §4.1).
func TestTruncatedQueryKeepsWholeGroups(t *testing.T) {
	issuer, subject := mustKey(t), mustKey(t)
	var raws [][]byte
	var groups [][]wire.Object
	for i := range 3 {
		a := attest(t, issuer, subject.Public(), wire.Vouch, wire.PublicAudience, fmt.Sprint("statement ", i))
		c := &wire.Consent{Target: wire.LinkTo(a.CID()), Created: a.Created}
		r := &wire.Retraction{Target: wire.LinkTo(a.CID()), Created: a.Created + 1}
		if err := c.Sign(subject); err != nil {
			t.Fatal(err)
		}
		if err := r.Sign(issuer); err != nil {
			t.Fatal(err)
		}
		groups = append(groups, []wire.Object{a, c, r})
	}
	for _, g := range groups {
		for _, o := range g {
			raws = append(raws, o.Raw())
		}
	}
	// Cut inside the last group, before its retraction.
	cut := withoutLastGroup(raws[:len(raws)-1])
	if len(cut) != 6 {
		t.Fatalf("%d objects kept of a response cut in its third group, want the 6 of the first two", len(cut))
	}
	if got := withoutLastGroup(raws[:1]); len(got) != 0 {
		t.Fatalf("%d objects kept of a lone attestation", len(got))
	}
}
