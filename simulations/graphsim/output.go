package graphsim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// csvHeader is the first line of WriteCSV.
var csvHeader = []string{"scenario", "behaviour", "engine", "seed", "size", "attack_edges", "metric", "mean", "stderr", "n"}

// WriteCSV writes the rows with a header; undefined means are empty.
// Floats are written in the shortest form that reads back exactly, so the
// same result always gives the same bytes.
func WriteCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range res.Rows {
		rec := []string{r.Scenario, r.Behaviour, r.Engine, strconv.FormatUint(r.Seed, 10), strconv.Itoa(r.Size), strconv.Itoa(r.AttackEdges),
			r.Metric, num(r.Mean), num(r.StdErr), strconv.Itoa(r.N)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// rowJSON is a Row with undefined values as null.
type rowJSON struct {
	Scenario    string   `json:"scenario"`
	Behaviour   string   `json:"behaviour"`
	Engine      string   `json:"engine"`
	Seed        uint64   `json:"seed"`
	Size        int      `json:"size"`
	AttackEdges int      `json:"attack_edges"`
	Metric      string   `json:"metric"`
	Mean        *float64 `json:"mean"`
	StdErr      *float64 `json:"stderr"`
	N           int      `json:"n"`
}

func opt(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes undefined means as null.
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal(rowJSON{r.Scenario, r.Behaviour, r.Engine, r.Seed, r.Size, r.AttackEdges, r.Metric, opt(r.Mean), opt(r.StdErr), r.N})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Row) UnmarshalJSON(b []byte) error {
	var j rowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Row{j.Scenario, j.Behaviour, j.Engine, j.Seed, j.Size, j.AttackEdges, j.Metric, orNaN(j.Mean), orNaN(j.StdErr), j.N}
	return nil
}

// WriteJSON writes the whole result as one indented JSON object.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// ReadJSON reads what WriteJSON wrote.
func ReadJSON(r io.Reader) (*Result, error) {
	var res Result
	dec := json.NewDecoder(r)
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("graphsim: read result: %w", err)
	}
	if res.Level != "graph" {
		return nil, fmt.Errorf("graphsim: read result: level %q, want graph", res.Level)
	}
	return &res, nil
}
