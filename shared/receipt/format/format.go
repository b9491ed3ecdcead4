// Package format is the registry of receipt document formats, one package
// per legal format version (v2025 today). Code that issues receipts uses
// Current; code that checks a receipt uses Verify, which finds the version
// the document declares, so receipts issued under an older version stay
// verifiable after the next one is added.
//
// Adding a version (e.g. for a 2026 decree) is an addition: a new package
// beside v2025 implementing Format, one line in registry, and Current
// pointing at it.
package format

import (
	"crypto/x509"
	"time"

	"motcua/shared/receipt"
	"motcua/shared/receipt/format/v2025"
	"motcua/shared/receipt/xmldsig"
)

// Format is one version of the signed receipt document. Implementations
// are safe for concurrent use.
type Format interface {
	// Version names the format, e.g. "v2025".
	Version() string
	// Marshal renders a valid receipt as an unsigned document.
	Marshal(r receipt.Receipt) ([]byte, error)
	// Sign adds the collecting unit's enveloped XMLDSig signature made at
	// at to a document produced by Marshal.
	Sign(unsigned []byte, s xmldsig.Signer, at time.Time) ([]byte, error)
	// Issue is Marshal then Sign.
	Issue(r receipt.Receipt, s xmldsig.Signer, at time.Time) ([]byte, error)
	// Recognizes reports whether a document declares this version.
	Recognizes(doc []byte) bool
	// Verify checks a signed document and returns its receipt and the
	// signer's certificate, or receipt.ErrMalformed,
	// ErrSignatureInvalid or ErrContentAltered naming what failed.
	Verify(signed []byte) (receipt.Receipt, *x509.Certificate, error)
}

var (
	current  Format = v2025.Format{}
	registry        = []Format{v2025.Format{}}
)

// Current returns the format new receipts are issued in.
func Current() Format { return current }

// Lookup returns the format called version.
func Lookup(version string) (Format, bool) {
	for _, f := range registry {
		if f.Version() == version {
			return f, true
		}
	}
	return nil, false
}

// Versions lists the registered format versions.
func Versions() []string {
	out := make([]string, len(registry))
	for i, f := range registry {
		out[i] = f.Version()
	}
	return out
}

// Verify checks a signed receipt in whichever registered format it
// declares; receipt.ErrUnknownFormat when none recognises it.
func Verify(signed []byte) (receipt.Receipt, *x509.Certificate, Format, error) {
	for _, f := range registry {
		if f.Recognizes(signed) {
			r, cert, err := f.Verify(signed)
			return r, cert, f, err
		}
	}
	return receipt.Receipt{}, nil, nil, receipt.ErrUnknownFormat
}
