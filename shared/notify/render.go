package notify

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Kind names a notification template (templates/<kind>.tmpl).
type Kind string

// Template kinds.
const (
	KindSubmitted             Kind = "submitted"
	KindReceived              Kind = "received"
	KindSupplementRequested   Kind = "supplement_requested"
	KindPaymentRequired       Kind = "payment_required"
	KindPaid                  Kind = "paid"
	KindProcessed             Kind = "processed"
	KindReturned              Kind = "returned"
	KindRejected              Kind = "rejected"
	KindReceiptIssued         Kind = "receipt_issued"
	KindFeedbackReceived      Kind = "feedback_received"
	KindFeedbackInfoRequested Kind = "feedback_info_requested"
	KindFeedbackAnswered      Kind = "feedback_answered"
	KindFeedbackRefused       Kind = "feedback_refused"
	// KindPINRecovery carries a one-time code to reset a lost PIN.
	KindPINRecovery Kind = "pin_recovery"
	// KindPINReset tells the applicant the PIN was changed.
	KindPINReset Kind = "pin_reset"
)

// Kinds lists every template kind.
var Kinds = []Kind{
	KindSubmitted, KindReceived, KindSupplementRequested, KindPaymentRequired, KindPaid,
	KindProcessed, KindReturned, KindRejected, KindReceiptIssued,
	KindFeedbackReceived, KindFeedbackInfoRequested, KindFeedbackAnswered, KindFeedbackRefused,
	KindPINRecovery, KindPINReset,
}

// Data is what a template may show. Every string is NFC-normalised and
// stripped of control characters before rendering (Clean).
type Data struct {
	// Name is the addressee (applicant or feedback sender).
	Name string
	// Code is the application code.
	Code string
	// ProcedureName and AgencyName come from the application.
	ProcedureName string
	AgencyName    string
	// Date is when the step happened ("HH:MM dd/mm/yyyy", Vietnam time).
	Date string
	// DueDate is the due date (dd/mm/yyyy).
	DueDate string
	// Missing lists what the applicant must supplement.
	Missing []string
	// Note is the officer's public remark.
	Note string
	// Reason explains a rejection or refusal.
	Reason string
	// Amount is a formatted amount (FormatVND).
	Amount string
	// Method is how a fee was paid, in words.
	Method string
	// PaymentRef is the payment reference.
	PaymentRef string
	// Result describes the result; Delivery is online or postal.
	Result   string
	Delivery string
	// TrackingNumber is the postal tracking number of a returned result.
	TrackingNumber string
	// ReceiptNumber names an e-receipt (series-number).
	ReceiptNumber string
	// FeedbackID and Title identify a feedback item.
	FeedbackID string
	Title      string
	// OneTimeCode is a PIN-recovery code and CodeExpires its expiry
	// ("HH:MM dd/mm/yyyy"); set only for KindPINRecovery.
	OneTimeCode string
	CodeExpires string
	// PortalURL is the public status look-up page (configuration).
	PortalURL string
	// Sender signs the e-mail (configuration).
	Sender string
}

// Rendered is one notification in both channels' shapes.
type Rendered struct {
	// SMS is the text message (one line).
	SMS string
	// Subject and Body are the e-mail's.
	Subject string
	Body    string
}

//go:embed templates/*.tmpl
var templateFiles embed.FS

// templates holds one parsed set per kind (each file defines the same part
// names, so they cannot share one set).
var templates = mustParse()

func mustParse() map[Kind]*template.Template {
	funcs := template.FuncMap{"join": strings.Join}
	out := make(map[Kind]*template.Template, len(Kinds))
	for _, k := range Kinds {
		t := template.Must(template.New(string(k)).Funcs(funcs).Option("missingkey=error").
			ParseFS(templateFiles, "templates/_footer.tmpl", "templates/"+string(k)+".tmpl"))
		for _, part := range []string{"sms", "subject", "body"} {
			if t.Lookup(part) == nil {
				panic(fmt.Sprintf("notify: template %s lacks %q", k, part))
			}
		}
		out[k] = t
	}
	return out
}

// Render renders the kind's template with d (cleaned first). The SMS and
// the subject are single lines; everything is NFC.
func Render(kind Kind, d Data) (Rendered, error) {
	t, ok := templates[kind]
	if !ok {
		return Rendered{}, fmt.Errorf("notify: no template %q", kind)
	}
	d = d.Clean()
	part := func(name string) (string, error) {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name, d); err != nil {
			return "", fmt.Errorf("notify: render %s/%s: %w", kind, name, err)
		}
		return norm.NFC.String(b.String()), nil
	}
	var r Rendered
	var err error
	if r.SMS, err = part("sms"); err != nil {
		return Rendered{}, err
	}
	if r.Subject, err = part("subject"); err != nil {
		return Rendered{}, err
	}
	if r.Body, err = part("body"); err != nil {
		return Rendered{}, err
	}
	r.SMS, r.Subject = oneLine(r.SMS), oneLine(r.Subject)
	r.Body = strings.TrimSpace(r.Body) + "\n"
	return r, nil
}

// Clean returns d with every string NFC, without control characters
// (newlines included: values are single-line) and trimmed, so data coming
// from citizens or staff cannot inject e-mail headers or break an SMS.
func (d Data) Clean() Data {
	c := func(s string) string { return cleanText(s, 500) }
	d.Name, d.Code, d.ProcedureName, d.AgencyName = c(d.Name), c(d.Code), c(d.ProcedureName), c(d.AgencyName)
	d.Date, d.DueDate, d.Note, d.Reason = c(d.Date), c(d.DueDate), c(d.Note), c(d.Reason)
	d.Amount, d.Method, d.PaymentRef, d.Result, d.Delivery = c(d.Amount), c(d.Method), c(d.PaymentRef), c(d.Result), c(d.Delivery)
	d.TrackingNumber, d.ReceiptNumber, d.FeedbackID, d.Title = c(d.TrackingNumber), c(d.ReceiptNumber), c(d.FeedbackID), c(d.Title)
	d.PortalURL, d.Sender = c(d.PortalURL), c(d.Sender)
	if d.Missing != nil {
		m := make([]string, 0, len(d.Missing))
		for _, s := range d.Missing {
			if s = c(s); s != "" {
				m = append(m, s)
			}
		}
		d.Missing = m
	}
	return d
}

// cleanText normalises s to NFC, turns control characters into spaces,
// collapses runs of spaces, trims, and cuts it to max runes.
func cleanText(s string, max int) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// oneLine joins the lines of s with spaces and trims it.
func oneLine(s string) string { return cleanText(s, 2000) }
