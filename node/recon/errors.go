package recon

import "fmt"

// Code says why a session failed. Codes cross the wire in ERROR messages
// (spec/resync-v1.md §5): the table is append-only, never reorder or reuse.
type Code uint8

const (
	CodeMalformed     Code = 1 // a message does not decode strictly
	CodeTooLarge      Code = 2 // a message exceeds MaxMessageSize, MaxEntries or MaxItems
	CodeTooManyRounds Code = 3 // the session exceeds its round cap
	CodeVersion       Code = 4 // unsupported protocol version
	CodeUnexpected    Code = 5 // a well-formed message out of place
	CodeInternal      Code = 6 // the sender failed for its own reasons
)

var codeNames = map[Code]string{
	CodeMalformed:     "malformed message",
	CodeTooLarge:      "message too large",
	CodeTooManyRounds: "too many rounds",
	CodeVersion:       "unsupported version",
	CodeUnexpected:    "unexpected message",
	CodeInternal:      "internal error",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code %d", uint8(c))
}

// Error is a protocol failure. Remote is false when this side found the
// peer at fault (and told it so in an ERROR message), true when the peer
// reported the failure. errors.Is matches an *Error against the sentinels
// below by Code alone.
type Error struct {
	Code   Code
	Remote bool
	Detail string
}

func (e *Error) Error() string {
	s := "recon: " + e.Code.String()
	if e.Remote {
		s += " (reported by peer)"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrMalformed     = &Error{Code: CodeMalformed}
	ErrTooLarge      = &Error{Code: CodeTooLarge}
	ErrTooManyRounds = &Error{Code: CodeTooManyRounds}
	ErrVersion       = &Error{Code: CodeVersion}
	ErrUnexpected    = &Error{Code: CodeUnexpected}
)

func errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Detail: fmt.Sprintf(format, args...)}
}
