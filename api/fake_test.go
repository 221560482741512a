package api

import (
	"context"
	"github.com/kith-net/kith/trust"
	"sync"
	"time"
)

// fakeService is an in-memory Service that records every call. Mutating
// methods also count as mutations and change its state.
type fakeService struct {
	mu        sync.Mutex
	calls     []string // method names, in order
	args      []any    // the request of each call
	mutations int
	atts      []Attestation
	consents  map[string]ConsentRequest
	err       error // returned by every method when set
}

func newFake() *fakeService {
	return &fakeService{consents: map[string]ConsentRequest{
		"bafyreiconsent": {CID: "bafyreiconsent", Issuer: "12D3KooWIssuer", Kind: KindVouch, Context: "general",
			Strength: 60, Reason: "good trader", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), State: ConsentPending},
	}}
}

func (f *fakeService) record(name string, arg any, mutates bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	f.args = append(f.args, arg)
	if f.err != nil {
		return f.err
	}
	if mutates {
		f.mutations++
	}
	return nil
}

func (f *fakeService) snapshot() (calls []string, mutations int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), f.mutations
}

func (f *fakeService) lastArg() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.args) == 0 {
		return nil
	}
	return f.args[len(f.args)-1]
}

var fakeStarted = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

func (f *fakeService) Status(ctx context.Context) (Status, error) {
	if err := f.record("Status", nil, false); err != nil {
		return Status{}, err
	}
	return Status{PeerID: "12D3KooWSelf", Addrs: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSelf"},
		Version: "test", Started: fakeStarted, Peers: 2, Objects: 7, Topic: "/kith/proofs/1"}, nil
}

func (f *fakeService) Peers(ctx context.Context) ([]Peer, error) {
	if err := f.record("Peers", nil, false); err != nil {
		return nil, err
	}
	tr := 0.75
	return []Peer{
		{ID: "12D3KooWA", Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, Connected: true, Score: 1.5, Trust: &tr},
		{ID: "12D3KooWB", Connected: false, Score: -3},
	}, nil
}

func (f *fakeService) Query(ctx context.Context, req QueryRequest) (QueryResult, error) {
	if err := f.record("Query", req, false); err != nil {
		return QueryResult{}, err
	}
	score := 0.5
	return QueryResult{Subject: req.Subject, Context: req.Context, Covered: true, Score: &score, Meaning: ScoreMeaning,
		Explanation: &Explanation{Summary: "of the people you trust, 1 vouched, 0 warned", Vouchers: []Statement{},
			Warners: []Statement{}, Paths: []Path{{Nodes: []string{"you", req.Subject}, Strength: 0.5}}, Features: []Feature{}}}, nil
}

func (f *fakeService) Rank(ctx context.Context, req RankRequest) ([]RankRow, error) {
	if err := f.record("Rank", req, false); err != nil {
		return nil, err
	}
	return []RankRow{{Subject: "@a@b.c", Score: 0.9, Confidence: 0.4, Summary: "vouched for by you"}}, nil
}

func (f *fakeService) QueryBatch(ctx context.Context, req BatchQueryRequest) (BatchQueryResult, error) {
	if err := f.record("QueryBatch", req.Context, false); err != nil {
		return BatchQueryResult{}, err
	}
	res := BatchQueryResult{Context: req.Context}
	for _, s := range req.Subjects {
		score := 0.25
		res.Answers = append(res.Answers, BatchAnswer{Subject: s, Valid: true, Covered: true, Score: &score, Summary: "of the people you trust, 1 warned, 0 vouched", TrustedWarners: 1})
	}
	return res, nil
}

func (f *fakeService) FediApply(ctx context.Context, req FediApplyRequest) (FediApplyResult, error) {
	if err := f.record("FediApply", req, !req.DryRun); err != nil {
		return FediApplyResult{}, err
	}
	return FediApplyResult{Context: req.Context, Below: req.Below, Action: "mute", DryRun: req.DryRun}, nil
}

func (f *fakeService) Attestations(ctx context.Context, req ListRequest) ([]Attestation, error) {
	if err := f.record("Attestations", req, false); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Attestation(nil), f.atts...), nil
}

func (f *fakeService) Attest(ctx context.Context, req AttestRequest) (Attestation, error) {
	if err := f.record("Attest", req, true); err != nil {
		return Attestation{}, err
	}
	a := Attestation{CID: "bafyreinew", Kind: req.Kind, Issuer: "12D3KooWSelf", Subject: req.Subject,
		Context: req.Context, Strength: req.Strength, Reason: req.Reason, Evidence: req.Evidence,
		Created: "2026-11-22T04:00:00Z", Audience: req.Audience}
	f.mu.Lock()
	f.atts = append(f.atts, a)
	f.mu.Unlock()
	return a, nil
}

func (f *fakeService) Retract(ctx context.Context, req RetractRequest) (Retraction, error) {
	if err := f.record("Retract", req, true); err != nil {
		return Retraction{}, err
	}
	return Retraction{CID: "bafyreiretraction", Target: req.CID, Created: fakeStarted}, nil
}

func (f *fakeService) Consents(ctx context.Context) ([]ConsentRequest, error) {
	if err := f.record("Consents", nil, false); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ConsentRequest
	for _, c := range f.consents {
		out = append(out, c)
	}
	return out, nil
}

func (f *fakeService) setConsent(name, cid string, st ConsentState) (ConsentRequest, error) {
	if err := f.record(name, cid, true); err != nil {
		return ConsentRequest{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.consents[cid]
	if !ok {
		return ConsentRequest{}, Errorf(CodeNotFound, "no consent request %s", cid)
	}
	c.State = st
	f.consents[cid] = c
	return c, nil
}

func (f *fakeService) Approve(ctx context.Context, cid string) (ConsentRequest, error) {
	return f.setConsent("Approve", cid, ConsentApproved)
}

func (f *fakeService) Decline(ctx context.Context, cid string) (ConsentRequest, error) {
	return f.setConsent("Decline", cid, ConsentDeclined)
}

func (f *fakeService) Withdraw(ctx context.Context, cid string) (ConsentRequest, error) {
	return f.setConsent("Withdraw", cid, ConsentWithdrawn)
}

func (f *fakeService) Metrics(ctx context.Context) ([]Metric, error) {
	if err := f.record("Metrics", nil, false); err != nil {
		return nil, err
	}
	return []Metric{
		{Name: "kith_peers_connected", Help: "Peers connected now.", Kind: Gauge, Value: 2},
		{Name: "kith_objects_received_total", Help: "Objects stored from the network.", Kind: Counter, Value: 7},
	}, nil
}

func (f *fakeService) Export(ctx context.Context, req ExportRequest) (ExportResult, error) {
	if err := f.record("Export", req, false); err != nil {
		return ExportResult{}, err
	}
	return ExportResult{Bundle: []byte{0xa1, 0x01, 0x02}, CID: "bafyreibundle", Objects: 1}, nil
}

func (f *fakeService) Import(ctx context.Context, req ImportRequest) (ImportResult, error) {
	if err := f.record("Import", req, true); err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Bundle: "bafyreibundle", Signer: "12D3KooWOther", Objects: 1, Added: 1}, nil
}

func (f *fakeService) VerifyLink(ctx context.Context, req VerifyRequest) (VerifyResult, error) {
	if err := f.record("VerifyLink", req, true); err != nil {
		return VerifyResult{}, err
	}
	return VerifyResult{Acct: req.Acct, PeerID: "12D3KooWOther", Verified: true, Checked: "2026-11-22T04:00:00Z"}, nil
}

func (f *fakeService) Link(ctx context.Context, req LinkRequest) (LinkResult, error) {
	if err := f.record("Link", req, true); err != nil {
		return LinkResult{}, err
	}
	return LinkResult{Acct: req.Acct, PeerID: "12D3KooWSelf", FieldName: "kith", Link: "bafyreilink"}, nil
}

func (f *fakeService) FediLogin(ctx context.Context, req FediLoginRequest) (FediLoginResult, error) {
	if err := f.record("FediLogin", req.Acct, true); err != nil {
		return FediLoginResult{}, err
	}
	return FediLoginResult{Acct: req.Acct, Instance: "https://example.social", AccountID: "1"}, nil
}

func (f *fakeService) FediImport(ctx context.Context, req FediImportRequest) (FediImportResult, error) {
	if err := f.record("FediImport", req, true); err != nil {
		return FediImportResult{}, err
	}
	return FediImportResult{Account: "@alice@example.social", Context: "general", Relations: map[string]int{"follow": 2}, Added: 2}, nil
}

func (f *fakeService) Model(ctx context.Context, req ModelRequest) (ModelInfo, error) {
	if err := f.record("Model", req, false); err != nil {
		return ModelInfo{}, err
	}
	return ModelInfo{Context: req.Context, Kind: "shipped", Model: trust.DefaultModel()}, nil
}

func (f *fakeService) TrainModel(ctx context.Context, req ModelRequest) (ModelInfo, error) {
	if err := f.record("TrainModel", req, true); err != nil {
		return ModelInfo{}, err
	}
	return ModelInfo{Context: req.Context, Kind: "refined", Model: trust.DefaultModel(), Refinement: &Refinement{Judgements: 12, Used: true}}, nil
}
