package fedi

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseLinkHeader(t *testing.T) {
	cases := []struct {
		in   string
		want []WebLink
	}{
		{"", nil},
		{`<https://m.example/api/v1/blocks?max_id=7>; rel="next", <https://m.example/api/v1/blocks?since_id=9>; rel="prev"`,
			[]WebLink{{URL: "https://m.example/api/v1/blocks?max_id=7", Rel: []string{"next"}}, {URL: "https://m.example/api/v1/blocks?since_id=9", Rel: []string{"prev"}}}},
		{`<a>;rel=next`, []WebLink{{URL: "a", Rel: []string{"next"}}}},
		{`<a>; rel="next last"; title="x, \"y\""`, []WebLink{{URL: "a", Rel: []string{"next", "last"}, Params: map[string]string{"title": `x, "y"`}}}},
		{` , <a>; REL="Next" ,, <b>`, []WebLink{{URL: "a", Rel: []string{"next"}}, {URL: "b"}}},
	}
	for _, tc := range cases {
		got, err := ParseLinkHeader(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLinkHeader(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`https://x; rel="next"`, `<https://x`, `<a>; rel="next`, `<a> rel=next`, `<a>; =x`} {
		if _, err := ParseLinkHeader(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseLinkHeader(%q): %v, want ErrMalformed", bad, err)
		}
	}
	q, ok, err := NextQuery(`<https://gts.example/api/v1/accounts/1/following?limit=80&min_id=5>; rel="prev", <https://gts.example/api/v1/accounts/1/following?limit=80&max_id=4>; rel="next"`)
	if err != nil || !ok || q.Get("max_id") != "4" || q.Get("limit") != "80" {
		t.Fatalf("NextQuery: %v %v %v", q, ok, err)
	}
	if _, ok, err := NextQuery(`<https://x/?min_id=5>; rel="prev"`); ok || err != nil {
		t.Fatalf("NextQuery without next: %v %v", ok, err)
	}
	if _, _, err := NextQuery(`<https://x/?a=%zz>; rel="next"`); !errors.Is(err, ErrMalformed) {
		t.Fatalf("NextQuery with a bad query: %v", err)
	}
}
