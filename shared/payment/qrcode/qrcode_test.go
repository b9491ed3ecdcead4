package qrcode_test

import (
	"bytes"
	"errors"
	"image/png"
	"strings"
	"testing"

	"motcua/shared/payment/qrcode"
)

// Tables below come from ISO/IEC 18004 (level M) and are kept independent
// of the encoder's own.
var (
	totalCodewords = map[int]int{1: 26, 2: 44, 3: 70, 4: 100, 5: 134, 6: 172, 7: 196, 8: 242, 9: 292, 10: 346}
	blocks         = map[int]int{1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 4, 8: 4, 9: 5, 10: 5}
	eccPerBlock    = map[int]int{1: 10, 2: 16, 3: 26, 4: 18, 5: 24, 6: 16, 7: 18, 8: 22, 9: 22, 10: 26}
	alignCentres   = map[int][]int{2: {6, 18}, 3: {6, 22}, 4: {6, 26}, 5: {6, 30}, 6: {6, 34},
		7: {6, 22, 38}, 8: {6, 24, 42}, 9: {6, 26, 46}, 10: {6, 28, 50}}
	// formatM are the 15-bit format strings of level M, masks 0-7.
	formatM = []string{"101010000010010", "101000100100101", "101111001111100", "101101101001011",
		"100010111111001", "100000011001110", "100111110010111", "100101010100000"}
	// versionInfo are the 18-bit version strings of versions 7-10.
	versionInfo = map[int]uint{7: 0x07C94, 8: 0x085BC, 9: 0x09A99, 10: 0x0A4D3}
)

func maskBit(m, x, y int) bool { // the standard's table 10, written afresh
	switch m {
	case 0:
		return (y+x)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (y+x)%3 == 0
	case 4:
		return (y/2+x/3)%2 == 0
	case 5:
		return (y*x)%2+(y*x)%3 == 0
	case 6:
		return ((y*x)%2+(y*x)%3)%2 == 0
	}
	return ((y+x)%2+(y*x)%3)%2 == 0
}

// gf holds GF(256) exp/log tables for syndrome checks.
var gfExp, gfLog = func() ([512]byte, [256]int) {
	var e [512]byte
	var l [256]int
	x := 1
	for i := 0; i < 255; i++ {
		e[i] = byte(x)
		l[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for i := 255; i < 512; i++ {
		e[i] = e[i-255]
	}
	return e, l
}()

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

// decode reads a symbol back the way a scanner would (without error
// correction): it checks the fixed patterns, reads the format and version
// information, unmasks, reads the codewords, checks every block's RS
// syndromes are zero and returns the byte-mode payload.
func decode(t *testing.T, c *qrcode.Code) []byte {
	t.Helper()
	n := c.Size
	v := (n - 17) / 4
	if n != 17+4*v || v != c.Version {
		t.Fatalf("size %d for version %d", n, c.Version)
	}
	fn := make([][]bool, n)
	for i := range fn {
		fn[i] = make([]bool, n)
	}
	reserve := func(x, y int) { fn[y][x] = true }

	// Finder patterns and separators.
	for _, o := range [][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
		for dy := -1; dy <= 7; dy++ {
			for dx := -1; dx <= 7; dx++ {
				x, y := o[0]+dx, o[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				reserve(x, y)
				want := dx >= 0 && dx <= 6 && dy >= 0 && dy <= 6 &&
					(dx == 0 || dx == 6 || dy == 0 || dy == 6 || (dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4))
				if c.Dark(x, y) != want {
					t.Fatalf("finder at %v: module (%d,%d) dark=%v", o, x, y, c.Dark(x, y))
				}
			}
		}
	}
	// Timing patterns.
	for i := 8; i < n-8; i++ {
		reserve(i, 6)
		reserve(6, i)
		if c.Dark(i, 6) != (i%2 == 0) || c.Dark(6, i) != (i%2 == 0) {
			t.Fatalf("timing pattern broken at %d", i)
		}
	}
	// Alignment patterns.
	pos := alignCentres[v]
	for i, cx := range pos {
		for j, cy := range pos {
			if (i == 0 && j == 0) || (i == 0 && j == len(pos)-1) || (i == len(pos)-1 && j == 0) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					reserve(cx+dx, cy+dy)
					ring := max(dx, -dx, dy, -dy)
					if c.Dark(cx+dx, cy+dy) != (ring != 1) {
						t.Fatalf("alignment pattern at (%d,%d) broken", cx, cy)
					}
				}
			}
		}
	}
	// Dark module.
	reserve(8, n-8)
	if !c.Dark(8, n-8) {
		t.Fatal("dark module is light")
	}
	// Format information, both copies, bit 14 first.
	var f1, f2 strings.Builder
	bit := func(b *strings.Builder, x, y int) {
		reserve(x, y)
		if c.Dark(x, y) {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	for _, x := range []int{0, 1, 2, 3, 4, 5, 7, 8} {
		bit(&f1, x, 8)
	}
	for _, y := range []int{7, 5, 4, 3, 2, 1, 0} {
		bit(&f1, 8, y)
	}
	for y := n - 1; y >= n-7; y-- {
		bit(&f2, 8, y)
	}
	for x := n - 8; x < n; x++ {
		bit(&f2, x, 8)
	}
	if f1.String() != f2.String() {
		t.Fatalf("format copies differ: %s vs %s", f1.String(), f2.String())
	}
	mask := -1
	for m, s := range formatM {
		if s == f1.String() {
			mask = m
		}
	}
	if mask < 0 || mask != c.Mask {
		t.Fatalf("format %s is not level M with mask %d", f1.String(), c.Mask)
	}
	// Version information (v ≥ 7), both copies.
	if v >= 7 {
		var a, b uint
		for i := 17; i >= 0; i-- {
			x, y := n-11+i%3, i/3
			reserve(x, y)
			reserve(y, x)
			a <<= 1
			b <<= 1
			if c.Dark(x, y) {
				a |= 1
			}
			if c.Dark(y, x) {
				b |= 1
			}
		}
		if a != versionInfo[v] || b != versionInfo[v] {
			t.Fatalf("version info %#x / %#x, want %#x", a, b, versionInfo[v])
		}
	}
	// Read the codewords (zigzag from bottom right, skipping column 6).
	var raw []byte
	var cur byte
	nbits := 0
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right--
		}
		for k := 0; k < n; k++ {
			y := k
			if (right+1)&2 == 0 {
				y = n - 1 - k
			}
			for _, x := range []int{right, right - 1} {
				if fn[y][x] {
					continue
				}
				d := c.Dark(x, y) != maskBit(mask, x, y)
				cur <<= 1
				if d {
					cur |= 1
				}
				nbits++
				if nbits%8 == 0 {
					raw = append(raw, cur)
					cur = 0
				}
			}
		}
	}
	if len(raw) != totalCodewords[v] {
		t.Fatalf("read %d codewords, want %d", len(raw), totalCodewords[v])
	}
	// De-interleave and check RS syndromes.
	nb, ec := blocks[v], eccPerBlock[v]
	dataTotal := totalCodewords[v] - nb*ec
	short := dataTotal / nb
	nLong := dataTotal % nb
	blk := make([][]byte, nb)
	k := 0
	for i := 0; i <= short; i++ {
		for j := 0; j < nb; j++ {
			if i < short || j >= nb-nLong {
				blk[j] = append(blk[j], raw[k])
				k++
			}
		}
	}
	var data []byte
	for j := range blk {
		data = append(data, blk[j]...)
	}
	for i := 0; i < ec; i++ {
		for j := 0; j < nb; j++ {
			blk[j] = append(blk[j], raw[k])
			k++
		}
	}
	for j, b := range blk {
		for i := 0; i < ec; i++ {
			alpha := gfExp[i]
			var s byte
			for _, cw := range b {
				s = gfMul(s, alpha) ^ cw
			}
			if s != 0 {
				t.Fatalf("block %d: syndrome %d is %d", j, i, s)
			}
		}
	}
	// Parse the byte-mode segment.
	r := bitReader{b: data}
	if mode := r.read(4); mode != 0b0100 {
		t.Fatalf("mode %04b, want byte mode", mode)
	}
	countBits := 8
	if v >= 10 {
		countBits = 16
	}
	count := r.read(countBits)
	out := make([]byte, count)
	for i := range out {
		out[i] = byte(r.read(8))
	}
	if term := r.read(min(4, len(data)*8-r.pos)); term != 0 {
		t.Fatalf("terminator %b", term)
	}
	r.pos = (r.pos + 7) / 8 * 8
	for pad := 0xEC; r.pos < len(data)*8; pad ^= 0xEC ^ 0x11 {
		if got := r.read(8); got != pad {
			t.Fatalf("pad byte %#x, want %#x", got, pad)
		}
	}
	return out
}

type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) read(n int) int {
	v := 0
	for i := 0; i < n; i++ {
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func TestEncode_decodes_back(t *testing.T) {
	vietqr := "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA530370454061500005802VN62160812HS20260001236304D77C"
	tests := []struct {
		name    string
		data    string
		version int
	}{
		{"one_byte", "A", 1},
		{"version_1_full", strings.Repeat("x", 14), 1},
		{"version_2_first", strings.Repeat("x", 15), 2},
		{"vietqr_payload_124_bytes", vietqr, 8},
		{"version_7_first", strings.Repeat("7", 107), 7},
		{"version_9_full", strings.Repeat("9", 180), 9},
		{"version_10_full", strings.Repeat("z", 213), 10},
		{"utf8_bytes", "Lệ phí trước bạ", 2},
		{"empty", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := qrcode.Encode([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if c.Version != tt.version {
				t.Fatalf("version %d, want %d", c.Version, tt.version)
			}
			if got := decode(t, c); string(got) != tt.data {
				t.Fatalf("decoded %q, want %q", got, tt.data)
			}
		})
	}
}

func TestEncode_every_length_round_trips(t *testing.T) {
	for n := 0; n <= 213; n++ {
		data := bytes.Repeat([]byte{byte(n)}, n)
		for i := range data {
			data[i] = byte(i*31 + n)
		}
		c, err := qrcode.Encode(data)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if got := decode(t, c); !bytes.Equal(got, data) {
			t.Fatalf("len %d: decoded differs", n)
		}
	}
}

func TestEncode_too_long(t *testing.T) {
	if _, err := qrcode.Encode(make([]byte, 214)); !errors.Is(err, qrcode.ErrTooLong) {
		t.Fatalf("err %v", err)
	}
}

func TestFormatAndVersionBits(t *testing.T) {
	for m, s := range formatM {
		var want uint
		for _, ch := range s {
			want = want<<1 | uint(ch-'0')
		}
		if got := qrcode.FormatBits(m); got != want {
			t.Errorf("FormatBits(%d) = %015b, want %s", m, got, s)
		}
	}
	for v, want := range versionInfo {
		if got := qrcode.VersionBits(v); got != want {
			t.Errorf("VersionBits(%d) = %#x, want %#x", v, got, want)
		}
	}
	for m := 0; m < 8; m++ {
		for y := 0; y < 12; y++ {
			for x := 0; x < 12; x++ {
				if qrcode.MaskBit(m, x, y) != maskBit(m, x, y) {
					t.Fatalf("MaskBit(%d, %d, %d) disagrees with the standard", m, x, y)
				}
			}
		}
	}
}

func TestPNG(t *testing.T) {
	c, err := qrcode.Encode([]byte("HS2026000123"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PNG(4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := (c.Size + 2*qrcode.QuietZone) * 4
	if img.Bounds().Dx() != want || img.Bounds().Dy() != want {
		t.Fatalf("image %v, want %dx%d", img.Bounds(), want, want)
	}
	dark := func(px, py int) bool { r, _, _, _ := img.At(px, py).RGBA(); return r < 0x8000 }
	for my := -qrcode.QuietZone; my < c.Size+qrcode.QuietZone; my++ {
		for mx := -qrcode.QuietZone; mx < c.Size+qrcode.QuietZone; mx++ {
			px, py := (mx+qrcode.QuietZone)*4+1, (my+qrcode.QuietZone)*4+2
			if dark(px, py) != c.Dark(mx, my) {
				t.Fatalf("pixel for module (%d,%d) wrong", mx, my)
			}
		}
	}
}
