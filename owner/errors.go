package owner

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/api"
	"github.com/kith-net/kith/store"
	"github.com/kith-net/kith/wire"
)

// invalidf is a refused request: the API's CodeInvalid (the CLI's exit
// code 2).
func invalidf(format string, args ...any) error {
	return api.Errorf(api.CodeInvalid, format, args...)
}

// apiError turns an error into the API error the owner should see: a
// missing object is not_found, a wire validation failure invalid; other
// errors pass unchanged (the Server shows them as internal errors).
func apiError(err error) error {
	var ae *api.Error
	var we *wire.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return err
	case errors.Is(err, store.ErrNotFound):
		return api.Errorf(api.CodeNotFound, "%s", oneLine(err.Error()))
	case errors.As(err, &we) && err == error(we):
		return api.Errorf(api.CodeInvalid, "%s", WireMessage(we))
	case errors.As(err, &we), errors.Is(err, store.ErrInvalid):
		return api.Errorf(api.CodeInvalid, "%s", oneLine(err.Error()))
	case errors.Is(err, store.ErrUnwritable):
		return api.Errorf(api.CodeUnavailable, "%s", oneLine(err.Error()))
	}
	return err
}

// ownerError is apiError for the owner's bundle and Fediverse calls: an
// error that is not already the API's is shown to the owner as it is
// (unprocessable), since it says what went wrong with their instance or
// file; none carries a secret.
func ownerError(err error) error {
	err = apiError(err)
	var ae *api.Error
	if err == nil || errors.As(err, &ae) {
		return err
	}
	return api.Errorf(api.CodeUnprocessable, "%s", oneLine(err.Error()))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// fieldFlags names the command-line flag that sets each field wire
// validates.
var fieldFlags = map[string]string{
	"context": "--context", "strength": "--strength", "reason": "--reason", "evidence": "--evidence",
	"expires": "--expires", "audience": "--audience",
}

// BadInput turns a wire error about something the owner typed into an
// invalid-request error that names the flag (or argument) and says what
// is wrong, without the package's internals. what names the input when
// the error does not ("subject", "--by", "the CID").
func BadInput(what string, err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return api.Errorf(api.CodeInvalid, "%s: %s", what, oneLine(err.Error()))
	}
	if f, ok := fieldFlags[we.Field]; ok {
		what = f
	}
	detail := we.Detail
	if detail == "" {
		detail = we.Err.Error()
	}
	switch what {
	case "subject", "--about":
		return invalidf("%s: %s; want a peer ID (12D3KooW...), a did:key (did:key:z6Mk...) or a Fediverse account (@user@host)", what, detail)
	case "":
		return invalidf("%s", detail)
	}
	return invalidf("%s: %s", what, detail)
}

// WireMessage renders a wire error for the owner: what was refused and
// why, without the package prefix.
func WireMessage(we *wire.Error) string {
	var b strings.Builder
	if f, ok := fieldFlags[we.Field]; ok && we.Detail != "" {
		return f + ": " + we.Detail
	}
	if we.Field != "" {
		b.WriteString(we.Field + ": ")
	}
	b.WriteString(we.Err.Error())
	if we.Detail != "" {
		b.WriteString(": " + we.Detail)
	}
	return b.String()
}

// ParseCID reads a CID the owner typed.
func ParseCID(s string) (cid.Cid, error) {
	c, err := wire.ParseCID(s)
	if err != nil {
		return cid.Undef, invalidf("%q is not a CID (they look like bafyrei...; kith list shows them)", s)
	}
	return c, nil
}

// hinted is an error shown as msg that still matches err (errors.Is,
// errors.As).
type hinted struct {
	msg string
	err error
}

func (h hinted) Error() string { return h.msg }
func (h hinted) Unwrap() error { return h.err }

// BundleError says why a bundle was refused, in words: a file that is not
// a bundle at all, or which object of it failed which check.
func BundleError(op string, err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrWrongType), errors.Is(err, wire.ErrUnknownField),
		errors.Is(err, wire.ErrNotCanonical), errors.Is(err, wire.ErrUnsupportedVersion):
		return hinted{fmt.Sprintf("%s: not a kith bundle, or a damaged one (%s); nothing was imported", op, we.Err), err}
	}
	return hinted{fmt.Sprintf("%s: refused, nothing was imported: %s", op, WireMessage(we)), err}
}

func parseUint32(s string) (uint64, error) { return strconv.ParseUint(s, 10, 32) }
