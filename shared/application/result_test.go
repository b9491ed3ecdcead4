package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/staffauth"
	"motcua/shared/workdays"
)

var pdfBody = []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")

func completeWith(key string) application.ProcessInput {
	return application.ProcessInput{Code: "STP-260302-0001", Action: application.Action{Name: application.ActComplete,
		Result: &application.Result{DocumentKey: key, Description: "Phiếu lý lịch tư pháp số 12"}}}
}

func TestComplete_checks_the_result_document(t *testing.T) {
	ctx := context.Background()
	code := mustCode("STP-260302-0001")
	for _, tc := range []struct {
		name string
		body []byte // nil: nothing uploaded
		key  func(up application.ResultUpload) string
		want error
		// field is the ActionError field expected instead of want.
		field string
	}{
		{"missing_upload", nil, func(up application.ResultUpload) string { return up.DocumentKey }, application.ErrResultMissing, ""},
		{"not_a_pdf", []byte("<html>not a pdf</html>"), func(up application.ResultUpload) string { return up.DocumentKey }, application.ErrResultNotPDF, ""},
		{"empty_file", []byte("%PD"), func(up application.ResultUpload) string { return up.DocumentKey }, application.ErrResultSize, ""},
		{"key_of_another_application", pdfBody, func(application.ResultUpload) string {
			return "applications/STP-260302-0002/result/x.pdf"
		}, nil, "result.documentKey"},
		{"key_outside_results", pdfBody, func(application.ResultUpload) string { return "results/STP-260302-0001.pdf" }, nil, "result.documentKey"},
		{"pdf_accepted", pdfBody, func(up application.ResultUpload) string { return up.DocumentKey }, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, uploads := docstore.NewMemStore("motcua-data"), docstore.NewMemStore("motcua-uploads")
			p, _ := trProcessor(t, store)
			p.WithResults(uploads)
			trSeed(t, store, application.StatusProcessing)
			up, err := p.PrepareResultUpload(ctx, trClaims, application.ResultUploadInput{Code: code.String(), Size: int64(len(pdfBody))})
			if err != nil {
				t.Fatal(err)
			}
			if up.Method != "PUT" || up.Headers["Content-Type"] != "application/pdf" || up.MaxSize != application.MaxResultSize {
				t.Fatalf("upload = %+v", up)
			}
			if tc.body != nil {
				if _, err := uploads.Put(ctx, up.DocumentKey, tc.body, docstore.PutOptions{ContentType: "application/pdf"}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := p.Process(ctx, trClaims, completeWith(tc.key(up)), "")
			var ae *application.ActionError
			switch {
			case tc.field != "":
				if !errors.As(err, &ae) || ae.Field != tc.field {
					t.Fatalf("err = %v, want a 422 on %s", err, tc.field)
				}
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if r := res.Application.Result; r == nil || r.DocumentKey != up.DocumentKey || r.Size != int64(len(pdfBody)) {
					t.Fatalf("result = %+v", r)
				}
				return
			}
			a, _, _ := application.NewRepository(store).Get(ctx, code)
			if a.Status != application.StatusProcessing || a.Result != nil {
				t.Fatalf("refused complete changed the application: %s %+v", a.Status, a.Result)
			}
		})
	}
}

func TestPrepareResultUpload_refusals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		status application.Status
		claims staffauth.Claims
		size   int64
	}{
		{"other_agency", application.StatusProcessing, staffauth.Claims{Subject: "o2", Agency: "SYT", Roles: []string{staffauth.RoleStaff}}, 100},
		{"not_processing", application.StatusReceived, trClaims, 100},
		{"too_large", application.StatusProcessing, trClaims, application.MaxResultSize + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := docstore.NewMemStore("motcua-data")
			p, _ := trProcessor(t, store)
			p.WithResults(docstore.NewMemStore("motcua-uploads"))
			trSeed(t, store, tc.status)
			if _, err := p.PrepareResultUpload(ctx, tc.claims, application.ResultUploadInput{Code: "STP-260302-0001", Size: tc.size}); err == nil {
				t.Fatal("want a refusal")
			}
		})
	}
}

func TestComplete_without_results_bucket_is_refused(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	p, _ := trProcessor(t, store)
	trSeed(t, store, application.StatusProcessing)
	if _, err := p.Process(context.Background(), trClaims, completeWith("applications/STP-260302-0001/result/a.pdf"), ""); !errors.Is(err, application.ErrResultsUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestResultDownload_records_the_first_delivery_once(t *testing.T) {
	ctx := context.Background()
	store, uploads := docstore.NewMemStore("motcua-data"), docstore.NewMemStore("motcua-uploads")
	p, q := trProcessor(t, store)
	p.WithResults(uploads)
	trSeed(t, store, application.StatusProcessing)
	code := mustCode("STP-260302-0001")
	up, err := p.PrepareResultUpload(ctx, trClaims, application.ResultUploadInput{Code: code.String(), Size: int64(len(pdfBody))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uploads.Put(ctx, up.DocumentKey, pdfBody, docstore.PutOptions{ContentType: "application/pdf"}); err != nil {
		t.Fatal(err)
	}
	repo := application.NewRepository(store)
	dl, err := application.NewResultDownloads(repo, uploads, q, "application-events", func() time.Time { return trMonday })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Process(ctx, trClaims, completeWith(up.DocumentKey), ""); err != nil {
		t.Fatal(err)
	}
	a, _, _ := repo.Get(ctx, code)
	if _, err := dl.Download(ctx, a, ""); !errors.Is(err, application.ErrNoResultToDownload) {
		t.Fatalf("download before return: %v", err)
	}
	if _, err := p.Process(ctx, trClaims, application.ProcessInput{Code: code.String(), Action: trValidAction(application.ActReturn)}, ""); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		a, _, _ = repo.Get(ctx, code)
		got, err := dl.Download(ctx, a, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.URL == "" || got.ContentType != "application/pdf" || got.Size != int64(len(pdfBody)) {
			t.Fatalf("download = %+v", got)
		}
	}
	a, _, _ = repo.Get(ctx, code)
	entries := 0
	for _, e := range a.Timeline {
		if e.Kind == application.TimelineResultDownloaded {
			entries++
			if e.Actor != application.ActorCitizen || e.EventID == "" {
				t.Fatalf("entry = %+v", e)
			}
		}
	}
	if entries != 1 || a.Delivery.Downloads != 3 || a.Delivery.ElectronicDeliveredAt == nil {
		t.Fatalf("entries %d, delivery %+v", entries, a.Delivery)
	}
	n := 0
	for _, env := range q.Published("application-events") {
		if env.Type == application.EventResultDownloaded {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d result_downloaded events, want 1", n)
	}
	cal, _ := workdays.Default()
	v := application.BuildStatus(a, cal, trMonday)
	if v.Result == nil || !v.Result.Downloadable || v.Result.Delivery == nil || v.Result.Delivery.ElectronicDeliveredAt == nil {
		t.Fatalf("status result = %+v", v.Result)
	}
	if v.SettlementLabel == nil || *v.SettlementLabel != application.SettlementLabelVi(*v.Settlement) {
		t.Fatalf("settlement label = %v", v.SettlementLabel)
	}
}

func TestSettlementLabelVi(t *testing.T) {
	for in, want := range map[string]string{workdays.Early: "Sớm hạn", workdays.OnTime: "Đúng hạn", workdays.Late: "Trễ hạn", "x": "x"} {
		if got := application.SettlementLabelVi(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
