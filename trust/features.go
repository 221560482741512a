package trust

import (
	"cmp"
	"math"
	"slices"
)

// Feature names, in the order of Features.Values. A name fixes a
// feature's definition: a model file names the features it was trained
// on, and a feature whose definition changes gets a new name. Append new
// ones; never reorder or reuse a name.
//
// The evidence about a subject t is weighed with the owner's trust in its
// authors as it would be if t did not exist (subjectCut): nothing said by
// or about t changes how far the owner trusts t's raters. So every
// feature about t is exactly monotone in the evidence (FeatureSigns): a
// new vouch only adds its own term (raising trust, trusted_vouch,
// balance, vouchers, known_balance), a new warning only its own (raising
// trusted_warn and warners, lowering balance and known_balance), and more
// trust in a rater only makes that rater's term larger. Every feature about
// the subject is 0 for a subject nobody in the view has spoken about (the
// baseline of explanations).
var FeatureNames = []string{
	"trust",             // T: the owner's trust reaching t through others' vouches, Σ τ(u)·(1−α)·w(u,t)/max(1, S_u), in [0, 1]
	"trusted_vouch",     // log(1 + P), P = Σ τ(u)·w(u,t) over the vouchers u ≠ owner
	"trusted_warn",      // log(1 + W), W = Σ τ(u)·|w(u,t)| over the warners u ≠ owner
	"balance",           // (P − W) / (P + W + 0.05): in (−1, 1)
	"vouchers",          // log(1 + number of vouchers the owner trusts, τ(u) ≥ TrustedLevel)
	"warners",           // log(1 + number of warners the owner trusts, τ(u) ≥ TrustedLevel)
	"known_balance",     // (V − N) / (V + N + 1), V and N the numbers of vouchers and warners the owner's trust reaches at all (τ ≥ KnownLevel)
	"crowd_balance",     // (V − N) / (V + N + 1), V and N the weights of all vouches and warnings about t, only while the owner vouches for nobody
	"crowd_vouches",     // log(1 + number of vouchers of t), only while the owner vouches for nobody
	"crowd_warnings",    // log(1 + number of warners of t), only while the owner vouches for nobody
	"owner_vouch_share", // (vouches + 1) / (statements + 2) of the owner's own statements, the one about t excluded: how readily the owner vouches
	"member_age",        // log(1 + days since the earliest vouch for t by someone the owner's trust reaches (τ ≥ KnownLevel) / 30): how long t has been vouched for
	"recent_vouch",      // log(1 + Σ τ(u)·w(u,t)·e^(−age/RecentDays)) over the vouchers: trusted vouches, the recent ones counting most
	"recent_warn",       // log(1 + Σ τ(u)·|w(u,t)|·e^(−age/RecentDays)) over the warners: trusted warnings, the recent ones counting most
	"last_warn_share",   // W / max(k, 1): of the k ≤ LastStatements newest statements about t by people the owner's trust reaches (τ ≥ KnownLevel), W are warnings: whether t has turned lately
}

// LastStatements is the window of last_warn_share: how many of the newest
// statements about a subject tell whether it has turned. A member who
// turns after years of good trades keeps the vouches of those years;
// what changes is what the latest people to deal with them say.
const LastStatements = 10

// RecentDays is the time scale, in days, of the recent_* features: a
// statement that old counts 1/e of a new one there.
const RecentDays = 90

// IsOwnerFeature reports whether feature i describes the owner rather than
// the subject: its value is part of the baseline an explanation starts
// from (the answer for someone about whom nothing is known, for this
// owner), never a contribution.
func IsOwnerFeature(i int) bool { return i == FOwnerVouchShare }

// FeatureSigns constrains the sign of each feature's weight in a trained
// model, so that the score is monotone in the evidence whatever the
// training data: more trusted vouches never lower it, more warnings never
// raise it. 0 leaves a weight free.
var FeatureSigns = [NumFeatures]int{
	FTrust: +1, FTrustedVouch: +1, FTrustedWarn: -1, FBalance: +1, FVouchers: +1, FWarners: -1, FKnownBalance: +1,
	FCrowdBalance: +1, FCrowdVouches: +1, FCrowdWarnings: -1, FOwnerVouchShare: +1,
	FMemberAge: +1, FRecentVouch: +1, FRecentWarn: -1, FLastWarnShare: -1,
}

// Feature indices.
const (
	FTrust = iota
	FTrustedVouch
	FTrustedWarn
	FBalance
	FVouchers
	FWarners
	FKnownBalance
	FCrowdBalance
	FCrowdVouches
	FCrowdWarnings
	FOwnerVouchShare
	FMemberAge
	FRecentVouch
	FRecentWarn
	FLastWarnShare
	NumFeatures
)

// KnownLevel is the owner's trust from which a rater counts as someone the
// owner's trust reaches at all: statements by people below it are no
// evidence (Evidence.counts).
const KnownLevel = 0.001

// Tried and left out (December 2026): counting a rater trusted below 0.01
// as τ/0.01 of one in known_balance, so that a contact cannot vouch a crowd
// into reach. Measured on Bitcoin OTC with a model trained without it, it
// lowered the Sybils accepted per near-querier attack edge only from 20.2
// to 17.8 (s = 1,000, g = 1) and from 25.2 to 24.6 (g = 10), and cost
// 0.008–0.017 of held-out AUC on the other networks.

// TrustedLevel is the owner's trust from which a person counts as someone
// the owner trusts, in the counts of features and of plain summaries ("2 of
// the people you trust warned").
const TrustedLevel = 0.05

// balanceFloor keeps balance defined, and near 0, when there is almost no
// trusted evidence.
const balanceFloor = 0.05

// Features describes a subject from the owner's point of view: what the
// ranking model reads, and what an explanation shows. Values are computed
// from everyone's statements but the owner's own statement about the
// subject (the crowd's evidence); the owner's own statement is Direct, and
// decides on which side of neutral the answer lies (Engine).
type Features struct {
	Values [NumFeatures]float64
	// Covered is false when the view holds nothing about the subject: no
	// trust reaches it, nobody made a statement about it, and the owner
	// made none either. Such a subject has no score.
	Covered bool
	// Direct is the owner's own weight on the subject, in [−1, 1], if
	// HasDirect.
	Direct    float64
	HasDirect bool
	// Linked is true when the subject's Fediverse link is verified. It is
	// shown in explanations; it is not a model input until there is data
	// to learn its weight from.
	Linked bool
	// Trust is the owner's trust in the subject, in [0, 1], through
	// other people's vouches (FTrust).
	Trust float64
	// TrustedVouchers and TrustedWarners count the people the owner
	// trusts (τ ≥ TrustedLevel) who vouched for or warned about the
	// subject; OtherVouchers and OtherWarners the rest, the owner excluded.
	TrustedVouchers, TrustedWarners int
	OtherVouchers, OtherWarners     int
	// Level holds what a LevelModel reads beside the features
	// (LevelInputNames).
	Level [NumLevelInputs]float64
	// crowd is true when there is evidence about the subject other than
	// the owner's own statement.
	crowd bool
	// Evidence is the effective number of independent statements about
	// the subject: trusted vouchers and warners count 1, other people 1/4,
	// the owner's own statement 2. Confidence derives from it.
	Evidence float64
}

// Evidence is what the features of a subject are computed from: the
// owner's trust reaching the subject, every statement about it but the
// owner's, each with the owner's trust in its author, and whether the
// owner vouches for nobody (a newcomer, who has only the crowd to go on).
type Evidence struct {
	Trust      float64
	Statements []Statement
	Newcomer   bool
	// OwnerVouches and OwnerWarnings count the owner's own statements
	// (the one about the subject excluded); OwnerWeight is the sum of
	// their signed weights and OwnerStrength of their strengths.
	OwnerVouches, OwnerWarnings int
	OwnerWeight, OwnerStrength  float64
	// Now is the time the statements' ages are taken at (Unix seconds; 0
	// when the view has no times, and then the time features are 0).
	Now int64
}

// FeaturesOf computes the model's features, the counts and the evidence
// weight of e. Covered, Direct and the link are the caller's. It is the
// whole definition of FeatureNames, so the features' monotonicity can be
// checked on it directly.
func FeaturesOf(e Evidence) Features {
	var (
		f                  Features
		pos, neg           float64 // trusted weights
		allPos, allNeg     float64 // all weights
		vouchers, warners  int
		trustedV, trustedW int
		knownV, knownW     float64
		recentP, recentN   float64
		first              = int64(math.MaxInt64)
	)
	decay := func(s Statement) float64 {
		if e.Now <= 0 || s.Time <= 0 {
			return 0 // no time known
		}
		return math.Exp(-max(0, float64(e.Now-s.Time)) / (RecentDays * 86400))
	}
	for _, s := range e.Statements {
		if s.Weight > 0 {
			vouchers++
			allPos += s.Weight
			pos += s.Trust * s.Weight
			if s.Trust >= TrustedLevel {
				trustedV++
			}
			if s.Trust >= KnownLevel {
				knownV++
				if s.Time > 0 {
					first = min(first, s.Time)
				}
			}
			recentP += s.Trust * s.Weight * decay(s)
		} else if s.Weight < 0 {
			warners++
			allNeg -= s.Weight
			neg += s.Trust * -s.Weight
			if s.Trust >= TrustedLevel {
				trustedW++
			}
			if s.Trust >= KnownLevel {
				knownW++
			}
			recentN += s.Trust * -s.Weight * decay(s)
		}
	}
	x := &f.Values
	x[FTrust] = e.Trust
	x[FTrustedVouch] = math.Log1p(pos)
	x[FTrustedWarn] = math.Log1p(neg)
	x[FBalance] = (pos - neg) / (pos + neg + balanceFloor)
	x[FVouchers] = math.Log1p(float64(trustedV))
	x[FWarners] = math.Log1p(float64(trustedW))
	x[FKnownBalance] = (knownV - knownW) / (knownV + knownW + 1)
	x[FOwnerVouchShare] = float64(e.OwnerVouches+1) / float64(e.OwnerVouches+e.OwnerWarnings+2)
	if e.Now > 0 && first < math.MaxInt64 {
		x[FMemberAge] = math.Log1p(max(0, float64(e.Now-first)) / 86400 / 30)
	}
	x[FRecentVouch] = math.Log1p(recentP)
	x[FRecentWarn] = math.Log1p(recentN)
	if e.Now > 0 {
		x[FLastWarnShare] = lastWarnShare(e.Statements)
	}
	if raters := len(e.Statements); raters > 0 && e.Newcomer {
		// An owner who vouches for nobody has no trust to weigh evidence
		// with: what the crowd says is all there is. Once the owner trusts
		// someone it is left out, so that raters the owner does not trust
		// (a Sybil region) can never lift a score.
		x[FCrowdBalance] = (allPos - allNeg) / (allPos + allNeg + 1)
		x[FCrowdVouches] = math.Log1p(float64(vouchers))
		x[FCrowdWarnings] = math.Log1p(float64(warners))
	}
	f.Level = levelInputs(e)
	f.Trust = e.Trust
	f.TrustedVouchers, f.TrustedWarners = trustedV, trustedW
	f.OtherVouchers, f.OtherWarners = vouchers-trustedV, warners-trustedW
	f.Evidence = float64(trustedV+trustedW) + 0.25*float64(len(e.Statements)-trustedV-trustedW)
	return f
}

// lastWarnShare is last_warn_share: the share of warnings among the
// LastStatements newest statements by people the owner's trust reaches,
// newest first by time, then by author. It is monotone in the evidence: a
// new warning either enters the window (pushing out the oldest, vouch or
// warning) or is older than all of it; a new vouch likewise; and more trust
// in a rater only brings its statement into the set.
func lastWarnShare(st []Statement) float64 {
	var known []Statement
	for _, s := range st {
		if s.Trust >= KnownLevel && s.Weight != 0 && s.Time > 0 {
			known = append(known, s)
		}
	}
	if len(known) == 0 {
		return 0
	}
	slices.SortFunc(known, func(a, b Statement) int {
		if c := cmp.Compare(b.Time, a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.From, a.From)
	})
	known = known[:min(len(known), LastStatements)]
	w := 0
	for _, s := range known {
		if s.Weight < 0 {
			w++
		}
	}
	return float64(w) / float64(len(known))
}

// counts reports whether e is evidence at all: the owner's trust reaches
// the subject or one of its raters (τ ≥ KnownLevel), or the owner trusts
// nobody yet and anyone has spoken. Statements only by people the owner's
// trust does not reach are no evidence: anyone can make such people, and a
// subject known only to them ranks with those nobody spoke about.
func (e Evidence) counts() bool {
	if e.Trust >= KnownLevel || (e.Newcomer && len(e.Statements) > 0) {
		return true
	}
	for _, s := range e.Statements {
		if s.Trust >= KnownLevel {
			return true
		}
	}
	return false
}

// evidence gathers t's Evidence in v as it is (the owner's own statement
// about t is not among the statements).
func (v *View) evidence(t NodeID) Evidence {
	q := v.q
	cut := v.cutAt(t)
	e := Evidence{Newcomer: v.prop.outSum[q] <= 0, Trust: cut.subjectTrust(), Now: v.askedAt()}
	v.EachIn(t, func(u NodeID, w float32, ts int64) {
		if u != q && w != 0 {
			e.Statements = append(e.Statements, Statement{From: u, Weight: float64(w), Trust: cut.raterTrust(u), Time: ts})
		}
	})
	to, w := v.Out(q)
	for i, x := range w {
		if to[i] == t || x == 0 {
			continue
		}
		if x > 0 {
			e.OwnerVouches++
		} else {
			e.OwnerWarnings++
		}
		e.OwnerWeight += float64(x)
		e.OwnerStrength += math.Abs(float64(x))
	}
	return e
}

// Features computes t's features in v, from v as it is: when the owner has
// a statement about t, the features only exclude it as a rater (its trust
// still flows); Crowd gives the features with it hidden altogether, as the
// model is trained. linked reports verified Fediverse links (nil: none).
func (v *View) Features(t NodeID, linked func(NodeID) bool) Features {
	f, _ := v.featuresAndEvidence(t, linked)
	return f
}

func (v *View) featuresAndEvidence(t NodeID, linked func(NodeID) bool) (Features, Evidence) {
	e := v.evidence(t)
	f := FeaturesOf(e)
	q := v.q
	if linked != nil {
		f.Linked = linked(t)
	}
	f.Direct, f.HasDirect = v.Weight(q, t)
	f.crowd = t != q && e.counts()
	f.Covered = f.crowd || (t != q && f.HasDirect)
	if f.HasDirect {
		f.Evidence += 2
	}
	return f, e
}

// RaterTrust returns the owner's trust in u as the evidence about t
// weighs it: as if t did not exist (see FeatureNames).
func (v *View) RaterTrust(t, u NodeID) float64 {
	c := v.cutAt(t)
	return c.raterTrust(u)
}

// CrowdCovered reports whether there is evidence about the subject other
// than the owner's own statement.
func (f *Features) CrowdCovered() bool { return f.crowd }

// Confidence maps the effective evidence to [0, 1): e/(e+2), so two
// independent trusted statements give one half.
func (f Features) Confidence() float64 {
	if !f.Covered {
		return 0
	}
	return f.Evidence / (f.Evidence + 2)
}

// Trust returns the owner's trust in u, in [0, 1]: the trust the owner's
// vouches pass on to u, where the owner's own vouch counts at its strength
// and what anyone else passes on is shared among the people they vouch
// for, each vouch passing a share of its strength. It is the personalised
// PageRank mass m(u) scaled by max(1, S)/(α(1−α)), S the owner's positive
// out-weight and α the restart probability, capped at 1: a direct vouch of
// strength w gives at least w, and everything a contact passes on, to
// however many people, adds up to at most what the contact holds. The
// owner's trust in itself is 1; with no vouches of the owner's own,
// everyone's is 0.
func (v *View) Trust(u NodeID) float64 {
	if u == v.q {
		return 1
	}
	return v.trustOf(v.prop.mass[u])
}

// trustOf scales a mass to the owner's trust (Trust).
func (v *View) trustOf(m float64) float64 {
	s := v.prop.outSum[v.q]
	if s <= 0 {
		return 0
	}
	a := v.prop.p.Restart
	return min(1, max(0, m)*max(s, 1)/(a*(1-a)))
}

// LevelInputNames name what a LevelModel reads about a subject beside the
// ranking model's features, in the order of Features.Level: the scale of
// the owner's own judgements and of what others said, which says how
// strong a judgement will be rather than which way it goes.
var LevelInputNames = []string{
	"owner_mean_weight",   // mean signed weight of the owner's own statements (the one about t excluded), 0 without any
	"owner_mean_strength", // mean strength of the owner's own statements, 0 without any
	"trusted_mean_weight", // Σ τ(u)·w(u,t) / (Σ τ(u) + 0.01): the owner-trust-weighted mean of the others' statements' weights
	"crowd_mean_weight",   // mean weight of everyone's statements about t, 0 without any
}

// Level input indices.
const (
	LOwnerMeanWeight = iota
	LOwnerMeanStrength
	LTrustedMeanWeight
	LCrowdMeanWeight
	NumLevelInputs
)

// levelInputs computes Features.Level from e.
func levelInputs(e Evidence) [NumLevelInputs]float64 {
	var l [NumLevelInputs]float64
	if n := e.OwnerVouches + e.OwnerWarnings; n > 0 {
		l[LOwnerMeanWeight] = e.OwnerWeight / float64(n)
		l[LOwnerMeanStrength] = e.OwnerStrength / float64(n)
	}
	var sum, tw, tsum float64
	for _, s := range e.Statements {
		sum += s.Weight
		tw += s.Trust * s.Weight
		tsum += s.Trust
	}
	l[LTrustedMeanWeight] = tw / (tsum + 0.01)
	if len(e.Statements) > 0 {
		l[LCrowdMeanWeight] = sum / float64(len(e.Statements))
	}
	return l
}
