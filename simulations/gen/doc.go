// Package gen generates signed trust graphs with known ground truth, for
// the simulator and for training kith's default ranking model on data that
// is not any evaluation data set.
//
// Every generator is deterministic for its seed and draws randomness only
// from the source it is given.
package gen
