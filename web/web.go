package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/owner"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// SessionTTL is how long a session lasts after its login.
const SessionTTL = 12 * time.Hour

// maxSessions bounds the sessions kept; a login past it forgets the oldest.
const maxSessions = 32

// maxFormBytes caps a form's body.
const maxFormBytes = 64 << 10

// cookieName is the session cookie's name.
const cookieName = "kith_session"

// csp is the Content-Security-Policy of every answer.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configures a Handler. Service and Access are required.
type Options struct {
	// Service is the owner service the pages show and change.
	Service *owner.Service
	// Access redeems login codes, makes pairing codes and counts
	// refusals; the same one the api.Server has.
	Access *api.Access
	// Now is the clock (default time.Now); Rand the source of session ids
	// and CSRF tokens (default crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Logger receives failures. Default: discard.
	Logger *slog.Logger
}

// Handler serves the web page; see the package doc.
type Handler struct {
	svc    *owner.Service
	access *api.Access
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	pages  map[string]*template.Template
	mux    *http.ServeMux
	static http.Handler

	mu       sync.Mutex
	sessions map[string]*session

	jobs jobs
}

// session is one logged-in browser.
type session struct {
	id      string
	csrf    string
	created time.Time
	flash   string // a message shown once, on the next page
	flashOK bool
}

// New returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Service == nil || opts.Access == nil {
		return nil, errors.New("web: New: Service and Access are required")
	}
	h := &Handler{svc: opts.Service, access: opts.Access, now: opts.Now, rand: opts.Rand, log: opts.Logger,
		sessions: map[string]*session{}, mux: http.NewServeMux()}
	if h.now == nil {
		h.now = time.Now
	}
	if h.rand == nil {
		h.rand = rand.Reader
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.jobs.init()
	var err error
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	h.static = http.StripPrefix("/ui/static/", http.FileServerFS(sub))
	h.routes()
	return h, nil
}

// Close cancels the running jobs and waits for them.
func (h *Handler) Close() { h.jobs.close() }

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"pct": func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) },
	"f2":  func(x float64) string { return fmt.Sprintf("%.2f", x) },
	"signed": func(x float64) string {
		return fmt.Sprintf("%+.2f", x)
	},
	"short": func(s string) string {
		if len(s) > 20 {
			return s[:10] + "…" + s[len(s)-6:]
		}
		return s
	},
	"deref": func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"add":  func(a, b int) int { return a + b },
	"sub":  func(a, b int) int { return a - b },
	"join": strings.Join,
	"date": func(s string) string {
		if len(s) >= 10 {
			return s[:10]
		}
		return s
	},
}

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusSeeOther) })
	m.HandleFunc("GET /ui/login", h.login)
	m.Handle("GET /ui/static/", h.static)
	m.HandleFunc("GET /ui/{$}", h.page(h.askPage))
	m.HandleFunc("GET /ui/statements", h.page(h.statementsPage))
	m.HandleFunc("POST /ui/statements", h.change(h.attest))
	m.HandleFunc("POST /ui/retract", h.change(h.retract))
	m.HandleFunc("GET /ui/consents", h.page(h.consentsPage))
	m.HandleFunc("POST /ui/consents", h.change(h.consentAction))
	m.HandleFunc("GET /ui/network", h.page(h.networkPage))
	m.HandleFunc("GET /ui/fedi", h.page(h.fediPage))
	m.HandleFunc("POST /ui/fedi/link", h.change(h.fediLink))
	m.HandleFunc("POST /ui/fedi/verify", h.change(h.fediVerify))
	m.HandleFunc("POST /ui/fedi/recheck", h.change(h.fediRecheck))
	m.HandleFunc("POST /ui/fedi/import", h.change(h.fediImport))
	m.HandleFunc("GET /ui/jobs/{id}", h.page(h.jobPage))
	m.HandleFunc("GET /ui/model", h.page(h.modelPage))
	m.HandleFunc("POST /ui/model/train", h.change(h.trainModel))
	m.HandleFunc("GET /ui/pair", h.page(h.pairPage))
	m.HandleFunc("POST /ui/pair", h.change(h.pair))
	m.HandleFunc("POST /ui/logout", h.change(h.logout))
}

// ServeHTTP serves the page with its security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin") // no-referrer would make Chromium send "Origin: null" with the forms
	hd.Set("Cache-Control", "no-store")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) token() string {
	var b [32]byte
	if _, err := io.ReadFull(h.rand, b[:]); err != nil {
		panic(fmt.Sprintf("web: random: %v", err)) // crypto/rand does not fail
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// login trades a one-time code for a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if code == "" || !h.access.RedeemLogin(code) {
		h.access.Refuse(api.RefusedLogin)
		h.log.Info("web: login refused: a used, expired or unknown code", "remote", r.RemoteAddr)
		h.render(w, r, http.StatusForbidden, "message", nil, map[string]any{"Title": "Login refused",
			"Message": "This login link was used already, has expired or is not one kith made. Run kith ui again for a new one."})
		return
	}
	s := &session{id: h.token(), csrf: h.token(), created: h.now()}
	h.mu.Lock()
	h.expireLocked()
	if len(h.sessions) >= maxSessions {
		var oldest *session
		for _, o := range h.sessions {
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		delete(h.sessions, oldest.id)
	}
	h.sessions[s.id] = s
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (h *Handler) expireLocked() {
	now := h.now()
	for id, s := range h.sessions {
		if now.Sub(s.created) >= SessionTTL {
			delete(h.sessions, id)
		}
	}
}

// session returns the request's session, or nil.
func (h *Handler) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked()
	return h.sessions[c.Value]
}

// view is what a page handler hands to its template.
type view struct {
	Title string
	Nav   string
	Data  any
	// Refresh, when set, makes the page reload itself after so many
	// seconds (a running job).
	Refresh int
}

// pageFunc builds a page; an *api.Error is shown to the owner.
type pageFunc func(r *http.Request, s *session) (name string, v view, err error)

// page serves a GET page to a session.
func (h *Handler) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.session(r)
		if s == nil {
			h.noSession(w, r, http.StatusUnauthorized, "Open this page with the one-time link kith ui prints: run kith ui in a terminal.")
			return
		}
		name, v, err := fn(r, s)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		h.renderView(w, r, http.StatusOK, name, s, v)
	}
}

// noSession refuses a request without a session, and counts it.
func (h *Handler) noSession(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.access.Refuse(api.RefusedSession)
	h.render(w, r, status, "message", nil, map[string]any{"Title": "Not logged in", "Message": msg})
}

// changeFunc makes a change from a checked form; it returns where to go
// next and what to tell the owner there.
type changeFunc func(r *http.Request, s *session) (next, flash string, err error)

// change serves a POST from a page of a session: a form, with the
// session's CSRF token.
func (h *Handler) change(fn changeFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.session(r)
		if s == nil {
			h.noSession(w, r, http.StatusForbidden, "This change came without a session and was not made: run kith ui for a login link.")
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil || r.URL.RawQuery != "" ||
			subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			h.access.Refuse(api.RefusedCSRF)
			h.log.Info("web: change refused: no or a wrong CSRF token", "path", r.URL.Path, "remote", r.RemoteAddr)
			h.render(w, r, http.StatusForbidden, "message", s, map[string]any{"Title": "Change refused",
				"Message": "This change did not come from one of kith's own pages and was not made."})
			return
		}
		next, flash, err := fn(r, s)
		if err != nil {
			var ae *api.Error
			if errors.As(err, &ae) && ae.HTTPStatus() < 500 {
				h.setFlash(s, ae.Message, false)
				http.Redirect(w, r, backTo(r), http.StatusSeeOther)
				return
			}
			h.fail(w, r, s, err)
			return
		}
		if flash != "" {
			h.setFlash(s, flash, true)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// backTo is the page a form came from (its "back" field, a path of this
// page), else the start page.
func backTo(r *http.Request) string {
	if b := r.PostForm.Get("back"); strings.HasPrefix(b, "/ui/") && !strings.HasPrefix(b, "//") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return "/ui/"
}

func (h *Handler) setFlash(s *session, msg string, ok bool) {
	h.mu.Lock()
	s.flash, s.flashOK = msg, ok
	h.mu.Unlock()
}

func (h *Handler) takeFlash(s *session) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := s.flash, s.flashOK
	s.flash = ""
	return f, ok
}

// fail shows an error page: the message of an *api.Error, else "internal
// error" (logged).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var ae *api.Error
	status, msg := http.StatusInternalServerError, "Something went wrong inside kith; the daemon's log says what."
	if errors.As(err, &ae) {
		status, msg = ae.HTTPStatus(), ae.Message
	} else if errors.Is(err, context.DeadlineExceeded) {
		status, msg = http.StatusGatewayTimeout, "kith took too long to answer."
	}
	if status >= 500 {
		h.log.Error("web: page failed", "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "message", s, map[string]any{"Title": "Could not do that", "Message": msg})
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, data map[string]any) {
	h.renderView(w, r, status, name, s, view{Title: fmt.Sprint(data["Title"]), Data: data})
}

// layoutData is what the layout template sees.
type layoutData struct {
	view
	LoggedIn bool
	CSRF     string
	Flash    string
	FlashOK  bool
	Path     string
}

func (h *Handler) renderView(w http.ResponseWriter, r *http.Request, status int, name string, s *session, v view) {
	t, ok := h.pages[name]
	if !ok {
		h.log.Error("web: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d := layoutData{view: v, Path: r.URL.Path}
	if s != nil {
		d.LoggedIn, d.CSRF = true, s.csrf
		d.Flash, d.FlashOK = h.takeFlash(s)
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		h.log.Error("web: rendering", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}
