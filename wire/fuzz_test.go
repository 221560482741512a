package wire_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kith-net/kith/wire"
	"github.com/kith-net/kith/wire/internal/vectorgen"
)

func vectorEncodings(vf vectorgen.File) []string {
	var out []string
	for _, v := range vf.Objects {
		out = append(out, v.Encoding)
	}
	for _, v := range vf.Accept {
		out = append(out, v.Encoding)
	}
	for _, v := range vf.Invalid {
		out = append(out, v.Encoding)
	}
	for _, v := range vf.Bundles {
		out = append(out, v.Encoding)
	}
	return out
}

// FuzzDecode: no input panics; an accepted input is canonical (its CID is
// the CID of the input, its encoding the input itself) and verifying it does
// not panic.
func FuzzDecode(f *testing.F) {
	for _, o := range vectorObjects(f) {
		f.Add(o.obj.Raw())
	}
	// Every vector is a seed.
	vf := vectorgen.Generate()
	for _, hx := range vectorEncodings(vf) {
		if b, _ := hex.DecodeString(hx); len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := wire.Decode(b)
		if err != nil {
			if o != nil {
				t.Fatal("object returned with an error")
			}
			// The scan and schema steps must find every difference the
			// re-encoding check would.
			var we *wire.Error
			if errors.As(err, &we) && strings.Contains(we.Detail, "re-encodes to different bytes") {
				t.Fatalf("only the re-encoding found this: %v", err)
			}
			return
		}
		if !bytes.Equal(o.Raw(), b) || !o.CID().Equals(wire.CIDOf(b)) {
			t.Fatal("accepted input is not its own canonical encoding")
		}
		_ = o.Verify(time.Unix(1700000600, 0))
		if bd, ok := o.(*wire.Bundle); ok {
			_, _ = bd.OpenObjects(time.Unix(1700000600, 0))
		}
		// Decoding the accepted bytes again gives the same object.
		o2, err := wire.Decode(o.Raw())
		if err != nil || !o2.CID().Equals(o.CID()) {
			t.Fatalf("second decode: %v", err)
		}
	})
}

// FuzzParseSubject: parsing never panics and a parsed subject's text form
// parses to itself.
func FuzzParseSubject(f *testing.F) {
	for _, c := range vectorgen.Generate().Identifiers {
		f.Add(c.Input)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sub, err := wire.ParseSubject(s)
		if err != nil {
			return
		}
		if sub.Key != nil && sub.Acct != "" {
			t.Fatal("parse gave both key and acct")
		}
		again, err := wire.ParseSubject(sub.String())
		if err != nil || again.String() != sub.String() {
			t.Fatalf("%q -> %q -> %v %v", s, sub.String(), again, err)
		}
	})
}

// FuzzParseAudience: never panics; a parsed audience round-trips.
func FuzzParseAudience(f *testing.F) {
	for _, c := range vectorgen.Generate().Identifiers {
		f.Add(c.Input)
	}
	f.Add("12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3,12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := wire.ParseAudience(s)
		if err != nil {
			return
		}
		again, err := wire.ParseAudience(a.String())
		if err != nil || again.String() != a.String() {
			t.Fatalf("%q -> %q -> %v", s, a.String(), err)
		}
	})
}

// FuzzParseCID: never panics; an accepted CID is a kith object ID.
func FuzzParseCID(f *testing.F) {
	for _, o := range vectorObjects(f) {
		f.Add(o.obj.CID().String())
	}
	f.Add("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := wire.ParseCID(s)
		if err != nil {
			return
		}
		if c.Version() != 1 {
			t.Fatal("accepted a CIDv0")
		}
	})
}
