package api

import (
	"bytes"
	"math"
	"sort"
	"strconv"
)

// prometheusText renders metrics in the Prometheus text exposition format
// (version 0.0.4), sorted by name, each as an untyped sample. Characters a
// Prometheus name cannot hold become '_'.
func prometheusText(m map[string]float64) []byte {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	seen := make(map[string]bool, len(names))
	for _, k := range names {
		name := promName(k)
		if seen[name] {
			continue
		}
		seen[name] = true
		b.WriteString("# TYPE ")
		b.WriteString(name)
		b.WriteString(" untyped\n")
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(promValue(m[k]))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func promName(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

func promValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// finiteMetrics drops the values JSON cannot hold (NaN and infinities).
func finiteMetrics(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}
