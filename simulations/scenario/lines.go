package scenario

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every key of a TOML document to the line it is written on:
// "graph.nodes", "behaviour[1].size", and tables themselves ("graph",
// "behaviour[1]"). Keys of inline tables and arrays of inline tables are
// not indexed (their enclosing key is). It returns what it found before
// the first syntax error; Decode reports the error itself.
func keyLines(doc []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(doc)
	prefix := ""
	arrays := map[string]int{} // array-of-tables path -> occurrences
	for p.NextExpression() {
		e := p.Expression()
		key, first := keyOf(e)
		if first == nil {
			continue
		}
		line := p.Shape(first.Raw).Start.Line
		switch e.Kind {
		case unstable.Table:
			prefix = key
			lines[prefix] = line
		case unstable.ArrayTable:
			i := arrays[key]
			arrays[key] = i + 1
			prefix = fmt.Sprintf("%s[%d]", key, i)
			lines[prefix] = line
		case unstable.KeyValue:
			full := key
			if prefix != "" {
				full = prefix + "." + key
			}
			lines[full] = line
		}
	}
	return lines
}

// keyOf returns the dotted key of a table, array table or key-value
// expression and its first part's node. Array tables nested in array
// tables ([[network.partition]] under [network]) index by their own path.
func keyOf(e *unstable.Node) (string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	it := e.Key()
	for it.Next() {
		n := it.Node()
		if first == nil {
			first = n
		}
		parts = append(parts, string(n.Data))
	}
	return strings.Join(parts, "."), first
}
