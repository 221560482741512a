package node

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/kith-net/kith/wire"
)

// Budget is what one peer may make a node do, per minute: the per-peer
// budget table of spec/node-v1.md §7. Each per-minute figure is a token
// bucket that holds a minute's worth (so a peer may spend it at once, then
// at the steady rate). Zero fields take the defaults (DefaultBudget).
type Budget struct {
	// Objects and Bytes bound the new objects (and their encoded bytes) a
	// peer's exchange responses (fetch, resync) make this node store. A
	// statement's group (the attestation with its consents, withdrawals
	// and retraction) is stored whole or not at all; what does not fit is
	// fetched again at a later resync.
	Objects, Bytes int
	// Attestations bounds the new attestations of one issuer this node
	// stores from the network, by any path (gossip, exchange); a proof over
	// it is ignored, and a later resync brings it.
	Attestations, AttestationBurst int
	// ConsentRequests bounds the consent requests a peer delivers (by the
	// consent protocol, or as unconsented vouches about this node in a
	// query response); PendingPerIssuer bounds those of one issuer held
	// unanswered at once.
	ConsentRequests, PendingPerIssuer int
	// Queries bounds the exchange requests (query or get) this node serves
	// a peer; QueriesAtOnce those it serves one peer at once, and
	// QueriesInAll those it serves all peers at once.
	Queries, QueriesAtOnce, QueriesInAll int
	// SyncSessions bounds the reconciliations this node serves a peer;
	// SyncAtOnce and SyncInAll as for queries.
	SyncSessions, SyncAtOnce, SyncInAll int
}

// DefaultBudget is the budget of spec/node-v1.md §7. The gossip row of the
// table is Config.RateLimit and RateBurst.
var DefaultBudget = Budget{
	Objects:          4096,
	Bytes:            8 << 20,
	Attestations:     64,
	AttestationBurst: 256,
	ConsentRequests:  16,
	PendingPerIssuer: 32,
	Queries:          60,
	QueriesAtOnce:    4,
	QueriesInAll:     8,
	SyncSessions:     12,
	SyncAtOnce:       2,
	SyncInAll:        4,
}

// withDefaults fills the zero fields of b from DefaultBudget.
func (b Budget) withDefaults() Budget {
	d := DefaultBudget
	for _, f := range []struct {
		v *int
		d int
	}{
		{&b.Objects, d.Objects}, {&b.Bytes, d.Bytes}, {&b.Attestations, d.Attestations}, {&b.AttestationBurst, d.AttestationBurst},
		{&b.ConsentRequests, d.ConsentRequests}, {&b.PendingPerIssuer, d.PendingPerIssuer},
		{&b.Queries, d.Queries}, {&b.QueriesAtOnce, d.QueriesAtOnce}, {&b.QueriesInAll, d.QueriesInAll},
		{&b.SyncSessions, d.SyncSessions}, {&b.SyncAtOnce, d.SyncAtOnce}, {&b.SyncInAll, d.SyncInAll},
	} {
		if *f.v == 0 {
			*f.v = f.d
		}
	}
	return b
}

func (b Budget) valid() bool {
	for _, v := range []int{b.Objects, b.Bytes, b.Attestations, b.AttestationBurst, b.ConsentRequests, b.PendingPerIssuer,
		b.Queries, b.QueriesAtOnce, b.QueriesInAll, b.SyncSessions, b.SyncAtOnce, b.SyncInAll} {
		if v < 0 {
			return false
		}
	}
	return true
}

// perMinute is the rate of n a minute.
func perMinute(n int) rate.Limit { return rate.Limit(float64(n) / 60) }

// maxBuckets bounds the keys a bucket table tracks. Keys whose bucket is
// full (idle) are forgotten first, which loses nothing; if every tracked
// key is active, a new key is refused until some become idle.
const maxBuckets = 1 << 16

// buckets is a token bucket per key (a peer or an issuer): one row of the
// budget table. Safe for concurrent use.
type buckets[K comparable] struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	now   func() time.Time
	m     map[K]*rate.Limiter
}

func newBuckets[K comparable](r rate.Limit, burst int, now func() time.Time) *buckets[K] {
	return &buckets[K]{r: r, burst: burst, now: now, m: map[K]*rate.Limiter{}}
}

// get returns k's bucket, or nil if the table is full of active keys.
// The caller holds b.mu.
func (b *buckets[K]) get(k K, now time.Time) *rate.Limiter {
	lim := b.m[k]
	if lim != nil {
		return lim
	}
	if len(b.m) >= maxBuckets {
		for key, l := range b.m {
			if l.TokensAt(now) >= float64(b.burst) {
				delete(b.m, key)
			}
		}
		if len(b.m) >= maxBuckets {
			return nil
		}
	}
	lim = rate.NewLimiter(b.r, b.burst)
	b.m[k] = lim
	return lim
}

// allow takes n tokens from k's bucket if it holds them.
func (b *buckets[K]) allow(k K, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	lim := b.get(k, now)
	return lim != nil && lim.AllowN(now, n)
}

// available returns the whole tokens in k's bucket.
func (b *buckets[K]) available(k K) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	lim := b.get(k, now)
	if lim == nil {
		return 0
	}
	return max(int(lim.TokensAt(now)), 0)
}

// slots bounds the work done at once, per key and in all. Safe for
// concurrent use.
type slots[K comparable] struct {
	mu          sync.Mutex
	each, total int
	busy        map[K]int
	n           int
}

func newSlots[K comparable](each, total int) *slots[K] {
	return &slots[K]{each: each, total: total, busy: map[K]int{}}
}

// acquire takes a slot for k, or returns false if k or everyone is at the
// limit. A true result must be followed by release(k).
func (s *slots[K]) acquire(k K) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= s.total || s.busy[k] >= s.each {
		return false
	}
	s.busy[k]++
	s.n++
	return true
}

func (s *slots[K]) release(k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[k]--; s.busy[k] <= 0 {
		delete(s.busy, k)
	}
	s.n--
}

// limits are the node's rows of the budget table.
type limits struct {
	gossip          *buckets[peer.ID] // messages validated
	objects, bytes  *buckets[peer.ID] // stored from exchange responses
	issuers         *buckets[wire.PublicKey]
	consents        *buckets[peer.ID]
	queries, syncs  *buckets[peer.ID]
	querySlots      *slots[peer.ID]
	syncSlots       *slots[peer.ID]
	greets          chan struct{} // greetings run at once
	pendingPerIssue int
}

// greetsAtOnce bounds the greetings (the exchanges run with a newly
// connected peer) in progress at once; more wait.
const greetsAtOnce = 4

func newLimits(cfg Config) limits {
	b, now := cfg.Budget, cfg.Now
	return limits{
		gossip:          newBuckets[peer.ID](rate.Limit(cfg.RateLimit), cfg.RateBurst, now),
		objects:         newBuckets[peer.ID](perMinute(b.Objects), b.Objects, now),
		bytes:           newBuckets[peer.ID](perMinute(b.Bytes), b.Bytes, now),
		issuers:         newBuckets[wire.PublicKey](perMinute(b.Attestations), b.AttestationBurst, now),
		consents:        newBuckets[peer.ID](perMinute(b.ConsentRequests), b.ConsentRequests, now),
		queries:         newBuckets[peer.ID](perMinute(b.Queries), b.Queries, now),
		syncs:           newBuckets[peer.ID](perMinute(b.SyncSessions), b.SyncSessions, now),
		querySlots:      newSlots[peer.ID](b.QueriesAtOnce, b.QueriesInAll),
		syncSlots:       newSlots[peer.ID](b.SyncAtOnce, b.SyncInAll),
		greets:          make(chan struct{}, greetsAtOnce),
		pendingPerIssue: b.PendingPerIssuer,
	}
}

// serveWithin takes a slot and a token for serving one request of peer
// from, or counts a refusal and reports false (the caller resets the
// stream). When ok, release gives the slot back.
func (n *Node) serveWithin(from peer.ID, sl *slots[peer.ID], b *buckets[peer.ID]) (release func(), ok bool) {
	if !sl.acquire(from) {
		n.overBudget.Add(1)
		return nil, false
	}
	if !b.allow(from, 1) {
		sl.release(from)
		n.overBudget.Add(1)
		return nil, false
	}
	return func() { sl.release(from) }, true
}
