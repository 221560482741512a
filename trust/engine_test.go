package trust_test

import (
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

// TestEngineConformance runs the scorer conformance suite on kith's engine,
// with and without on-device personalisation. The engine may answer "no
// evidence" for the querier itself and for any node its trust does not
// reach at KnownLevel, itself or through a rater (statements by people no
// trust reaches are no evidence: Evidence.counts), which the suite cannot
// tell from the graph alone; fresh instances must agree bit for bit.
func TestEngineConformance(t *testing.T) {
	anywhere := func(*trust.Graph, trust.NodeID, trust.NodeID) bool { return true }
	for _, personalize := range []bool{false, true} {
		newEngine := func() trust.Scorer { return &trust.Engine{Personalize: personalize} }
		trusttest.RunWith(t, newEngine(), trusttest.Options{NoEvidence: anywhere, New: newEngine})
	}
}
