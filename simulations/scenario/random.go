package scenario

import (
	"hash/fnv"
	"math/rand/v2"
)

// Rand returns a generator for one named purpose, derived from the seed:
// adding a behaviour, an engine or a draw for another purpose does not
// shift a purpose's numbers.
func (s *Scenario) Rand(purpose string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	return rand.New(rand.NewPCG(s.Seed, h.Sum64()))
}

// Draw returns a number in [0, 1) that depends only on the seed, the
// purpose and the key: a decision about one thing (a consent request, a
// step of a proof) that comes out the same whenever, and in whatever
// order, the things are decided.
func (s *Scenario) Draw(purpose string, key []byte) float64 {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(key)
	// fnv alone mixes its last bytes poorly; a PCG step finishes the job.
	return rand.New(rand.NewPCG(s.Seed, h.Sum64())).Float64()
}
