package baseline

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/kith-net/kith/trust"
)

// ErrParams is wrapped by every parameter validation error.
var ErrParams = errors.New("baseline: invalid parameters")

// checkArgs validates the arguments every Score receives.
func checkArgs(ctx context.Context, name string, g *trust.Graph, q trust.NodeID, dst []float64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if g == nil {
		return fmt.Errorf("%s: nil graph", name)
	}
	if len(dst) != g.N() {
		return fmt.Errorf("%s: dst has %d entries, graph has %d nodes", name, len(dst), g.N())
	}
	if q < 0 || int(q) >= g.N() {
		return fmt.Errorf("%s: querier %d outside 0..%d", name, q, g.N()-1)
	}
	return nil
}

// ctxErr wraps ctx.Err() with the scorer's name, or returns nil.
func ctxErr(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// inRange checks lo <= x <= hi (or lo < x when openLo, x < hi when openHi).
func inRange(name string, x, lo, hi float64, openLo, openHi bool) error {
	ok := finite(x) && (x > lo || !openLo && x == lo) && (x < hi || !openHi && x == hi)
	if !ok {
		l, r := "[", "]"
		if openLo {
			l = "("
		}
		if openHi {
			r = ")"
		}
		return fmt.Errorf("%w: %s = %v, want %s%v, %v%s", ErrParams, name, x, l, lo, hi, r)
	}
	return nil
}

func atLeast(name string, x, lo int) error {
	if x < lo {
		return fmt.Errorf("%w: %s = %d, want >= %d", ErrParams, name, x, lo)
	}
	return nil
}

// ctxCheckEvery is how many nodes MeanRating scores between two ctx
// checks.
const ctxCheckEvery = 1 << 14
