package eval

import (
	"cmp"
	"math"
	"slices"
)

// AUC is the area under the ROC curve: the probability that a random
// positive item scores higher than a random negative one, ties counting one
// half (the Mann-Whitney statistic with mid-ranks). It is NaN when either
// class is empty or a score is NaN.
func AUC(scores []float64, positive []bool) float64 {
	n := len(scores)
	if n != len(positive) {
		return math.NaN()
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
		if math.IsNaN(scores[i]) {
			return math.NaN()
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var rankSum float64
	var pos int
	for i := 0; i < n; {
		j := i
		for j < n && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if positive[idx[k]] {
				rankSum += mid
				pos++
			}
		}
		i = j
	}
	neg := n - pos
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}

// MacroF1 is the mean of the F1 scores of the two classes, predicting the
// positive class for the items whose score is below threshold. A class
// with no true and no predicted items has F1 0. NaN if there are no items.
func MacroF1(scores []float64, positive []bool, threshold float64) float64 {
	if len(scores) == 0 || len(scores) != len(positive) {
		return math.NaN()
	}
	var tp, fp, fn, tn float64
	for i, s := range scores {
		pred := s < threshold
		switch {
		case pred && positive[i]:
			tp++
		case pred && !positive[i]:
			fp++
		case !pred && positive[i]:
			fn++
		default:
			tn++
		}
	}
	return (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2
}

func f1(tp, fp, fn float64) float64 {
	if tp == 0 {
		return 0
	}
	return 2 * tp / (2*tp + fp + fn)
}

// BestThreshold returns the threshold that maximises MacroF1 on the given
// (training) items, where items scoring below the threshold are predicted
// positive. Candidates are -Inf (predict no positive), +Inf (all positive)
// and the midpoints between consecutive distinct scores; ties go to the
// smallest candidate. With no items it returns 0.
func BestThreshold(scores []float64, positive []bool) float64 {
	type it struct {
		s   float64
		pos bool
	}
	var items []it
	var totalPos, totalNeg float64
	for i, s := range scores {
		if math.IsNaN(s) {
			continue
		}
		items = append(items, it{s, positive[i]})
		if positive[i] {
			totalPos++
		} else {
			totalNeg++
		}
	}
	if len(items) == 0 {
		return 0
	}
	slices.SortFunc(items, func(a, b it) int { return cmp.Compare(a.s, b.s) })
	// Threshold -Inf: nothing predicted positive.
	best, bestT := (f1(0, 0, totalPos)+f1(totalNeg, totalPos, 0))/2, math.Inf(-1)
	var tp, fp float64
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j].s == items[i].s {
			if items[j].pos {
				tp++
			} else {
				fp++
			}
			j++
		}
		// Items[0:j] predicted positive.
		t := math.Inf(1)
		if j < len(items) {
			t = items[i].s + (items[j].s-items[i].s)/2
		}
		fn, tn := totalPos-tp, totalNeg-fp
		if m := (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2; m > best {
			best, bestT = m, t
		}
		i = j
	}
	return bestT
}

// RMSE is the root mean squared error of pred against truth; NaN if empty.
func RMSE(truth, pred []float64) float64 {
	if len(truth) == 0 || len(truth) != len(pred) {
		return math.NaN()
	}
	s := 0.0
	for i := range truth {
		d := truth[i] - pred[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(truth)))
}

// MAE is the mean absolute error of pred against truth; NaN if empty.
func MAE(truth, pred []float64) float64 {
	if len(truth) == 0 || len(truth) != len(pred) {
		return math.NaN()
	}
	s := 0.0
	for i := range truth {
		s += math.Abs(truth[i] - pred[i])
	}
	return s / float64(len(truth))
}

// Pearson is the Pearson correlation of x and y; NaN if fewer than two
// items or either is constant.
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || n != len(y) {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Calibration is a monotone map from an engine's raw scores to edge
// weights, fitted by isotonic regression (pool adjacent violators) on
// training items and interpolated linearly between the centres of the
// fitted blocks, so that it is strictly increasing inside the training
// range (ranks, hence AUC, are kept) and constant beyond it.
type Calibration struct {
	x, y []float64 // block centres and block means, x strictly increasing
}

// FitCalibration fits the map on (score, weight) pairs; pairs with a NaN
// score are ignored. With no usable pair the map returns NaN.
func FitCalibration(scores, weights []float64) *Calibration {
	type pt struct{ s, w float64 }
	var pts []pt
	for i, s := range scores {
		if !math.IsNaN(s) && !math.IsNaN(weights[i]) {
			pts = append(pts, pt{s, weights[i]})
		}
	}
	slices.SortFunc(pts, func(a, b pt) int { return cmp.Compare(a.s, b.s) })
	type block struct {
		lo, hi, sum float64
		n           int
	}
	var bs []block
	for i := 0; i < len(pts); {
		j := i
		b := block{lo: pts[i].s, hi: pts[i].s}
		for j < len(pts) && pts[j].s == pts[i].s {
			b.sum += pts[j].w
			b.n++
			j++
		}
		bs = append(bs, b)
		for len(bs) > 1 {
			p, q := bs[len(bs)-2], bs[len(bs)-1]
			if p.sum/float64(p.n) < q.sum/float64(q.n) {
				break
			}
			bs = bs[:len(bs)-2]
			bs = append(bs, block{lo: p.lo, hi: q.hi, sum: p.sum + q.sum, n: p.n + q.n})
		}
		i = j
	}
	c := &Calibration{}
	for _, b := range bs {
		c.x = append(c.x, b.lo+(b.hi-b.lo)/2)
		c.y = append(c.y, b.sum/float64(b.n))
	}
	return c
}

// Apply maps a raw score to a weight; NaN stays NaN.
func (c *Calibration) Apply(s float64) float64 {
	if math.IsNaN(s) || len(c.x) == 0 {
		return math.NaN()
	}
	if s <= c.x[0] {
		return c.y[0]
	}
	if s >= c.x[len(c.x)-1] {
		return c.y[len(c.y)-1]
	}
	i, _ := slices.BinarySearch(c.x, s) // c.x[i-1] < s <= c.x[i]
	x0, x1, y0, y1 := c.x[i-1], c.x[i], c.y[i-1], c.y[i]
	return y0 + (y1-y0)*(s-x0)/(x1-x0)
}

// Bin is one bin of a reliability diagram: N predictions with mean
// MeanP, of which a share Observed were positive.
type Bin struct {
	Lo, Hi          float64
	N               int
	MeanP, Observed float64
}

// ReliabilityBins is the number of equal-width bins of ECE.
const ReliabilityBins = 10

// ExpectedCalibration returns the expected calibration error of probabilities p
// against outcomes y (true: positive), with ReliabilityBins equal-width
// bins: Σ_b (n_b/n)·|observed_b − mean_b|. NaN without items.
func ExpectedCalibration(p []float64, y []bool) (float64, []Bin) {
	if len(p) == 0 {
		return math.NaN(), nil
	}
	bins := make([]Bin, ReliabilityBins)
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/ReliabilityBins, float64(b+1)/ReliabilityBins
	}
	for i, x := range p {
		b := min(max(int(x*ReliabilityBins), 0), ReliabilityBins-1)
		bins[b].N++
		bins[b].MeanP += x
		if y[i] {
			bins[b].Observed++
		}
	}
	e := 0.0
	for b := range bins {
		if n := float64(bins[b].N); n > 0 {
			bins[b].MeanP /= n
			bins[b].Observed /= n
			e += n / float64(len(p)) * math.Abs(bins[b].Observed-bins[b].MeanP)
		}
	}
	return e, bins
}

// NullAUCError is the standard error of the AUC of a random ranking of
// pos positive and neg negative items (the Mann–Whitney statistic under
// the null): √((pos+neg+1)/(12·pos·neg)). 0.5 when either is empty.
func NullAUCError(pos, neg int) float64 {
	if pos < 1 || neg < 1 {
		return 0.5
	}
	p, n := float64(pos), float64(neg)
	return math.Sqrt((p + n + 1) / (12 * p * n))
}
