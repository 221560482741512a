package owner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/fedi"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// The Fediverse: identity links, the owner's login, import. Their state
// lives in the vault:
//
//	fedi:token:<acct>  the login of one account (fediLogin as JSON)
//	fedi:account       the acct of the last login: the default account
//	fedi:links         verified identity links (map acct -> linkRecord, JSON)
//	fedi:applied:<acct> what kith fedi apply added to that account (JSON)
//
// Tokens are never returned. Instances are reached over https;
// Config.AllowHTTP allows plain http to loopback hosts.
const (
	fediTokenPrefix = "fedi:token:"
	fediAccountKey  = "fedi:account"
	fediLinksKey    = "fedi:links"
	// LinkTTL is how long a verified link counts after its last check.
	LinkTTL = 7 * 24 * time.Hour
	// importMarker starts the reason of every attestation kith fedi import
	// makes; the rest names the relation and the account.
	importMarker = "fedi import: "
)

// fediLogin is what kith fedi login keeps in the vault.
type fediLogin struct {
	Acct      string `json:"acct"` // normalised "acct:user@host"
	Base      string `json:"base"` // the instance's API origin
	Token     string `json:"token"`
	AccountID string `json:"account_id"`
}

// linkRecord is the owner's knowledge of one account's link.
type linkRecord struct {
	Key      string    `json:"key"`  // peer ID
	Link     string    `json:"link"` // CID of the IdentityLink
	Checked  time.Time `json:"checked"`
	Verified bool      `json:"verified"`
	Error    string    `json:"error,omitempty"` // why it is not verified
}

// ParseAcct normalises an account the owner typed: acct is "acct:user@host",
// handle "@user@host".
func ParseAcct(s string) (acct, handle string, err error) {
	n, err := wire.NormalizeAcct(s)
	if err != nil {
		return "", "", invalidf("%s", oneLine(err.Error()))
	}
	return n, "@" + strings.TrimPrefix(n, "acct:"), nil
}

func acctHost(acct string) string {
	_, host, _ := strings.Cut(strings.TrimPrefix(acct, "acct:"), "@")
	return host
}

// Discover finds the API origin serving acct through WebFinger on its
// host. An http origin is accepted only for loopback hosts with allowHTTP.
func Discover(ctx context.Context, acct string, allowHTTP bool) (string, error) {
	base, err := fedi.InstanceURL(acctHost(acct), allowHTTP)
	if err != nil {
		return "", err
	}
	j, err := (&fedi.Client{BaseURL: base}).WebFinger(ctx, acct)
	if err != nil {
		return "", err
	}
	origin, err := j.APIOrigin()
	if err != nil {
		return "", err
	}
	host := strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")
	if want, _ := fedi.InstanceURL(host, allowHTTP); want != origin {
		return "", fmt.Errorf("fedi: %s is served at %s, which is not https", acct, origin)
	}
	return origin, nil
}

// login returns the stored login of acct ("" = the default account).
func (s *Service) login(acct string) (*fediLogin, error) {
	if acct == "" {
		b, ok := s.vault.Get(fediAccountKey)
		if !ok {
			return nil, errors.New("not logged in to a Fediverse account (run kith fedi login @you@your.instance)")
		}
		acct = string(b)
	}
	b, ok := s.vault.Get(fediTokenPrefix + acct)
	if !ok {
		return nil, fmt.Errorf("not logged in as @%s (run kith fedi login @%[1]s)", strings.TrimPrefix(acct, "acct:"))
	}
	var l fediLogin
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("the vault's login for %s: %w", acct, err)
	}
	return &l, nil
}

func (l *fediLogin) client() *fedi.Client {
	return &fedi.Client{BaseURL: l.Base, Token: l.Token, Domain: acctHost(l.Acct)}
}

// lookuper returns how to read acct's profile: through the owner's own
// instance when logged in (it fetches remote accounts with signed
// requests), else unauthenticated on the account's own instance.
func (s *Service) lookuper(ctx context.Context, lg *fediLogin, acct string) (fedi.Lookuper, error) {
	if lg != nil {
		return lg.client(), nil
	}
	base, err := Discover(ctx, acct, s.cfg.AllowHTTP)
	if err != nil {
		return nil, err
	}
	return &fedi.Client{BaseURL: base, Domain: acctHost(acct)}, nil
}

func (s *Service) linkRecords() (map[string]linkRecord, error) {
	recs := map[string]linkRecord{}
	if b, ok := s.vault.Get(fediLinksKey); ok {
		if err := json.Unmarshal(b, &recs); err != nil {
			return nil, fmt.Errorf("the vault's link records: %w", err)
		}
	}
	return recs, nil
}

func (s *Service) setLinkRecords(recs map[string]linkRecord) error {
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return s.vault.Put(map[string][]byte{fediLinksKey: b})
}

// checkLinks verifies the identity links the store holds for acct, newest
// first, and returns the record to keep: verified with the first link that
// holds both ways, else not verified with the most telling error (a field
// naming another key, over a missing field, over anything else). lg is the
// owner's login, nil when there is none. It writes nothing.
func (s *Service) checkLinks(ctx context.Context, lg *fediLogin, acct string) (linkRecord, *fedi.Verification, error) {
	links, err := s.st.Links(ctx, acct)
	if err != nil {
		return linkRecord{}, nil, err
	}
	_, handle, _ := ParseAcct(acct)
	if len(links) == 0 {
		return linkRecord{}, nil, fmt.Errorf("no identity link for %s in your store: import their bundle (kith import) or pass --link FILE", handle)
	}
	lk, err := s.lookuper(ctx, lg, acct)
	if err != nil {
		return linkRecord{}, nil, fmt.Errorf("verify %s: %w", handle, err)
	}
	now := s.now()
	var firstErr error
	rank := func(err error) int {
		switch {
		case errors.Is(err, fedi.ErrKeyMismatch):
			return 3
		case errors.Is(err, fedi.ErrNoField):
			return 2
		case errors.Is(err, fedi.ErrBadLink):
			return 0
		}
		return 1
	}
	for _, l := range slices.Backward(links) {
		v, err := fedi.Verify(ctx, lk, acct, l, now)
		if err == nil {
			return linkRecord{Key: l.Key.String(), Link: l.CID().String(), Checked: now, Verified: true}, v, nil
		}
		if !isProfileAnswer(err) {
			// The instance could not be asked: nothing was learnt.
			if lg == nil && errors.Is(err, fedi.ErrUnauthorized) {
				err = fmt.Errorf("%w (this instance does not show accounts without a login: run kith fedi login @you@your.instance)", err)
			}
			return linkRecord{}, nil, err
		}
		if firstErr == nil || rank(err) > rank(firstErr) {
			firstErr = err
		}
	}
	return linkRecord{Key: links[len(links)-1].Key.String(), Link: links[len(links)-1].CID().String(), Checked: now, Error: oneLine(firstErr.Error())}, nil, firstErr
}

// isProfileAnswer reports whether a verification failed on what the
// profile (or the link) says, rather than on reaching the instance.
func isProfileAnswer(err error) bool {
	return errors.Is(err, fedi.ErrKeyMismatch) || errors.Is(err, fedi.ErrNoField) ||
		errors.Is(err, fedi.ErrBadLink) || errors.Is(err, fedi.ErrNotFound)
}

// verifiedLinks returns the owner's verified links (acct -> key) for the
// trust engine: those checked less than LinkTTL ago. It reads only; a
// record due for a check counts again once RecheckLinks has checked it.
func (s *Service) verifiedLinks() (map[string]wire.PublicKey, error) {
	recs, err := s.linkRecords()
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	now := s.now()
	out := map[string]wire.PublicKey{}
	for _, acct := range slices.Sorted(maps.Keys(recs)) {
		r := recs[acct]
		if !r.Verified || now.Sub(r.Checked) >= LinkTTL {
			continue
		}
		k, err := wire.ParsePublicKey(r.Key)
		if err != nil {
			return nil, fmt.Errorf("the vault's link record of %s: %w", acct, err)
		}
		out[acct] = k
	}
	return out, nil
}

// LinkCheck is the outcome of checking one verified link again.
type LinkCheck struct {
	Acct string `json:"acct"` // @user@host
	// Checked is false when the instance could not be asked (the link
	// does not count until it can be); Verified says whether it holds.
	Checked  bool   `json:"checked"`
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
}

// String says the outcome in a sentence.
func (c LinkCheck) String() string {
	switch {
	case !c.Checked:
		return fmt.Sprintf("the link of %s is due for a check and could not be checked: %s", c.Acct, c.Error)
	case !c.Verified:
		return fmt.Sprintf("the link of %s no longer holds: %s", c.Acct, c.Error)
	}
	return fmt.Sprintf("the link of %s still holds", c.Acct)
}

// RecheckLinks is the link job: it checks again, against their profiles,
// the verified links that are due within margin (checked LinkTTL − margin
// ago or earlier), keeps the outcomes in the vault (a profile that no
// longer names the key revokes the link) and returns them. This is the
// only place links are re-checked; it asks the instances without holding
// the service's lock.
func (s *Service) RecheckLinks(ctx context.Context, margin time.Duration) ([]LinkCheck, error) {
	s.mu.Lock()
	recs, err := s.linkRecords()
	lg, _ := s.login("")
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	now := s.now()
	var due []string
	for _, acct := range slices.Sorted(maps.Keys(recs)) {
		if r := recs[acct]; r.Verified && now.Sub(r.Checked) >= LinkTTL-margin {
			due = append(due, acct)
		}
	}
	out := []LinkCheck{}
	fresh := map[string]linkRecord{}
	for _, acct := range due {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		_, handle, _ := ParseAcct(acct)
		nr, _, err := s.checkLinks(ctx, lg, acct)
		if err != nil && nr.Checked.IsZero() {
			out = append(out, LinkCheck{Acct: handle, Error: oneLine(err.Error())})
			continue
		}
		fresh[acct] = nr
		out = append(out, LinkCheck{Acct: handle, Checked: true, Verified: nr.Verified, Error: nr.Error})
	}
	if len(fresh) == 0 {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.linkRecords()
	if err != nil {
		return out, err
	}
	for acct, nr := range fresh {
		if cur[acct].Checked.Equal(recs[acct].Checked) { // not checked meanwhile by a verify
			cur[acct] = nr
		}
	}
	return out, s.setLinkRecords(cur)
}

// LinkCheckEvery is how often the daemon runs the link job.
const LinkCheckEvery = time.Hour

// RunLinkChecks runs the link job now and then at every tick (the daemon
// ticks every LinkCheckEvery) until ctx ends, checking the links that fall
// due before the next run, and logs what each check found. It blocks; the
// caller owns its goroutine.
func (s *Service) RunLinkChecks(ctx context.Context, tick <-chan time.Time) {
	for {
		checks, err := s.RecheckLinks(ctx, LinkCheckEvery)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("link job failed", "err", err)
		}
		for _, c := range checks {
			s.log.Info("link job: "+c.String(), "acct", c.Acct, "checked", c.Checked, "verified", c.Verified)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// Link implements api.Service: sign (or reuse) the owner's identity link
// to an account, store it, and with SetField put it in the profile.
func (s *Service) Link(ctx context.Context, req api.LinkRequest) (api.LinkResult, error) {
	acct, handle, err := ParseAcct(req.Acct)
	if err != nil {
		return api.LinkResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var link *wire.IdentityLink
	existing, err := s.st.LinksByKey(ctx, s.key.Public())
	if err != nil {
		return api.LinkResult{}, err
	}
	for _, lk := range existing {
		if lk.Acct == acct && lk.Verify(now) == nil {
			link = lk
		}
	}
	if link == nil {
		if link, err = fedi.NewLink(s.key, acct, now); err != nil {
			return api.LinkResult{}, ownerError(err)
		}
	}
	var lg *fediLogin
	if req.SetField {
		// Fail before writing anything if the field cannot be set.
		if lg, err = s.login(acct); err != nil {
			return api.LinkResult{}, ownerError(err)
		}
	}
	if err := s.net.Submit(ctx, link); err != nil {
		return api.LinkResult{}, apiError(err)
	}
	b := wire.NewBundle(now, link)
	if err := b.Sign(s.key); err != nil {
		return api.LinkResult{}, err
	}
	text := fedi.ProfileText(s.key.Public())
	res := api.LinkResult{Acct: acct, PeerID: s.key.Public().String(), DIDKey: text, FieldName: fedi.FieldName, FieldValue: text,
		Link: link.CID().String(), Bundle: b.Raw()}
	if req.SetField {
		c := lg.client()
		if _, err := c.SetField(ctx, fedi.FieldName, text); err != nil {
			return api.LinkResult{}, ownerError(fmt.Errorf("link %s: set the profile field: %w (the signed link is stored; put the field in by hand)", handle, err))
		}
		v, err := fedi.Verify(ctx, c, acct, link, now)
		if err != nil {
			return api.LinkResult{}, ownerError(fmt.Errorf("link %s: the field was set but does not verify: %w", handle, err))
		}
		recs, err := s.linkRecords()
		if err != nil {
			return api.LinkResult{}, err
		}
		recs[acct] = linkRecord{Key: v.Key.String(), Link: link.CID().String(), Checked: v.CheckedAt, Verified: true}
		if err := s.setLinkRecords(recs); err != nil {
			return api.LinkResult{}, err
		}
		res.FieldSet, res.Verified = true, true
	}
	return res, nil
}

// VerifyLink implements api.Service: store the links given, check the
// account's links against its profile and keep the outcome in the vault.
func (s *Service) VerifyLink(ctx context.Context, req api.VerifyRequest) (api.VerifyResult, error) {
	acct, handle, err := ParseAcct(req.Acct)
	if err != nil {
		return api.VerifyResult{}, err
	}
	var extra []wire.Object
	for _, raw := range req.Links {
		o, err := wire.Open(raw, s.now())
		if err != nil {
			return api.VerifyResult{}, apiError(err)
		}
		lk, ok := o.(*wire.IdentityLink)
		if !ok || lk.Acct != acct {
			return api.VerifyResult{}, api.Errorf(api.CodeInvalid, "links: %s is not an identity link for %s", o.CID(), handle)
		}
		extra = append(extra, lk)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(extra) > 0 {
		if _, err := s.st.Put(ctx, extra...); err != nil {
			return api.VerifyResult{}, err
		}
	}
	lg, _ := s.login("")
	rec, v, err := s.checkLinks(ctx, lg, acct)
	if !rec.Checked.IsZero() {
		recs, rerr := s.linkRecords()
		if rerr != nil {
			return api.VerifyResult{}, rerr
		}
		recs[acct] = rec
		if rerr := s.setLinkRecords(recs); rerr != nil {
			return api.VerifyResult{}, rerr
		}
	}
	if err != nil {
		return api.VerifyResult{}, ownerError(err)
	}
	return api.VerifyResult{Acct: acct, PeerID: v.Key.String(), DIDKey: v.Key.DIDKey(), Verified: true,
		Checked: v.CheckedAt.UTC().Format(time.RFC3339), Link: rec.Link}, nil
}

// FediLogin implements api.Service: check that the token is the
// account's, and keep it in the vault as the default login.
func (s *Service) FediLogin(ctx context.Context, req api.FediLoginRequest) (api.FediLoginResult, error) {
	acct, handle, err := ParseAcct(req.Acct)
	if err != nil {
		return api.FediLoginResult{}, err
	}
	base, err := Discover(ctx, acct, s.cfg.AllowHTTP)
	if err != nil {
		return api.FediLoginResult{}, ownerError(fmt.Errorf("login %s: %w", handle, err))
	}
	c := &fedi.Client{BaseURL: base, Domain: acctHost(acct), Token: req.Token}
	me, err := c.VerifyCredentials(ctx)
	if err != nil {
		return api.FediLoginResult{}, ownerError(fmt.Errorf("login %s: checking the token: %w", handle, err))
	}
	got, err := wire.NormalizeAcct(me.FullAcct(acctHost(acct)))
	if err != nil || got != acct {
		return api.FediLoginResult{}, ownerError(fmt.Errorf("login %s: the token belongs to @%s", handle, me.FullAcct(acctHost(acct))))
	}
	b, err := json.Marshal(fediLogin{Acct: acct, Base: base, Token: req.Token, AccountID: me.ID})
	if err != nil {
		return api.FediLoginResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.vault.Put(map[string][]byte{fediTokenPrefix + acct: b, fediAccountKey: []byte(acct)}); err != nil {
		return api.FediLoginResult{}, err
	}
	return api.FediLoginResult{Acct: acct, Instance: base, AccountID: me.ID}, nil
}

// FediAccount is the default logged-in account ("" when none).
func (s *Service) FediAccount() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lg, err := s.login("")
	if err != nil {
		return ""
	}
	return "@" + strings.TrimPrefix(lg.Acct, "acct:")
}

// mapping is what one relation becomes: a kind and a strength, or nothing.
type mapping struct {
	kind     wire.Kind // "" = not imported
	strength uint64
}

func parseMapping(flag, s string) (mapping, error) {
	if s == "off" || s == "none" {
		return mapping{}, nil
	}
	k, n, ok := strings.Cut(s, ":")
	v, err := strconv.ParseUint(n, 10, 64)
	if !ok || (k != string(wire.Vouch) && k != string(wire.Warn)) || err != nil || v < wire.MinStrength || v > wire.MaxStrength {
		return mapping{}, invalidf("--%s %q: want vouch:N or warn:N (N in %d..%d) or off", flag, s, wire.MinStrength, wire.MaxStrength)
	}
	return mapping{kind: wire.Kind(k), strength: v}, nil
}

// Relation is one list kith fedi import reads, with its default mapping.
type Relation struct {
	Name, Flag, Default, Help string
}

// Relations are the lists of kith fedi import in precedence order: when an
// account is in several lists, the first one decides.
var Relations = []Relation{
	{"block", "block", "warn:60", "accounts you block"},
	{"mute", "mute", "warn:20", "accounts you mute"},
	{"follow", "follow", "vouch:30", "accounts you follow"},
	{"follower", "follower", "off", "accounts that follow you"},
}

// CheckImport checks a fedi import request before anything is asked; a
// refused one is an *api.Error with CodeInvalid.
func CheckImport(req api.FediImportRequest) error {
	_, _, err := parseImportRequest(req)
	return err
}

// parseImportRequest checks a fedi import request and returns its mappings
// (in the order of Relations) and the owner account ("" = the default).
func parseImportRequest(req api.FediImportRequest) ([]mapping, string, error) {
	given := []string{req.Block, req.Mute, req.Follow, req.Follower}
	mappings := make([]mapping, len(Relations))
	for i, r := range Relations {
		v := given[i]
		if v == "" {
			v = r.Default
		}
		m, err := parseMapping(r.Flag, v)
		if err != nil {
			return nil, "", err
		}
		mappings[i] = m
	}
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	if err := wire.ValidateContext(req.Context); err != nil {
		return nil, "", BadInput("--context", err)
	}
	owner := ""
	if req.Account != "" {
		n, _, err := ParseAcct(req.Account)
		if err != nil {
			return nil, "", err
		}
		owner = n
	}
	return mappings, owner, nil
}

// Progress reports how far a long call is: done of total steps, and what
// it is doing now.
type Progress func(done, total int, what string)

// FediImport implements api.Service.
func (s *Service) FediImport(ctx context.Context, req api.FediImportRequest) (api.FediImportResult, error) {
	return s.FediImportProgress(ctx, req, nil)
}

// FediImportProgress is FediImport reporting its progress (one step per
// list fetched, and one for storing) to progress, which may be nil.
func (s *Service) FediImportProgress(ctx context.Context, req api.FediImportRequest, progress Progress) (api.FediImportResult, error) {
	mappings, owner, err := parseImportRequest(req)
	if err != nil {
		return api.FediImportResult{}, err
	}
	if req.Context == "" {
		req.Context = api.DefaultContext
	}
	if progress == nil {
		progress = func(int, int, string) {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lg, err := s.login(owner)
	if err != nil {
		return api.FediImportResult{}, ownerError(err)
	}
	res, objs, err := s.planImport(ctx, lg, req.Context, mappings, progress)
	if err != nil {
		return api.FediImportResult{}, ownerError(err)
	}
	if !req.DryRun && len(objs) > 0 {
		if err := s.net.Submit(ctx, objs...); err != nil {
			return api.FediImportResult{}, ownerError(fmt.Errorf("import: %w (nothing was imported)", err))
		}
	}
	res.DryRun = req.DryRun
	return res, nil
}

// planImport fetches the lists and returns the signed objects that bring
// the store in line with them. It writes nothing.
func (s *Service) planImport(ctx context.Context, lg *fediLogin, context string, mappings []mapping, progress Progress) (api.FediImportResult, []wire.Object, error) {
	_, handle, _ := ParseAcct(lg.Acct)
	res := api.FediImportResult{Account: handle, Context: context, Relations: map[string]int{}}
	c := lg.client()
	me, err := c.VerifyCredentials(ctx)
	if err != nil {
		return res, nil, fmt.Errorf("import: %w", err)
	}
	fetch := map[string]func() ([]fedi.Account, error){
		"block":    func() ([]fedi.Account, error) { return c.Blocks(ctx) },
		"mute":     func() ([]fedi.Account, error) { return c.Mutes(ctx) },
		"follow":   func() ([]fedi.Account, error) { return c.Following(ctx, me.ID) },
		"follower": func() ([]fedi.Account, error) { return c.Followers(ctx, me.ID) },
	}
	type want struct {
		m        mapping
		relation string
	}
	wanted := map[string]want{}
	steps, done := 1, 0
	for _, m := range mappings {
		if m.kind != "" {
			steps++
		}
	}
	for i, r := range Relations {
		if mappings[i].kind == "" {
			continue
		}
		progress(done, steps, "reading "+r.Help)
		accts, err := fetch[r.Name]()
		if err != nil {
			return res, nil, fmt.Errorf("import: %w (nothing was imported)", err)
		}
		done++
		for _, fa := range accts {
			n, err := wire.NormalizeAcct(fa.FullAcct(acctHost(lg.Acct)))
			if err != nil || n == lg.Acct {
				res.Unusable++
				continue
			}
			if _, ok := wanted[n]; !ok {
				wanted[n] = want{mappings[i], r.Name}
			}
		}
	}
	progress(done, steps, "signing and storing")
	defer progress(steps, steps, "done")
	self := s.key.Public()
	mine, err := s.st.Attestations(ctx, store.Query{Issuer: &self, Context: context})
	if err != nil {
		return res, nil, err
	}
	suffix := " (" + handle + ")"
	imported := map[string][]*wire.Attestation{}
	// The owner's own statements: about the account, or about a node
	// key verifiably linked to it (the trust engine merges the two, and
	// the latest statement counts, so an import must not shadow them).
	recs, err := s.linkRecords()
	if err != nil {
		return res, nil, err
	}
	linkedAcct := map[string][]string{}
	for acct, r := range recs {
		if r.Verified {
			linkedAcct[r.Key] = append(linkedAcct[r.Key], acct)
		}
	}
	own := map[string]bool{}
	for _, att := range mine {
		switch {
		case att.Subject.Key == nil && strings.HasPrefix(att.Reason, importMarker):
			if strings.HasSuffix(att.Reason, suffix) {
				imported[att.Subject.Acct] = append(imported[att.Subject.Acct], att)
			}
		case att.Subject.Key != nil:
			for _, acct := range linkedAcct[att.Subject.Key.String()] {
				own[acct] = true
			}
			if att.Subject.Acct != "" {
				own[att.Subject.Acct] = true
			}
		default:
			own[att.Subject.Acct] = true
		}
	}
	now := s.now()
	var objs []wire.Object
	retract := func(att *wire.Attestation, why string) error {
		r := &wire.Retraction{Target: wire.LinkTo(att.CID()), Created: uint64(now.Unix()), Reason: why}
		if err := r.Sign(s.key); err != nil {
			return err
		}
		objs = append(objs, r)
		res.Retracted++
		return nil
	}
	for _, acct := range slices.Sorted(maps.Keys(wanted)) {
		w := wanted[acct]
		res.Relations[w.relation]++
		if own[acct] {
			res.Skipped++
			continue
		}
		reason := importMarker + w.relation + suffix
		keep := false
		for _, old := range imported[acct] {
			if !keep && old.Kind == w.m.kind && old.Strength == w.m.strength && old.Reason == reason && old.Expires == 0 {
				keep = true
				continue
			}
			if err := retract(old, "fedi import: replaced"); err != nil {
				return res, nil, err
			}
		}
		if keep {
			res.Unchanged++
			continue
		}
		nonce, err := wire.NewNonce(s.rand)
		if err != nil {
			return res, nil, err
		}
		att := &wire.Attestation{Subject: wire.Subject{Acct: acct}, Kind: w.m.kind, Context: context, Strength: w.m.strength,
			Reason: reason, Created: uint64(now.Unix()), Audience: wire.PrivateAudience, Nonce: nonce}
		if err := att.Sign(s.key); err != nil {
			return res, nil, fmt.Errorf("import %s: %w", acct, err)
		}
		objs = append(objs, att)
		res.Added++
	}
	for _, acct := range slices.Sorted(maps.Keys(imported)) {
		if _, ok := wanted[acct]; ok {
			continue
		}
		for _, old := range imported[acct] {
			if err := retract(old, "fedi import: no longer in "+handle+"'s lists"); err != nil {
				return res, nil, err
			}
		}
	}
	return res, objs, nil
}
