// Package fedi talks to a Fediverse instance through the Mastodon-compatible
// client API that both Mastodon and GoToSocial serve, and links a kith node
// key to a Fediverse account.
//
// # What it does
//
//   - Discovery: [Client.WebFinger] (RFC 7033, acct: resource).
//   - Accounts: [Client.Lookup], [Client.VerifyCredentials],
//     [Client.UpdateFields] (update_credentials with fields_attributes), and
//     the relationship lists [Client.Following], [Client.Followers],
//     [Client.Blocks], [Client.Mutes], paged through the Link header.
//   - OAuth: [Client.RegisterApp], [App.AuthorizeURL] and
//     [Client.ExchangeCode] for the authorization-code flow with the
//     out-of-band redirect [OOB] (the user pastes the code).
//   - The identity link: [ProfileText] is the exact text the owner puts in a
//     profile field named [FieldName]; [Claims] reads the keys a profile
//     claims; [Verify] checks both directions (the signed wire.IdentityLink
//     and the account's field). spec/fedi-link-v1.md is normative for all
//     three, with vectors in spec/vectors/fedi-link-v1.json.
//
// # Server differences it absorbs
//
// Mastodon renders field values as HTML and sets verified_at after a rel=me
// check; GoToSocial also renders HTML (its own <a> for URLs), never sets
// verified_at, and keeps the plain text in source.fields (verify_credentials
// only). Field values are therefore reduced to text before they are read.
// Both answer account acct as "user" for local accounts and "user@domain"
// for remote ones; [Account.FullAcct] qualifies them. Both page with a Link
// header (rel="next" with max_id); GoToSocial omits it on the last page,
// Mastodon may send a next link to an empty page: paging stops at whichever
// comes first, and never follows a link to another origin (the bearer token
// is only ever sent to the client's own base URL).
//
// # Errors
//
// Every call takes a context first. Failures wrap one of the sentinels
// ([ErrUnauthorized], [ErrForbidden], [ErrNotFound], [ErrRateLimited],
// [ErrServer], [ErrMalformed], [ErrUnreachable], and for the link
// [ErrNoField], [ErrKeyMismatch], [ErrBadLink]); HTTP failures are an
// [*HTTPError] carrying the status and the server's message. 429 and 503 are
// retried at most [Client.MaxRetries] times, waiting as the server asks
// (Retry-After, else X-RateLimit-Reset) but never longer than
// [Client.MaxWait]; the clock and the sleep are injectable so tests never
// wait.
//
// # Contracts
//
// A [Client] is safe for concurrent use once configured; its fields must not
// change while calls are running. It starts no goroutines. Responses larger
// than [MaxResponseSize] are refused as malformed. Nothing in this package
// imports libp2p.
package fedi
