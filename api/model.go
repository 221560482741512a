package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kith-net/kith/trust"
)

// The owner's ranking model: which one answers queries in a context, and
// refining it on the owner's judgements while the daemon runs.

// ModelRequest names a context ("" is general).
type ModelRequest struct {
	Context string `json:"context"`
}

// ModelInfo is the model that answers queries in a context. Field names
// are stable.
type ModelInfo struct {
	Context string `json:"context"`
	// Kind is "shipped" (trust/model/default.json, made from public
	// networks) or "refined" (on the owner's judgements, in the vault).
	Kind string `json:"kind"`
	// Note says why a refined model in the vault is not used, if one is
	// not.
	Note  string       `json:"note,omitempty"`
	Model *trust.Model `json:"model"`
	// Refinement is what the last kith model train measured, when it ran
	// in this process (nil otherwise).
	Refinement *Refinement `json:"refinement,omitempty"`
}

// Refinement is the result of refining the model on the owner's
// judgements (trust.RefineReport). Field names are stable.
type Refinement struct {
	Judgements     int     `json:"judgements"`
	SharedLogLoss  float64 `json:"shared_log_loss"`  // cross-validated, on the owner's judgements
	RefinedLogLoss float64 `json:"refined_log_loss"` // the same, refined on the other folds
	Used           bool    `json:"used"`             // the refined model answers from now on
	Why            string  `json:"why"`
}

// ParseModelRequest parses the query string of GET /v1/model.
func ParseModelRequest(raw string) (ModelRequest, error) {
	p, err := queryParams(raw, "context")
	if err != nil {
		return ModelRequest{}, err
	}
	return ModelRequest{Context: p["context"]}, nil
}

func (r ModelRequest) values() url.Values {
	v := url.Values{}
	if r.Context != "" {
		v.Set("context", r.Context)
	}
	return v
}

func (s *Server) model(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	req, err := ParseModelRequest(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	info, err := s.svc.Model(r.Context(), req)
	return http.StatusOK, info, err
}

func (s *Server) trainModel(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req ModelRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkStrings(map[string]string{"context": req.Context}); err != nil {
		return 0, nil, err
	}
	info, err := s.svc.TrainModel(r.Context(), req)
	return http.StatusOK, info, err
}

// Model implements Service.
func (c *Client) Model(ctx context.Context, req ModelRequest) (ModelInfo, error) {
	var info ModelInfo
	err := c.do(ctx, "GET", "/v1/model", req.values(), nil, &info)
	return info, err
}

// TrainModel implements Service.
func (c *Client) TrainModel(ctx context.Context, req ModelRequest) (ModelInfo, error) {
	var info ModelInfo
	err := c.do(ctx, "POST", "/v1/model/train", nil, req, &info)
	return info, err
}
