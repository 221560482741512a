package recon_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"

	"github.com/kith-net/kith/node/recon"
)

// A node reconciles with a peer over a stream; here net.Pipe stands in for
// a libp2p stream.
func Example() {
	mine, theirs := new(recon.Set), new(recon.Set)
	for i := 0; i < 1000; i++ {
		k := recon.Key(sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
		mine.Add(k)
		theirs.Add(k)
	}
	theirs.Add(recon.Key(sha256.Sum256([]byte("only theirs"))))
	mine.Add(recon.Key(sha256.Sum256([]byte("only mine"))))

	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	ctx := context.Background()
	served := make(chan error, 1)
	go func() { served <- recon.Serve(ctx, server, theirs, recon.Options{}) }()

	res, err := recon.Reconcile(ctx, client, mine, recon.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := <-served; err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("missing:", len(res.Missing), "extra:", len(res.Extra))
	// Output: missing: 1 extra: 1
}
