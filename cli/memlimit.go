package cli

import (
	"math"
	"strconv"
	"strings"

	"github.com/kith-net/kith/node"
)

// memoryLimit is the soft memory limit kith run sets (runtime/debug.SetMemoryLimit):
// flag, --memory-limit from the command line or the configuration file, when
// given; else none (set false) when GOMEMLIMIT is set, since the runtime has
// applied it already; else node.DefaultMemoryLimit. flag is a size in
// GOMEMLIMIT's syntax (an integer with an optional B, KiB, MiB, GiB or TiB
// suffix), or off for no limit.
func memoryLimit(flag string, lookupEnv func(string) (string, bool)) (limit int64, set bool, err error) {
	if flag != "" {
		if limit, err = parseMemoryLimit(flag); err != nil {
			return 0, false, err
		}
		return limit, true, nil
	}
	if v, ok := lookupEnv("GOMEMLIMIT"); ok && v != "" {
		return 0, false, nil
	}
	return node.DefaultMemoryLimit, true, nil
}

// parseMemoryLimit parses a --memory-limit value.
func parseMemoryLimit(s string) (int64, error) {
	if s == "off" {
		return math.MaxInt64, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, usagef("--memory-limit %q: want a positive size such as 256MiB or 1GiB (as GOMEMLIMIT), or off", s)
	}
	return n * mult, nil
}
