package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServerOptions configures a Server. Token is required; every other field
// has a documented default.
type ServerOptions struct {
	// Token is the bearer token every request must carry (see
	// LoadOrCreateToken). At least 32 characters.
	Token string
	// Logger receives refused requests (debug) and service failures
	// (error). Default: discard.
	Logger *slog.Logger
	// AllowedHosts are extra Host header values accepted besides the
	// listener's own loopback names, e.g. for a reverse proxy. Matching is
	// exact (case-insensitive), port included. Default: none.
	AllowedHosts []string
	// AllowNonLoopback lets Serve accept a TCP listener that is not on a
	// loopback address. Default false: Serve refuses it (A5).
	AllowNonLoopback bool
	// MaxBodyBytes caps request bodies. Default DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// ShutdownTimeout bounds the graceful shutdown in Serve once its context
	// is done; requests still running then are cut off. Default 5 s.
	ShutdownTimeout time.Duration
	// RequestTimeout bounds one request's Service call: its context has this
	// deadline, and a Service that returns context.DeadlineExceeded is
	// answered 504. Default 60 s.
	RequestTimeout time.Duration
	// Access holds the login and pairing codes, the paired extensions and
	// the refusal counts. Default: a fresh one in memory.
	Access *Access
	// UI serves every path outside /v1/ (the web page), after the Host
	// check and a same-origin check, without the bearer token: it does
	// its own sessions. Default nil: such paths are 404.
	UI http.Handler
	// MaxConns caps the connections open at once: at the cap a new one
	// replaces the connection idle the longest, or is closed. Default
	// DefaultMaxConns (64).
	MaxConns int
}

// Server serves a Service as the local HTTP API. It is an http.Handler and
// is safe for concurrent use; Serve runs it on a listener.
type Server struct {
	svc        Service
	token      tokenDigest
	log        *slog.Logger
	extraHosts map[string]bool
	opts       ServerOptions
	mux        *http.ServeMux
	access     *Access
	extension  map[string]bool // paths an extension may call (Route.Extension)
}

// Route is one endpoint of the API.
type Route struct {
	Method  string // GET or POST
	Pattern string // path, with {cid} for a path parameter
	Mutates bool   // changes state (POST); every GET is read-only
	// MaxBody caps this route's request body; 0 means
	// ServerOptions.MaxBodyBytes.
	MaxBody int64
	// Timeout bounds this route's Service call; 0 means
	// ServerOptions.RequestTimeout.
	Timeout time.Duration
	// Extension routes may also be called by the paired browser extension:
	// with its token and its own origin (chrome-extension://,
	// moz-extension://), never a web page's.
	Extension bool
	// Public routes need no bearer token (the pairing route, which takes
	// a one-time code instead).
	Public bool
	handle func(s *Server, w http.ResponseWriter, r *http.Request) (int, any, error)
}

var routes = []Route{
	{Method: "GET", Pattern: "/v1/status", handle: (*Server).status},
	{Method: "GET", Pattern: "/v1/peers", handle: (*Server).peers},
	{Method: "GET", Pattern: "/v1/query", handle: (*Server).query},
	{Method: "GET", Pattern: "/v1/rank", handle: (*Server).rank},
	{Method: "GET", Pattern: "/v1/attestations", handle: (*Server).attestations},
	{Method: "POST", Pattern: "/v1/attestations", Mutates: true, handle: (*Server).attest},
	{Method: "POST", Pattern: "/v1/retractions", Mutates: true, handle: (*Server).retract},
	{Method: "GET", Pattern: "/v1/consents", handle: (*Server).consents},
	{Method: "POST", Pattern: "/v1/consents/{cid}/approve", Mutates: true, handle: consentAction(Service.Approve)},
	{Method: "POST", Pattern: "/v1/consents/{cid}/decline", Mutates: true, handle: consentAction(Service.Decline)},
	{Method: "POST", Pattern: "/v1/consents/{cid}/withdraw", Mutates: true, handle: consentAction(Service.Withdraw)},
	{Method: "GET", Pattern: "/v1/metrics", handle: (*Server).metrics},
	{Method: "GET", Pattern: "/v1/export", handle: (*Server).export},
	{Method: "POST", Pattern: "/v1/import", Mutates: true, MaxBody: maxImportBody, handle: (*Server).importBundle},
	{Method: "POST", Pattern: "/v1/fedi/verify", Mutates: true, Timeout: fediTimeout, handle: (*Server).verifyLink},
	{Method: "POST", Pattern: "/v1/fedi/link", Mutates: true, Timeout: fediTimeout, handle: (*Server).link},
	{Method: "POST", Pattern: "/v1/fedi/login", Mutates: true, Timeout: fediTimeout, handle: (*Server).fediLogin},
	{Method: "POST", Pattern: "/v1/fedi/import", Mutates: true, Timeout: fediTimeout, handle: (*Server).fediImport},
	{Method: "POST", Pattern: "/v1/fedi/apply", Mutates: true, Timeout: fediTimeout, handle: (*Server).fediApply},
	{Method: "GET", Pattern: "/v1/model", handle: (*Server).model},
	{Method: "POST", Pattern: "/v1/model/train", Mutates: true, Timeout: trainTimeout, handle: (*Server).trainModel},
	{Method: "POST", Pattern: "/v1/query/batch", Mutates: true, Extension: true, handle: (*Server).queryBatch},
	{Method: "POST", Pattern: "/v1/ui/login", Mutates: true, handle: (*Server).uiLogin},
	{Method: "POST", Pattern: "/v1/ui/pair", Mutates: true, handle: (*Server).uiPair},
	{Method: "POST", Pattern: "/v1/ext/pair", Mutates: true, Extension: true, Public: true, handle: (*Server).extPair},
}

// Routes returns the API's endpoints. Only the pairing route (Public)
// takes no bearer token.
func Routes() []Route { return append([]Route(nil), routes...) }

// NewServer returns a Server for svc.
func NewServer(svc Service, opts ServerOptions) (*Server, error) {
	if svc == nil {
		return nil, errors.New("api: NewServer: nil Service")
	}
	if len(opts.Token) < 32 {
		return nil, errors.New("api: NewServer: token missing or shorter than 32 characters")
	}
	if opts.MaxBodyBytes < 0 {
		return nil, errors.New("api: NewServer: negative MaxBodyBytes")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	s := &Server{
		svc: svc, token: digestToken(opts.Token), log: opts.Logger, opts: opts,
		extraHosts: make(map[string]bool), mux: http.NewServeMux(), access: opts.Access,
		extension: map[string]bool{},
	}
	if s.access == nil {
		var err error
		if s.access, err = NewAccess(AccessOptions{}); err != nil {
			return nil, err
		}
	}
	s.opts.Token = "" // keep only the digest
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, h := range opts.AllowedHosts {
		if h == "" {
			return nil, errors.New("api: NewServer: empty allowed host")
		}
		s.extraHosts[strings.ToLower(h)] = true
	}
	byPattern := make(map[string][]Route)
	var order []string
	for _, rt := range routes {
		if rt.Extension {
			s.extension[rt.Pattern] = rt.Public
		}
		if byPattern[rt.Pattern] == nil {
			order = append(order, rt.Pattern)
		}
		byPattern[rt.Pattern] = append(byPattern[rt.Pattern], rt)
	}
	for _, p := range order {
		s.mux.Handle(p, s.dispatch(byPattern[p]))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, Errorf(CodeNotFound, "no such endpoint: %s", truncate(r.URL.Path, 128)))
	})
	return s, nil
}

// ServeHTTP checks, in order, the Host header (403), the Origin and
// Sec-Fetch-Site headers (403), and the bearer token (401), then routes the
// request. A refused request never reaches the Service.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("api: panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			s.writeError(w, r, Errorf(CodeInternal, "internal error"))
		}
	}()
	hosts := s.allowedHosts(r)
	if !hosts[strings.ToLower(r.Host)] {
		s.refuse(w, r, RefusedHost, Errorf(CodeForbidden, "forbidden: Host %q is not this API's address", truncate(r.Host, 64)))
		return
	}
	if s.opts.UI != nil && r.URL.Path != "/v1" && !strings.HasPrefix(r.URL.Path, "/v1/") {
		// The web page: its own forms post with its own Origin.
		if !s.sameOrigin(r, hosts, true) {
			s.refuse(w, r, RefusedOrigin, Errorf(CodeForbidden, "forbidden: cross-origin request"))
			return
		}
		s.opts.UI.ServeHTTP(w, r)
		return
	}
	public, ext := s.extension[r.URL.Path]
	origin := r.Header.Get("Origin")
	if ext && IsExtensionOrigin(origin) && len(r.Header.Values("Origin")) == 1 {
		// The paired browser extension: its origin is its own, which no
		// web page can send; its token is checked below.
	} else if !s.sameOrigin(r, hosts, false) {
		s.refuse(w, r, RefusedOrigin, Errorf(CodeForbidden, "forbidden: cross-origin request"))
		return
	}
	switch {
	case ext && public:
	case s.authorized(r):
	case ext && s.pairedExtension(r, origin):
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="kith"`)
		reason := RefusedToken
		if ext {
			reason = RefusedPairing
		}
		s.refuse(w, r, reason, Errorf(CodeUnauthorized, "missing or wrong API token"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// sameOrigin checks the Origin and Sec-Fetch-Site headers: an Origin must
// be http:// plus an accepted Host, and is refused on anything but GET
// unless anyMethod (the web page's own forms); Sec-Fetch-Site, when
// present, must be same-origin or none.
func (s *Server) sameOrigin(r *http.Request, hosts map[string]bool, anyMethod bool) bool {
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if r.Method != http.MethodGet && !anyMethod {
			return false
		}
		o, ok := strings.CutPrefix(strings.ToLower(origins[0]), "http://")
		if len(origins) != 1 || !ok || !hosts[o] {
			return false
		}
	}
	if sfs := r.Header.Values("Sec-Fetch-Site"); len(sfs) > 0 {
		if len(sfs) != 1 || (sfs[0] != "same-origin" && sfs[0] != "none") {
			return false
		}
	}
	return true
}

// pairedExtension reports whether r carries an extension token paired
// from its origin.
func (s *Server) pairedExtension(r *http.Request, origin string) bool {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return false
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	return ok && strings.EqualFold(scheme, "Bearer") && s.access.Paired(tok, origin)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return false
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return s.token.matches(tok)
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, reason string, e *Error) {
	s.access.Refuse(reason)
	s.log.Debug("api: refused", "method", r.Method, "path", truncate(r.URL.Path, 128),
		"remote", r.RemoteAddr, "code", e.Code, "reason", reason)
	// A refused client keeps no connection open (no idle keep-alive for
	// one without the token).
	w.Header().Set("Connection", "close")
	s.writeError(w, r, e)
}

// allowedHosts returns the Host header values accepted on the connection r
// came in on: for a loopback TCP listener its address and localhost:port;
// for a unix socket "localhost"; plus ServerOptions.AllowedHosts.
func (s *Server) allowedHosts(r *http.Request) map[string]bool {
	m := make(map[string]bool, 2+len(s.extraHosts))
	for h := range s.extraHosts {
		m[h] = true
	}
	switch a := localAddr(r).(type) {
	case *net.TCPAddr:
		if a.IP.IsLoopback() || s.opts.AllowNonLoopback {
			m[strings.ToLower(a.String())] = true
		}
		if a.IP.IsLoopback() {
			m["localhost:"+strconv.Itoa(a.Port)] = true
		}
	case *net.UnixAddr:
		m["localhost"] = true
	}
	return m
}

func localAddr(r *http.Request) net.Addr {
	a, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return a
}

// dispatch serves one path: it picks the route by method (405 otherwise),
// checks POST requests' media type, query and size, and writes the result.
func (s *Server) dispatch(rts []Route) http.Handler {
	var allow []string
	for _, rt := range rts {
		allow = append(allow, rt.Method)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rt *Route
		for i := range rts {
			if rts[i].Method == r.Method {
				rt = &rts[i]
			}
		}
		if rt == nil {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, Errorf(CodeMethodNotAllowed, "method %s not allowed on %s", truncate(r.Method, 16), r.URL.Path))
			return
		}
		limit := s.opts.MaxBodyBytes
		if rt.MaxBody > 0 {
			limit = rt.MaxBody
		}
		if rt.Mutates {
			if err := s.checkPost(r, limit); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		timeout := s.opts.RequestTimeout
		if rt.Timeout > 0 {
			timeout = rt.Timeout
		}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), bodyLimitKey{}, limit), timeout)
		defer cancel()
		status, v, err := rt.handle(s, w, r.WithContext(ctx))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if t, ok := v.(textBody); ok {
			writeBody(w, status, t.ctype, t.b)
			return
		}
		s.writeJSON(w, r, status, v)
	})
}

// textBody is a handler's non-JSON response.
type textBody struct {
	ctype string
	b     []byte
}

// bodyLimitKey carries a request's body cap to readBody.
type bodyLimitKey struct{}

func (s *Server) checkPost(r *http.Request, limit int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || len(r.Header.Values("Content-Type")) != 1 {
		return Errorf(CodeUnsupportedMedia, "Content-Type must be application/json")
	}
	if r.URL.RawQuery != "" {
		return Errorf(CodeInvalid, "a POST takes no query parameters")
	}
	if r.ContentLength > limit {
		return Errorf(CodeTooLarge, "request body over %d bytes", limit)
	}
	return nil
}

// readBody reads a request body of at most the route's cap (MaxBodyBytes
// unless the route says otherwise).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.opts.MaxBodyBytes
	if l, ok := r.Context().Value(bodyLimitKey{}).(int64); ok {
		limit = l
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, Errorf(CodeTooLarge, "request body over %d bytes", limit)
		}
		return nil, Errorf(CodeInvalid, "reading request body: %v", err)
	}
	return b, nil
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("api: encoding response", "path", r.URL.Path, "err", err)
		s.writeError(w, r, Errorf(CodeInternal, "internal error"))
		return
	}
	writeBody(w, status, "application/json", append(b, '\n'))
}

func writeBody(w http.ResponseWriter, status int, ctype string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes err as a JSON error. An *Error in err's chain is shown
// as is; a context deadline is a timeout; anything else is logged and shown
// only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
		e = &Error{Status: e.HTTPStatus(), Code: e.Code, Message: e.Message}
		if e.Code == "" {
			e.Code = CodeInvalid
			if e.Status >= 500 {
				e.Code = CodeInternal
			}
		}
		if e.Message == "" {
			e.Message = http.StatusText(e.Status)
		}
	case errors.Is(err, context.DeadlineExceeded):
		e = Errorf(CodeTimeout, "the node took too long to answer")
	default:
		s.log.Error("api: service error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = Errorf(CodeInternal, "internal error")
	}
	b, _ := json.Marshal(errorBody{Error: e})
	writeBody(w, e.Status, "application/json", append(b, '\n'))
}

// Handlers. Each returns the status and value to write, or an error.

func noQuery(r *http.Request) error {
	_, err := queryParams(r.URL.RawQuery)
	return err
}

func (s *Server) status(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := noQuery(r); err != nil {
		return 0, nil, err
	}
	st, err := s.svc.Status(r.Context())
	if err != nil {
		return 0, nil, err
	}
	if st.API == "" {
		st.API = baseURL(localAddr(r))
	}
	if st.Addrs == nil {
		st.Addrs = []string{}
	}
	if st.Warnings == nil {
		st.Warnings = []string{}
	}
	return http.StatusOK, st, nil
}

// baseURL is the URL a client uses to reach a listener at a.
func baseURL(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return "http://" + a.String()
	case *net.UnixAddr:
		return "unix:" + a.Name
	}
	return ""
}

func (s *Server) peers(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := noQuery(r); err != nil {
		return 0, nil, err
	}
	ps, err := s.svc.Peers(r.Context())
	if err != nil {
		return 0, nil, err
	}
	if ps == nil {
		ps = []Peer{}
	}
	for i := range ps {
		if ps[i].Addrs == nil {
			ps[i].Addrs = []string{}
		}
	}
	return http.StatusOK, ps, nil
}

func (s *Server) query(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	req, err := ParseQueryRequest(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	q, err := s.svc.Query(r.Context(), req)
	return http.StatusOK, q, err
}

func (s *Server) rank(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	req, err := ParseRankRequest(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.svc.Rank(r.Context(), req)
	if rows == nil {
		rows = []RankRow{}
	}
	return http.StatusOK, rows, err
}

func (s *Server) attestations(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	req, err := ParseListRequest(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	as, err := s.svc.Attestations(r.Context(), req)
	if as == nil {
		as = []Attestation{}
	}
	return http.StatusOK, as, err
}

func (s *Server) attest(w http.ResponseWriter, r *http.Request) (int, any, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return 0, nil, err
	}
	req, err := DecodeAttestRequest(body)
	if err != nil {
		return 0, nil, err
	}
	a, err := s.svc.Attest(r.Context(), req.WithDefaults())
	return http.StatusCreated, a, err
}

func (s *Server) retract(w http.ResponseWriter, r *http.Request) (int, any, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return 0, nil, err
	}
	req, err := DecodeRetractRequest(body)
	if err != nil {
		return 0, nil, err
	}
	rt, err := s.svc.Retract(r.Context(), req)
	return http.StatusCreated, rt, err
}

func (s *Server) consents(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	if err := noQuery(r); err != nil {
		return 0, nil, err
	}
	cs, err := s.svc.Consents(r.Context())
	if cs == nil {
		cs = []ConsentRequest{}
	}
	return http.StatusOK, cs, err
}

func consentAction(act func(Service, context.Context, string) (ConsentRequest, error)) func(*Server, http.ResponseWriter, *http.Request) (int, any, error) {
	return func(s *Server, w http.ResponseWriter, r *http.Request) (int, any, error) {
		cid := r.PathValue("cid")
		if err := checkCID(cid); err != nil {
			return 0, nil, err
		}
		body, err := s.readBody(w, r)
		if err != nil {
			return 0, nil, err
		}
		if err := decodeActionBody(body); err != nil {
			return 0, nil, err
		}
		c, err := act(s.svc, r.Context(), cid)
		return http.StatusOK, c, err
	}
}

func (s *Server) metrics(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := queryParams(r.URL.RawQuery, "format")
	if err != nil {
		return 0, nil, err
	}
	prom := false
	switch p["format"] {
	case "json":
	case "prometheus":
		prom = true
	case "":
		accept := r.Header.Get("Accept")
		prom = !strings.Contains(accept, "application/json") &&
			(strings.Contains(accept, "text/plain") || strings.Contains(accept, "openmetrics"))
	default:
		return 0, nil, Errorf(CodeInvalid, "format must be json or prometheus")
	}
	m, err := s.svc.Metrics(r.Context())
	if err != nil {
		return 0, nil, err
	}
	m = append(m, s.access.Metrics()...)
	if prom {
		b, err := prometheusText(m)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, textBody{"text/plain; version=0.0.4; charset=utf-8", b}, nil
	}
	return http.StatusOK, metricMap(m), nil
}
