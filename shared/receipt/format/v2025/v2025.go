// Package v2025 is the XML format of motcua's electronic fee receipts under
// Decree 123/2020/NĐ-CP as amended by Decree 70/2025/NĐ-CP, Circular
// 32/2025/TT-BTC and the XML conventions of the tax authority's data-format
// decision (Decision 1271/QĐ-CT, 2025): UTF-8, dates YYYY-MM-DD, date-times
// YYYY-MM-DDThh:mm:ss in GMT+7, numbers of at most 21 digits with at most 6
// decimals (amounts here are whole đồng).
//
// It is the only package that knows these element names. We found no
// published schema for fee receipts (biên lai), so the names follow the
// e-invoice (HDon) shape Vietnamese tooling reads, with the invoice words
// swapped for receipt words: BLai/DLBLai/TTChung/NDBLai/DSCKS mirror
// HDon/DLHDon/TTChung/NDHDon/DSCKS; KHMSBLai, KHBLai, SBLai mirror
// KHMSHDon, KHHDon, SHDon; NThu (đơn vị thu) and NNop (người nộp) take the
// places of NBan and NMua; TTBLLQuan mirrors TTHDLQuan for replacements and
// adjustments. When the tax authority publishes a receipt schema (or a 2026
// decree replaces these texts), it becomes a new package beside this one,
// registered in receipt/format.
//
//	<BLai>
//	  <DLBLai Id="DLBLai">                 signed data
//	    <TTChung>…</TTChung>               general information
//	    <NDBLai>…</NDBLai>                 content
//	  </DLBLai>
//	  <DSCKS><NThu><Signature/></NThu></DSCKS>  the collecting unit's signature
//	</BLai>
package v2025

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"motcua/shared/receipt"
	"motcua/shared/receipt/xmldsig"
	"motcua/shared/vnwords"
)

// Version identifies this format in the registry and in PBan.
const Version = "v2025"

// PBan is the format version written in TTChung/PBan.
const PBan = "BL-2025.1"

// Title is the document title written in TTChung/TBLai.
const Title = "Biên lai thu phí, lệ phí"

// MaxSize bounds a document given to Verify.
const MaxSize = 256 << 10

// Element names and fixed identifiers.
const (
	elRoot      = "BLai"
	elData      = "DLBLai"
	dataID      = "DLBLai"
	sigID       = "NThu-Signature"
	elSigs      = "DSCKS"
	elSigParty  = "NThu"
	dateLayout  = "2006-01-02"
	timeLayout  = "2006-01-02T15:04:05"
	kindReplace = "1"
	kindAdjust  = "2"
)

// Format is the v2025 receipt format. The zero value is ready to use and
// safe for concurrent use.
type Format struct{}

// Version returns Version.
func (Format) Version() string { return Version }

// Marshal renders r as an unsigned receipt document. r must be valid.
func (Format) Marshal(r receipt.Receipt) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	doc := build(r)
	return doc.WriteToBytes()
}

func build(r receipt.Receipt) *etree.Document {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement(elRoot)
	data := root.CreateElement(elData)
	data.CreateAttr("Id", dataID)

	tt := data.CreateElement("TTChung")
	text(tt, "PBan", PBan)
	text(tt, "TBLai", Title)
	text(tt, "KHMSBLai", r.TemplateSymbol)
	text(tt, "KHBLai", r.Series)
	text(tt, "SBLai", strconv.FormatUint(uint64(r.Number), 10))
	issued := r.IssuedAt.In(receipt.Zone)
	text(tt, "NLap", issued.Format(dateLayout))
	text(tt, "TGLap", issued.Format(timeLayout))
	text(tt, "DVTTe", "VND")
	text(tt, "HTTToan", r.PaymentMethod)
	if r.BankTxnRef != "" {
		text(tt, "MGDTToan", r.BankTxnRef)
	}
	if r.PaymentRef != "" {
		text(tt, "MTToan", r.PaymentRef)
	}
	text(tt, "MTCuu", r.LookupCode)
	if o := r.Original; o != nil {
		rel := tt.CreateElement("TTBLLQuan")
		kind := kindReplace
		if r.Kind == receipt.KindAdjustment {
			kind = kindAdjust
		}
		text(rel, "TCBLai", kind)
		text(rel, "KHMSBLCLQuan", o.TemplateSymbol)
		text(rel, "KHBLCLQuan", o.Series)
		text(rel, "SBLCLQuan", strconv.FormatUint(uint64(o.Number), 10))
		text(rel, "NLBLCLQuan", o.IssuedOn.In(receipt.Zone).Format(dateLayout))
		text(rel, "GChu", o.Reason)
	}

	nd := data.CreateElement("NDBLai")
	thu := nd.CreateElement("NThu")
	text(thu, "Ten", r.Unit.Name)
	text(thu, "MST", r.Unit.TaxCode)
	text(thu, "DChi", r.Unit.Address)
	nop := nd.CreateElement("NNop")
	text(nop, "Ten", r.Payer.Name)
	if r.Payer.IDIsTaxCode() {
		text(nop, "MST", r.Payer.ID)
	} else {
		text(nop, "CCCDan", r.Payer.ID)
	}
	if r.Payer.Address != "" {
		text(nop, "DChi", r.Payer.Address)
	}
	hs := nd.CreateElement("TTHSo")
	text(hs, "MTTHC", r.ProcedureCode)
	text(hs, "TTTHC", r.ProcedureName)
	text(hs, "MHSo", r.ApplicationCode)
	ds := nd.CreateElement("DSKThu")
	for i, l := range r.Lines {
		k := ds.CreateElement("KThu")
		text(k, "STT", strconv.Itoa(i+1))
		text(k, "TKThu", l.Name)
		text(k, "LKThu", string(l.Kind))
		text(k, "STien", strconv.FormatInt(l.AmountVND, 10))
	}
	tot := nd.CreateElement("TToan")
	text(tot, "TgTTTBSo", strconv.FormatInt(r.TotalVND, 10))
	text(tot, "TgTTTBChu", vnwords.VND(r.TotalVND))

	root.CreateElement(elSigs).CreateElement(elSigParty)
	return doc
}

func text(parent *etree.Element, tag, value string) {
	parent.CreateElement(tag).SetText(value)
}

// Signer is what Sign needs (receipt/signing.Signer satisfies it).
type Signer = xmldsig.Signer

// Sign adds the collecting unit's signature, made at at, to an unsigned
// document produced by Marshal, and returns the signed document.
func (f Format) Sign(unsigned []byte, s Signer, at time.Time) ([]byte, error) {
	doc, err := parse(unsigned)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	data, party, err := layout(root)
	if err != nil {
		return nil, err
	}
	if len(party.ChildElements()) != 0 {
		return nil, receipt.ErrMalformed.WithCause(errors.New("v2025: the document is already signed"))
	}
	if _, err := decode(data); err != nil {
		return nil, err
	}
	if err := xmldsig.Sign(data, party, s, sigID, at); err != nil {
		return nil, err
	}
	return doc.WriteToBytes()
}

// Issue marshals and signs r in one step.
func (f Format) Issue(r receipt.Receipt, s Signer, at time.Time) ([]byte, error) {
	unsigned, err := f.Marshal(r)
	if err != nil {
		return nil, err
	}
	return f.Sign(unsigned, s, at)
}

// Recognizes reports whether doc looks like a v2025 receipt (its root and
// PBan), without verifying anything.
func (Format) Recognizes(doc []byte) bool {
	head := doc[:min(len(doc), 4096)]
	return bytes.Contains(head, []byte("<"+elRoot+">")) && bytes.Contains(head, []byte("<PBan>"+PBan+"</PBan>"))
}

// Verify checks a signed document and returns the receipt it vouches for
// and the signer's certificate (whose trust is the caller's decision). The
// error is receipt.ErrMalformed, ErrSignatureInvalid or ErrContentAltered,
// wrapping a cause that names what failed.
func (Format) Verify(signed []byte) (receipt.Receipt, *x509.Certificate, error) {
	doc, err := parse(signed)
	if err != nil {
		return receipt.Receipt{}, nil, err
	}
	data, party, err := layout(doc.Root())
	if err != nil {
		return receipt.Receipt{}, nil, err
	}
	sigs := party.ChildElements()
	if len(sigs) != 1 {
		return receipt.Receipt{}, nil, malformed("%s/%s holds %d elements, want one Signature", elSigs, elSigParty, len(sigs))
	}
	res, err := xmldsig.Verify(data, sigs[0])
	if err != nil {
		return receipt.Receipt{}, nil, err
	}
	// Decode from the bytes the signature covers, not from the document.
	signedDoc := etree.NewDocument()
	if err := signedDoc.ReadFromBytes(res.Data); err != nil {
		return receipt.Receipt{}, nil, malformed("signed data: %v", err)
	}
	r, err := decode(signedDoc.Root())
	if err != nil {
		return receipt.Receipt{}, nil, err
	}
	return r, res.Certificate, nil
}

func malformed(format string, args ...any) error {
	return receipt.ErrMalformed.WithCause(fmt.Errorf("v2025: "+format, args...))
}

// parse reads a document, refusing what a receipt never holds: a DOCTYPE
// (entity tricks), non-UTF-8 text, an oversized input.
func parse(b []byte) (*etree.Document, error) {
	if len(b) > MaxSize {
		return nil, malformed("document of %d bytes exceeds %d", len(b), MaxSize)
	}
	if !utf8.Valid(b) {
		return nil, malformed("document is not UTF-8")
	}
	doc := etree.NewDocument()
	doc.ReadSettings.ValidateInput = true
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, malformed("not well-formed XML: %v", err)
	}
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, malformed("DOCTYPE and other directives are not allowed")
		case *etree.ProcInst:
			if t.Target != "xml" {
				return nil, malformed("processing instruction %q is not allowed", t.Target)
			}
		}
	}
	if doc.Root() == nil {
		return nil, malformed("no root element")
	}
	return doc, nil
}

// layout finds the data element and the signature holder of a document,
// which must have exactly the BLai shape: one DLBLai, one DSCKS/NThu, no
// namespaces, no other element carrying the data element's Id.
func layout(root *etree.Element) (data, party *etree.Element, err error) {
	if root.Tag != elRoot || root.Space != "" || root.NamespaceURI() != "" {
		return nil, nil, malformed("root element is %s, want %s without namespace", root.FullTag(), elRoot)
	}
	for _, a := range root.Attr {
		if a.Space == "xmlns" || a.Key == "xmlns" {
			return nil, nil, malformed("namespace declarations on %s are not allowed", elRoot)
		}
	}
	kids := root.ChildElements()
	if len(kids) != 2 || kids[0].Tag != elData || kids[1].Tag != elSigs || kids[0].Space != "" || kids[1].Space != "" {
		return nil, nil, malformed("%s must hold exactly %s then %s", elRoot, elData, elSigs)
	}
	data = kids[0]
	if data.SelectAttrValue("Id", "") != dataID || len(data.Attr) != 1 {
		return nil, nil, malformed("%s must carry exactly Id=%q", elData, dataID)
	}
	sigs := kids[1].ChildElements()
	if len(sigs) != 1 || sigs[0].Tag != elSigParty || sigs[0].Space != "" {
		return nil, nil, malformed("%s must hold exactly %s", elSigs, elSigParty)
	}
	if n := len(root.FindElements("//*[@Id='" + dataID + "']")); n != 1 {
		return nil, nil, malformed("%d elements carry Id %q, want one", n, dataID)
	}
	return data, sigs[0], nil
}
