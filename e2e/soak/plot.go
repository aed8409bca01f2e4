package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"
	"time"
)

// The plot: four panels over the same time axis (memory, goroutines, file
// descriptors, connections), the moments of the run as dashed vertical
// lines, drawn with the standard library and the 5x7 font of font.go.

var (
	colWhite  = color.RGBA{255, 255, 255, 255}
	colBlack  = color.RGBA{30, 30, 30, 255}
	colGrid   = color.RGBA{225, 225, 225, 255}
	colAxis   = color.RGBA{120, 120, 120, 255}
	colMark   = color.RGBA{170, 170, 170, 255}
	colSeries = []color.RGBA{
		{31, 119, 180, 255},  // blue
		{255, 127, 14, 255},  // orange
		{44, 160, 44, 255},   // green
		{214, 39, 40, 255},   // red
		{148, 103, 189, 255}, // purple
	}
)

type series struct {
	name string
	val  func(s sample) float64
}

type panel struct {
	title  string
	series []series
}

func plotPanels() []panel {
	return []panel{
		{"Memory (MiB)", []series{
			{"heap in use", func(s sample) float64 { return mib(s.HeapInuse) }},
			{"heap allocated", func(s sample) float64 { return mib(s.HeapAlloc) }},
			{"Sys (from the OS)", func(s sample) float64 { return mib(s.Sys) }},
		}},
		{"Goroutines", []series{
			{"total", func(s sample) float64 { return float64(s.Goroutines) }},
			{"server", func(s sample) float64 { return float64(s.GServer) }},
			{"clients", func(s sample) float64 { return float64(s.GClient) }},
			{"proxy+rogues+other", func(s sample) float64 { return float64(s.GProxy + s.GRogue + s.GOther) }},
		}},
		{"Open file descriptors", []series{
			{"fds (both ends)", func(s sample) float64 { return float64(s.FDs) }},
		}},
		{"Connections", []series{ // sockets and sessions: the server's counts
			{"clients alive", func(s sample) float64 { return float64(s.ClientsAlive) }},
			{"sockets", func(s sample) float64 { return float64(s.Sockets) }},
			{"Engine.IO sessions", func(s sample) float64 { return float64(s.EngineClients) }},
		}},
	}
}

// canvas is an RGBA image with the few primitives the plot needs.
type canvas struct{ img *image.RGBA }

func (c canvas) set(x, y int, col color.RGBA) {
	if image.Pt(x, y).In(c.img.Rect) {
		c.img.SetRGBA(x, y, col)
	}
}

func (c canvas) fill(r image.Rectangle, col color.RGBA) {
	draw.Draw(c.img, r, &image.Uniform{col}, image.Point{}, draw.Src)
}

// line draws a line w pixels thick (Bresenham).
func (c canvas) line(x0, y0, x1, y1, w int, col color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		for i := range w {
			for j := range w {
				c.set(x0+i-w/2, y0+j-w/2, col)
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func (c canvas) dashedV(x, y0, y1 int, col color.RGBA) {
	for y := y0; y < y1; y++ {
		if (y/6)%2 == 0 {
			c.set(x, y, col)
		}
	}
}

// text draws s with its top left at (x, y), each font pixel scale x scale.
func (c canvas) text(x, y int, s string, scale int, col color.RGBA) {
	for _, r := range s {
		g := glyph(r)
		for cx, bits := range g {
			for cy := range 7 {
				if bits&(1<<cy) != 0 {
					c.fill(image.Rect(x+cx*scale, y+cy*scale, x+(cx+1)*scale, y+(cy+1)*scale), col)
				}
			}
		}
		x += 6 * scale
	}
}

func textWidth(s string, scale int) int { return len(s) * 6 * scale }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// niceStep returns a 1, 2 or 5 times a power of ten step near span/n.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v, step float64) string {
	if step >= 1 {
		if math.Abs(v) >= 10000 {
			return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
		}
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', int(math.Ceil(-math.Log10(step))), 64)
}

// writePlot draws the samples into a PNG at path.
func writePlot(path, title, subtitle string, samples []sample, marks []mark) error {
	const (
		width     = 1400
		top       = 96 // title, subtitle, three rows of moment names
		panelH    = 230
		gap       = 26
		left      = 96
		right     = 290 // legend
		bottom    = 56
		textScale = 2
	)
	panels := plotPanels()
	height := top + len(panels)*(panelH+gap) + bottom
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	c := canvas{img}
	c.fill(img.Rect, colWhite)
	titleScale := 3
	if textWidth(title, 3) > width-left-10 {
		titleScale = 2
	}
	c.text(left, 12, title, titleScale, colBlack)
	c.text(left, 46, subtitle, textScale, colAxis)

	tmax := 1.0
	if len(samples) > 0 {
		tmax = math.Max(1, samples[len(samples)-1].T.Seconds())
	}
	unit, unitName := 60.0, "minutes"
	if tmax > 3*3600 {
		unit, unitName = 3600, "hours"
	} else if tmax < 180 {
		unit, unitName = 1, "seconds"
	}
	plotW := width - left - right
	xOf := func(t time.Duration) int { return left + int(t.Seconds()/tmax*float64(plotW-1)) }
	xstep := niceStep(tmax/unit, 10)

	for pi, p := range panels {
		y0 := top + pi*(panelH+gap) + gap
		y1 := y0 + panelH
		// y range: 0 .. a nice maximum.
		vmax := 0.0
		for _, s := range samples {
			for _, se := range p.series {
				vmax = math.Max(vmax, se.val(s))
			}
		}
		ystep := niceStep(math.Max(vmax, 1), 4)
		ymax := math.Ceil(math.Max(vmax, 1)/ystep) * ystep
		yOf := func(v float64) int { return y1 - int(v/ymax*float64(panelH-1)) }

		// Grid and y ticks.
		for v := 0.0; v <= ymax+ystep/2; v += ystep {
			y := yOf(v)
			c.line(left, y, left+plotW, y, 1, colGrid)
			lbl := formatTick(v, ystep)
			c.text(left-8-textWidth(lbl, textScale), y-7, lbl, textScale, colBlack)
		}
		for v := 0.0; v <= tmax/unit*(1+1e-9); v += xstep {
			x := xOf(time.Duration(v * unit * float64(time.Second)))
			c.line(x, y0, x, y1, 1, colGrid)
			if pi == len(panels)-1 {
				lbl := formatTick(v, xstep)
				c.text(x-textWidth(lbl, textScale)/2, y1+8, lbl, textScale, colBlack)
			}
		}
		// Moments of the run, their names above the first panel, on the
		// first of three rows where they do not overlap another (left of
		// their line near the right edge).
		rowEnd := []int{0, 0, 0}
		for _, m := range marks {
			x := xOf(m.T)
			c.dashedV(x, y0, y1, colMark)
			if pi != 0 {
				continue
			}
			w := textWidth(m.Name, textScale)
			lx := x + 4
			if lx+w > left+plotW {
				lx = x - 4 - w
			}
			row := 0
			for row < len(rowEnd)-1 && lx < rowEnd[row] {
				row++
			}
			c.text(lx, y0-18-18*row, m.Name, textScale, colAxis)
			c.line(x, y0-18*row-4, x, y0, 1, colMark)
			rowEnd[row] = lx + w + 10
		}
		// Axes.
		c.line(left, y0, left, y1, 1, colAxis)
		c.line(left, y1, left+plotW, y1, 1, colAxis)
		// Series.
		for si, se := range p.series {
			col := colSeries[si%len(colSeries)]
			for i := 1; i < len(samples); i++ {
				c.line(xOf(samples[i-1].T), yOf(se.val(samples[i-1])), xOf(samples[i].T), yOf(se.val(samples[i])), 2, col)
			}
		}
		// Title and legend, right of the panel.
		lx := left + plotW + 20
		c.text(lx, y0, p.title, textScale, colBlack)
		for si, se := range p.series {
			ly := y0 + 30 + si*24
			col := colSeries[si%len(colSeries)]
			c.fill(image.Rect(lx, ly+4, lx+22, ly+9), col)
			c.text(lx+30, ly, se.name, textScale, colBlack)
		}
	}
	xl := fmt.Sprintf("time since start (%s)", unitName)
	c.text(left+plotW/2-textWidth(xl, textScale)/2, height-24, xl, textScale, colBlack)

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
