package api_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kith-net/kith/api"
)

// node stands for the daemon's Service; only Status is implemented here.
type node struct{ api.Service }

func (node) Status(context.Context) (api.Status, error) {
	return api.Status{PeerID: "12D3KooWExample", Started: time.Now()}, nil
}

// Example shows the daemon's side (token, listener, discovery file, Serve
// until stopped) and the CLI's (Discover, then call the Service).
func Example() {
	home, _ := os.MkdirTemp("", "kith-example")
	defer os.RemoveAll(home)

	// The daemon.
	tok, err := api.LoadOrCreateToken(home)
	if err != nil {
		panic(err)
	}
	srv, err := api.NewServer(node{}, api.ServerOptions{Token: tok})
	if err != nil {
		panic(err)
	}
	ln, err := api.Listen(context.Background(), api.DefaultAddr)
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background()) // in kith run: signal.NotifyContext
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	if err := api.WriteDiscovery(home, api.Discovery{URL: "http://" + ln.Addr().String(), PID: os.Getpid()}); err != nil {
		panic(err)
	}

	// The CLI.
	c, err := api.Discover(context.Background(), home)
	if err != nil {
		panic(err) // api.ErrNoDaemon: open the store directly instead
	}
	st, err := c.Status(context.Background())
	fmt.Println(st.PeerID, err)

	// The daemon stops.
	stop()
	fmt.Println(<-served)
	_ = api.RemoveDiscovery(home, os.Getpid())
	_, err = api.Discover(context.Background(), home)
	fmt.Println(err)
	// Output:
	// 12D3KooWExample <nil>
	// <nil>
	// api: no daemon running
}
