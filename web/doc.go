// Package web is the owner's web page, served by the daemon on the local
// API's own address (kith ui prints a one-time login URL for it).
//
// # Why server-rendered html/template
//
// The pages are rendered on the server with html/template and plain HTML
// forms; there is no script at all. That keeps the whole front end in
// this package (templates and one style sheet, embedded with embed), with
// no build step, no lock file and no third-party code to vet or update;
// html/template escapes every value by context; every page works with the
// keyboard and a screen reader as plain HTML does; and the strictest
// Content-Security-Policy holds (default-src 'none', no script-src at
// all). The one live element, the progress of a Fediverse import, is a
// <progress> that the page refreshes once a second (a meta refresh) while
// the job runs. htmx would save some full-page loads, at the price of a
// vendored script and a looser policy; the pages are small enough that it
// is not worth it.
//
// # Security
//
// The Server (package api) checks the Host header (DNS rebinding) and the
// Origin and Sec-Fetch-Site headers (same origin only) before a request
// reaches this handler. Then:
//
//   - Login: /ui/login?code=C trades a one-time code (api.Access, made by
//     POST /v1/ui/login with the API token; good for one use within
//     api.CodeTTL) for a session and redirects at once, so the code leaves
//     the address bar. A used, expired or unknown code is refused (403).
//   - Session: a random 256-bit id in the cookie kith_session, HttpOnly,
//     SameSite=Strict, Path=/, no Expires (it ends with the browser); the
//     server forgets it after SessionTTL. Secure is not set: the page is
//     plain http on loopback.
//   - CSRF: every change is a POST of a form that carries the session's
//     CSRF token (random, compared in constant time); a POST without it,
//     with another session's, or not form-encoded, is refused (403).
//   - Every answer has Content-Security-Policy "default-src 'none';
//     style-src 'self'; img-src 'self'; form-action 'self';
//     frame-ancestors 'none'; base-uri 'none'", X-Frame-Options DENY,
//     Referrer-Policy no-referrer, X-Content-Type-Options nosniff and
//     Cache-Control no-store. Nothing is loaded from elsewhere.
//
// Every refusal is counted in api.Access (kith_api_refused_*_total).
//
// # Ownership
//
// A Handler is safe for concurrent use. The Fediverse import runs as a
// background job that the Handler owns: Close cancels running jobs and
// waits for them.
package web
