package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error that crosses the API: the Server writes it as
//
//	{"error": {"code": "...", "message": "..."}}
//
// with HTTP status Status, and the Client turns such a response back into an
// *Error. A Service returns an *Error (or wraps one) to choose what the
// caller sees; Message must be fit to show the user and carry no internals.
type Error struct {
	Status  int    `json:"-"`       // HTTP status; 0 means the code's usual status
	Code    string `json:"code"`    // one of the Code constants, or a service-specific code
	Message string `json:"message"` // one line for the user
}

// Error codes. The table is append-only: scripts branch on these strings.
const (
	CodeInvalid            = "invalid"                // 400: a malformed or out-of-range request
	CodeUnauthorized       = "unauthorized"           // 401: missing or wrong bearer token
	CodeForbidden          = "forbidden"              // 403: foreign Host or Origin (DNS rebinding, CSRF)
	CodeNotFound           = "not_found"              // 404: no such route or object
	CodeMethodNotAllowed   = "method_not_allowed"     // 405
	CodeConflict           = "conflict"               // 409: e.g. already retracted, already approved
	CodeTooLarge           = "too_large"              // 413: request body over the cap
	CodeUnsupportedMedia   = "unsupported_media_type" // 415: a POST whose body is not application/json
	CodeInternal           = "internal"               // 500: anything else; details are in the daemon's log
	CodeUnavailable        = "unavailable"            // 503: the node cannot serve this now
	CodeTimeout            = "timeout"                // 504: the service ran out of time
	CodeBadResponse        = "bad_response"           // client side: the server's answer was not understood
	CodeUnprocessable      = "unprocessable"          // 422: well-formed but refused by the node (e.g. wire validation)
	CodePreconditionFailed = "precondition_failed"    // 412: e.g. consent asked for a private statement
)

var codeStatus = map[string]int{
	CodeInvalid:            http.StatusBadRequest,
	CodeUnauthorized:       http.StatusUnauthorized,
	CodeForbidden:          http.StatusForbidden,
	CodeNotFound:           http.StatusNotFound,
	CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	CodeConflict:           http.StatusConflict,
	CodeTooLarge:           http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia:   http.StatusUnsupportedMediaType,
	CodeInternal:           http.StatusInternalServerError,
	CodeUnavailable:        http.StatusServiceUnavailable,
	CodeTimeout:            http.StatusGatewayTimeout,
	CodeUnprocessable:      http.StatusUnprocessableEntity,
	CodePreconditionFailed: http.StatusPreconditionFailed,
}

// Errorf returns an *Error with the given code, its usual HTTP status and a
// formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Status: codeStatus[code], Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Code != "":
		return e.Code
	default:
		return http.StatusText(e.Status)
	}
}

// HTTPStatus is the status the Server answers with: Status when it is an
// error status, else the code's usual status, else 500.
func (e *Error) HTTPStatus() int {
	if e.Status >= 400 && e.Status <= 599 {
		return e.Status
	}
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorCode returns the code of the first *Error in err's chain, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// errorBody is the JSON envelope of an error response.
type errorBody struct {
	Error *Error `json:"error"`
}
