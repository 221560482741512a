//go:build !race

package training

// raceEnabled is true under the race detector, which slows the trust
// engine about tenfold.
const raceEnabled = false
