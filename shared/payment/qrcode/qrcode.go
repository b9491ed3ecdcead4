// Package qrcode renders payment payloads such as VietQR as QR Code
// (ISO/IEC 18004) images. The symbol comes from
// github.com/yeqown/go-qrcode/v2 in byte mode at error-correction level M
// (what VietQR apps expect); this package only draws it, with the quiet
// zone the standard requires, as an image.Image or a PNG. Safe for
// concurrent use.
package qrcode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	yqr "github.com/yeqown/go-qrcode/v2"
)

// QuietZone is the light border, in modules, the standard requires.
const QuietZone = 4

// MaxBytes bounds the data Encode accepts: a VietQR payload is at most a
// few hundred bytes, and the bound keeps a symbol (and its PNG) small.
const MaxBytes = 512

// ErrTooLong means the data is longer than MaxBytes.
var ErrTooLong = errors.New("qrcode: data longer than 512 bytes")

// Code is an encoded symbol. The zero value is not useful; use Encode.
type Code struct {
	// Version is the symbol version (1-40); the symbol is 17+4×Version
	// modules wide.
	Version int
	// Size is the width and height in modules, without quiet zone.
	Size int

	modules [][]bool // [y][x], true = dark
}

// Encode encodes data in byte mode at level M in the smallest version that
// holds it.
func Encode(data []byte) (*Code, error) {
	if len(data) > MaxBytes {
		return nil, ErrTooLong
	}
	q, err := yqr.NewWith(data,
		yqr.WithEncodingMode(yqr.EncModeByte),
		yqr.WithErrorCorrectionLevel(yqr.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qrcode: %w", err)
	}
	var m matrixWriter
	if err := q.Save(&m); err != nil {
		return nil, fmt.Errorf("qrcode: %w", err)
	}
	size := len(m.bitmap)
	if size < 21 || (size-17)%4 != 0 {
		return nil, fmt.Errorf("qrcode: encoder returned a %d-module symbol", size)
	}
	return &Code{Version: (size - 17) / 4, Size: size, modules: m.bitmap}, nil
}

// matrixWriter is the go-qrcode Writer that keeps the symbol's modules.
type matrixWriter struct{ bitmap [][]bool }

func (w *matrixWriter) Write(mat yqr.Matrix) error {
	w.bitmap = mat.Bitmap()
	return nil
}

func (w *matrixWriter) Close() error { return nil }

// Dark reports whether the module at column x, row y is dark; coordinates
// outside the symbol (the quiet zone) are light.
func (c *Code) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= c.Size || y >= c.Size {
		return false
	}
	return c.modules[y][x]
}

// Image renders the symbol with scale pixels per module and the standard
// quiet zone, black on white. scale < 1 is taken as 1.
func (c *Code) Image(scale int) image.Image {
	if scale < 1 {
		scale = 1
	}
	side := (c.Size + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if !c.modules[y][x] {
				continue
			}
			x0, y0 := (x+QuietZone)*scale, (y+QuietZone)*scale
			for py := y0; py < y0+scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := x0; px < x0+scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	return img
}

// PNG encodes Image(scale) as PNG.
func (c *Code) PNG(scale int) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, c.Image(scale)); err != nil {
		return nil, fmt.Errorf("qrcode png: %w", err)
	}
	return b.Bytes(), nil
}
