package cli

import (
	"math"
	"testing"

	"github.com/kith-net/kith/node"
)

func TestMemoryLimitPrecedence(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		name  string
		flag  string
		env   func(string) (string, bool)
		limit int64
		set   bool
	}{
		{"default", "", env(), node.DefaultMemoryLimit, true},
		{"empty GOMEMLIMIT is unset", "", env("GOMEMLIMIT", ""), node.DefaultMemoryLimit, true},
		{"GOMEMLIMIT, already applied by the runtime", "", env("GOMEMLIMIT", "512MiB"), 0, false},
		{"GOMEMLIMIT=off", "", env("GOMEMLIMIT", "off"), 0, false},
		{"flag over default", "300MiB", env(), 300 << 20, true},
		{"flag over GOMEMLIMIT", "1GiB", env("GOMEMLIMIT", "512MiB"), 1 << 30, true},
		{"flag off", "off", env(), math.MaxInt64, true},
		{"bytes", "200000000", env(), 200000000, true},
		{"B suffix", "4096B", env(), 4096, true},
		{"KiB", "65536KiB", env(), 64 << 20, true},
		{"TiB", "1TiB", env(), 1 << 40, true},
	} {
		limit, set, err := memoryLimit(tc.flag, tc.env)
		if err != nil || limit != tc.limit || set != tc.set {
			t.Errorf("%s: memoryLimit(%q) = %d, %v, %v; want %d, %v, nil", tc.name, tc.flag, limit, set, err, tc.limit, tc.set)
		}
	}
	for _, bad := range []string{"0", "-1MiB", "MiB", "256MB", "256 MiB", "1.5GiB", "9000000000TiB", "on"} {
		if _, _, err := memoryLimit(bad, env()); err == nil {
			t.Errorf("memoryLimit(%q): no error", bad)
		}
	}
}
