package fedi

import (
	"fmt"
	"net/url"
	"strings"
)

// WebLink is one link of an HTTP Link header (RFC 8288).
type WebLink struct {
	URL    string            // the target, as written between < and >
	Rel    []string          // relation types, lower case
	Params map[string]string // other parameters, names lower case
}

// HasRel reports whether l has relation type rel.
func (l WebLink) HasRel(rel string) bool {
	for _, r := range l.Rel {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// ParseLinkHeader parses the value of a Link header:
// `<url>; rel="next", <url>; rel="prev"`. Several Link header lines may be
// joined with commas first. An empty value has no links. Errors wrap
// ErrMalformed.
func ParseLinkHeader(v string) ([]WebLink, error) {
	var links []WebLink
	s := v
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return links, nil
		}
		if s[0] != '<' {
			return nil, fmt.Errorf("%w: Link header: want '<' at %q", ErrMalformed, clip(s))
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return nil, fmt.Errorf("%w: Link header: unterminated <", ErrMalformed)
		}
		l := WebLink{URL: strings.TrimSpace(s[1:end])}
		s = s[end+1:]
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] == ',' {
				break
			}
			if s[0] != ';' {
				return nil, fmt.Errorf("%w: Link header: want ';' or ',' at %q", ErrMalformed, clip(s))
			}
			s = strings.TrimLeft(s[1:], " \t")
			i := strings.IndexAny(s, "=;,")
			if i < 0 {
				i = len(s)
			}
			name := strings.ToLower(strings.TrimSpace(s[:i]))
			s = s[i:]
			var val string
			if strings.HasPrefix(s, "=") {
				s = strings.TrimLeft(s[1:], " \t")
				var err error
				val, s, err = paramValue(s)
				if err != nil {
					return nil, err
				}
			}
			if name == "" {
				return nil, fmt.Errorf("%w: Link header: empty parameter name", ErrMalformed)
			}
			if name == "rel" {
				for r := range strings.FieldsSeq(val) {
					l.Rel = append(l.Rel, strings.ToLower(r))
				}
				continue
			}
			if l.Params == nil {
				l.Params = map[string]string{}
			}
			l.Params[name] = val
		}
		links = append(links, l)
	}
}

// paramValue reads a token or a quoted string and returns the rest.
func paramValue(s string) (val, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexAny(s, ";,")
		if i < 0 {
			i = len(s)
		}
		return strings.TrimSpace(s[:i]), s[i:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", fmt.Errorf("%w: Link header: unterminated quoted string", ErrMalformed)
}

// NextQuery returns the query of the rel="next" link of a Link header value,
// or ok == false when there is none. Only the query is returned: the caller
// re-issues it against its own origin and path, so a next link can never
// send the token elsewhere.
func NextQuery(linkHeader string) (q url.Values, ok bool, err error) {
	links, err := ParseLinkHeader(linkHeader)
	if err != nil {
		return nil, false, err
	}
	for _, l := range links {
		if !l.HasRel("next") {
			continue
		}
		u, err := url.Parse(l.URL)
		if err != nil {
			return nil, false, fmt.Errorf("%w: Link header: next URL: %w", ErrMalformed, err)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return nil, false, fmt.Errorf("%w: Link header: next URL query: %w", ErrMalformed, err)
		}
		return q, true, nil
	}
	return nil, false, nil
}
