package recon

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for every decoder. The seed corpus lives in
// testdata/fuzz/<Target>; regenerate it with
//
//	go test -run TestFuzzCorpus -update-corpus ./node/recon/
var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

// seedQuery returns a QUERY payload with entries at several depths.
func seedQuery() []byte {
	var k Key
	k[0], k[1], k[2] = 0xab, 0xcd, 0xe0
	es := []entry{
		{p: prefix{n: 1, key: Key{0x10}}, count: 0},
		{p: prefix{n: 5, key: k}, count: 3, fp: Fingerprint{7}},
		{p: prefix{n: 2, key: Key{0xf0}}, count: 70, fp: Fingerprint{9}},
	}
	b, _ := encodeQuery(nil, es)
	return b[6:]
}

// fuzzQuery is the query the FuzzDecodeReply inputs answer: the root and
// three deeper prefixes.
var fuzzQuery = []entry{
	{p: prefix{n: 1, key: Key{0x00}}},
	{p: prefix{n: 1, key: Key{0x10}}, count: 20, fp: Fingerprint{1}},
	{p: prefix{n: 3, key: Key{0x2a, 0xb0}}, count: 1, fp: Fingerprint{2}},
	{p: prefix{n: 63, key: Key{0xf0}}, count: 1, fp: Fingerprint{3}},
}

func seedReply() []byte {
	ch := new([16]summary)
	for c := range ch {
		ch[c] = summary{count: uint32(c * 3), fp: Fingerprint{byte(c)}}
	}
	ch[0].fp = Fingerprint{}
	b, _ := encodeReply(nil, []answer{
		{kind: ansItems, keys: []Key{{0x01}, {0x02, 0x03}}},
		{kind: ansChildren, children: ch},
		{kind: ansMatch},
		{kind: ansItems},
	})
	return b[6:]
}

// sessionBytes returns the bytes a client sends in a real session, and the
// bytes the server answers, for seeding the stream fuzzers.
func sessionBytes() (client, server []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	base := randKeys(r, 300)
	a, b := setOf(base...), setOf(base[:250]...)
	b.Add(randKey(r))
	ca, cb, closeAll := pipe("io")
	defer closeAll()
	var cbuf, sbuf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(context.Background(), duplex{io.TeeReader(cb, &cbuf), cb}, b, Options{})
	}()
	Reconcile(context.Background(), duplex{io.TeeReader(ca, &sbuf), ca}, a, Options{})
	<-done
	return cbuf.Bytes(), sbuf.Bytes()
}

func seeds() map[string][][]byte {
	client, server := sessionBytes()
	return map[string][][]byte{
		"FuzzReadFrame": {
			rootQuery(), encodeDone(nil), encodeError(nil, CodeMalformed),
			{0, 0, 0, 2, 1, 3}, {0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 3, 2, 1},
		},
		"FuzzDecodeQuery": {
			seedQuery(), rootQuery()[6:], {0, 1, 64}, {0, 1, 1, 0x1f, 0, 0, 0, 0},
		},
		"FuzzDecodeReply": {
			seedReply(), {0, 4, 0, 0, 0, 0}, {0, 4, 1, 0, 0, 0, 1},
		},
		"FuzzServe":     {client, rootQuery(), {0, 0, 0, 2, 1, 3}},
		"FuzzReconcile": {server, {0, 0, 0, 5, 1, 2, 0, 1, 0}},
	}
}

// TestFuzzCorpus checks that the committed corpus holds the seeds, and
// rewrites it with -update-corpus.
func TestFuzzCorpus(t *testing.T) {
	for target, inputs := range seeds() {
		for i, in := range inputs {
			path := filepath.Join("testdata", "fuzz", target, fmt.Sprintf("seed-%d", i))
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
			if *updateCorpus {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is stale or missing; run with -update-corpus", path)
			}
		}
	}
}

// checkErr requires that a decoder failure be a typed protocol error.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if err != nil && !errors.As(err, &e) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Fatalf("untyped error %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, payload, err := readFrame(bytes.NewReader(data))
		checkErr(t, err)
		if err == nil && (len(payload) > MaxMessageSize || typ == 0) {
			t.Fatalf("accepted type %d with %d bytes", typ, len(payload))
		}
	})
}

func FuzzDecodeQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		es, err := decodeQuery(payload)
		checkErr(t, err)
		if err != nil {
			return
		}
		// Canonical: what decodes re-encodes to the same bytes.
		b, err := encodeQuery(nil, es)
		if err != nil || !bytes.Equal(b[6:], payload) {
			t.Fatalf("re-encoding differs: %x vs %x", b[6:], payload)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		as, err := decodeReply(payload, fuzzQuery)
		checkErr(t, err)
		if err != nil {
			return
		}
		b, err := encodeReply(nil, as)
		if err != nil || !bytes.Equal(b[6:], payload) {
			t.Fatalf("re-encoding differs: %x vs %x", b[6:], payload)
		}
	})
}

// fuzzSet is the set both stream fuzzers run against.
var fuzzSet = func() *Set {
	r := rand.New(rand.NewPCG(3, 4))
	return setOf(randKeys(r, 300)...)
}()

func FuzzServe(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		err := Serve(context.Background(), duplex{bytes.NewReader(in), io.Discard}, fuzzSet, Options{MaxRounds: 16})
		checkErr(t, err)
	})
}

func FuzzReconcile(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := Reconcile(context.Background(), duplex{bytes.NewReader(in), io.Discard}, fuzzSet, Options{MaxRounds: 16})
		checkErr(t, err)
		for _, k := range res.Extra {
			if !fuzzSet.Has(k) {
				t.Fatalf("Extra %s not in the local set", k)
			}
		}
		for _, k := range res.Missing {
			if fuzzSet.Has(k) {
				t.Fatalf("Missing %s is in the local set", k)
			}
		}
	})
}
