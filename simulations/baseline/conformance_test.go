package baseline

import (
	"testing"

	"github.com/kith-net/kith/trust"
	"github.com/kith-net/kith/trust/trusttest"
)

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

// TestConformance runs the trusttest suite over every baseline, with the
// NoEvidence contract each one documents.
func TestConformance(t *testing.T) {
	cases := []struct {
		new        func() trust.Scorer
		noEvidence func(*trust.Graph, trust.NodeID, trust.NodeID) bool
	}{
		{func() trust.Scorer { return must(NewPageRank(DefaultPowerParams())) }, trusttest.Never},
		{func() trust.Scorer { return must(NewEigenTrust(DefaultEigenTrustParams())) }, trusttest.Never},
		{func() trust.Scorer {
			p := DefaultEigenTrustParams()
			p.PreTrust = PreTrustQuerier
			return must(NewEigenTrust(p))
		}, trusttest.UnreachablePositive},
		{func() trust.Scorer { return must(NewPPR(DefaultPowerParams())) }, trusttest.UnreachablePositive},
		{func() trust.Scorer { return must(NewPPRMonteCarlo(DefaultWalkParams())) }, trusttest.NotQuerier},
		{func() trust.Scorer { return must(NewAppleseed(DefaultAppleseedParams())) }, trusttest.NotQuerier},
		{func() trust.Scorer { return must(NewMoleTrust(DefaultMoleTrustParams())) }, trusttest.NotQuerier},
		{func() trust.Scorer { return must(NewMeritRank(DefaultMeritRankParams())) }, trusttest.NotQuerier},
		{func() trust.Scorer { return must(NewFairnessGoodness(DefaultFairnessGoodnessParams())) }, trusttest.NotRated},
		{func() trust.Scorer { return NewMeanRating() }, trusttest.NotRated},
	}
	for _, c := range cases {
		s := c.new()
		t.Run(s.Name(), func(t *testing.T) {
			t.Parallel()
			trusttest.RunWith(t, s, trusttest.Options{NoEvidence: c.noEvidence, New: c.new})
		})
	}
}
