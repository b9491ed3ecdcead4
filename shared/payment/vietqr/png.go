package vietqr

import (
	"fmt"

	"motcua/shared/payment/qrcode"
)

// DefaultScale is the pixels per QR module PNG uses when scale < 1: a
// 124-byte VietQR (version 8, 49 modules + quiet zone) becomes 456 px.
const DefaultScale = 8

// PNG builds p's payload and renders it as a QR code PNG (level M, quiet
// zone included) with scale pixels per module; scale < 1 means DefaultScale.
func PNG(p Payload, scale int) ([]byte, error) {
	s, err := Build(p)
	if err != nil {
		return nil, err
	}
	if scale < 1 {
		scale = DefaultScale
	}
	code, err := qrcode.Encode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("vietqr png: %w", err)
	}
	return code.PNG(scale)
}
