package notify

import (
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"motcua/shared/workdays"
)

var vnPrinter = message.NewPrinter(language.Vietnamese)

// FormatVND formats an amount in đồng the Vietnamese way: dots between
// thousands and " đ" after, e.g. 150000 → "150.000 đ".
func FormatVND(amount int64) string {
	return vnPrinter.Sprintf("%d đ", amount)
}

// FormatDate formats t as dd/mm/yyyy in Asia/Ho_Chi_Minh ("" for the zero time).
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(workdays.Location).Format("02/01/2006")
}

// FormatDateTime formats t as "HH:MM dd/mm/yyyy" in Asia/Ho_Chi_Minh ("" for
// the zero time).
func FormatDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(workdays.Location).Format("15:04 02/01/2006")
}
