package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SignalContext returns a context that SIGINT or SIGTERM cancels, with an
// *Interrupted naming the signal as its cause (context.Cause), and a stop
// function that releases it. Only the first signal is caught: from then on
// the signals have their default effect again, so a second Ctrl-C ends a
// command that does not stop at once. stop waits for the goroutine the
// context starts.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case s := <-ch:
			cancel(&Interrupted{Signal: s})
		case <-done:
		case <-ctx.Done():
		}
		signal.Stop(ch)
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancel(nil)
		})
	}
}
