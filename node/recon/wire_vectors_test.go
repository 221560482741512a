package recon

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestWireVectors pins the message vectors of spec/resync-v1.md §9.
func TestWireVectors(t *testing.T) {
	var k [17]Key
	for i := range k {
		k[i] = sha256.Sum256([]byte{byte(i)})
	}
	s := setOf(k[:]...)
	n, fp := s.Fingerprint()
	enc := func(b []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	sorted := s.Keys()
	items := "00000229010200010100000011"
	for _, key := range sorted {
		items += hex.EncodeToString(key[:])
	}
	toEmpty, err := answerQuery(s, []entry{{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"QUERY root", enc(encodeQuery(nil, []entry{{count: uint32(n), fp: fp}})),
			"0000001901010001000000001114441117d76e812b8d100aa05cf80340"},
		{"QUERY abc", enc(encodeQuery(nil, []entry{{p: prefix{n: 3, key: Key{0xab, 0xc0}}}})),
			"0000001b0101000103abc00000000000000000000000000000000000000000"},
		{"REPLY match", enc(encodeReply(nil, []answer{{kind: ansMatch}})), "000000050102000100"},
		{"REPLY items to an empty client", enc(encodeReply(nil, toEmpty)), items},
		{"DONE", hex.EncodeToString(encodeDone(nil)), "000000020103"},
		{"ERROR too many rounds", hex.EncodeToString(encodeError(nil, CodeTooManyRounds)), "00000003010403"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
	if sorted[0] != k[10] {
		t.Errorf("smallest key is not k10")
	}
}
