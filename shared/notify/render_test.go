package notify_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"motcua/shared/notify"
)

func TestFormatVND(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   int64
		want string
	}{
		{"zero", 0, "0 đ"},
		{"hundreds", 500, "500 đ"},
		{"thousands_with_dot", 150000, "150.000 đ"},
		{"millions", 1234567, "1.234.567 đ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := notify.FormatVND(tc.in); got != tc.want {
				t.Fatalf("FormatVND(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// fullData fills every field, decomposed (NFD), with a line break where a
// header injection would try one.
func fullData() notify.Data {
	return notify.Data{
		Name: nfd("Nguyễn Thị Hồng Nhung"), Code: testCode, ProcedureName: nfd("Đăng ký khai sinh"),
		AgencyName: nfd("Sở Tư pháp tỉnh Lâm Đồng"), Date: "09:30 03/12/2026", DueDate: "08/12/2026",
		Missing: []string{nfd("Giấy chứng sinh"), nfd("Bản sao giấy đăng ký kết hôn")}, Note: nfd("Bổ sung trong 5 ngày"),
		Reason: nfd("Hồ sơ không đúng thẩm quyền"), Amount: notify.FormatVND(150000), Method: "VNPAY", PaymentRef: "MCABCDEFGHIJKL",
		Result: nfd("Giấy khai sinh bản chính"), Delivery: "postal", TrackingNumber: "EB123456789VN",
		ReceiptNumber: "BL26T-00000012", FeedbackID: "PAKN-261203-7K3QX9MA", Title: nfd("Đường hỏng\r\nBcc: x@y.z"),
		OneTimeCode: "482913", CodeExpires: "09:40 03/12/2026",
		PortalURL: "https://dichvucong.example.gov.vn/tra-cuu", Sender: nfd("Cổng dịch vụ công tỉnh Lâm Đồng"),
	}
}

func TestRender_every_kind_keeps_diacritics(t *testing.T) {
	// What each kind must say, in NFC, in the SMS (and so in the e-mail).
	must := map[notify.Kind][]string{
		notify.KindSubmitted:             {testCode, "Đăng ký khai sinh", "08/12/2026"},
		notify.KindReceived:              {testCode, "Sở Tư pháp tỉnh Lâm Đồng", "08/12/2026"},
		notify.KindSupplementRequested:   {testCode, "Giấy chứng sinh", "Bản sao giấy đăng ký kết hôn"},
		notify.KindPaymentRequired:       {testCode, "150.000 đ"},
		notify.KindPaid:                  {testCode, "150.000 đ", "VNPAY"},
		notify.KindProcessed:             {testCode, "Giấy khai sinh bản chính", "bưu chính"},
		notify.KindReturned:              {testCode, "EB123456789VN"},
		notify.KindRejected:              {testCode, "Hồ sơ không đúng thẩm quyền"},
		notify.KindReceiptIssued:         {testCode, "BL26T-00000012", "150.000 đ"},
		notify.KindFeedbackReceived:      {"PAKN-261203-7K3QX9MA"},
		notify.KindFeedbackInfoRequested: {"PAKN-261203-7K3QX9MA"},
		notify.KindFeedbackAnswered:      {"PAKN-261203-7K3QX9MA"},
		notify.KindFeedbackRefused:       {"PAKN-261203-7K3QX9MA", "Hồ sơ không đúng thẩm quyền"},
		notify.KindPINRecovery:           {testCode, "482913", "09:40 03/12/2026"},
		notify.KindPINReset:              {testCode, "Sở Tư pháp tỉnh Lâm Đồng"},
	}
	if len(must) != len(notify.Kinds) {
		t.Fatalf("test covers %d kinds, package has %d", len(must), len(notify.Kinds))
	}
	for _, k := range notify.Kinds {
		t.Run(string(k), func(t *testing.T) {
			r, err := notify.Render(k, fullData())
			if err != nil {
				t.Fatal(err)
			}
			for part, text := range map[string]string{"sms": r.SMS, "subject": r.Subject, "body": r.Body} {
				if !norm.NFC.IsNormalString(text) || !utf8.ValidString(text) {
					t.Errorf("%s is not valid NFC: %q", part, text)
				}
				if text == "" {
					t.Errorf("%s is empty", part)
				}
			}
			if strings.ContainsAny(r.SMS, "\r\n") || strings.ContainsAny(r.Subject, "\r\n") {
				t.Errorf("SMS or subject spans lines: %q / %q", r.SMS, r.Subject)
			}
			for _, want := range must[k] {
				if !strings.Contains(r.SMS, want) {
					t.Errorf("SMS %q lacks %q", r.SMS, want)
				}
				if !strings.Contains(r.Body, want) && !strings.Contains(r.Subject, want) {
					t.Errorf("e-mail lacks %q:\n%s\n%s", want, r.Subject, r.Body)
				}
			}
			if !strings.HasPrefix(r.Body, "Kính gửi Nguyễn Thị Hồng Nhung,") || !strings.Contains(r.Body, "Trân trọng,\nCổng dịch vụ công tỉnh Lâm Đồng") {
				t.Errorf("body lacks greeting or signature:\n%s", r.Body)
			}
			if strings.Contains(r.Body, "\r") || strings.Contains(r.Body, "\nBcc:") {
				t.Errorf("a value broke the body's lines:\n%s", r.Body)
			}
		})
	}
}

func TestRender_unknown_kind(t *testing.T) {
	if _, err := notify.Render("nope", notify.Data{}); err == nil {
		t.Fatal("unknown kind rendered")
	}
}

// FuzzRender: any data renders every kind without panicking, as valid
// single-line NFC for the SMS and subject.
func FuzzRender(f *testing.F) {
	f.Add("Nguyễn Văn A", "STP-261203-0001", "Giấy chứng sinh", "EB1VN")
	f.Add("\x00\r\n{{.Code}}", "", "\u2028", "\xff\xfe")
	f.Fuzz(func(t *testing.T, name, code, missing, tracking string) {
		d := notify.Data{Name: name, Code: code, Missing: []string{missing, missing}, TrackingNumber: tracking, Title: name, Reason: missing}
		for _, k := range notify.Kinds {
			r, err := notify.Render(k, d)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if strings.ContainsAny(r.SMS+r.Subject, "\r\n") || !utf8.ValidString(r.SMS+r.Subject+r.Body) || !norm.NFC.IsNormalString(r.Body) {
				t.Fatalf("%s: bad output %q / %q", k, r.SMS, r.Subject)
			}
			if strings.Contains(r.Body, "{{") && !strings.Contains(name+code+missing+tracking, "{{") {
				t.Fatalf("%s: template text leaked", k)
			}
		}
	})
}
