package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// bar is one group of the plot: a scenario's main metric, each target's
// median divided by the reference's.
type barGroup struct {
	Label  string             // may hold "\n"
	Ref    string             // the target normalized to 1.0
	Values map[string]float64 // by target; absent: not measured
}

// plotGroups returns the groups of the plot: one per metric with a Plot
// label, normalized to raw (to Node where raw does not run the scenario).
func plotGroups(r *results, scens []scenario, targets []string) []barGroup {
	var out []barGroup
	for _, s := range scens {
		for _, mt := range s.Metrics {
			if mt.Plot == "" {
				continue
			}
			ref := raw
			if !s.runsOn(raw, targets) {
				ref = node
			}
			den, ok := r.median(s.Key, ref, mt.Key)
			if !ok || den == 0 {
				continue
			}
			g := barGroup{Label: wrap(mt.Plot, 19), Ref: ref, Values: map[string]float64{}}
			for _, t := range targets {
				if !s.runsOn(t, targets) {
					continue
				}
				if v, ok := r.median(s.Key, t, mt.Key); ok {
					g.Values[t] = v / den
				}
			}
			out = append(out, g)
		}
	}
	return out
}

// wrap breaks s into lines of at most width characters, at spaces.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

// plotCap is the highest the scale goes: ratios above it are cut.
const plotCap = 4.0

var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colAxis       = color.RGBA{40, 40, 40, 255}
	colGrid       = color.RGBA{225, 225, 225, 255}
	colRef        = color.RGBA{200, 40, 40, 255}
	colText       = color.RGBA{20, 20, 20, 255}
	targetColor   = map[string]color.RGBA{
		ours: {31, 119, 180, 255},  // blue
		node: {44, 160, 44, 255},   // green
		raw:  {150, 150, 150, 255}, // grey
	}
)

// plotPNG draws the groups as grouped bars, one bar per target, with a
// line at 1.0 (the reference), and returns the PNG.
func plotPNG(title string, groups []barGroup, targets []string) ([]byte, error) {
	const (
		left, right, top, bottom = 70, 20, 70, 70
		groupW, barW, plotH      = 150, 34, 360
	)
	w := left + right + groupW*max(len(groups), 1)
	h := top + plotH + bottom
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{colBackground}, image.Point{}, draw.Src)

	// The scale: 0 to the largest value (at least 1.5, at most plotCap),
	// rounded up to a step of the grid. A bar above the scale is cut at its
	// top, its label still telling its value.
	top1 := 1.5
	for _, g := range groups {
		for _, v := range g.Values {
			top1 = math.Max(top1, math.Min(v, plotCap))
		}
	}
	step := 0.25
	for _, s := range []float64{0.25, 0.5, 1, 2, 5, 10, 20, 50, 100} {
		step = s
		if top1/s <= 8 {
			break
		}
	}
	yMax := math.Ceil(top1/step) * step
	y := func(v float64) int { return top + plotH - int(math.Round(v/yMax*plotH)) }

	// Grid and axis labels.
	for v := 0.0; v <= yMax+1e-9; v += step {
		yy := y(v)
		hline(img, left, w-right, yy, colGrid)
		label := fmt.Sprintf("%g", v)
		text(img, left-8-textWidth(label), yy+4, label, colText)
	}
	vline(img, left, top, top+plotH, colAxis)
	hline(img, left, w-right, top+plotH, colAxis)
	// The reference line at 1.0.
	for x := left; x < w-right; x += 6 {
		hline(img, x, min(x+3, w-right), y(1), colRef)
	}

	// Bars.
	for i, g := range groups {
		x0 := left + i*groupW + (groupW-barW*len(targets))/2
		for j, t := range targets {
			v, ok := g.Values[t]
			bx := x0 + j*barW
			if !ok {
				text(img, bx+barW/2-textWidth("n/a")/2, top+plotH-6, "n/a", colText)
				continue
			}
			label := fmt.Sprintf("%.2f", v)
			if v >= 100 {
				label = fmt.Sprintf("%.0f", v)
			}
			yv := y(min(v, yMax))
			fill(img, bx+3, yv, bx+barW-3, top+plotH, targetColor[t])
			if v > yMax {
				for k := 0; k < 3; k++ { // a break in the bar: cut
					hline(img, bx+3, bx+barW-3, yv+8+k, colBackground)
				}
			}
			text(img, bx+barW/2-textWidth(label)/2, yv-4, label, colText)
		}
		lines := strings.Split(g.Label, "\n")
		for k, line := range lines {
			text(img, left+i*groupW+groupW/2-textWidth(line)/2, top+plotH+18+k*14, line, colText)
		}
		if note := "(" + g.Ref + " = 1)"; g.Ref != raw && !strings.Contains(g.Label, "= 1") {
			text(img, left+i*groupW+groupW/2-textWidth(note)/2, top+plotH+18+len(lines)*14, note, colText)
		}
	}

	// Title and legend.
	text(img, left, 22, title, colText)
	x := left
	for _, t := range targets {
		fill(img, x, 36, x+14, 50, targetColor[t])
		text(img, x+20, 48, targetLabel[t], colText)
		x += 40 + textWidth(targetLabel[t])
	}
	for xx := x; xx < x+24; xx += 6 {
		hline(img, xx, xx+3, 43, colRef)
	}
	text(img, x+30, 48, "raw = 1.0", colText)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writePNG(path, title string, groups []barGroup, targets []string) error {
	data, err := plotPNG(title, groups, targets)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func fill(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c}, image.Point{}, draw.Src)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fill(img, x0, y, x1, y+1, c) }

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fill(img, x, y0, x+1, y1, c) }

// text draws s with its baseline at y, in basicfont's 7×13 face.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: &image.Uniform{c}, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(s string) int {
	return font.MeasureString(basicfont.Face7x13, s).Round()
}
