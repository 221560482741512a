package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"testing"
)

// TestAttestationMatchesCLI: Attestation has exactly the JSON fields (names,
// options and Go types) of attestationView in cli/list.go, the object of
// `kith list --json`, so the CLI prints the same JSON with or without a
// daemon. The CLI's source is parsed, not imported: api must not depend on
// cli.
func TestAttestationMatchesCLI(t *testing.T) {
	src, err := os.ReadFile("../cli/list.go")
	if err != nil {
		t.Skipf("cli/list.go: %v", err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "list.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var view *ast.StructType
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "attestationView" {
			view, _ = ts.Type.(*ast.StructType)
		}
		return view == nil
	})
	if view == nil {
		t.Skip("cli/list.go has no attestationView")
	}
	type field struct{ name, typ, tag string }
	var want []field
	for _, fl := range view.Fields.List {
		typ := string(src[fl.Type.Pos()-1 : fl.Type.End()-1])
		tag := ""
		if fl.Tag != nil {
			tag = reflect.StructTag(fl.Tag.Value[1 : len(fl.Tag.Value)-1]).Get("json")
		}
		for _, n := range fl.Names {
			want = append(want, field{n.Name, typ, tag})
		}
	}
	var got []field
	rt := reflect.TypeFor[Attestation]()
	for i := 0; i < rt.NumField(); i++ {
		sf := rt.Field(i)
		got = append(got, field{sf.Name, sf.Type.String(), sf.Tag.Get("json")})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("api.Attestation fields\n%v\nwant (cli attestationView)\n%v", got, want)
	}
}
