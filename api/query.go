package api

// The answers of GET /v1/query and GET /v1/rank: exactly what kith query
// --json and kith rank --json print (cli/schema/query.schema.json and
// rank.schema.json). Field names are stable; slices are never null.

// ScoreMeaning says what kith's trust number is; query answers carry it and
// the README repeats it.
const ScoreMeaning = "the probability that you would judge them positively in this context; 0.5 is neutral"

// QueryResult answers "how far do I trust someone in a context, and why?".
type QueryResult struct {
	Subject     string       `json:"subject"` // @user@host when known, else the peer ID or did:key
	Context     string       `json:"context"`
	Covered     bool         `json:"covered"`
	Score       *float64     `json:"score"` // null without evidence
	Confidence  float64      `json:"confidence"`
	Meaning     string       `json:"meaning"`
	Explanation *Explanation `json:"explanation"`
}

// Explanation is what a query's answer rests on.
type Explanation struct {
	// Summary is the answer in plain words: "warned by you; 2 of the
	// people you trust warned, 0 vouched".
	Summary      string        `json:"summary"`
	OwnStatement *OwnStatement `json:"own_statement,omitempty"`
	// Crowd is what everyone else's evidence alone gives (null: none);
	// Baseline is the answer for someone nobody in your view spoke about.
	Crowd           *float64    `json:"crowd"`
	Baseline        float64     `json:"baseline"`
	LinkVerified    bool        `json:"link_verified"`
	TrustedVouchers int         `json:"trusted_vouchers"`
	TrustedWarners  int         `json:"trusted_warners"`
	OtherVouchers   int         `json:"other_vouchers"`
	OtherWarners    int         `json:"other_warners"`
	Vouchers        []Statement `json:"vouchers"`
	Warners         []Statement `json:"warners"`
	Paths           []Path      `json:"paths"`
	// Features are what moved the crowd's answer away from Baseline, in
	// log-odds; their contributions add up to logit(crowd) − logit(baseline).
	Features []Feature `json:"features"`
	// Through is the one of your contacts through whom most of your trust
	// in the subject's raters came, when one contact brought more than
	// half of it (omitted otherwise): what came through a single contact
	// counts for less, so that one fooled or compromised contact cannot
	// bring in a crowd (trust.ContactRetain).
	Through *Through `json:"through,omitempty"`
	Model   ModelRef `json:"model"`
}

// Through is the limit an answer shows when most of it rests on one of
// the owner's contacts.
type Through struct {
	Contact string `json:"contact"` // the contact, as your view names them
	// Share is the part of your trust in the subject's raters (weighed by
	// their statements about the subject) that came through Contact, in
	// (0.5, 1].
	Share float64 `json:"share"`
	// Effect says what kith does with that part.
	Effect string `json:"effect"`
}

// OwnStatement is the owner's own word about the subject.
type OwnStatement struct {
	Kind     string `json:"kind"` // vouch or warn
	Strength int    `json:"strength"`
	// Effect says what the owner's word does to the answer.
	Effect string `json:"effect"`
}

// Statement is one vouch or warning about the subject.
type Statement struct {
	From string `json:"from"`
	// Strength is the statement's strength, 1-100.
	Strength int     `json:"strength"`
	Weight   float64 `json:"weight"`
	// YourTrust is your trust in the statement's author, in [0, 1].
	YourTrust float64 `json:"your_trust"`
}

// Path is a chain of vouches from the owner ("you") to the subject.
type Path struct {
	Nodes    []string `json:"nodes"`
	Strength float64  `json:"strength"`
}

// Feature is one input of the model and what it contributed.
type Feature struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"` // log-odds against the baseline
}

// ModelRef names the model behind an answer.
type ModelRef struct {
	// Kind is "shipped" or "refined" (on the owner's judgements).
	Kind       string `json:"kind"`
	Provenance string `json:"provenance"`
	Examples   int    `json:"examples"`
	Note       string `json:"note,omitempty"`
}

// RankRow is one subject of a ranking.
type RankRow struct {
	Subject    string  `json:"subject"`
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
	Summary    string  `json:"summary"`
}
