package owner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/fedi"
	"github.com/kith-net/kith/wire"
)

// fediAppliedPrefix names the vault entry of what kith fedi apply added
// to one account: fedi:applied:<acct>, a JSON list of appliedEntry.
const fediAppliedPrefix = "fedi:applied:"

// appliedEntry is one mute or block kith made on the owner's account.
type appliedEntry struct {
	Acct    string    `json:"acct"` // normalised "acct:user@host"
	ID      string    `json:"id"`   // the account's ID on the owner's instance
	Action  string    `json:"action"`
	Context string    `json:"context"`
	Score   float64   `json:"score"`
	At      time.Time `json:"at"`
}

func handleOf(acct string) string { return "@" + strings.TrimPrefix(acct, "acct:") }

// FediApply implements api.Service: it mutes (or blocks) on the owner's
// own account every account the owner trusts below the threshold in the
// context, and undoes its own earlier mutes of accounts no longer below
// it. Only what kith added is ever undone: an account the owner had
// muted or blocked already is left alone and not recorded, and Undo
// removes exactly the recorded ones. The record is kept in the vault and
// written even when the instance fails midway, so it always says what
// kith did. Nothing is published: a mute is seen by the owner alone.
func (s *Service) FediApply(ctx context.Context, req api.FediApplyRequest) (api.FediApplyResult, error) {
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	if req.Below == 0 {
		req.Below = api.DefaultApplyBelow
	}
	if req.Action == "" {
		req.Action = fedi.ActionMute
	}
	if req.Action != fedi.ActionMute && req.Action != fedi.ActionBlock {
		return api.FediApplyResult{}, invalidf("--as %q: want mute or block", req.Action)
	}
	if !(req.Below > 0 && req.Below <= 1) {
		return api.FediApplyResult{}, invalidf("--below %v: want a number above 0 and at most 1", req.Below)
	}
	if err := wire.ValidateContext(req.Context); err != nil {
		return api.FediApplyResult{}, BadInput("--context", err)
	}
	account := ""
	if req.Account != "" {
		n, _, err := ParseAcct(req.Account)
		if err != nil {
			return api.FediApplyResult{}, err
		}
		account = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lg, err := s.login(account)
	if err != nil {
		return api.FediApplyResult{}, ownerError(err)
	}
	res := api.FediApplyResult{Account: handleOf(lg.Acct), Context: req.Context, Below: req.Below, Action: req.Action,
		DryRun: req.DryRun, Undo: req.Undo, Added: []api.AppliedEntry{}, Removed: []api.AppliedEntry{}, Unresolved: []string{}}
	key := fediAppliedPrefix + lg.Acct
	var record []appliedEntry
	if b, ok := s.vault.Get(key); ok {
		if err := json.Unmarshal(b, &record); err != nil {
			return res, fmt.Errorf("the vault's record of fedi apply for %s: %w", lg.Acct, err)
		}
	}
	c := lg.client()
	// save writes the record as it stands (after each change made, so
	// that a failure midway leaves it exact).
	save := func() error {
		if req.DryRun {
			return nil
		}
		if len(record) == 0 {
			return s.vault.Put(map[string][]byte{key: nil})
		}
		b, err := json.Marshal(record)
		if err != nil {
			return err
		}
		return s.vault.Put(map[string][]byte{key: b})
	}
	undo := func(i int) error {
		e := record[i]
		if !req.DryRun {
			if err := c.Act(ctx, e.ID, e.Action, true); err != nil && !errors.Is(err, fedi.ErrNotFound) && !isGone(err) {
				return ownerError(fmt.Errorf("apply: un%s %s: %w", e.Action, handleOf(e.Acct), err))
			}
		}
		score := e.Score
		res.Removed = append(res.Removed, api.AppliedEntry{Acct: handleOf(e.Acct), Action: e.Action, Score: &score})
		return nil
	}
	if req.Undo {
		var kept []appliedEntry
		var firstErr error
		for i := range record {
			if firstErr == nil {
				firstErr = undo(i)
			}
			if firstErr != nil {
				kept = append(kept, record[i])
			}
		}
		record = kept
		if err := save(); err != nil {
			return res, err
		}
		return res, firstErr
	}

	// What the owner's trust says.
	rows, err := s.answerRank(ctx, req.Context, true, 0)
	if err != nil {
		return res, apiError(err)
	}
	wanted := map[string]float64{}
	for _, r := range rows {
		if r.Score >= req.Below {
			break // least trusted first
		}
		if !strings.HasPrefix(r.Subject, "@") {
			continue // a node without an account: nothing to mute
		}
		n, err := wire.NormalizeAcct(r.Subject)
		if err != nil || n == lg.Acct {
			continue
		}
		wanted[n] = r.Score
	}
	// What the instance has: the owner's mutes (and blocks), by hand or
	// by kith.
	set := map[string]bool{}
	lists := []func(context.Context) ([]fedi.Account, error){c.Mutes}
	if req.Action == fedi.ActionBlock {
		lists = append(lists, c.Blocks)
	}
	for _, list := range lists {
		accts, err := list(ctx)
		if err != nil {
			return res, ownerError(fmt.Errorf("apply: %w (nothing was changed)", err))
		}
		for _, a := range accts {
			if n, err := wire.NormalizeAcct(a.FullAcct(acctHost(lg.Acct))); err == nil {
				set[n] = true
			}
		}
	}
	ours := map[string]bool{}
	var keep []appliedEntry
	var failed error
	for i, e := range record {
		ours[e.Acct] = true
		_, still := wanted[e.Acct]
		if e.Context != req.Context || e.Action != req.Action || still || failed != nil {
			if e.Context == req.Context && e.Action == req.Action && still {
				res.Kept++
			}
			keep = append(keep, e)
			continue
		}
		if failed = undo(i); failed != nil {
			keep = append(keep, e)
		}
	}
	record = keep
	if failed != nil {
		if err := save(); err != nil {
			return res, err
		}
		return res, failed
	}
	for _, acct := range slices.Sorted(maps.Keys(wanted)) {
		score := wanted[acct]
		switch {
		case ours[acct]:
			continue // kith's already (kept above, or from another context)
		case set[acct]:
			res.ByHand++
			continue
		}
		entry := api.AppliedEntry{Acct: handleOf(acct), Action: req.Action, Score: &score}
		if req.DryRun {
			res.Added = append(res.Added, entry)
			continue
		}
		a, err := c.Resolve(ctx, strings.TrimPrefix(acct, "acct:"))
		if errors.Is(err, fedi.ErrNotFound) {
			res.Unresolved = append(res.Unresolved, handleOf(acct))
			continue
		}
		if err == nil {
			err = c.Act(ctx, a.ID, req.Action, false)
		}
		if err != nil {
			if serr := save(); serr != nil {
				return res, serr
			}
			return res, ownerError(fmt.Errorf("apply: %s %s: %w (what was done before is recorded; kith fedi apply --undo removes it)", req.Action, handleOf(acct), err))
		}
		record = append(record, appliedEntry{Acct: acct, ID: a.ID, Action: req.Action, Context: req.Context, Score: score, At: s.now().UTC()})
		res.Added = append(res.Added, entry)
	}
	return res, save()
}

// isGone reports whether the instance says the account is no more.
func isGone(err error) bool {
	var he *fedi.HTTPError
	return errors.As(err, &he) && (he.Status == 404 || he.Status == 410)
}
