package book

import (
	"context"
	"time"

	"motcua/shared/receipt"
	"motcua/shared/receipt/format"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/pdf"
	"motcua/shared/receipt/signing"
	"motcua/shared/receipt/xmldsig"
)

// FormatDocuments is the Documents adapter over the registered formats
// (receipt/format: Current to issue, Verify for any version), a signer
// (receipt/signing, local or KMS), and optional QR and PDF makers.
type FormatDocuments struct {
	// Signer signs the XML.
	Signer xmldsig.Signer
	// QRFunc returns the signed offline QR payload; nil gives no QR.
	QRFunc func(r receipt.Receipt) (string, error)
	// PDFFunc renders the PDF; nil gives no PDF.
	PDFFunc func(r receipt.Receipt, qr string) ([]byte, error)
}

var _ Documents = (*FormatDocuments)(nil)

// Format is the current format's version.
func (d *FormatDocuments) Format() string { return format.Current().Version() }

// SignXML marshals r in the current format and signs it at at.
func (d *FormatDocuments) SignXML(_ context.Context, r receipt.Receipt, at time.Time) ([]byte, error) {
	return format.Current().Issue(r, d.Signer, at)
}

// QR returns r's offline payload, or "" without a QR maker.
func (d *FormatDocuments) QR(r receipt.Receipt) (string, error) {
	if d.QRFunc == nil {
		return "", nil
	}
	return d.QRFunc(r)
}

// PDF renders r, or nil without a PDF maker.
func (d *FormatDocuments) PDF(r receipt.Receipt, qr string) ([]byte, error) {
	if d.PDFFunc == nil {
		return nil, nil
	}
	return d.PDFFunc(r, qr)
}

// Verify checks a signed receipt in whichever format it declares.
func (d *FormatDocuments) Verify(signed []byte) (receipt.Receipt, error) {
	r, _, _, err := format.Verify(signed)
	return r, err
}

// StandardDocuments returns the Documents of a collecting unit: XML signed
// by signer, offline QR signed by qr, and the PDF (pageSize "A5" or "A4")
// carrying the QR and, when lookupBase is set, the look-up link.
func StandardDocuments(signer signing.Signer, qr *offlineqr.Signer, pageSize, lookupBase string) *FormatDocuments {
	return &FormatDocuments{
		Signer: signer,
		QRFunc: qr.SignReceipt,
		PDFFunc: func(r receipt.Receipt, payload string) ([]byte, error) {
			o := pdf.Options{PageSize: pageSize, QRPayload: payload, SignedBy: signer.Certificate().Subject.CommonName, SignedAt: r.IssuedAt}
			if lookupBase != "" {
				o.LookupURL = LinkFor(lookupBase, ID{TemplateSymbol: r.TemplateSymbol, Series: r.Series, Number: r.Number}, r.LookupCode, "json")
			}
			return pdf.Render(r, o)
		},
	}
}
