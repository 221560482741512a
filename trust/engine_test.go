package trust_test

import (
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

// TestEngineConformance runs the scorer conformance suite on kith's engine,
// with and without on-device personalisation.
func TestEngineConformance(t *testing.T) {
	trusttest.Run(t, &trust.Engine{})
	trusttest.Run(t, &trust.Engine{Personalize: true})
}
