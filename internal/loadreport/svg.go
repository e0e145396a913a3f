package loadreport

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// palette colours the chart's series, in scenario order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

// Chart geometry, in SVG user units.
const (
	chartW, chartH               = 760, 440
	padLeft, padRight            = 64, 230
	padTop, padBottom            = 36, 52
	plotW                        = chartW - padLeft - padRight
	plotH                        = chartH - padTop - padBottom
	legendX, legendY, legendStep = chartW - padRight + 16, padTop + 8, 20
)

// WriteSVG draws throughput (ops/s) against concurrent clients, one line
// per scenario, clients on a log-2 axis and throughput on a log-10 axis
// (reads and writes differ by two orders of magnitude).
func (r *Report) WriteSVG(w io.Writer) error {
	levels, scenarios := r.Levels(), r.Scenarios()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="bold">Throughput under load</text>`+"\n", padLeft)
	if len(levels) == 0 {
		b.WriteString("</svg>\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	lo, hi := math.Log2(float64(levels[0])), math.Log2(float64(levels[len(levels)-1]))
	x := func(clients int) float64 {
		if hi == lo {
			return padLeft + plotW/2
		}
		return padLeft + (math.Log2(float64(clients))-lo)/(hi-lo)*plotW
	}
	lowest, highest := math.Inf(1), 0.0
	for i := range r.Results {
		if v := r.Results[i].Throughput(); v > 0 {
			lowest, highest = math.Min(lowest, v), math.Max(highest, v)
		}
	}
	bottom, top := decades(lowest, highest)
	y := func(v float64) float64 {
		v = math.Max(v, bottom) // nothing done: drawn on the bottom edge
		return padTop + plotH - (math.Log10(v)-math.Log10(bottom))/(math.Log10(top)-math.Log10(bottom))*plotH
	}

	// Axes, grid and ticks: 1, 2 and 5 times each power of ten.
	for d := bottom; d < top*1.01; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v > top*1.01 {
				break
			}
			grid := "#eee"
			if m == 1 {
				grid = "#ccc"
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", padLeft, y(v), padLeft+plotW, y(v), grid)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-6, y(v)+4, trimFloat(v))
		}
	}
	for _, c := range levels {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(c), padTop, x(c), padTop+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(c), padTop+plotH+16, c)
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", padLeft, padTop, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">concurrent clients (log 2)</text>`+"\n", padLeft+plotW/2, chartH-12)
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">ops/s (log 10)</text>`+"\n", padTop+plotH/2)

	// One line per scenario, and its legend entry.
	for i, s := range scenarios {
		colour := palette[i%len(palette)]
		var line []string
		for _, c := range levels {
			res := r.Find(s, c)
			if res == nil {
				continue
			}
			px, py := x(c), y(res.Throughput())
			line = append(line, fmt.Sprintf("%.1f,%.1f", px, py))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px, py, colour)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colour, strings.Join(line, " "))
		ly := legendY + i*legendStep
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", legendX, ly, legendX+18, ly, colour)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", legendX+24, ly+4, html.EscapeString(s))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// decades widens [lo, hi] to whole powers of ten, at least one decade
// apart; [1, 10] when nothing was measured.
func decades(lo, hi float64) (bottom, top float64) {
	if hi <= 0 || math.IsInf(lo, 1) {
		return 1, 10
	}
	bottom = math.Pow(10, math.Floor(math.Log10(lo)))
	top = math.Pow(10, math.Ceil(math.Log10(hi)))
	if top <= bottom {
		top = bottom * 10
	}
	return bottom, top
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
