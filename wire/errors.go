package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them; callers branch with errors.Is. The list is append-only.
var (
	// ErrTooLarge: the input exceeds the size cap for its kind.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed: the input is not well-formed CBOR of the expected shape.
	ErrMalformed = errors.New("malformed")
	// ErrUnknownField: a map carries a key this version does not define.
	ErrUnknownField = errors.New("unknown field")
	// ErrDuplicateKey: a map carries the same key twice.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrNotCanonical: the input decodes but is not the canonical encoding
	// of what it decodes to (key order, integer width, explicit empty
	// optional fields, ...).
	ErrNotCanonical = errors.New("not canonical")
	// ErrUnsupportedVersion: the object's "v" is not a version this
	// implementation reads.
	ErrUnsupportedVersion = errors.New("unsupported version")
	// ErrWrongType: the object's "type" is unknown or not the one expected.
	ErrWrongType = errors.New("wrong object type")
	// ErrInvalidField: a field is present but its value is out of range,
	// badly formed, or inconsistent with another field.
	ErrInvalidField = errors.New("invalid field")
	// ErrBadSignature: the signature does not verify for the stated signer.
	ErrBadSignature = errors.New("bad signature")
	// ErrExpired: the object's expiry is at or before the verification time.
	ErrExpired = errors.New("expired")
	// ErrFromFuture: the object was created after the verification time
	// plus the allowed clock skew.
	ErrFromFuture = errors.New("created in the future")
	// ErrMissingField: a required field is absent.
	ErrMissingField = errors.New("missing field")
)

// Error describes why an input or object was refused. Op says what was being
// done ("decode attestation", "verify consent"), Field names the offending
// field when there is one, Err is the sentinel, and Detail says more.
type Error struct {
	Op     string
	Field  string
	Err    error
	Detail string
}

func (e *Error) Error() string {
	msg := "wire: " + e.Op + ": "
	if e.Field != "" {
		msg += fmt.Sprintf("field %q: ", e.Field)
	}
	msg += e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func errorf(op, field string, sentinel error, format string, args ...any) *Error {
	return &Error{Op: op, Field: field, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// withOp returns err with its Op replaced when err is an *Error without one,
// so that field validators can be shared between operations.
func withOp(op string, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Op == "" {
		c := *e
		c.Op = op
		return &c
	}
	return err
}

func asError(err error, target **Error) bool { return errors.As(err, target) }

// withField returns err with its Field replaced when err is an *Error
// (copied: validators may return shared, cached errors).
func withField(field string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

func itoa(i int) string { return fmt.Sprint(i) }
