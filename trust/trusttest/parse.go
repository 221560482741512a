// Package trusttest helps test trust scorers: a conformance suite every
// trust.Scorer must pass (Run), a compact text notation for small graphs
// (Parse), and a seeded generator of large synthetic graphs (Synthetic).
//
// # Graph notation
//
// Statements are separated by ';' or newlines; '#' starts a comment:
//
//	a -> b          a vouches for b with weight 1
//	a -> b 0.5      a vouches for b with weight 0.5
//	a -x b 0.8      a distrusts b: weight -0.8 (default -1)
//	a -> b 0.5 @120 with time 120 (Unix seconds)
//	d               declares node d (possibly isolated)
//
// Names are runs of letters, digits and "_.:-" (not starting with '-');
// nodes are numbered in order of first appearance, so Parse("a -> b")
// gives a = 0, b = 1. Weights are in [0, 1]: the arrow gives the sign.
package trusttest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/kith-net/kith/trust"
)

// Parse builds a graph from the notation above and returns it with the
// name-to-node map.
func Parse(src string) (*trust.Graph, map[string]trust.NodeID, error) {
	ids := make(map[string]trust.NodeID)
	node := func(name string) (trust.NodeID, error) {
		if !validName(name) {
			return 0, fmt.Errorf("invalid node name %q", name)
		}
		if n, ok := ids[name]; ok {
			return n, nil
		}
		n := trust.NodeID(len(ids))
		ids[name] = n
		return n, nil
	}
	var edges []trust.Edge
	stmts := strings.FieldsFunc(src, func(r rune) bool { return r == ';' || r == '\n' })
	for i, stmt := range stmts {
		if j := strings.IndexByte(stmt, '#'); j >= 0 {
			stmt = stmt[:j]
		}
		f := strings.Fields(stmt)
		if len(f) == 0 {
			continue
		}
		fail := func(format string, args ...any) (*trust.Graph, map[string]trust.NodeID, error) {
			return nil, nil, fmt.Errorf("trusttest: statement %d %q: %s", i+1, strings.TrimSpace(stmt), fmt.Sprintf(format, args...))
		}
		if len(f) == 1 {
			if _, err := node(f[0]); err != nil {
				return fail("%v", err)
			}
			continue
		}
		if len(f) < 3 || len(f) > 5 {
			return fail("want 'a -> b [weight] [@time]'")
		}
		sign := 1.0
		switch f[1] {
		case "->":
		case "-x":
			sign = -1
		default:
			return fail("arrow %q, want -> or -x", f[1])
		}
		from, err := node(f[0])
		if err != nil {
			return fail("%v", err)
		}
		to, err := node(f[2])
		if err != nil {
			return fail("%v", err)
		}
		e := trust.Edge{From: from, To: to, Weight: sign}
		for _, opt := range f[3:] {
			if t, ok := strings.CutPrefix(opt, "@"); ok {
				e.Time, err = strconv.ParseInt(t, 10, 64)
				if err != nil {
					return fail("time %q: %v", t, err)
				}
				continue
			}
			w, err := strconv.ParseFloat(opt, 64)
			if err != nil || !(w >= 0 && w <= 1) {
				return fail("weight %q, want a number in [0, 1]", opt)
			}
			e.Weight = sign * w
		}
		if from == to {
			return fail("self-loop")
		}
		edges = append(edges, e)
	}
	g, err := trust.NewGraph(len(ids), edges)
	if err != nil {
		return nil, nil, fmt.Errorf("trusttest: %w", err)
	}
	return g, ids, nil
}

// MustParse is Parse that fails the test on error.
func MustParse(t testing.TB, src string) (*trust.Graph, map[string]trust.NodeID) {
	t.Helper()
	g, ids, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return g, ids
}

func validName(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		ok := r == '_' || r == '.' || r == ':' || r == '-' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}
