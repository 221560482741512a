package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Seed corpora live in testdata/fuzz/<target>; the f.Add seeds cover the
// grammar's edges.

func FuzzDecodeAttestRequest(f *testing.F) {
	for _, s := range []string{
		`{"kind":"vouch","subject":"@bob@example.social"}`,
		`{"kind":"warn","subject":"12D3KooWX","context":"spam","strength":70,"reason":"r","evidence":"https://x/1","expires":"90d","audience":"public"}`,
		`{"kind":"vouch","kind":"vouch","subject":"x"}`, `{"KIND":"vouch","subject":"x"}`, `null`, `[]`, `{}`, ``,
		`{"kind":"vouch","subject":"x","strength":1e2}`, `{"kind":"vouch","subject":"x"} {}`, "{\"kind\":\"vouch\",\"subject\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeAttestRequest(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalid {
				t.Fatalf("error %v is not an invalid *Error", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded request fails Validate: %v", err)
		}
		again, err := DecodeAttestRequest(mustMarshal(t, r))
		if err != nil || again != r {
			t.Fatalf("re-encoding: %+v, %v; want %+v", again, err, r)
		}
		if d := r.WithDefaults(); d.Validate() != nil || d.Strength == 0 || d.Context == "" || d.Audience == "" {
			t.Fatalf("defaults: %+v", d)
		}
	})
}

func FuzzDecodeRetractRequest(f *testing.F) {
	for _, s := range []string{`{"cid":"bafyreitarget"}`, `{"cid":"bafy","reason":"oops"}`, `{"cid":"../x"}`, `{"cid":1}`, `{"reason":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRetractRequest(b)
		if err != nil {
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if checkCID(r.CID) != nil {
			t.Fatalf("accepted a bad CID %q", r.CID)
		}
		again, err := DecodeRetractRequest(mustMarshal(t, r))
		if err != nil || again != r {
			t.Fatalf("re-encoding: %+v, %v; want %+v", again, err, r)
		}
	})
}

func FuzzDecodeActionBody(f *testing.F) {
	for _, s := range []string{``, `{}`, ` { } `, `{"x":1}`, `{}{}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := decodeActionBody(b); err != nil && ErrorCode(err) != CodeInvalid {
			t.Fatalf("error %v is not invalid", err)
		}
	})
}

// FuzzDecodeQuery fuzzes the query-string parsers of the GET routes: an
// accepted query re-encodes (as the Client does) to the same request.
func FuzzDecodeQuery(f *testing.F) {
	for _, s := range []string{"subject=%40bob%40x.y&context=spam", "context=spam&bottom=true&limit=5",
		"by=me&about=x&kind=warn&all=1", "limit=-1", "a=1&a=2", "%zz", "bottom=maybe", "kind=vouch;x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if q, err := ParseQueryRequest(raw); err == nil {
			if again, err := ParseQueryRequest(q.values().Encode()); err != nil || again != q {
				t.Fatalf("query %q: %+v then %+v, %v", raw, q, again, err)
			}
		}
		if r, err := ParseRankRequest(raw); err == nil {
			if r.Limit < 0 || r.Limit > MaxRankLimit {
				t.Fatalf("limit %d accepted", r.Limit)
			}
			if again, err := ParseRankRequest(r.values().Encode()); err != nil || again != r {
				t.Fatalf("rank %q: %+v then %+v, %v", raw, r, again, err)
			}
		}
		if l, err := ParseListRequest(raw); err == nil {
			if again, err := ParseListRequest(l.values().Encode()); err != nil || again != l {
				t.Fatalf("list %q: %+v then %+v, %v", raw, l, again, err)
			}
		}
	})
}

// FuzzDecodeError fuzzes the client's decoding of error responses: it
// always yields an *Error with a code and the status it was given.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{`{"error":{"code":"not_found","message":"no"}}`, `{"error":null}`, `oops`, ``, `{"error":{"code":1}}`} {
		f.Add(404, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		e := DecodeError(status, b)
		if e == nil || e.Code == "" || e.Status != status || e.Error() == "" {
			t.Fatalf("DecodeError(%d, %q) = %+v", status, b, e)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeNewBodies fuzzes the strict decoding of the batch query, the
// pairing and the fedi apply bodies: whatever decodes encodes back to
// what decodes to the same request.
func FuzzDecodeNewBodies(f *testing.F) {
	f.Add([]byte(`{"subjects":["@a@b.c","12D3KooWX"],"context":"spam"}`))
	f.Add([]byte(`{"code":"abc"}`))
	f.Add([]byte(`{"context":"spam","below":0.2,"action":"block","dry_run":true,"undo":false}`))
	f.Add([]byte(`{"subjects":[],"subjects":["x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var q BatchQueryRequest
		if decodeStrict(b, &q) == nil {
			var again BatchQueryRequest
			if err := decodeStrict(mustMarshal(t, q), &again); err != nil || !reflect.DeepEqual(normBatch(q), normBatch(again)) {
				t.Fatalf("batch %q: %+v then %+v (%v)", b, q, again, err)
			}
		}
		var p PairRequest
		if decodeStrict(b, &p) == nil {
			var again PairRequest
			if err := decodeStrict(mustMarshal(t, p), &again); err != nil || again != p {
				t.Fatalf("pair %q: %+v then %+v (%v)", b, p, again, err)
			}
		}
		var a FediApplyRequest
		if decodeStrict(b, &a) == nil {
			var again FediApplyRequest
			if err := decodeStrict(mustMarshal(t, a), &again); err != nil || again != a {
				t.Fatalf("apply %q: %+v then %+v (%v)", b, a, again, err)
			}
		}
	})
}

func normBatch(q BatchQueryRequest) BatchQueryRequest {
	if len(q.Subjects) == 0 {
		q.Subjects = nil
	}
	return q
}
