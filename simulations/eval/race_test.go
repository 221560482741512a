//go:build race

package eval

// raceEnabled is true under the race detector, which slows the trust
// engine about tenfold.
const raceEnabled = true
