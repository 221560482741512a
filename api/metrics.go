package api

import (
	"bytes"
	"math"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// MetricKind is a metric's Prometheus type.
type MetricKind int

// Metric kinds.
const (
	Gauge   MetricKind = iota // a value that goes up and down
	Counter                   // a count since the daemon started; its name ends in _total
)

// Metric is one of the node's metrics. Name is a Prometheus name
// (kith_peers_connected); Help says in a sentence what it measures.
type Metric struct {
	Name  string
	Help  string
	Kind  MetricKind
	Value float64
}

// metricSet is a prometheus.Collector of a fixed set of values.
type metricSet []Metric

func (ms metricSet) Describe(chan<- *prometheus.Desc) {} // unchecked: the set is built per request

func (ms metricSet) Collect(ch chan<- prometheus.Metric) {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		name := promName(m.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		help := m.Help
		if help == "" {
			help = "kith metric " + name + "."
		}
		vt := prometheus.GaugeValue
		if m.Kind == Counter {
			vt = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), vt, m.Value)
	}
}

// prometheusText renders metrics in the Prometheus text exposition format
// (version 0.0.4) with the Prometheus client library: sorted by name, each
// with its HELP and TYPE (counter or gauge). Characters a Prometheus name
// cannot hold become '_'.
func prometheusText(ms []Metric) ([]byte, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(metricSet(ms)); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
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

// metricMap is the JSON form of metrics: name to value, without the values
// JSON cannot hold (NaN and infinities).
func metricMap(ms []Metric) map[string]float64 {
	out := make(map[string]float64, len(ms))
	for _, m := range ms {
		if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
			out[m.Name] = m.Value
		}
	}
	return out
}

// metricsOf turns the JSON form back into metrics, sorted by name (Help and
// Kind are not in it).
func metricsOf(m map[string]float64) []Metric {
	out := make([]Metric, 0, len(m))
	for k, v := range m {
		out = append(out, Metric{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
