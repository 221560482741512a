package trust

import (
	"context"
	"math"
)

// NoEvidence marks a node about which a scorer has nothing to say from the
// querier's point of view. It is NaN: test with math.IsNaN, never ==.
var NoEvidence = math.NaN()

// A Scorer computes trust from one node's point of view: Score fills dst
// (len g.N()) with q's trust in every node, and NoEvidence where q's view
// holds nothing about a node. Scores are comparable within one call (higher
// means more trusted); their scale is the scorer's own and is documented by
// it. Score must not keep g, dst or anything derived from them after it
// returns, and must honour ctx on long work.
//
// Implementations are safe for concurrent use: one Scorer value may score
// many viewpoints at once.
type Scorer interface {
	Name() string
	Score(ctx context.Context, g *Graph, q NodeID, dst []float64) error
}
