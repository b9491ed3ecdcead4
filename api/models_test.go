package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
)

// TestApplication_models_fit_the_document checks the Go answers of the
// application functions, with every member filled (optional ones too), against
// their documented schemas: a member added to a model without documenting it
// fails here even when no example makes the handler send it.
func TestApplication_models_fit_the_document(t *testing.T) {
	d := loadDocument(t)
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	upload := application.Upload{DocumentCode: "TK", Method: "PUT", URL: "http://127.0.0.1:9000/motcua-uploads/x",
		Headers: map[string]string{"Content-Type": "application/pdf", "Content-Length": "120000"}, Size: 120000, ExpiresAt: later}
	doc := application.Document{Code: "TK", Name: "Tờ khai", FileName: "to_khai.pdf", ContentType: "application/pdf",
		Size: 120000, MaxSize: 10 << 20, Required: true, UploadKey: "applications/A-261124-0001/documents/TK/to_khai.pdf",
		Uploaded: true, UploadedAt: &later,
		Rejection: &application.UploadRejection{Code: "size_mismatch", Reason: "r", ReasonVi: "r", DeclaredSize: 120000,
			ActualSize: 12 << 20, DeclaredType: "application/pdf", ActualType: "application/pdf", At: now}}
	tests := []struct {
		name   string
		schema string
		value  any
	}{
		{"submit_result", "SubmitApplicationResult", application.SubmitResult{
			Code: "UBND-X-VIETHUNG-261124-0001", PIN: "01234567", Status: application.StatusSubmitted,
			ProcedureCode: "X.HT.004", ProcedureName: "Cấp bản sao trích lục hộ tịch",
			Agency:      application.Agency{Code: "UBND-X-VIETHUNG", Name: "Ủy ban nhân dân xã Việt Hùng"},
			Fee:         application.Fee{AmountVND: 4000, Kind: "fee", PaymentState: application.PaymentUnpaid},
			SubmittedAt: now, DueDate: later, Uploads: []application.Upload{upload},
		}},
		{"uploads_result", "UploadsResult", application.UploadsResult{
			Code: "UBND-X-VIETHUNG-261124-0001", Status: application.StatusSubmitted,
			Documents: []application.Document{doc}, Complete: true, Uploads: []application.Upload{},
		}},
		{"cancel_result", "CancelApplicationResult", application.CancelResult{
			Code: "UBND-X-VIETHUNG-261124-0001", Status: application.StatusCancelled, CancelledAt: now,
		}},
		{"staff_view_every_member", "StaffApplicationView", application.StaffView{
			Application: application.StaffApplication{Application: application.Application{
				Code: "UBND-X-VIETHUNG-261124-0001", ProcedureCode: "X.HT.004", ProcedureName: "Cấp bản sao trích lục hộ tịch",
				ProcedureVersion: 2, ProcessingDays: 3,
				Agency: application.Agency{Code: "UBND-X-VIETHUNG", Name: "Ủy ban nhân dân xã Việt Hùng"},
				Applicant: application.Applicant{Kind: application.ApplicantBusiness, Name: "Công ty TNHH Việt Hùng",
					IDNumber: "001190123456", DateOfBirth: "1990-05-17", Gender: "female", TaxCode: "0101234567",
					Representative: &application.Representative{Name: "Nguyễn Thị Hoa", IDNumber: "001190123456", Position: "Giám đốc"},
					Phone:          "+84912345678", Email: "hoa@example.vn", Address: "Thôn 1, xã Việt Hùng"},
				Form:           map[string]any{"soBanSao": 2.0, "loaiTrichLuc": "Khai sinh", "gap": true},
				Documents:      []application.Document{doc},
				Channel:        application.ChannelPostal,
				ResultDelivery: application.ResultDelivery{Method: application.DeliveryPostal, Address: "Thôn 1"},
				Status:         application.StatusReturned,
				Fee: application.Fee{AmountVND: 8000, Kind: "fee", PaymentState: application.PaymentPaid,
					PaymentRef: "PAY-1", PaymentMethod: "vietqr", PaidAt: &later},
				SubmittedAt: now, ReceivedAt: &now, DueAt: later, SettledAt: &later, Settlement: "on_time",
				Timeline: []application.Event{{At: now, Status: application.StatusSubmitted, Actor: application.ActorCitizen, Note: "n", EventID: "e1"},
					{At: later, Status: application.StatusReturned, Actor: application.ActorCitizen, Note: "n", EventID: "e3", Kind: application.TimelineResultDownloaded}},
				Result: &application.ResultRecord{DocumentKey: "applications/UBND-X-VIETHUNG-261124-0001/result/a.pdf", Description: "d", Size: 35, RecordedAt: later},
				Delivery: &application.DeliveryRecord{Method: application.DeliveryPostal, TrackingNumber: "EB1VN", ReturnedAt: later,
					ElectronicDeliveredAt: &later, Downloads: 2, LastDownloadAt: &later},
				PINChangedAt: &later,
				PINHash:      "pbkdf2-sha256$1$x", PINSalt: "s", Version: 7,
			}},
			Audit: []application.AuditRecord{{EventID: "e2", Code: "UBND-X-VIETHUNG-261124-0001", Action: application.ActComplete,
				From: application.StatusProcessing, To: application.StatusProcessed, At: later, Officer: "canbo-1", Agency: "UBND-X-VIETHUNG",
				Reason: "r", Missing: []string{"m"}, Result: &application.Result{DocumentKey: "k", Description: "d"},
				Delivery: &application.Delivery{Method: application.DeliveryPostal, TrackingNumber: "EB1VN"}, Note: "n"}},
			AllowedActions: []application.ActionName{application.ActReceive},
		}},
	}
	settlement, label := "on_time", "Đúng hạn"
	tests = append(tests,
		struct {
			name   string
			schema string
			value  any
		}{"status_with_result", "ApplicationStatus", application.StatusView{
			Code: "UBND-X-VIETHUNG-261124-0001", Procedure: application.NamedRef{Code: "X.HT.004", Name: "p"},
			Agency: application.NamedRef{Code: "UBND-X-VIETHUNG", Name: "a"}, Status: application.StatusReturned, StatusLabel: "Đã trả kết quả",
			SubmittedAt: now, ReceivedAt: &now, DueAt: &later, SettledAt: &later, Settlement: &settlement, SettlementLabel: &label,
			Result: &application.ResultView{Description: "d", SettledAt: &later, Downloadable: true, Delivery: &application.DeliveryView{
				Method: application.DeliveryPostal, MethodLabel: "Trả kết quả qua bưu chính", TrackingNumber: "EB1VN", ReturnedAt: later, ElectronicDeliveredAt: &later}},
			Fee:       application.FeeView{AmountVND: 4000, Kind: "fee", PaymentState: application.PaymentPaid, PaymentRef: "PAY-1", PaymentMethod: "vietqr", PaidAt: &later},
			Timeline:  []application.TimelineStep{{At: later, Step: application.StatusReturned, StepLabel: "l", Who: "w", Note: "n", Kind: application.TimelineResultDownloaded}},
			Documents: []application.DocumentView{{Code: "TK", Name: "n", Required: true, Uploaded: true}},
			Receipt:   &application.ReceiptLink{Number: "1", URL: "u"},
		}},
		struct {
			name   string
			schema string
			value  any
		}{"result_upload", "ResultUpload", application.ResultUpload{DocumentKey: "k", URL: "u", Method: "PUT",
			Headers: map[string]string{"Content-Type": "application/pdf", "Content-Length": "35"}, ExpiresAt: later, MaxSize: application.MaxResultSize}},
		struct {
			name   string
			schema string
			value  any
		}{"result_download", "ResultDownload", application.ResultDownload{URL: "u", ExpiresAt: later, ContentType: "application/pdf", Size: 35}},
		struct {
			name   string
			schema string
			value  any
		}{"work_queue", "WorkQueue", application.WorkQueue{Agency: "STP", Items: []application.WorkItem{{Code: "STP-261124-0001",
			Status: application.StatusReceived, StatusLabel: "l", ProcedureCode: "p", ReceivedAt: &now, DueAt: later, Overdue: true}},
			NextCursor: &label, Counts: map[application.Status]int{application.StatusReceived: 1}}},
		struct {
			name   string
			schema string
			value  any
		}{"recovery_accepted", "RecoveryAccepted", application.RecoveryAccepted{Accepted: true, Message: "m", MessageEn: "m", ExpiresInSeconds: 600}},
		struct {
			name   string
			schema string
			value  any
		}{"pin_reset", "PinResetResult", application.PINResetResult{Code: "STP-261124-0001", PINChanged: true}},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if errs := d.kin.validateValue(tc.schema, v); len(errs) > 0 {
				t.Fatalf("%s does not fit %s:\n%s\n%s", tc.name, tc.schema, strings.Join(errs, "\n"), b)
			}
		})
	}
	// The sealed PIN of stored idempotency records is never documented.
	b, _ := json.Marshal(application.SubmitResult{Code: "A-261124-0001", PINSealed: "x", Status: application.StatusSubmitted})
	var v any
	_ = json.Unmarshal(b, &v)
	if errs := strings.Join(d.kin.validateValue("SubmitApplicationResult", v), "\n"); !strings.Contains(errs, "pinSealed") {
		t.Fatalf("pinSealed must not be documented, got %q", errs)
	}
}
