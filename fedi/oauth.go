package fedi

import (
	"context"
	"fmt"
	"net/url"
)

// OOB is the out-of-band redirect URI: the instance shows the authorization
// code to the user, who pastes it into kith.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// Scopes kith asks for: read the profile and the lists, write the profile
// field.
const Scopes = "read write"

// App is an OAuth client registered with an instance.
type App struct {
	Name         string `json:"name"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RedirectURI  string `json:"redirect_uri"`
	Scopes       string `json:"-"` // as registered
	BaseURL      string `json:"-"` // the instance it is registered with
}

// Token is an OAuth access token.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	CreatedAt   int64  `json:"created_at"`
}

// RegisterApp registers an OAuth client named name with the out-of-band
// redirect and scopes (POST /api/v1/apps).
func (c *Client) RegisterApp(ctx context.Context, name, scopes, website string) (*App, error) {
	const op = "register app"
	form := url.Values{"client_name": {name}, "redirect_uris": {OOB}, "scopes": {scopes}}
	if website != "" {
		form.Set("website", website)
	}
	var app App
	if _, err := c.do(ctx, request{op: op, method: "POST", path: "/api/v1/apps", form: form}, &app); err != nil {
		return nil, err
	}
	if app.ClientID == "" || app.ClientSecret == "" {
		return nil, fmt.Errorf("fedi: %s: %w: no client_id or client_secret", op, ErrMalformed)
	}
	app.Scopes, app.BaseURL = scopes, c.BaseURL
	if app.RedirectURI == "" {
		app.RedirectURI = OOB
	}
	return &app, nil
}

// AuthorizeURL returns the page where the user approves app and receives
// the code.
func (app *App) AuthorizeURL() string {
	q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {OOB}, "response_type": {"code"}, "scope": {app.Scopes}}
	return app.BaseURL + "/oauth/authorize?" + q.Encode()
}

// ExchangeCode trades an authorization code for an access token (POST
// /oauth/token, grant_type=authorization_code).
func (c *Client) ExchangeCode(ctx context.Context, app *App, code string) (*Token, error) {
	const op = "exchange code"
	if code == "" {
		return nil, fmt.Errorf("fedi: %s: empty code", op)
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ClientID},
		"client_secret": {app.ClientSecret}, "redirect_uri": {OOB}, "scope": {app.Scopes},
	}
	var t Token
	if _, err := c.do(ctx, request{op: op, method: "POST", path: "/oauth/token", form: form}, &t); err != nil {
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("fedi: %s: %w: no access_token", op, ErrMalformed)
	}
	return &t, nil
}
