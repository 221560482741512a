// Package api is the node daemon's local HTTP API: the Service interface the
// daemon implements, a Server that serves it, a Client that implements it
// over HTTP (what the CLI uses while a daemon runs), the bearer token file
// and the discovery file.
//
// # Endpoints
//
// All under /v1/, JSON in and out (Routes lists them):
//
//	GET  /v1/status                      Status
//	GET  /v1/peers                       []Peer
//	GET  /v1/query?subject=&context=     QueryResult
//	GET  /v1/rank?context=&bottom=&limit=  []RankRow
//	GET  /v1/attestations?by=&about=&context=&kind=&all=  []Attestation
//	POST /v1/attestations                AttestRequest -> 201 Attestation
//	POST /v1/retractions                 RetractRequest -> 201 Retraction
//	GET  /v1/consents                    []ConsentRequest
//	POST /v1/consents/{cid}/approve      -> ConsentRequest (also decline, withdraw)
//	GET  /v1/metrics[?format=json|prometheus]  map of name to value, or Prometheus text
//	GET  /v1/export[?public_only=true]   ExportResult (a bundle signed by the node)
//	POST /v1/import                      ImportRequest -> ImportResult (body up to MaxBundleBytes, base64)
//	POST /v1/fedi/verify                 VerifyRequest -> VerifyResult
//	POST /v1/fedi/link                   LinkRequest -> 201 LinkResult
//	POST /v1/fedi/login                  FediLoginRequest -> FediLoginResult (the token is never sent back)
//	POST /v1/fedi/import                 FediImportRequest -> FediImportResult
//	POST /v1/fedi/apply                  FediApplyRequest -> FediApplyResult (mutes on the owner's account)
//	GET  /v1/model[?context=C]           ModelInfo (the model that answers queries in C)
//	POST /v1/model/train                 ModelRequest -> ModelInfo (refines on the owner's judgements)
//	POST /v1/query/batch                 BatchQueryRequest -> BatchQueryResult (also the paired extension)
//	POST /v1/ui/login                    {} -> CodeResult (a one-time login URL of the web page)
//	POST /v1/ui/pair                     {} -> CodeResult (a one-time pairing code for the extension)
//	POST /v1/ext/pair                    PairRequest -> PairResult (the extension, with a pairing code)
//
// Every other path is the web page (ServerOptions.UI, package web) when
// one is mounted, and 404 otherwise.
// An error is {"error": {"code": "...", "message": "..."}} with an HTTP error
// status; codes are the append-only Code constants. A Service chooses what a
// caller sees by returning an *Error; any other error is logged and answered
// with 500 "internal error", so no internals leak.
//
// # Security contract
//
// Every request, on every route, is checked before it reaches the Service,
// in this order, and a refused request changes nothing:
//
//   - Host (against DNS rebinding): must be exactly the connection's local
//     loopback address (127.0.0.1:PORT or [::1]:PORT) or localhost:PORT;
//     "localhost" on a unix socket; or one of ServerOptions.AllowedHosts.
//     Otherwise 403. (A rebinding page can only send a DNS name it controls.)
//   - Origin and Sec-Fetch-Site (against cross-site requests): a request other
//     than GET carrying any Origin is refused; a GET's Origin must be
//     http:// plus an accepted Host. Sec-Fetch-Site, when present, must be
//     same-origin or none. Otherwise 403.
//   - Authorization: "Bearer TOKEN", compared in constant time (on SHA-256
//     digests). Otherwise 401. The only route without the token is
//     /v1/ext/pair, which takes a one-time pairing code instead.
//   - The browser extension (Route.Extension: the batch query and the
//     pairing) may send its own origin, chrome-extension://ID or
//     moz-extension://UUID, which no web page can send; its token, from
//     pairing, is good only on the batch query and only with the origin
//     that paired (or none). Any other origin is refused as above.
//   - The web page's paths (outside /v1/) pass the same Host check, then
//     an Origin (any method) that must be this API's own and a
//     Sec-Fetch-Site of same-origin or none; the page does its own
//     sessions and CSRF tokens (package web).
//
// Every refusal is counted by reason in Access (kith_api_refused_host_total,
// _origin_, _token_, _pairing_, and the page's _csrf_, _session_, _login_),
// reported with the Service's metrics.
//   - Routing: unknown path 404, wrong method 405 (no CORS preflight, no HEAD).
//     No GET changes state.
//   - POST: Content-Type application/json (blocks form-post CSRF, 415), no
//     query string, a body of at most MaxBodyBytes (64 KiB, 413), decoded
//     strictly: one JSON object, exact field names, no unknown or duplicate
//     fields, nothing after it (400).
//
// The token is 256 random bits in the data directory's api.token, mode 0600
// (LoadOrCreateToken); a token file group or others can access is refused.
// Serve refuses a TCP listener that is not on loopback unless
// ServerOptions.AllowNonLoopback is set; Listen accepts only loopback
// addresses. ListenUnix makes the socket file 0600 and, on Linux, closes
// connections whose peer is another user (SO_PEERCRED).
//
// # Ownership and concurrency
//
// A Server and a Client are safe for concurrent use. Server.Serve blocks
// until its context is done and then shuts down gracefully; the caller owns
// the goroutine it runs in, and Serve joins the one it starts. The daemon
// writes api.json (WriteDiscovery) once it listens and removes it
// (RemoveDiscovery) when it stops; Discover finds the daemon for the CLI or
// returns ErrNoDaemon.
//
// The package imports no other kith package but internal/atomicfile and
// trust (the model ModelInfo carries), and
// of outside code only the Prometheus client library (metrics).
package api
