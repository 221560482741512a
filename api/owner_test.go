package api

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestOwnerRoutesRoundTrip: the bundle and Fediverse routes carry their
// requests and answers through a real server and client.
func TestOwnerRoutesRoundTrip(t *testing.T) {
	ts := startServer(t, nil, ServerOptions{})
	c := ts.client(t)
	ctx := context.Background()
	ex, err := c.Export(ctx, ExportRequest{PublicOnly: true})
	if err != nil || !bytes.Equal(ex.Bundle, []byte{0xa1, 0x01, 0x02}) || ex.CID != "bafyreibundle" {
		t.Fatalf("Export: %+v %v", ex, err)
	}
	if got := ts.fake.lastArg(); got != (ExportRequest{PublicOnly: true}) {
		t.Fatalf("Export request reached the service as %+v", got)
	}
	// A bundle larger than the default 64 KiB body cap goes through the
	// import route, whose cap is the bundle limit.
	big := bytes.Repeat([]byte{7}, 200<<10)
	im, err := c.Import(ctx, ImportRequest{Bundle: big})
	if err != nil || im.Added != 1 {
		t.Fatalf("Import: %+v %v", im, err)
	}
	if got := ts.fake.lastArg().(ImportRequest); !bytes.Equal(got.Bundle, big) {
		t.Fatalf("the bundle reached the service with %d bytes, want %d", len(got.Bundle), len(big))
	}
	// ...while every other POST keeps the default cap.
	_, err = c.Attest(ctx, AttestRequest{Kind: KindVouch, Subject: "@bob@example.social", Reason: string(big)})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTooLarge {
		t.Fatalf("a 200 KiB attest request: %v, want %s", err, CodeTooLarge)
	}
	if _, err := c.Import(ctx, ImportRequest{}); ErrorCode(err) != CodeInvalid {
		t.Fatalf("an empty import: %v", err)
	}
	if v, err := c.VerifyLink(ctx, VerifyRequest{Acct: "@bob@example.social", Links: [][]byte{{1, 2}}}); err != nil || !v.Verified {
		t.Fatalf("VerifyLink: %+v %v", v, err)
	}
	if l, err := c.Link(ctx, LinkRequest{Acct: "@alice@example.social"}); err != nil || l.Link != "bafyreilink" {
		t.Fatalf("Link: %+v %v", l, err)
	}
	if l, err := c.FediLogin(ctx, FediLoginRequest{Acct: "@alice@example.social", Token: "tok"}); err != nil || l.AccountID != "1" {
		t.Fatalf("FediLogin: %+v %v", l, err)
	}
	if _, err := c.FediLogin(ctx, FediLoginRequest{Acct: "@alice@example.social"}); ErrorCode(err) != CodeInvalid {
		t.Fatalf("FediLogin without a token: %v", err)
	}
	if r, err := c.FediImport(ctx, FediImportRequest{DryRun: true}); err != nil || r.Relations["follow"] != 2 {
		t.Fatalf("FediImport: %+v %v", r, err)
	}
}
