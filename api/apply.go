package api

import (
	"context"
	"math"
	"net/http"
)

// FediApplyRequest asks the node to turn the owner's trust into mutes (or
// blocks) on the owner's own Fediverse account: every account the owner
// trusts below Below in Context. Empty fields take the CLI's defaults.
type FediApplyRequest struct {
	Account string  `json:"account,omitempty"` // the logged-in account (default: the last login)
	Context string  `json:"context,omitempty"`
	Below   float64 `json:"below,omitempty"`  // default DefaultApplyBelow
	Action  string  `json:"action,omitempty"` // "mute" (default) or "block"
	DryRun  bool    `json:"dry_run,omitempty"`
	// Undo removes every mute and block kith added, and nothing else.
	Undo bool `json:"undo,omitempty"`
}

// DefaultApplyBelow is the threshold of kith fedi apply.
const DefaultApplyBelow = 0.2

// FediApplyResult is the JSON answer of kith fedi apply: the diff, made
// or (with DryRun) to be made. Field names are stable.
type FediApplyResult struct {
	Account string         `json:"account"`
	Context string         `json:"context"`
	Below   float64        `json:"below"`
	Action  string         `json:"action"`
	DryRun  bool           `json:"dry_run"`
	Undo    bool           `json:"undo"`
	Added   []AppliedEntry `json:"added"`   // muted or blocked now
	Removed []AppliedEntry `json:"removed"` // kith's own, undone (no longer below, or --undo)
	Kept    int            `json:"kept"`    // kith's own, still below: unchanged
	// ByHand are accounts below the threshold that the owner had muted or
	// blocked already: kith leaves them alone and never undoes them.
	ByHand int `json:"by_hand"`
	// Unresolved are accounts the instance could not find.
	Unresolved []string `json:"unresolved"`
}

// AppliedEntry is one account kith fedi apply muted or blocked.
type AppliedEntry struct {
	Acct   string   `json:"acct"` // @user@host
	Action string   `json:"action"`
	Score  *float64 `json:"score"` // the owner's trust when applied; null on undo of an account no longer ranked
}

func (s *Server) fediApply(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req FediApplyRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkStrings(map[string]string{"account": req.Account, "context": req.Context, "action": req.Action}); err != nil {
		return 0, nil, err
	}
	if math.IsNaN(req.Below) || req.Below < 0 || req.Below > 1 {
		return 0, nil, Errorf(CodeInvalid, "below: want a number from 0 to 1")
	}
	res, err := s.svc.FediApply(r.Context(), req)
	if res.Added == nil {
		res.Added = []AppliedEntry{}
	}
	if res.Removed == nil {
		res.Removed = []AppliedEntry{}
	}
	if res.Unresolved == nil {
		res.Unresolved = []string{}
	}
	return http.StatusOK, res, err
}

// FediApply implements Service.
func (c *Client) FediApply(ctx context.Context, req FediApplyRequest) (FediApplyResult, error) {
	var res FediApplyResult
	err := c.do(ctx, "POST", "/v1/fedi/apply", nil, req, &res)
	return res, err
}
