package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// DefaultMaxBodyBytes caps a request body.
const DefaultMaxBodyBytes = 64 << 10

// maxField caps any one string in a request.
const maxField = 8 << 10

// decodeStrict decodes exactly one JSON object into v, a pointer to a flat
// struct: the body must be an object whose keys are v's JSON field names
// spelled exactly (encoding/json alone would accept any case), each at most
// once, followed by nothing but white space. A nil or empty body is refused.
func decodeStrict(body []byte, v any) error {
	if err := checkObjectKeys(body, fieldsOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(CodeInvalid, "request body: more than one JSON value")
	}
	return nil
}

func invalidJSON(err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return Errorf(CodeInvalid, "request body: field %q: want %s", te.Field, te.Type)
	}
	return Errorf(CodeInvalid, "request body: invalid JSON")
}

// checkObjectKeys walks the top level of body, which must be a JSON object,
// and refuses unknown (including wrongly cased) and duplicate keys.
func checkObjectKeys(body []byte, known map[string]bool) error {
	if !utf8.Valid(body) {
		return Errorf(CodeInvalid, "request body: not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return Errorf(CodeInvalid, "request body: empty; want a JSON object")
		}
		return Errorf(CodeInvalid, "request body: invalid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Errorf(CodeInvalid, "request body: want a JSON object")
	}
	seen := make(map[string]bool, len(known))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Errorf(CodeInvalid, "request body: invalid JSON")
		}
		key, _ := tok.(string)
		if !known[key] {
			return Errorf(CodeInvalid, "request body: unknown field %q", truncate(key, 64))
		}
		if seen[key] {
			return Errorf(CodeInvalid, "request body: duplicate field %q", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return Errorf(CodeInvalid, "request body: invalid JSON")
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var fieldCache sync.Map // reflect.Type -> map[string]bool

// fieldsOf returns the JSON names of the fields of the struct v points to.
func fieldsOf(v any) map[string]bool {
	t := reflect.TypeOf(v).Elem()
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]bool)
	}
	m := make(map[string]bool)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	fieldCache.Store(t, m)
	return m
}

// DecodeAttestRequest decodes and checks the body of POST /v1/attestations.
// Defaults are not applied.
func DecodeAttestRequest(body []byte) (AttestRequest, error) {
	var r AttestRequest
	if err := decodeStrict(body, &r); err != nil {
		return AttestRequest{}, err
	}
	if err := r.Validate(); err != nil {
		return AttestRequest{}, err
	}
	return r, nil
}

// DecodeRetractRequest decodes and checks the body of POST /v1/retractions.
func DecodeRetractRequest(body []byte) (RetractRequest, error) {
	var r RetractRequest
	if err := decodeStrict(body, &r); err != nil {
		return RetractRequest{}, err
	}
	if err := r.Validate(); err != nil {
		return RetractRequest{}, err
	}
	return r, nil
}

// decodeActionBody checks the body of a consent action: empty, or an empty
// JSON object.
func decodeActionBody(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var empty struct{}
	return decodeStrict(body, &empty)
}

// Validate checks the shape of r (the node checks the rest when it signs):
// a known kind, a subject, a strength of at most 100, and no field over
// 8 KiB or holding control characters.
func (r AttestRequest) Validate() error {
	if r.Kind != KindVouch && r.Kind != KindWarn {
		return Errorf(CodeInvalid, "kind must be %q or %q", KindVouch, KindWarn)
	}
	if r.Subject == "" {
		return Errorf(CodeInvalid, "subject is required")
	}
	if r.Strength > 100 {
		return Errorf(CodeInvalid, "strength must be 1..100")
	}
	return checkStrings(map[string]string{
		"subject": r.Subject, "context": r.Context, "reason": r.Reason,
		"evidence": r.Evidence, "expires": r.Expires, "audience": r.Audience,
	})
}

// Validate checks that r names a CID.
func (r RetractRequest) Validate() error {
	if err := checkCID(r.CID); err != nil {
		return err
	}
	return checkStrings(map[string]string{"reason": r.Reason})
}

func checkStrings(fields map[string]string) error {
	for name, s := range fields {
		if len(s) > maxField {
			return Errorf(CodeInvalid, "%s is too long", name)
		}
		for _, c := range s {
			if c < 0x20 || c == 0x7f {
				return Errorf(CodeInvalid, "%s contains a control character", name)
			}
		}
	}
	return nil
}

// checkCID accepts the text form of a CID: 1 to 256 ASCII letters and digits.
// Whether it names a known object is the service's business.
func checkCID(s string) error {
	if s == "" {
		return Errorf(CodeInvalid, "cid is required")
	}
	if len(s) > 256 {
		return Errorf(CodeInvalid, "cid is too long")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return Errorf(CodeInvalid, "cid %q is not a CID", truncate(s, 64))
		}
	}
	return nil
}

// queryParams parses a URL query strictly: only the named keys, each at
// most once.
func queryParams(raw string, allowed ...string) (map[string]string, error) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, Errorf(CodeInvalid, "malformed query string")
	}
	out := make(map[string]string, len(vals))
	for k, vs := range vals {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return nil, Errorf(CodeInvalid, "unknown query parameter %q", truncate(k, 64))
		}
		if len(vs) != 1 {
			return nil, Errorf(CodeInvalid, "query parameter %q given more than once", k)
		}
		out[k] = vs[0]
	}
	if err := checkStrings(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseBool(name, s string) (bool, error) {
	switch s {
	case "":
		return false, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, Errorf(CodeInvalid, "%s must be true or false", name)
}

// ParseQueryRequest parses the query string of GET /v1/query.
func ParseQueryRequest(raw string) (QueryRequest, error) {
	p, err := queryParams(raw, "subject", "context")
	if err != nil {
		return QueryRequest{}, err
	}
	if p["subject"] == "" {
		return QueryRequest{}, Errorf(CodeInvalid, "subject is required")
	}
	return QueryRequest{Subject: p["subject"], Context: p["context"]}, nil
}

// ParseRankRequest parses the query string of GET /v1/rank.
func ParseRankRequest(raw string) (RankRequest, error) {
	p, err := queryParams(raw, "context", "bottom", "limit")
	if err != nil {
		return RankRequest{}, err
	}
	r := RankRequest{Context: p["context"]}
	if r.Bottom, err = parseBool("bottom", p["bottom"]); err != nil {
		return RankRequest{}, err
	}
	if s := p["limit"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > MaxRankLimit {
			return RankRequest{}, Errorf(CodeInvalid, "limit must be 0..%d", MaxRankLimit)
		}
		r.Limit = n
	}
	return r, nil
}

// ParseListRequest parses the query string of GET /v1/attestations.
func ParseListRequest(raw string) (ListRequest, error) {
	p, err := queryParams(raw, "by", "about", "context", "kind", "all")
	if err != nil {
		return ListRequest{}, err
	}
	r := ListRequest{By: p["by"], About: p["about"], Context: p["context"], Kind: p["kind"]}
	if r.Kind != "" && r.Kind != KindVouch && r.Kind != KindWarn {
		return ListRequest{}, Errorf(CodeInvalid, "kind must be %q or %q", KindVouch, KindWarn)
	}
	if r.All, err = parseBool("all", p["all"]); err != nil {
		return ListRequest{}, err
	}
	return r, nil
}

// Query strings, the inverse of the Parse functions (used by the Client).

func (r QueryRequest) values() url.Values {
	v := url.Values{"subject": {r.Subject}}
	setNonEmpty(v, "context", r.Context)
	return v
}

func (r RankRequest) values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "context", r.Context)
	if r.Bottom {
		v.Set("bottom", "true")
	}
	if r.Limit != 0 {
		v.Set("limit", strconv.Itoa(r.Limit))
	}
	return v
}

func (r ListRequest) values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "by", r.By)
	setNonEmpty(v, "about", r.About)
	setNonEmpty(v, "context", r.Context)
	setNonEmpty(v, "kind", r.Kind)
	if r.All {
		v.Set("all", "true")
	}
	return v
}

func setNonEmpty(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}
