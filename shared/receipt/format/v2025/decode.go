package v2025

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"motcua/shared/receipt"
	"motcua/shared/vnwords"
)

// node reads the child elements of one element strictly: every child is
// expected, none repeats unless asked, and leaf elements hold text only.
type node struct {
	el   *etree.Element
	path string
	kids map[string][]*etree.Element
	used map[string]bool
	err  *error
}

func newNode(el *etree.Element, path string, err *error) *node {
	n := &node{el: el, path: path, kids: map[string][]*etree.Element{}, used: map[string]bool{}, err: err}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			n.kids[t.Tag] = append(n.kids[t.Tag], t)
			if t.Space != "" {
				n.fail("%s/%s: namespaced elements are not allowed", path, t.FullTag())
			}
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				n.fail("%s: unexpected text", path)
			}
		default:
			n.fail("%s: comments and processing instructions are not allowed", path)
		}
	}
	if len(el.Attr) != 0 && path != elData {
		n.fail("%s: unexpected attributes", path)
	}
	return n
}

func (n *node) fail(format string, args ...any) {
	if *n.err == nil {
		*n.err = malformed(format, args...)
	}
}

// child returns the only child called tag (nil and an error when it is
// missing and required).
func (n *node) child(tag string, required bool) *etree.Element {
	n.used[tag] = true
	els := n.kids[tag]
	switch {
	case len(els) > 1:
		n.fail("%s/%s repeats", n.path, tag)
		return nil
	case len(els) == 0:
		if required {
			n.fail("%s/%s is missing", n.path, tag)
		}
		return nil
	}
	return els[0]
}

func (n *node) list(tag string) []*etree.Element {
	n.used[tag] = true
	return n.kids[tag]
}

func (n *node) sub(tag string, required bool) *node {
	el := n.child(tag, required)
	if el == nil {
		return nil
	}
	return newNode(el, n.path+"/"+tag, n.err)
}

// text returns the text of a leaf child.
func (n *node) text(tag string, required bool) string {
	el := n.child(tag, required)
	if el == nil {
		return ""
	}
	if len(el.ChildElements()) != 0 || len(el.Attr) != 0 {
		n.fail("%s/%s must hold text only", n.path, tag)
		return ""
	}
	return el.Text()
}

// done reports children nobody asked for.
func (n *node) done() {
	for tag := range n.kids {
		if !n.used[tag] {
			n.fail("%s/%s is not an element of format %s", n.path, tag, Version)
		}
	}
}

var (
	uintRE = regexp.MustCompile(`^[1-9][0-9]{0,7}$`)
	intRE  = regexp.MustCompile(`^-?[1-9][0-9]{0,20}$|^0$`)
)

func (n *node) number(tag string) uint32 {
	s := n.text(tag, true)
	if !uintRE.MatchString(s) {
		n.fail("%s/%s %q is not a receipt number (1 to 8 digits)", n.path, tag, s)
		return 0
	}
	v, _ := strconv.ParseUint(s, 10, 32)
	return uint32(v)
}

func (n *node) amount(tag string) int64 {
	s := n.text(tag, true)
	if !intRE.MatchString(s) {
		n.fail("%s/%s %q is not a whole amount of at most 21 digits", n.path, tag, s)
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		n.fail("%s/%s %q is out of range", n.path, tag, s)
	}
	return v
}

func (n *node) date(tag, layout string) time.Time {
	s := n.text(tag, true)
	t, err := time.ParseInLocation(layout, s, receipt.Zone)
	if err != nil {
		n.fail("%s/%s %q is not %s", n.path, tag, s, layout)
	}
	return t
}

// decode reads the receipt from a DLBLai element and validates it.
func decode(data *etree.Element) (receipt.Receipt, error) {
	var err error
	var r receipt.Receipt
	if data.Tag != elData {
		return r, malformed("signed element is %s, want %s", data.Tag, elData)
	}
	d := newNode(data, elData, &err)
	tt := d.sub("TTChung", true)
	nd := d.sub("NDBLai", true)
	d.done()
	if err != nil {
		return r, err
	}
	if v := tt.text("PBan", true); v != PBan && err == nil {
		return r, malformed("PBan %q, want %q", v, PBan)
	}
	if v := tt.text("TBLai", true); v != Title && err == nil {
		tt.fail("TBLai %q, want %q", v, Title)
	}
	r.TemplateSymbol = tt.text("KHMSBLai", true)
	r.Series = tt.text("KHBLai", true)
	r.Number = tt.number("SBLai")
	day := tt.date("NLap", dateLayout)
	r.IssuedAt = tt.date("TGLap", timeLayout)
	if err == nil && day.Format(dateLayout) != r.IssuedAt.Format(dateLayout) {
		tt.fail("NLap %s is not the day of TGLap %s", day.Format(dateLayout), r.IssuedAt.Format(timeLayout))
	}
	if v := tt.text("DVTTe", true); v != "VND" && err == nil {
		tt.fail("DVTTe %q, want VND", v)
	}
	r.PaymentMethod = tt.text("HTTToan", true)
	r.BankTxnRef = tt.text("MGDTToan", false)
	r.PaymentRef = tt.text("MTToan", false)
	r.LookupCode = tt.text("MTCuu", true)
	r.Kind = receipt.KindOriginal
	if rel := tt.sub("TTBLLQuan", false); rel != nil {
		switch rel.text("TCBLai", true) {
		case kindReplace:
			r.Kind = receipt.KindReplacement
		case kindAdjust:
			r.Kind = receipt.KindAdjustment
		default:
			rel.fail("TTBLLQuan/TCBLai must be %s (replacement) or %s (adjustment)", kindReplace, kindAdjust)
		}
		r.Original = &receipt.Reference{
			TemplateSymbol: rel.text("KHMSBLCLQuan", true),
			Series:         rel.text("KHBLCLQuan", true),
			Number:         rel.number("SBLCLQuan"),
			IssuedOn:       rel.date("NLBLCLQuan", dateLayout),
			Reason:         rel.text("GChu", true),
		}
		rel.done()
	}
	tt.done()

	if thu := nd.sub("NThu", true); thu != nil {
		r.Unit = receipt.Party{Name: thu.text("Ten", true), TaxCode: thu.text("MST", true), Address: thu.text("DChi", true)}
		thu.done()
	}
	if nop := nd.sub("NNop", true); nop != nil {
		r.Payer.Name = nop.text("Ten", true)
		cccd, mst := nop.text("CCCDan", false), nop.text("MST", false)
		switch {
		case cccd != "" && mst != "":
			nop.fail("NNop carries both CCCDan and MST")
		case cccd != "":
			r.Payer.ID = cccd
			if len(cccd) != 12 {
				nop.fail("NNop/CCCDan must have 12 digits")
			}
		default:
			r.Payer.ID = mst
			if len(mst) == 12 {
				nop.fail("NNop/MST cannot have 12 digits")
			}
		}
		r.Payer.Address = nop.text("DChi", false)
		nop.done()
	}
	if hs := nd.sub("TTHSo", true); hs != nil {
		r.ProcedureCode = hs.text("MTTHC", true)
		r.ProcedureName = hs.text("TTTHC", true)
		r.ApplicationCode = hs.text("MHSo", true)
		hs.done()
	}
	if ds := nd.sub("DSKThu", true); ds != nil {
		for i, el := range ds.list("KThu") {
			k := newNode(el, fmt.Sprintf("%s/KThu[%d]", ds.path, i+1), &err)
			if k.text("STT", true) != strconv.Itoa(i+1) {
				k.fail("%s/STT must be %d", k.path, i+1)
			}
			r.Lines = append(r.Lines, receipt.Line{
				Name:      k.text("TKThu", true),
				Kind:      receipt.LineKind(k.text("LKThu", true)),
				AmountVND: k.amount("STien"),
			})
			k.done()
		}
		ds.done()
	}
	if tot := nd.sub("TToan", true); tot != nil {
		r.TotalVND = tot.amount("TgTTTBSo")
		words := tot.text("TgTTTBChu", true)
		if err == nil && words != vnwords.VND(r.TotalVND) {
			tot.fail("TToan/TgTTTBChu %q does not spell %d", words, r.TotalVND)
		}
		tot.done()
	}
	nd.done()
	if err != nil {
		return receipt.Receipt{}, err
	}
	if verr := r.Validate(); verr != nil {
		return receipt.Receipt{}, receipt.ErrMalformed.WithCause(verr)
	}
	return r, nil
}
