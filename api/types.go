package api

import (
	"context"
	"time"
)

// Service is what the local API serves. The daemon implements it; Client
// implements it over HTTP, so the CLI can use either without knowing which.
//
// Implementations must be safe for concurrent use: the Server calls them
// from one goroutine per request. An error that should reach the caller as
// is must be (or wrap) an *Error; any other error is reported as a generic
// internal error, without its text.
type Service interface {
	// Status describes the running node.
	Status(ctx context.Context) (Status, error)
	// Peers lists the peers the node knows, connected or not.
	Peers(ctx context.Context) ([]Peer, error)
	// Query answers how far the owner trusts a subject in a context, and
	// why.
	Query(ctx context.Context, req QueryRequest) (QueryResult, error)
	// Rank lists the subjects of a context by the owner's trust in them.
	Rank(ctx context.Context, req RankRequest) ([]RankRow, error)
	// QueryBatch answers several subjects of one context at once (the
	// browser extension's badges).
	QueryBatch(ctx context.Context, req BatchQueryRequest) (BatchQueryResult, error)
	// Attestations lists the attestations in the store that match req.
	Attestations(ctx context.Context, req ListRequest) ([]Attestation, error)
	// Attest signs and stores a vouch or a warning.
	Attest(ctx context.Context, req AttestRequest) (Attestation, error)
	// Retract signs and stores a retraction of one of the owner's attestations.
	Retract(ctx context.Context, req RetractRequest) (Retraction, error)
	// Consents lists the consent requests about the owner.
	Consents(ctx context.Context) ([]ConsentRequest, error)
	// Approve consents to the attestation cid (signs and sends a consent).
	Approve(ctx context.Context, cid string) (ConsentRequest, error)
	// Decline refuses consent to the attestation cid.
	Decline(ctx context.Context, cid string) (ConsentRequest, error)
	// Withdraw withdraws a consent given earlier to the attestation cid.
	Withdraw(ctx context.Context, cid string) (ConsentRequest, error)
	// Metrics returns the node's metrics (Prometheus names, such as
	// kith_peers_connected, each with its help text and type).
	Metrics(ctx context.Context) ([]Metric, error)
	// Export returns the store's objects as one bundle signed by the node.
	Export(ctx context.Context, req ExportRequest) (ExportResult, error)
	// Import verifies a bundle and stores its objects, all or none.
	Import(ctx context.Context, req ImportRequest) (ImportResult, error)
	// VerifyLink checks an account's identity links against its profile.
	VerifyLink(ctx context.Context, req VerifyRequest) (VerifyResult, error)
	// Link signs an identity link to the owner's account.
	Link(ctx context.Context, req LinkRequest) (LinkResult, error)
	// FediLogin checks an access token and keeps it in the vault.
	FediLogin(ctx context.Context, req FediLoginRequest) (FediLoginResult, error)
	// FediImport turns the owner's follows, blocks and mutes into
	// attestations.
	FediImport(ctx context.Context, req FediImportRequest) (FediImportResult, error)
	// FediApply mutes (or blocks) on the owner's own account the accounts
	// the owner trusts below a threshold, recording what it added; with
	// Undo it removes exactly those.
	FediApply(ctx context.Context, req FediApplyRequest) (FediApplyResult, error)
	// Model describes the model that answers queries in a context.
	Model(ctx context.Context, req ModelRequest) (ModelInfo, error)
	// TrainModel refines the model on the owner's judgements in a context
	// and keeps the refined one only if it predicts them better.
	TrainModel(ctx context.Context, req ModelRequest) (ModelInfo, error)
}

// Status describes a running node. Field names are stable.
type Status struct {
	PeerID  string    `json:"peer_id"`
	Addrs   []string  `json:"addrs"` // full multiaddrs, ending in /p2p/<peer ID>
	API     string    `json:"api"`   // base URL of this API; the Server fills it in when empty
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	Peers   int       `json:"peers"`   // connected peers
	Objects int       `json:"objects"` // objects in the store
	Topic   string    `json:"topic"`   // the gossip topic's name
	// Warnings are what the owner should know about the node's
	// connectivity: unusable or unreachable bootstrap peers, no peers at
	// all. Empty when all is well.
	Warnings []string `json:"warnings"`
	// StoreError says why the store cannot be written (a full disk, its
	// directory gone); "" while it can. Nothing new is stored meanwhile.
	StoreError string `json:"store_error"`
}

// Peer is one peer the node knows. Field names are stable.
type Peer struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs"`
	Connected bool     `json:"connected"`
	Score     float64  `json:"score"` // gossip (peer) score
	Trust     *float64 `json:"trust"` // the owner's trust in this peer; null when unknown
}

// Attestation is the JSON form of an attestation, the same object as one
// element of `kith list --json`. Field names are stable, and every field is
// always present: a string the attestation does not have is "".
type Attestation struct {
	CID         string `json:"cid"`
	Kind        string `json:"kind"`
	Issuer      string `json:"issuer"`
	Subject     string `json:"subject"`
	SubjectKey  string `json:"subject_key"`  // the subject's peer ID, "" for an account alone
	SubjectAcct string `json:"subject_acct"` // the subject's account, "" for a key alone
	Context     string `json:"context"`
	Strength    uint64 `json:"strength"`
	Reason      string `json:"reason"`
	Evidence    string `json:"evidence"`
	Created     string `json:"created"` // RFC 3339
	Expires     string `json:"expires"` // RFC 3339, "" for none
	Audience    string `json:"audience"`
	Retracted   bool   `json:"retracted"`
	Expired     bool   `json:"expired"`
	// Superseded: the issuer made a later statement about the same subject
	// in the same context, which is the one that counts.
	Superseded bool `json:"superseded"`
	// State sums the three up: AttestationActive, AttestationRetracted,
	// AttestationExpired or AttestationSuperseded, in that precedence.
	State    string `json:"state"`
	Consents int    `json:"consents"`
}

// Attestation states (Attestation.State).
const (
	AttestationActive     = "active"
	AttestationRetracted  = "retracted"
	AttestationExpired    = "expired"
	AttestationSuperseded = "superseded"
)

// Attestation kinds, as AttestRequest.Kind and Attestation.Kind spell them.
const (
	KindVouch = "vouch"
	KindWarn  = "warn"
)

// AttestRequest asks the node to sign and store a vouch or a warning. The
// fields take the same text as the CLI's flags. Empty Context and Audience
// and a zero Strength mean the CLI's defaults (see WithDefaults).
type AttestRequest struct {
	Kind     string `json:"kind"`    // "vouch" or "warn"
	Subject  string `json:"subject"` // peer ID, did:key or Fediverse account
	Context  string `json:"context,omitempty"`
	Strength uint64 `json:"strength,omitempty"` // 1..100
	Reason   string `json:"reason,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	Expires  string `json:"expires,omitempty"`  // a duration (90d, 12h, 2w) or a date, as --expires takes it
	Audience string `json:"audience,omitempty"` // private, public, or comma-separated peer IDs, as wire.ParseAudience takes it
}

// Defaults applied by AttestRequest.WithDefaults; the same as the CLI's.
const (
	DefaultContext  = "general"
	DefaultStrength = 50
	DefaultAudience = "private"
)

// WithDefaults returns r with its empty fields set to the defaults.
func (r AttestRequest) WithDefaults() AttestRequest {
	if r.Context == "" {
		r.Context = DefaultContext
	}
	if r.Strength == 0 {
		r.Strength = DefaultStrength
	}
	if r.Audience == "" {
		r.Audience = DefaultAudience
	}
	return r
}

// RetractRequest asks the node to retract one of the owner's attestations.
type RetractRequest struct {
	CID    string `json:"cid"`
	Reason string `json:"reason,omitempty"`
}

// Retraction is a stored retraction.
type Retraction struct {
	CID     string    `json:"cid"`    // the retraction's own CID
	Target  string    `json:"target"` // the retracted attestation's CID
	Created time.Time `json:"created"`
}

// ListRequest filters Attestations. Empty fields match everything.
type ListRequest struct {
	By      string `json:"by,omitempty"`    // issuer: "me" or a subject
	About   string `json:"about,omitempty"` // subject
	Context string `json:"context,omitempty"`
	Kind    string `json:"kind,omitempty"` // "", "vouch" or "warn"
	All     bool   `json:"all,omitempty"`  // include retracted and expired attestations
}

// QueryRequest asks how far the owner trusts Subject in Context.
type QueryRequest struct {
	Subject string `json:"subject"`
	Context string `json:"context,omitempty"`
}

// RankRequest asks for the subjects ranked by the owner's trust in Context.
type RankRequest struct {
	Context string `json:"context,omitempty"`
	Bottom  bool   `json:"bottom,omitempty"` // least trusted first
	Limit   int    `json:"limit,omitempty"`  // 0: the service's default
}

// MaxRankLimit is the largest RankRequest.Limit the Server accepts.
const MaxRankLimit = 10000

// ConsentState is the state of a consent request.
type ConsentState string

// Consent request states.
const (
	ConsentPending   ConsentState = "pending"
	ConsentApproved  ConsentState = "approved"
	ConsentDeclined  ConsentState = "declined"
	ConsentWithdrawn ConsentState = "withdrawn"
)

// ConsentRequest is a public statement about the owner awaiting (or having
// received) the owner's consent. Field names are stable.
type ConsentRequest struct {
	CID      string       `json:"cid"` // the attestation's CID
	Issuer   string       `json:"issuer"`
	Kind     string       `json:"kind"`
	Context  string       `json:"context"`
	Strength uint64       `json:"strength"`
	Reason   string       `json:"reason"` // "" for none
	Created  time.Time    `json:"created"`
	State    ConsentState `json:"state"`
	// Superseded counts the older pending requests of the same issuer in
	// the same context that this one stands for (not listed).
	Superseded int `json:"superseded"`
}
