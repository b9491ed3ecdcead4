package application_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

const eventsQueue = "application-events"

// fakeProcedures is a hand-written catalog with one procedure.
type fakeProcedures map[string]catalog.Procedure

func (f fakeProcedures) Get(_ context.Context, code string) (catalog.Procedure, error) {
	p, ok := f[code]
	if !ok {
		return catalog.Procedure{}, catalog.ErrNotFound
	}
	return p, nil
}

func int64p(v int64) *int64 { return &v }

func testProcedure() catalog.Procedure {
	return catalog.Procedure{
		Code: "X.HT.004", Name: "Cấp bản sao trích lục hộ tịch", Field: "Hộ tịch",
		Agency:      catalog.Agency{Code: "UBND-X-VIETHUNG", Name: "UBND xã Việt Hùng"},
		OnlineLevel: catalog.OnlineFull, ProcessingDays: 3,
		Fee: catalog.Fee{AmountVND: 8000, OnlineAmountVND: int64p(4000), Kind: catalog.FeeKindFee},
		Documents: []catalog.DocumentSpec{
			{Code: "TK", Name: "Tờ khai", Required: true, Formats: []string{"pdf", "jpg"}, MaxSizeMB: 10},
			{Code: "UQ", Name: "Văn bản ủy quyền", Required: false, Formats: []string{"pdf"}, MaxSizeMB: 1},
		},
		FormFields: []catalog.FieldSpec{
			{Name: "loaiTrichLuc", Label: "Loại trích lục", Type: catalog.FieldEnum, Required: true, Options: []string{"khai_sinh", "ket_hon"}},
			{Name: "soBanSao", Label: "Số bản sao", Type: catalog.FieldNumber, Required: true},
			{Name: "ngayDangKy", Label: "Ngày đăng ký", Type: catalog.FieldDate},
			{Name: "maHoSoCu", Label: "Mã hồ sơ cũ", Type: catalog.FieldString, Pattern: `^[A-Z0-9-]+$`},
			{Name: "soDienThoai", Label: "Số điện thoại liên hệ", Type: catalog.FieldString, Pattern: `^(0|\+84)[35789][0-9]{8}$`},
		},
		Version: 2,
	}
}

func freeProcedure() catalog.Procedure {
	p := testProcedure()
	p.Code, p.Fee = "X.HT.001", catalog.Fee{Kind: catalog.FeeKindFree}
	p.FormFields = nil
	return p
}

type env struct {
	svc     *application.Service
	store   *docstore.MemStore
	uploads *docstore.MemStore
	q       *queue.MemQueue
	now     time.Time
}

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

// newEnv builds a service over memory fakes; now is Tuesday 2026-11-24
// 09:00 in Hanoi.
func newEnv(t *testing.T, staff application.StaffVerifier) *env {
	t.Helper()
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		store: docstore.NewMemStore("motcua-data"), uploads: docstore.NewMemStore("motcua-uploads"),
		q:   queue.NewMemQueue(eventsQueue),
		now: time.Date(2026, 11, 24, 9, 0, 0, 0, workdays.Location),
	}
	e.svc, err = application.NewService(application.Deps{
		Store: e.store, Uploads: e.uploads, Publisher: e.q, EventsQueue: eventsQueue,
		Procedures: fakeProcedures{"X.HT.004": testProcedure(), "X.HT.001": freeProcedure()},
		Calendar:   cal, Staff: staff, Log: quiet, Now: func() time.Time { return e.now },
		Guard: guardtest.Guard(t, e.store, citizenguard.WithLogger(quiet)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// validInput is a correct online submission by a person.
func validInput() application.SubmitInput {
	return application.SubmitInput{
		ProcedureCode: "X.HT.004",
		Applicant: application.ApplicantInput{
			Kind: application.ApplicantPerson, Name: "Nguyễn Thị Hoa", IDNumber: "001190123456",
			DateOfBirth: "1990-05-17", Phone: "0912 345 678", Email: "hoa@example.vn", Address: "Thôn 1, xã Việt Hùng",
		},
		Form: map[string]any{"loaiTrichLuc": "khai_sinh", "soBanSao": float64(2)},
		Documents: []application.DocumentInput{
			{Code: "TK", FileName: "Tờ khai.pdf", ContentType: "application/pdf", Size: 120000},
		},
	}
}

var _ = http.StatusOK

// mustCode parses a code the test knows to be valid.
func mustCode(s string) application.Code {
	c, err := application.ParseCode(s)
	if err != nil {
		panic(err)
	}
	return c
}
