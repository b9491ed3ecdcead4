// Package qrcode is a compact QR Code encoder (ISO/IEC 18004) sized for
// payment payloads such as VietQR: byte mode, error-correction level M,
// versions 1-10 (up to 213 bytes), Reed-Solomon error correction, and the
// mask chosen by the standard's penalty rules. It renders to an image.Image
// or PNG with the required quiet zone. Pure; safe for concurrent use.
package qrcode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// MaxVersion is the largest symbol version this encoder produces.
const MaxVersion = 10

// QuietZone is the light border, in modules, the standard requires.
const QuietZone = 4

// ErrTooLong means the data does not fit a version-10-M symbol.
var ErrTooLong = errors.New("qrcode: data too long for version 10-M")

// eclM is the two-bit format indicator of error-correction level M.
const eclM = 0b00

// blocksM is the number of error-correction blocks at level M, by version.
var blocksM = [MaxVersion + 1]int{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5}

// eccPerBlockM is the number of EC codewords per block at level M, by version.
var eccPerBlockM = [MaxVersion + 1]int{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26}

// alignment holds the alignment-pattern centre coordinates, by version.
var alignment = [MaxVersion + 1][]int{
	nil, nil, {6, 18}, {6, 22}, {6, 26}, {6, 30}, {6, 34},
	{6, 22, 38}, {6, 24, 42}, {6, 26, 46}, {6, 28, 50},
}

// Code is an encoded symbol. The zero value is not useful; use Encode.
type Code struct {
	// Version is the symbol version (1-10); the symbol is 17+4×Version
	// modules wide.
	Version int
	// Mask is the data mask pattern (0-7) chosen by penalty evaluation.
	Mask int
	// Size is the width and height in modules, without quiet zone.
	Size int

	modules [][]bool // [y][x], true = dark
}

// Dark reports whether the module at column x, row y is dark; coordinates
// outside the symbol (the quiet zone) are light.
func (c *Code) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= c.Size || y >= c.Size {
		return false
	}
	return c.modules[y][x]
}

// rawCodewords is the number of 8-bit codewords a version holds.
func rawCodewords(ver int) int {
	bits := (16*ver+128)*ver + 64
	if ver >= 2 {
		n := ver/7 + 2
		bits -= (25*n-10)*n - 55
		if ver >= 7 {
			bits -= 36
		}
	}
	return bits / 8
}

// dataCodewords is the number of data codewords at level M.
func dataCodewords(ver int) int { return rawCodewords(ver) - blocksM[ver]*eccPerBlockM[ver] }

// capacity is how many bytes fit a version in byte mode at level M.
func capacity(ver int) int {
	countBits := 8
	if ver >= 10 {
		countBits = 16
	}
	return (dataCodewords(ver)*8 - 4 - countBits) / 8
}

// Encode encodes data in byte mode at level M in the smallest version that
// fits (1-10).
func Encode(data []byte) (*Code, error) {
	ver := 0
	for v := 1; v <= MaxVersion; v++ {
		if len(data) <= capacity(v) {
			ver = v
			break
		}
	}
	if ver == 0 {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(data), capacity(MaxVersion))
	}
	codewords := addECC(ver, dataBits(ver, data))

	size := 17 + 4*ver
	c := &Code{Version: ver, Size: size}
	fn := newGrid(size)
	c.modules = newGrid(size)
	c.drawFunctionPatterns(fn)
	c.drawCodewords(fn, codewords)

	best, bestPenalty := 0, -1
	for m := 0; m < 8; m++ {
		c.applyMask(fn, m)
		c.drawFormat(fn, m)
		if p := c.penalty(); bestPenalty < 0 || p < bestPenalty {
			best, bestPenalty = m, p
		}
		c.applyMask(fn, m) // XOR again: undo
	}
	c.Mask = best
	c.applyMask(fn, best)
	c.drawFormat(fn, best)
	return c, nil
}

func newGrid(size int) [][]bool {
	g := make([][]bool, size)
	for i := range g {
		g[i] = make([]bool, size)
	}
	return g
}

// bitBuffer accumulates bits most-significant first.
type bitBuffer struct {
	bytes []byte
	n     int
}

func (b *bitBuffer) put(v uint, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if b.n%8 == 0 {
			b.bytes = append(b.bytes, 0)
		}
		if v>>uint(i)&1 == 1 {
			b.bytes[b.n/8] |= 0x80 >> uint(b.n%8)
		}
		b.n++
	}
}

// dataBits builds the data codewords: mode 0100, count, bytes, terminator,
// padding to a byte, then alternating pad bytes 0xEC 0x11.
func dataBits(ver int, data []byte) []byte {
	capBits := dataCodewords(ver) * 8
	var b bitBuffer
	b.put(0b0100, 4)
	if ver >= 10 {
		b.put(uint(len(data)), 16)
	} else {
		b.put(uint(len(data)), 8)
	}
	for _, d := range data {
		b.put(uint(d), 8)
	}
	b.put(0, min(4, capBits-b.n))
	if b.n%8 != 0 {
		b.put(0, 8-b.n%8)
	}
	for pad := uint(0xEC); b.n < capBits; pad ^= 0xEC ^ 0x11 {
		b.put(pad, 8)
	}
	return b.bytes
}

// addECC splits data into blocks, appends Reed-Solomon codewords to each
// and interleaves them as the standard prescribes.
func addECC(ver int, data []byte) []byte {
	nBlocks, ecLen := blocksM[ver], eccPerBlockM[ver]
	raw := rawCodewords(ver)
	nShort := nBlocks - raw%nBlocks
	shortLen := raw / nBlocks // data + ecc of a short block
	gen := rsGenerator(ecLen)
	var blocks [][]byte
	var eccs [][]byte
	k := 0
	for i := 0; i < nBlocks; i++ {
		n := shortLen - ecLen
		if i >= nShort {
			n++
		}
		blk := data[k : k+n]
		k += n
		blocks = append(blocks, blk)
		eccs = append(eccs, rsRemainder(blk, gen))
	}
	out := make([]byte, 0, raw)
	for i := 0; i <= shortLen-ecLen; i++ {
		for _, blk := range blocks {
			if i < len(blk) {
				out = append(out, blk[i])
			}
		}
	}
	for i := 0; i < ecLen; i++ {
		for _, e := range eccs {
			out = append(out, e[i])
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x^2+1 (0x11D).
func gfMul(x, y byte) byte {
	var z byte
	for i := 7; i >= 0; i-- {
		hi := z & 0x80
		z <<= 1
		if hi != 0 {
			z ^= 0x1D
		}
		if y>>uint(i)&1 == 1 {
			z ^= x
		}
	}
	return z
}

// rsGenerator returns the coefficients (highest power first, leading 1
// omitted) of ∏(x − α^i), i = 0..degree−1, α = 2.
func rsGenerator(degree int) []byte {
	g := make([]byte, degree)
	g[degree-1] = 1
	root := byte(1)
	for i := 0; i < degree; i++ {
		for j := 0; j < degree; j++ {
			g[j] = gfMul(g[j], root)
			if j+1 < degree {
				g[j] ^= g[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return g
}

// rsRemainder returns data(x)·x^n mod gen(x), the n EC codewords.
func rsRemainder(data, gen []byte) []byte {
	rem := make([]byte, len(gen))
	for _, b := range data {
		f := b ^ rem[0]
		copy(rem, rem[1:])
		rem[len(rem)-1] = 0
		for i := range rem {
			rem[i] ^= gfMul(gen[i], f)
		}
	}
	return rem
}

// set writes a function module and marks it reserved.
func (c *Code) set(fn [][]bool, x, y int, dark bool) {
	c.modules[y][x] = dark
	fn[y][x] = true
}

func (c *Code) drawFunctionPatterns(fn [][]bool) {
	n := c.Size
	for i := 0; i < n; i++ { // timing patterns
		c.set(fn, 6, i, i%2 == 0)
		c.set(fn, i, 6, i%2 == 0)
	}
	for _, p := range [][2]int{{3, 3}, {n - 4, 3}, {3, n - 4}} { // finders + separators
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := p[0]+dx, p[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				d := max(abs(dx), abs(dy))
				c.set(fn, x, y, d != 2 && d != 4)
			}
		}
	}
	pos := alignment[c.Version]
	for i, cx := range pos {
		for j, cy := range pos {
			if i == 0 && j == 0 || i == 0 && j == len(pos)-1 || i == len(pos)-1 && j == 0 {
				continue // overlaps a finder
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					c.set(fn, cx+dx, cy+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	c.drawFormat(fn, 0) // reserve; rewritten after masking
	if c.Version >= 7 {
		bits := VersionBits(c.Version)
		for i := 0; i < 18; i++ {
			dark := bits>>uint(i)&1 == 1
			a, b := n-11+i%3, i/3
			c.set(fn, a, b, dark)
			c.set(fn, b, a, dark)
		}
	}
}

// FormatBits returns the 15-bit format information for level M and mask:
// BCH(15,5) with generator 0x537, XORed with 0x5412.
func FormatBits(mask int) uint {
	data := uint(eclM<<3 | mask)
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem&0x3FF) ^ 0x5412
}

// VersionBits returns the 18-bit version information (versions ≥ 7):
// BCH(18,6) with generator 0x1F25.
func VersionBits(ver int) uint {
	rem := uint(ver)
	for i := 0; i < 12; i++ {
		rem = rem<<1 ^ (rem>>11)*0x1F25
	}
	return uint(ver)<<12 | rem&0xFFF
}

// drawFormat writes both copies of the format information and the dark module.
func (c *Code) drawFormat(fn [][]bool, mask int) {
	bits := FormatBits(mask)
	bit := func(i int) bool { return bits>>uint(i)&1 == 1 }
	n := c.Size
	for i := 0; i <= 5; i++ {
		c.set(fn, 8, i, bit(i))
	}
	c.set(fn, 8, 7, bit(6))
	c.set(fn, 8, 8, bit(7))
	c.set(fn, 7, 8, bit(8))
	for i := 9; i < 15; i++ {
		c.set(fn, 14-i, 8, bit(i))
	}
	for i := 0; i < 8; i++ {
		c.set(fn, n-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		c.set(fn, 8, n-15+i, bit(i))
	}
	c.set(fn, 8, n-8, true)
}

// drawCodewords places the codewords in the two-column zigzag from the
// bottom-right corner, skipping function modules and the timing column.
func (c *Code) drawCodewords(fn [][]bool, data []byte) {
	n := c.Size
	i := 0
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for vert := 0; vert < n; vert++ {
			y := vert
			if upward {
				y = n - 1 - vert
			}
			for j := 0; j < 2; j++ {
				x := right - j
				if fn[y][x] || i >= len(data)*8 {
					continue
				}
				c.modules[y][x] = data[i/8]>>uint(7-i%8)&1 == 1
				i++
			}
		}
	}
}

// MaskBit reports whether mask pattern m inverts the module at (x, y).
func MaskBit(m, x, y int) bool {
	switch m {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	default:
		return ((x+y)%2+x*y%3)%2 == 0
	}
}

// applyMask XORs mask m onto every non-function module (an involution).
func (c *Code) applyMask(fn [][]bool, m int) {
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if !fn[y][x] && MaskBit(m, x, y) {
				c.modules[y][x] = !c.modules[y][x]
			}
		}
	}
}

// penalty scores the symbol with the four rules of ISO/IEC 18004 §7.8.3.
func (c *Code) penalty() int {
	n := c.Size
	p := 0
	at := func(x, y int, transpose bool) bool {
		if transpose {
			return c.modules[x][y]
		}
		return c.modules[y][x]
	}
	finderA := []bool{true, false, true, true, true, false, true, false, false, false, false}
	finderB := []bool{false, false, false, false, true, false, true, true, true, false, true}
	for _, tr := range []bool{false, true} {
		for y := 0; y < n; y++ {
			run := 1
			for x := 1; x <= n; x++ { // rule 1: runs of ≥ 5
				if x < n && at(x, y, tr) == at(x-1, y, tr) {
					run++
					continue
				}
				if run >= 5 {
					p += 3 + run - 5
				}
				run = 1
			}
			for x := 0; x+11 <= n; x++ { // rule 3: finder-like 1:1:3:1:1
				ma, mb := true, true
				for k := 0; k < 11; k++ {
					v := at(x+k, y, tr)
					ma = ma && v == finderA[k]
					mb = mb && v == finderB[k]
				}
				if ma {
					p += 40
				}
				if mb {
					p += 40
				}
			}
		}
	}
	dark := 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if c.modules[y][x] {
				dark++
			}
			if x+1 < n && y+1 < n { // rule 2: 2×2 blocks
				v := c.modules[y][x]
				if v == c.modules[y][x+1] && v == c.modules[y+1][x] && v == c.modules[y+1][x+1] {
					p += 3
				}
			}
		}
	}
	total := n * n
	p += abs(dark*2-total) * 10 / total * 10 // rule 4: each 5% off 50%
	return p
}

// Image renders the symbol with scale pixels per module and the standard
// 4-module quiet zone, black on white (scale < 1 is taken as 1).
func (c *Code) Image(scale int) image.Image {
	if scale < 1 {
		scale = 1
	}
	w := (c.Size + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, w, w), color.Palette{color.White, color.Black})
	for py := 0; py < w; py++ {
		for px := 0; px < w; px++ {
			if c.Dark(px/scale-QuietZone, py/scale-QuietZone) {
				img.SetColorIndex(px, py, 1)
			}
		}
	}
	return img
}

// PNG encodes Image(scale) as PNG.
func (c *Code) PNG(scale int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.Image(scale)); err != nil {
		return nil, fmt.Errorf("qrcode: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
