//go:build unix

package graphsim

import "syscall"

// cpuTimes is the user and system CPU time the process has used, in
// seconds.
func cpuTimes() [2]float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return [2]float64{}
	}
	return [2]float64{float64(ru.Utime.Nano()) / 1e9, float64(ru.Stime.Nano()) / 1e9}
}
