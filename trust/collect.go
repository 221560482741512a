package trust

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Collect gathers the judgements of many queriers in g (see
// View.Judgements), with workers goroutines (0: GOMAXPROCS). progress, if
// not nil, is called after each querier with the number done; it may be
// called from several goroutines. The examples come back in querier order,
// so the result does not depend on scheduling.
//
// With cold, each querier also contributes its cold-start judgements (see
// View.ColdJudgements).
func (e *Engine) Collect(ctx context.Context, g *Graph, queriers []NodeID, cold bool, workers int, progress func(done, total int)) ([]Example, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	per := make([][]Example, len(queriers))
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(queriers) || ctx.Err() != nil {
					return
				}
				v, err := e.View(ctx, g, queriers[i])
				if err == nil {
					per[i], _, err = v.Judgements(ctx, e.Linked)
				}
				if err == nil && cold {
					var c []Example
					c, err = v.ColdJudgements(ctx, e.Linked)
					per[i] = append(per[i], c...)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if progress != nil {
					progress(int(done.Add(1)), len(queriers))
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Example
	for _, p := range per {
		out = append(out, p...)
	}
	return out, nil
}
