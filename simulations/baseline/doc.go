// Package baseline holds the trust-scoring methods kith is measured against,
// each a trust.Scorer written small and from its paper, so that the
// evaluation compares like with like:
//
//   - PageRank: global PageRank on the positive edges (Page, Brin, Motwani
//     and Winograd 1999), damping 0.85.
//   - EigenTrust: normalised local trust, pre-trusted peers uniform or the
//     querier (Kamvar, Schlosser and Garcia-Molina, WWW 2003).
//   - PPR: personalised PageRank restarting at the querier, by power
//     iteration (Haveliwala, WWW 2002).
//   - PPRMonteCarlo: the same quantity estimated by random walks (Fogaras,
//     Rácz, Csalogány and Sarlós 2005; Avrachenkov et al. 2007).
//   - Appleseed: spreading activation with backward edges (Ziegler and
//     Lausen 2004/2005), TrustNet's defaults: energy 200, spreading 0.85,
//     threshold 0.01.
//   - MoleTrust: breadth-first trust propagation with a horizon and a trust
//     threshold (Massa and Avesani, RecSys 2007).
//   - MeritRank: personalised random walks with transitivity decay and
//     connectivity decay (Nasrulin, Ishmaev and Pouwelse 2022).
//   - FairnessGoodness: the iterative fairness/goodness algorithm of Kumar,
//     Spezzano, Subrahmanian and Faloutsos (ICDM 2016); it predicts the
//     weight of u->v as fairness(u)·goodness(v).
//   - MeanRating: the mean weight a node received.
//
// PageRank, EigenTrust with uniform pre-trust, FairnessGoodness and
// MeanRating are global: they ignore the querier, report Global() == true,
// and exist here only as baselines; kith itself never computes a global
// score.
//
// Every method has a parameter struct whose Validate rejects NaN, infinite
// and out-of-range values, and a constructor that validates it. Scores are
// on each method's own scale (documented on the type); NoEvidence (NaN)
// marks the nodes a method has nothing to say about, as documented per
// type. All scorers are safe for concurrent use and deterministic: the randomised
// methods (PPRMonteCarlo, MeritRank) draw from a math/rand/v2 PCG source
// seeded from their Seed parameter and the querier, never from a global
// source. Score honours ctx between iterations or batches of walks and
// returns an error wrapping ctx.Err() when it is done.
package baseline
