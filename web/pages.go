package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/owner"
)

// askData is the start page: ask about someone.
type askData struct {
	Subject, Context string
	Result           *api.QueryResult
	Graph            *graph
}

func (h *Handler) askPage(r *http.Request, _ *session) (string, view, error) {
	q := r.URL.Query()
	d := askData{Subject: strings.TrimSpace(q.Get("subject")), Context: q.Get("context")}
	if d.Context == "" {
		d.Context = api.DefaultContext
	}
	if d.Subject != "" {
		res, err := h.svc.Query(r.Context(), api.QueryRequest{Subject: d.Subject, Context: d.Context})
		if err != nil {
			return "", view{}, err
		}
		d.Result = &res
		if res.Explanation != nil && len(res.Explanation.Paths) > 0 {
			d.Graph = layoutPaths(res.Explanation.Paths)
		}
	}
	return "ask", view{Title: "Ask about someone", Nav: "ask", Data: d}, nil
}

type statementsData struct {
	Statements []api.Attestation
	All        bool
	Subject    string // prefilled from the ask page
	Kind       string
}

func (h *Handler) statementsPage(r *http.Request, _ *session) (string, view, error) {
	q := r.URL.Query()
	d := statementsData{All: q.Get("all") == "1", Subject: q.Get("subject"), Kind: q.Get("kind")}
	var err error
	d.Statements, err = h.svc.Attestations(r.Context(), api.ListRequest{By: "me", All: d.All})
	if err != nil {
		return "", view{}, err
	}
	slices.Reverse(d.Statements) // newest first
	return "statements", view{Title: "My statements", Nav: "statements", Data: d}, nil
}

func (h *Handler) attest(r *http.Request, _ *session) (string, string, error) {
	f := r.PostForm
	strength := uint64(0)
	if s := f.Get("strength"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return "", "", api.Errorf(api.CodeInvalid, "strength %q: want a whole number from 1 to 100", s)
		}
		strength = n
	}
	req := api.AttestRequest{Kind: f.Get("kind"), Subject: strings.TrimSpace(f.Get("subject")), Context: f.Get("context"),
		Strength: strength, Reason: f.Get("reason"), Evidence: f.Get("evidence"), Expires: f.Get("expires"), Audience: f.Get("audience")}
	if err := req.Validate(); err != nil {
		return "", "", err
	}
	a, err := h.svc.Attest(r.Context(), req)
	if err != nil {
		return "", "", err
	}
	return "/ui/statements", "Signed: " + a.Kind + " " + a.Subject + " in " + a.Context + " (strength " + strconv.FormatUint(a.Strength, 10) + ").", nil
}

func (h *Handler) retract(r *http.Request, _ *session) (string, string, error) {
	rt, err := h.svc.Retract(r.Context(), api.RetractRequest{CID: r.PostForm.Get("cid"), Reason: r.PostForm.Get("reason")})
	if err != nil {
		return "", "", err
	}
	return "/ui/statements", "Retracted " + rt.Target + ".", nil
}

func (h *Handler) consentsPage(r *http.Request, _ *session) (string, view, error) {
	cs, err := h.svc.Consents(r.Context())
	if err != nil {
		return "", view{}, err
	}
	return "consents", view{Title: "Consent inbox", Nav: "consents", Data: cs}, nil
}

func (h *Handler) consentAction(r *http.Request, _ *session) (string, string, error) {
	cid := r.PostForm.Get("cid")
	var c api.ConsentRequest
	var err error
	switch r.PostForm.Get("action") {
	case "approve":
		c, err = h.svc.Approve(r.Context(), cid)
	case "decline":
		c, err = h.svc.Decline(r.Context(), cid)
	case "withdraw":
		c, err = h.svc.Withdraw(r.Context(), cid)
	default:
		return "", "", api.Errorf(api.CodeInvalid, "action: want approve, decline or withdraw")
	}
	if err != nil {
		return "", "", err
	}
	return "/ui/consents", "The statement by " + c.Issuer + " is now " + string(c.State) + ".", nil
}

type networkData struct {
	Status  api.Status
	Peers   []api.Peer
	Metrics []api.Metric
}

func (h *Handler) networkPage(r *http.Request, _ *session) (string, view, error) {
	st, err := h.svc.Status(r.Context())
	if err != nil {
		return "", view{}, err
	}
	ps, err := h.svc.Peers(r.Context())
	if err != nil {
		return "", view{}, err
	}
	slices.SortStableFunc(ps, func(a, b api.Peer) int {
		if a.Connected != b.Connected {
			if a.Connected {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	ms, err := h.svc.Metrics(r.Context())
	if err != nil {
		return "", view{}, err
	}
	var shown []api.Metric
	for _, m := range ms {
		if strings.HasPrefix(m.Name, "kith_gossip_") || strings.HasPrefix(m.Name, "kith_public_set") || m.Name == "kith_objects_received_total" {
			shown = append(shown, m)
		}
	}
	return "network", view{Title: "Network", Nav: "network", Data: networkData{Status: st, Peers: ps, Metrics: shown}}, nil
}

type fediData struct {
	Account   string
	Relations []owner.Relation
}

func (h *Handler) fediPage(r *http.Request, _ *session) (string, view, error) {
	return "fedi", view{Title: "Fediverse", Nav: "fedi", Data: fediData{Account: h.svc.FediAccount(), Relations: owner.Relations}}, nil
}

func (h *Handler) fediLink(r *http.Request, _ *session) (string, string, error) {
	res, err := h.svc.Link(r.Context(), api.LinkRequest{Acct: r.PostForm.Get("acct"), SetField: r.PostForm.Get("set_field") == "1"})
	if err != nil {
		return "", "", err
	}
	if res.FieldSet {
		return "/ui/fedi", "Linked: the profile field " + res.FieldName + " is set and verified both ways.", nil
	}
	return "/ui/fedi", "Signed a link. Add a profile field named " + res.FieldName + " with the value " + res.FieldValue, nil
}

func (h *Handler) fediVerify(r *http.Request, _ *session) (string, string, error) {
	res, err := h.svc.VerifyLink(r.Context(), api.VerifyRequest{Acct: r.PostForm.Get("acct")})
	if err != nil {
		return "", "", err
	}
	return "/ui/fedi", "Verified both ways: " + res.Acct + " is " + res.PeerID + ".", nil
}

func (h *Handler) fediRecheck(r *http.Request, _ *session) (string, string, error) {
	checks, err := h.svc.RecheckLinks(r.Context(), owner.LinkTTL)
	if err != nil {
		return "", "", err
	}
	if len(checks) == 0 {
		return "/ui/fedi", "No verified links to check.", nil
	}
	var msgs []string
	for _, c := range checks {
		msgs = append(msgs, c.String())
	}
	return "/ui/fedi", strings.Join(msgs, "; ") + ".", nil
}

func (h *Handler) fediImport(r *http.Request, _ *session) (string, string, error) {
	f := r.PostForm
	req := api.FediImportRequest{Context: f.Get("context"), Block: f.Get("block"), Mute: f.Get("mute"),
		Follow: f.Get("follow"), Follower: f.Get("follower"), DryRun: f.Get("dry_run") == "1"}
	if err := owner.CheckImport(req); err != nil {
		return "", "", err
	}
	id := h.jobs.start(func(ctx jobContext) (string, error) {
		res, err := h.svc.FediImportProgress(ctx, req, ctx.progress)
		if err != nil {
			return "", err
		}
		verb := "Imported"
		if res.DryRun {
			verb = "Would import"
		}
		return verb + " from " + res.Account + " into " + res.Context + ": " + strconv.Itoa(res.Added) + " new, " +
			strconv.Itoa(res.Unchanged) + " unchanged, " + strconv.Itoa(res.Retracted) + " retracted, " +
			strconv.Itoa(res.Skipped) + " left alone (your own statements).", nil
	})
	return "/ui/jobs/" + id, "", nil
}

func (h *Handler) jobPage(r *http.Request, _ *session) (string, view, error) {
	j, ok := h.jobs.get(r.PathValue("id"))
	if !ok {
		return "", view{}, api.Errorf(api.CodeNotFound, "no such job")
	}
	v := view{Title: "Fediverse import", Nav: "fedi", Data: j}
	if !j.Done {
		v.Refresh = 1
	}
	return "job", v, nil
}

type modelData struct {
	Context string
	Info    api.ModelInfo
}

func (h *Handler) modelPage(r *http.Request, _ *session) (string, view, error) {
	c := r.URL.Query().Get("context")
	if c == "" {
		c = api.DefaultContext
	}
	info, err := h.svc.Model(r.Context(), api.ModelRequest{Context: c})
	if err != nil {
		return "", view{}, err
	}
	return "model", view{Title: "Model", Nav: "model", Data: modelData{Context: c, Info: info}}, nil
}

func (h *Handler) trainModel(r *http.Request, _ *session) (string, string, error) {
	c := r.PostForm.Get("context")
	info, err := h.svc.TrainModel(r.Context(), api.ModelRequest{Context: c})
	if err != nil {
		return "", "", err
	}
	next := "/ui/model?context=" + url.QueryEscape(info.Context)
	if rf := info.Refinement; rf != nil && rf.Used {
		return next, "Refined on your " + strconv.Itoa(rf.Judgements) + " judgements: " + rf.Why + ". The refined model answers from now on.", nil
	} else if rf != nil {
		return next, "Kept the shipped model: " + rf.Why + ".", nil
	}
	return next, "", nil
}

type pairData struct {
	Code    string
	Expires string
	Paired  int
}

func (h *Handler) pairPage(r *http.Request, _ *session) (string, view, error) {
	return "pair", view{Title: "Pair the browser extension", Nav: "pair", Data: pairData{Paired: h.access.Pairings()}}, nil
}

// pair shows a fresh pairing code at once (it is not kept for a later
// page: it is a secret for the next five minutes).
func (h *Handler) pair(r *http.Request, s *session) (string, string, error) {
	code, exp, err := h.access.NewPairingCode()
	if err != nil {
		return "", "", err
	}
	return "/ui/pair", "Pairing code (good once, until " + exp.UTC().Format("15:04:05") + " UTC): " + code, nil
}

func (h *Handler) logout(r *http.Request, s *session) (string, string, error) {
	h.mu.Lock()
	delete(h.sessions, s.id)
	h.mu.Unlock()
	return "/ui/", "", nil
}
