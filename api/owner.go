package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The owner's bundle and Fediverse routes: what the CLI's export, import,
// link, verify and fedi commands do while a daemon holds the store.

// MaxBundleBytes caps a bundle that crosses the API (export's answer,
// import's request). The import route takes a body of up to its base64
// size plus room for the JSON around it.
const MaxBundleBytes = 64 << 20

// maxImportBody is the import route's body cap.
const maxImportBody = MaxBundleBytes/3*4 + 4<<10

// ExportRequest asks for the store's objects as one bundle signed by the
// node. Expired objects are always left out (an importer would refuse
// them).
type ExportRequest struct {
	PublicOnly bool `json:"public_only,omitempty"` // leave out attestations that are not public
}

// ExportResult is a signed bundle. Field names are stable.
type ExportResult struct {
	Bundle  []byte `json:"bundle"` // the bundle's canonical bytes (base64 in JSON)
	CID     string `json:"cid"`
	Objects int    `json:"objects"`
	Skipped int    `json:"skipped"` // expired objects left out
}

// ImportRequest asks the node to verify a bundle and store its objects,
// all or none.
type ImportRequest struct {
	Bundle []byte `json:"bundle"`
}

// ImportResult says what an import stored. Field names are stable.
type ImportResult struct {
	Bundle  string `json:"bundle"` // the bundle's CID
	Signer  string `json:"signer"`
	Objects int    `json:"objects"`
	Added   int    `json:"added"` // objects the store did not hold yet
}

// VerifyRequest asks the node to check an account's identity links against
// its profile, after storing Links (identity link objects, each in its
// canonical bytes) when given.
type VerifyRequest struct {
	Acct  string   `json:"acct"`
	Links [][]byte `json:"links,omitempty"`
}

// VerifyResult is a verified link. Field names are stable.
type VerifyResult struct {
	Acct     string `json:"acct"`
	PeerID   string `json:"peer_id"`
	DIDKey   string `json:"did_key"`
	Verified bool   `json:"verified"`
	Checked  string `json:"checked"` // RFC 3339
	Link     string `json:"link"`    // the identity link's CID
}

// LinkRequest asks the node to sign an identity link to the owner's
// account and, with SetField, to put it in the profile.
type LinkRequest struct {
	Acct     string `json:"acct"`
	SetField bool   `json:"set_field,omitempty"`
}

// LinkResult is a signed identity link. Field names are stable; Bundle
// (the link as a bundle, for others to import) is not part of kith link
// --json.
type LinkResult struct {
	Acct       string `json:"acct"`
	PeerID     string `json:"peer_id"`
	DIDKey     string `json:"did_key"`
	FieldName  string `json:"field_name"`
	FieldValue string `json:"field_value"`
	Link       string `json:"link"`
	FieldSet   bool   `json:"field_set"`
	Verified   bool   `json:"verified"`
	Bundle     []byte `json:"bundle,omitempty"`
}

// FediLoginRequest hands the node an access token for the owner's
// account, which it checks and keeps in the vault.
type FediLoginRequest struct {
	Acct  string `json:"acct"`
	Token string `json:"token"`
}

// FediLoginResult is a stored login; the token is never sent back.
type FediLoginResult struct {
	Acct      string `json:"acct"`
	Instance  string `json:"instance"`
	AccountID string `json:"account_id"`
}

// FediImportRequest asks the node to import the owner's follows, blocks
// and mutes. Mappings are "vouch:N", "warn:N" or "off"; empty ones take the
// CLI's defaults.
type FediImportRequest struct {
	Account  string `json:"account,omitempty"`
	Context  string `json:"context,omitempty"`
	Block    string `json:"block,omitempty"`
	Mute     string `json:"mute,omitempty"`
	Follow   string `json:"follow,omitempty"`
	Follower string `json:"follower,omitempty"`
	DryRun   bool   `json:"dry_run,omitempty"`
}

// FediImportResult is the JSON answer of kith fedi import. Field names are
// stable.
type FediImportResult struct {
	Account   string         `json:"account"`
	Context   string         `json:"context"`
	Relations map[string]int `json:"relations"` // accounts per relation, after precedence
	Added     int            `json:"added"`
	Unchanged int            `json:"unchanged"`
	Retracted int            `json:"retracted"`
	Skipped   int            `json:"skipped"`  // accounts with the owner's own statement
	Unusable  int            `json:"unusable"` // account names kith cannot store
	DryRun    bool           `json:"dry_run"`
}

// Handlers.

func (s *Server) export(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := queryParams(r.URL.RawQuery, "public_only")
	if err != nil {
		return 0, nil, err
	}
	var req ExportRequest
	if v, ok := p["public_only"]; ok {
		if req.PublicOnly, err = strconv.ParseBool(v); err != nil {
			return 0, nil, Errorf(CodeInvalid, "public_only must be true or false")
		}
	}
	res, err := s.svc.Export(r.Context(), req)
	return http.StatusOK, res, err
}

func (s *Server) importBundle(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req ImportRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if len(req.Bundle) == 0 {
		return 0, nil, Errorf(CodeInvalid, "bundle is required")
	}
	res, err := s.svc.Import(r.Context(), req)
	return http.StatusOK, res, err
}

func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req VerifyRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkAcct(req.Acct); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.VerifyLink(r.Context(), req)
	return http.StatusOK, res, err
}

func (s *Server) link(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req LinkRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkAcct(req.Acct); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.Link(r.Context(), req)
	return http.StatusCreated, res, err
}

func (s *Server) fediLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req FediLoginRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkAcct(req.Acct); err != nil {
		return 0, nil, err
	}
	if req.Token == "" {
		return 0, nil, Errorf(CodeInvalid, "token is required")
	}
	if err := checkStrings(map[string]string{"token": req.Token}); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.FediLogin(r.Context(), req)
	return http.StatusOK, res, err
}

func (s *Server) fediImport(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req FediImportRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkStrings(map[string]string{"account": req.Account, "context": req.Context, "block": req.Block,
		"mute": req.Mute, "follow": req.Follow, "follower": req.Follower}); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.FediImport(r.Context(), req)
	if res.Relations == nil {
		res.Relations = map[string]int{}
	}
	return http.StatusOK, res, err
}

// decodeBody reads the request body (within the route's cap) and decodes
// it strictly into v.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

func checkAcct(acct string) error {
	if acct == "" {
		return Errorf(CodeInvalid, "acct is required")
	}
	return checkStrings(map[string]string{"acct": acct})
}

// Client methods.

// Export implements Service.
func (c *Client) Export(ctx context.Context, req ExportRequest) (ExportResult, error) {
	var q url.Values
	if req.PublicOnly {
		q = url.Values{"public_only": {"true"}}
	}
	var res ExportResult
	err := c.do(ctx, "GET", "/v1/export", q, nil, &res)
	return res, err
}

// Import implements Service.
func (c *Client) Import(ctx context.Context, req ImportRequest) (ImportResult, error) {
	var res ImportResult
	err := c.do(ctx, "POST", "/v1/import", nil, req, &res)
	return res, err
}

// VerifyLink implements Service.
func (c *Client) VerifyLink(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
	var res VerifyResult
	err := c.do(ctx, "POST", "/v1/fedi/verify", nil, req, &res)
	return res, err
}

// Link implements Service.
func (c *Client) Link(ctx context.Context, req LinkRequest) (LinkResult, error) {
	var res LinkResult
	err := c.do(ctx, "POST", "/v1/fedi/link", nil, req, &res)
	return res, err
}

// FediLogin implements Service.
func (c *Client) FediLogin(ctx context.Context, req FediLoginRequest) (FediLoginResult, error) {
	var res FediLoginResult
	err := c.do(ctx, "POST", "/v1/fedi/login", nil, req, &res)
	return res, err
}

// FediImport implements Service.
func (c *Client) FediImport(ctx context.Context, req FediImportRequest) (FediImportResult, error) {
	var res FediImportResult
	err := c.do(ctx, "POST", "/v1/fedi/import", nil, req, &res)
	return res, err
}

// fediTimeout bounds the Fediverse routes, which wait on an instance
// (every page of a long follow list).
const fediTimeout = 10 * time.Minute

// trainTimeout bounds refining the model on the owner's judgements.
const trainTimeout = 10 * time.Minute
