package receipt

import (
	"net/http"

	"motcua/shared/fault"
)

// Verification errors: what failed when a signed receipt was checked. A
// format package returns them (wrapped with detail) from Verify; callers
// test with errors.Is and show the kind's messages.
var (
	// ErrMalformed means the document is not a well-formed receipt of a
	// known shape: bad XML, missing or repeated elements, a signature of
	// an unexpected structure or algorithm.
	ErrMalformed = fault.New(domain, "malformed_receipt", http.StatusUnprocessableEntity,
		"Tệp biên lai không đúng định dạng.", "The receipt document is malformed.")
	// ErrSignatureInvalid means the signature does not verify with the
	// certificate it carries (forged, or signed by another key).
	ErrSignatureInvalid = fault.New(domain, "signature_invalid", http.StatusUnprocessableEntity,
		"Chữ ký số trên biên lai không hợp lệ.", "The receipt's digital signature is not valid.")
	// ErrContentAltered means the signature is genuine but the signed
	// content (receipt data or signing time) was changed afterwards.
	ErrContentAltered = fault.New(domain, "content_altered", http.StatusUnprocessableEntity,
		"Nội dung biên lai đã bị thay đổi sau khi ký.", "The receipt's content was altered after it was signed.")
	// ErrUnknownFormat means no registered format version recognises the
	// document.
	ErrUnknownFormat = fault.New(domain, "unknown_receipt_format", http.StatusUnprocessableEntity,
		"Không nhận dạng được phiên bản định dạng biên lai.", "The receipt's format version is not recognised.")
)
