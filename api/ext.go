package api

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The web page's and the browser extension's routes: the one-time login
// URL (kith ui), the pairing code and its exchange for an extension token
// (kith ui --pair), and the batch query the extension asks.

// MaxBatch is the most subjects one batch query may ask about.
const MaxBatch = 200

// BatchQueryRequest asks about several subjects in one context, as the
// browser extension does for the accounts on a page.
type BatchQueryRequest struct {
	Subjects []string `json:"subjects"`
	Context  string   `json:"context,omitempty"`
}

// BatchQueryResult answers a batch query, one answer per subject in the
// order asked. Field names are stable.
type BatchQueryResult struct {
	Context string        `json:"context"`
	Answers []BatchAnswer `json:"answers"`
}

// BatchAnswer is what the extension shows beside one account: the score
// and the plain summary, no more of the owner's graph.
type BatchAnswer struct {
	Subject string `json:"subject"` // as asked
	// Valid is false for a subject kith cannot read (the rest is then
	// empty).
	Valid      bool     `json:"valid"`
	Covered    bool     `json:"covered"`
	Score      *float64 `json:"score"` // null without evidence
	Confidence float64  `json:"confidence"`
	Summary    string   `json:"summary"`
	// Own is the owner's own statement: "vouch", "warn" or "".
	Own             string `json:"own"`
	TrustedVouchers int    `json:"trusted_vouchers"`
	TrustedWarners  int    `json:"trusted_warners"`
}

// CodeResult is a one-time code: the login URL of the web page, or the
// pairing code for the extension.
type CodeResult struct {
	URL     string    `json:"url,omitempty"`  // the login URL (kith ui)
	Code    string    `json:"code,omitempty"` // the pairing code (kith ui --pair)
	Expires time.Time `json:"expires"`
}

// PairRequest trades a pairing code for an extension token.
type PairRequest struct {
	Code string `json:"code"`
}

// PairResult is an extension token: the extension keeps it and sends it
// as its bearer token.
type PairResult struct {
	Token string `json:"token"`
}

func (s *Server) queryBatch(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req BatchQueryRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if len(req.Subjects) == 0 || len(req.Subjects) > MaxBatch {
		return 0, nil, Errorf(CodeInvalid, "subjects: want 1 to %d", MaxBatch)
	}
	fields := map[string]string{"context": req.Context}
	for i, sub := range req.Subjects {
		if sub == "" || len(sub) > 512 {
			return 0, nil, Errorf(CodeInvalid, "subjects[%d]: empty or over 512 bytes", i)
		}
		fields["subjects["+strconv.Itoa(i)+"]"] = sub
	}
	if err := checkStrings(fields); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.QueryBatch(r.Context(), req)
	if res.Answers == nil {
		res.Answers = []BatchAnswer{}
	}
	return http.StatusOK, res, err
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := s.emptyBody(w, r); err != nil {
		return 0, nil, err
	}
	a, ok := localAddr(r).(*net.TCPAddr)
	if !ok || s.opts.UI == nil {
		return 0, nil, Errorf(CodeUnavailable, "the web page is served only on a TCP API address (kith run --api 127.0.0.1:PORT)")
	}
	code, exp, err := s.access.NewLoginCode()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, CodeResult{URL: "http://" + a.String() + "/ui/login?code=" + code, Expires: exp.UTC()}, nil
}

func (s *Server) uiPair(w http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := s.emptyBody(w, r); err != nil {
		return 0, nil, err
	}
	code, exp, err := s.access.NewPairingCode()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, CodeResult{Code: code, Expires: exp.UTC()}, nil
}

func (s *Server) extPair(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req PairRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	tok, err := s.access.Pair(req.Code, r.Header.Get("Origin"))
	if err != nil {
		s.access.Refuse(RefusedPairing)
		s.log.Debug("api: pairing refused", "remote", r.RemoteAddr, "err", err)
		if ErrorCode(err) == CodeUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kith"`)
		}
		return 0, nil, err
	}
	return http.StatusOK, PairResult{Token: tok}, nil
}

// emptyBody reads a body that must be an empty JSON object.
func (s *Server) emptyBody(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeActionBody(body)
}

// QueryBatch implements Service.
func (c *Client) QueryBatch(ctx context.Context, req BatchQueryRequest) (BatchQueryResult, error) {
	var res BatchQueryResult
	err := c.do(ctx, "POST", "/v1/query/batch", nil, req, &res)
	return res, err
}

// UILogin asks the daemon for a one-time login URL of its web page.
func (c *Client) UILogin(ctx context.Context) (CodeResult, error) {
	var res CodeResult
	err := c.do(ctx, "POST", "/v1/ui/login", nil, struct{}{}, &res)
	return res, err
}

// UIPair asks the daemon for a one-time pairing code for the browser
// extension.
func (c *Client) UIPair(ctx context.Context) (CodeResult, error) {
	var res CodeResult
	err := c.do(ctx, "POST", "/v1/ui/pair", nil, struct{}{}, &res)
	return res, err
}
