package fedi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseLinkHeader: the Link header parser never panics, fails only with
// ErrMalformed, and what it parses has no '>' in a URL.
func FuzzParseLinkHeader(f *testing.F) {
	for _, s := range []string{
		`<https://m.example/api/v1/blocks?max_id=7>; rel="next", <https://m.example/api/v1/blocks?since_id=9>; rel="prev"`,
		`<http://localhost:18080/api/v1/accounts/01J/following?limit=80&max_id=01K>; rel="next"`,
		`<a>; rel="next last"; title="x, \"y\""`, `<a`, `<a>; rel="`, ``, `,,,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		links, err := ParseLinkHeader(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for _, l := range links {
			if strings.Contains(l.URL, ">") {
				t.Fatalf("URL %q", l.URL)
			}
		}
		if _, _, err := NextQuery(s); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("NextQuery: %v", err)
		}
	})
}

// FuzzAccountJSON: decoding an account answer and reading its kith claim
// never panics, and every claimed key round-trips through its did:key.
func FuzzAccountJSON(f *testing.F) {
	for _, fl := range flavours {
		for _, name := range []string{"lookup_bob.json", "lookup_mallory.json", "verify_credentials.json"} {
			b, err := os.ReadFile(filepath.Join("testdata", fl, name))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"1","acct":"a","fields":[{"name":"kith","value":"<p>did:key:z6Mk</p>"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Account
		if json.Unmarshal(b, &a) != nil {
			return
		}
		_ = a.check("fuzz")
		c := Claims(&a)
		for _, k := range c.Keys {
			if !strings.Contains(FieldText(joinFields(a)), k.DIDKey()) {
				t.Fatalf("claimed key %s is not in the fields", k.DIDKey())
			}
		}
		for _, f := range a.Fields {
			f.Verified()
		}
	})
}

func joinFields(a Account) string {
	var b strings.Builder
	fs := a.Fields
	if a.Source != nil {
		fs = append(fs[:len(fs):len(fs)], a.Source.Fields...)
	}
	for _, f := range fs {
		b.WriteString(FieldText(f.Value))
		b.WriteByte(' ')
	}
	return b.String()
}

// FuzzWebFinger: decoding a JRD and deriving its origin never panics; an
// origin is always scheme://host.
func FuzzWebFinger(f *testing.F) {
	for _, fl := range flavours {
		b, err := os.ReadFile(filepath.Join("testdata", fl, "webfinger_bob.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var j JRD
		if json.Unmarshal(b, &j) != nil {
			return
		}
		o, err := j.APIOrigin()
		if err == nil && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			t.Fatalf("origin %q", o)
		}
	})
}
