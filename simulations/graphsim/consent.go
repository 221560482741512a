package graphsim

import (
	"math"

	"github.com/kith-net/kith/simulations/scenario"
	"github.com/kith-net/kith/trust"
)

// consentView keeps of a cell's edges what one querier's node would hold
// under the scenario's [consent] section: its owner's own attestations,
// the public proofs consented gossip brings, and the warnings shared with
// it. Each edge u->v is one attestation:
//
//   - the querier's own attestations are all kept, private ones included;
//   - a vouch by anyone else is kept when it is public and consented and u
//     is fewer than hops steps from the querier along kept vouches (hops 0:
//     any distance). An honest issuer makes a statement public with
//     probability public and an honest subject consents with probability
//     grant; attackers publish all they issue and consent to all that
//     names them;
//   - a warning by anyone else is kept when its issuer vouches for the
//     querier: warnings are never gossiped, and go on request to the
//     people their audience names, taken here as those the issuer vouches
//     for.
//
// Whether an edge is public and consented is drawn once per (issuer,
// subject) pair from the scenario's seed, so every viewpoint sees the same
// public graph and differs only in its own edges and its horizon.
type consentView struct {
	c      scenario.Consent
	seed   uint64
	honest int // identities below honest are the population; the rest attackers
	q      trust.NodeID
	dist   map[trust.NodeID]int // hops from q along kept vouches (only with c.Hops > 0)
	vouchQ map[trust.NodeID]bool
}

// newConsentView prepares q's filter for the edges of one cell: all lists
// together are every attestation of the cell, from which hop distances and
// q's vouchers are found.
func newConsentView(c scenario.Consent, seed uint64, honest int, q trust.NodeID, lists ...[]trust.Edge) *consentView {
	cv := &consentView{c: c, seed: seed, honest: honest, q: q, vouchQ: map[trust.NodeID]bool{}}
	out := map[trust.NodeID][]trust.NodeID{}
	for _, l := range lists {
		for _, e := range l {
			if e.Weight <= 0 {
				continue
			}
			if e.To == q {
				cv.vouchQ[e.From] = true
			}
			if c.Hops > 0 && (e.From == q || cv.public(e)) {
				out[e.From] = append(out[e.From], e.To)
			}
		}
	}
	if c.Hops > 0 {
		cv.dist = map[trust.NodeID]int{q: 0}
		frontier := []trust.NodeID{q}
		for d := 1; d < c.Hops && len(frontier) > 0; d++ {
			var next []trust.NodeID
			for _, u := range frontier {
				for _, v := range out[u] {
					if _, ok := cv.dist[v]; !ok {
						cv.dist[v] = d
						next = append(next, v)
					}
				}
			}
			frontier = next
		}
	}
	return cv
}

// public reports whether the attestation e is public and consented.
func (cv *consentView) public(e trust.Edge) bool {
	p := 1.0
	if int(e.From) < cv.honest {
		p = cv.c.Public
	}
	if int(e.To) < cv.honest {
		p *= cv.c.Grant
	}
	return p >= 1 || uniform(cv.seed, e.From, e.To) < p
}

// keep reports whether the querier's node holds e.
func (cv *consentView) keep(e trust.Edge) bool {
	switch {
	case e.From == cv.q:
		return true
	case e.Weight < 0:
		return cv.vouchQ[e.From]
	case !cv.public(e):
		return false
	case cv.c.Hops == 0:
		return true
	default:
		_, near := cv.dist[e.From] // within hops-1 steps
		return near
	}
}

// filter returns the edges of l that the querier's node holds.
func (cv *consentView) filter(l []trust.Edge) []trust.Edge {
	var out []trust.Edge
	for _, e := range l {
		if cv.keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// uniform is a number in [0, 1) fixed by the seed and the pair (u, v):
// SplitMix64's finaliser over their combination.
func uniform(seed uint64, u, v trust.NodeID) float64 {
	x := seed ^ uint64(uint32(u))<<32 ^ uint64(uint32(v)) ^ 0x636f6e73656e74
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / math.Exp2(53)
}
