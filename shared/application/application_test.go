package application_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"motcua/shared/docstore"
	"motcua/shared/httpx"
	"motcua/shared/queue"
)

// problemOf is what a client gets for err: the domain returns fault
// errors, the HTTP layer (httpx.FromError) maps them.
func problemOf(t *testing.T, err error) *httpx.Problem {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	resp := httpx.FromError(context.Background(), quiet, err)
	var p httpx.Problem
	if jerr := json.Unmarshal(resp.Body, &p); jerr != nil {
		t.Fatalf("problem body %s: %v", resp.Body, jerr)
	}
	return &p
}

func fields(t *testing.T, err error) []string {
	t.Helper()
	p := problemOf(t, err)
	if p.Status != 422 || p.Code != "validation_failed" {
		t.Fatalf("want a 422 validation_failed problem, got %v", err)
	}
	var out []string
	for _, f := range p.Errors {
		if f.MessageVi == "" || f.Message == "" {
			t.Errorf("field %s lacks a message: %+v", f.Field, f)
		}
		out = append(out, f.Field+":"+f.Code)
	}
	return out
}

func TestSubmit_validation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*application.SubmitInput)
		want   []string // field:code expected among the errors; empty = valid
	}{
		{"valid_person", func(*application.SubmitInput) {}, nil},
		{"valid_phone_plus84_spaces", func(in *application.SubmitInput) { in.Applicant.Phone = "+84 98 765 4321" }, nil},
		{"valid_female_2000s_cccd", func(in *application.SubmitInput) {
			in.Applicant.IDNumber, in.Applicant.DateOfBirth = "079301234567", "2001-02-03"
		}, nil},
		{"cccd_11_digits", func(in *application.SubmitInput) { in.Applicant.IDNumber = "00119012345" }, []string{"applicant.idNumber:cccd"}},
		{"cccd_bad_province", func(in *application.SubmitInput) { in.Applicant.IDNumber = "003190123456" }, []string{"applicant.idNumber:cccd"}},
		{"cccd_year_mismatch", func(in *application.SubmitInput) { in.Applicant.DateOfBirth = "1991-05-17" }, []string{"applicant.idNumber:cccd_dob_mismatch"}},
		{"cccd_century_mismatch", func(in *application.SubmitInput) { in.Applicant.IDNumber = "001290123456" }, []string{"applicant.idNumber:cccd_dob_mismatch"}},
		{"phone_landline_prefix", func(in *application.SubmitInput) { in.Applicant.Phone = "0243 825 1234" }, []string{"applicant.phone:vnphone"}},
		{"phone_too_short", func(in *application.SubmitInput) { in.Applicant.Phone = "091234567" }, []string{"applicant.phone:vnphone"}},
		{"missing_name_and_kind", func(in *application.SubmitInput) { in.Applicant.Name, in.Applicant.Kind = "", "" },
			[]string{"applicant.name:required", "applicant.kind:required"}},
		{"valid_business", func(in *application.SubmitInput) {
			in.Applicant = application.ApplicantInput{Kind: application.ApplicantBusiness, Name: "Công ty TNHH Hoa Sen",
				TaxCode: "0100109106", Phone: "0987654321", Address: "Hà Nội",
				Representative: &application.RepresentativeInput{Name: "Trần Văn An", IDNumber: "001090123456"}}
		}, nil},
		{"business_bad_mst_check_digit", func(in *application.SubmitInput) {
			in.Applicant = application.ApplicantInput{Kind: application.ApplicantBusiness, Name: "Công ty",
				TaxCode: "0100109107", Phone: "0987654321", Address: "Hà Nội",
				Representative: &application.RepresentativeInput{Name: "Trần Văn An", IDNumber: "001090123456"}}
		}, []string{"applicant.taxCode:mst"}},
		{"business_without_representative", func(in *application.SubmitInput) {
			in.Applicant = application.ApplicantInput{Kind: application.ApplicantBusiness, Name: "Công ty",
				TaxCode: "0100109106", Phone: "0987654321", Address: "Hà Nội"}
		}, []string{"applicant.representative:required_if"}},
		{"unknown_procedure", func(in *application.SubmitInput) { in.ProcedureCode = "NOPE" }, []string{"procedureCode:unknown_procedure"}},
		{"form_required_missing", func(in *application.SubmitInput) { delete(in.Form, "soBanSao") }, []string{"form.soBanSao:required"}},
		{"form_enum_bad", func(in *application.SubmitInput) { in.Form["loaiTrichLuc"] = "khac" }, []string{"form.loaiTrichLuc:oneof"}},
		{"form_number_as_string", func(in *application.SubmitInput) { in.Form["soBanSao"] = "2" }, []string{"form.soBanSao:invalid_type"}},
		{"form_bad_date", func(in *application.SubmitInput) { in.Form["ngayDangKy"] = "17/05/2020" }, []string{"form.ngayDangKy:invalid_date"}},
		{"form_pattern", func(in *application.SubmitInput) { in.Form["maHoSoCu"] = "abc def" }, []string{"form.maHoSoCu:pattern"}},
		{"form_unknown_field", func(in *application.SubmitInput) { in.Form["x"] = 1.0 }, []string{"form.x:unknown_field"}},
		{"required_document_missing", func(in *application.SubmitInput) { in.Documents = nil }, []string{"documents:required_document_missing"}},
		{"document_bad_format", func(in *application.SubmitInput) {
			in.Documents = append(in.Documents, application.DocumentInput{Code: "UQ", FileName: "uq.png", ContentType: "image/png", Size: 10})
		}, []string{"documents[1].fileName:format_not_allowed"}},
		{"document_too_large", func(in *application.SubmitInput) {
			in.Documents = append(in.Documents, application.DocumentInput{Code: "UQ", FileName: "uq.pdf", ContentType: "application/pdf", Size: 2 << 20})
		}, []string{"documents[1].size:file_too_large"}},
		{"document_unknown", func(in *application.SubmitInput) {
			in.Documents = append(in.Documents, application.DocumentInput{Code: "ZZ", FileName: "z.pdf", ContentType: "application/pdf", Size: 1})
		}, []string{"documents[1].code:unknown_document"}},
		{"document_content_type_mismatch", func(in *application.SubmitInput) { in.Documents[0].ContentType = "image/png" },
			[]string{"documents[0].contentType:content_type_mismatch"}},
		{"postal_delivery_without_address", func(in *application.SubmitInput) { in.ResultDelivery.Method = "postal" },
			[]string{"resultDelivery.address:required_if"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			in := validInput()
			tc.mutate(&in)
			res, err := e.svc.Submit(context.Background(), in, "", "call-1")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("valid input refused: %v", err)
				}
				if res.Code == "" {
					t.Fatal("no code")
				}
				return
			}
			got := fields(t, err)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("errors %v lack %s", got, w)
				}
			}
			if keys := e.store.Keys(); len(keys) != 0 {
				t.Errorf("bad input wrote %v", keys)
			}
			if n := len(e.q.Published(eventsQueue)); n != 0 {
				t.Errorf("bad input published %d events", n)
			}
		})
	}
}

func TestSubmit_stores_application_and_publishes_once(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res, err := e.svc.Submit(ctx, validInput(), "", "call-7")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^UBND-X-VIETHUNG-261124-0001$`).MatchString(res.Code) {
		t.Errorf("code %q", res.Code)
	}
	if !regexp.MustCompile(`^[0-9]{8}$`).MatchString(res.PIN) {
		t.Errorf("pin %q", res.PIN)
	}
	if res.Status != application.StatusSubmitted || res.Fee.AmountVND != 4000 || res.Fee.PaymentState != application.PaymentUnpaid {
		t.Errorf("status/fee: %+v %+v", res.Status, res.Fee)
	}
	// Tuesday 09:00 + 3 working days → Thursday 17:00.
	if want := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC).Add(-7 * time.Hour); !res.DueDate.Equal(want) {
		t.Errorf("due %v, want %v", res.DueDate, want)
	}
	if len(res.Uploads) != 1 || res.Uploads[0].DocumentCode != "TK" || !strings.Contains(res.Uploads[0].URL, "applications/"+res.Code+"/documents/TK/to_khai.pdf") {
		t.Errorf("uploads %+v", res.Uploads)
	}
	obj, err := e.store.Get(ctx, application.Key(mustCode(res.Code)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(obj.Body, []byte(res.PIN)) {
		t.Error("the PIN is stored in clear")
	}
	a, _, err := e.svc.Repository().Get(ctx, mustCode(res.Code))
	if err != nil {
		t.Fatal(err)
	}
	g := e.svc.Access().Guard()
	if !strings.HasPrefix(a.PINHash, citizenguard.SchemeHMAC+"$") {
		t.Errorf("PIN hash %q is not peppered", a.PINHash)
	}
	if !application.CheckPIN(g, a, res.PIN) || application.CheckPIN(g, a, "00000000") && res.PIN != "00000000" {
		t.Error("CheckPIN does not tell the PIN")
	}
	if a.Applicant.Phone != "+84912345678" || a.Applicant.Gender != "female" || a.Version != 1 ||
		len(a.Timeline) != 1 || a.Timeline[0].Actor != application.ActorCitizen || a.Timeline[0].Status != application.StatusSubmitted {
		t.Errorf("stored %+v", a)
	}
	pub := e.q.Published(eventsQueue)
	if len(pub) != 1 || pub[0].Type != application.EventSubmitted || pub[0].ID != a.Timeline[0].EventID || pub[0].CorrelationID != "call-7" {
		t.Fatalf("published %+v", pub)
	}
	if bytes.Contains(pub[0].Payload, []byte("0012")) || bytes.Contains(pub[0].Payload, []byte("+849")) {
		t.Error("event carries personal data")
	}
	if keys, _ := e.store.List(ctx, application.OutboxPrefix, "", 10); len(keys.Entries) != 0 {
		t.Errorf("outbox left %v", keys.Entries)
	}
	// Second submission the same day gets the next number; a free one has no fee.
	in := validInput()
	in.ProcedureCode, in.Form = "X.HT.001", nil
	res2, err := e.svc.Submit(ctx, in, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if res2.Code != "UBND-X-VIETHUNG-261124-0002" || res2.Fee.AmountVND != 0 || res2.Fee.PaymentState != application.PaymentNotRequired {
		t.Errorf("second: %+v", res2)
	}
}

func TestSubmit_staff_channels(t *testing.T) {
	verifier := func(auth string, _ time.Time) (application.StaffClaims, error) {
		switch auth {
		case "Bearer ok":
			return application.StaffClaims{Sub: "officer-1", Agency: "UBND-X-VIETHUNG"}, nil
		case "Bearer other":
			return application.StaffClaims{Sub: "officer-2", Agency: "STP"}, nil
		}
		return application.StaffClaims{}, errors.New("bad token")
	}
	cases := []struct {
		name, auth string
		staff      application.StaffVerifier
		wantErr    bool
	}{
		{"no_verifier_configured", "Bearer ok", nil, true},
		{"no_token", "", verifier, true},
		{"bad_token", "Bearer nope", verifier, true},
		{"other_agency", "Bearer other", verifier, true},
		{"staff_of_agency", "Bearer ok", verifier, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.staff)
			in := validInput()
			in.Channel = application.ChannelDirect
			res, err := e.svc.Submit(context.Background(), in, tc.auth, "")
			if tc.wantErr {
				if !errors.Is(err, application.ErrStaffOnly) {
					t.Fatalf("want staff_only, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, _, _ := e.svc.Repository().Get(context.Background(), mustCode(res.Code))
			if res.Fee.AmountVND != 8000 || a.Channel != application.ChannelDirect || a.Timeline[0].Actor != "UBND-X-VIETHUNG" {
				t.Errorf("direct: fee %d channel %s actor %s", res.Fee.AmountVND, a.Channel, a.Timeline[0].Actor)
			}
		})
	}
}

func TestRepository_update_if_match_conflict(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	res, err := e.svc.Submit(ctx, validInput(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	repo := e.svc.Repository()
	a1, tag1, _ := repo.Get(ctx, mustCode(res.Code))
	a2, tag2, _ := repo.Get(ctx, mustCode(res.Code))
	a1.Status = application.StatusReceived
	if _, err := repo.UpdateIfMatch(ctx, &a1, tag1); err != nil {
		t.Fatal(err)
	}
	a2.Status = application.StatusRejected
	if _, err := repo.UpdateIfMatch(ctx, &a2, tag2); !errors.Is(err, docstore.ErrPrecondition) {
		t.Fatalf("second writer: %v", err)
	}
	got, _, _ := repo.Get(ctx, mustCode(res.Code))
	if got.Status != application.StatusReceived || got.Version != 2 {
		t.Errorf("stored %s v%d", got.Status, got.Version)
	}
	// Update re-applies on a fresh copy under concurrency: every increment lands.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := repo.Update(ctx, mustCode(res.Code), func(a *application.Application) error {
				a.Timeline = append(a.Timeline, application.Event{Status: a.Status, Actor: application.ActorSystem})
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _, _ = repo.Get(ctx, mustCode(res.Code))
	if len(got.Timeline) != 11 || got.Version != 12 {
		t.Errorf("timeline %d version %d", len(got.Timeline), got.Version)
	}
	if _, _, err := repo.Get(ctx, mustCode("NOPE-261203-0001")); !errors.Is(err, application.ErrNotFound) || !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func TestRepairOutbox(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	// A crash after the marker and the application write, before publish.
	app := application.Application{Code: "A-261203-0001", Status: application.StatusSubmitted}
	ev, _ := application.NewEvent(application.EventSubmitted, "", app, time.Now())
	app.Timeline = []application.Event{{Status: application.StatusSubmitted, EventID: ev.ID}}
	if err := application.StageOutbox(ctx, e.store, eventsQueue, ev, app.Code); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Repository().Create(ctx, &app); err != nil {
		t.Fatal(err)
	}
	// A crash after the marker, before the application write.
	lost, _ := application.NewEvent(application.EventSubmitted, "", application.Application{Code: "A-261203-0002"}, time.Now())
	if err := application.StageOutbox(ctx, e.store, eventsQueue, lost, "A-261203-0002"); err != nil {
		t.Fatal(err)
	}
	// An untied marker (PublishWithOutbox whose publish failed).
	e.q.FailNextPublish(errors.New("sqs down"))
	plain, _ := queue.NewEnvelope("x.happened", "", map[string]string{"k": "v"})
	if err := application.PublishWithOutbox(ctx, e.store, e.q, eventsQueue, plain); err == nil {
		t.Fatal("publish failure not reported")
	}

	// Young markers are left to the requests handling them.
	res, err := application.RepairOutbox(ctx, e.store, e.q, time.Hour, quiet)
	if err != nil || res.Pending != 3 || res.Published != 0 {
		t.Fatalf("young sweep %+v %v", res, err)
	}
	res, err = application.RepairOutbox(ctx, e.store, e.q, 0, quiet)
	if err != nil || res.Published != 2 || res.Discarded != 1 {
		t.Fatalf("sweep %+v %v", res, err)
	}
	var ids []string
	for _, p := range e.q.Published(eventsQueue) {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	want := []string{ev.ID, plain.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("published %v, want %v", ids, want)
	}
	res, err = application.RepairOutbox(ctx, e.store, e.q, 0, quiet)
	if err != nil || res != (application.RepairResult{}) || len(e.q.Published(eventsQueue)) != 2 {
		t.Errorf("second sweep %+v %v: not idempotent", res, err)
	}
}

func TestCompleteUploads_and_cancel(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := validInput()
	in.Documents = append(in.Documents, application.DocumentInput{Code: "UQ", FileName: "uq.pdf", ContentType: "application/pdf", Size: 100})
	res, err := e.svc.Submit(ctx, in, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CompleteUploads(ctx, mustCode(res.Code), "12345678", "", ""); !errors.Is(err, application.ErrWrongPIN) && res.PIN != "12345678" {
		t.Fatalf("wrong pin: %v", err)
	}
	if _, err := e.svc.CompleteUploads(ctx, mustCode("NOPE-261203-0001"), res.PIN, "", ""); !errors.Is(err, application.ErrWrongPIN) {
		t.Fatalf("unknown code: %v", err)
	}
	// The phone uploads the first file straight to the bucket, with the
	// declared size (the URL signs it).
	tk := in.Documents[0].Size
	if _, err := e.uploads.Put(ctx, application.UploadKey(mustCode(res.Code), "TK", "to_khai.pdf"), make([]byte, tk), docstore.PutOptions{ContentType: "application/pdf"}); err != nil {
		t.Fatal(err)
	}
	up, err := e.svc.CompleteUploads(ctx, mustCode(res.Code), res.PIN, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Complete || !up.Documents[0].Uploaded || up.Documents[0].Size != tk || up.Documents[1].Uploaded || len(up.Uploads) != 1 || up.Uploads[0].DocumentCode != "UQ" {
		t.Fatalf("partial: %+v", up)
	}
	if u := up.Uploads[0]; u.Size != 100 || u.Headers["Content-Length"] != "100" || !strings.Contains(u.URL, "content-length=100") {
		t.Fatalf("upload URL does not bind the declared size: %+v", u)
	}
	// Files that break the declaration are refused, deleted and explained.
	uq := application.UploadKey(mustCode(res.Code), "UQ", "uq.pdf")
	for _, bad := range []struct {
		name, code, ctype string
		size              int
	}{
		{"oversize", "file_too_large", "application/pdf", 2 << 20},
		{"other_size", "size_mismatch", "application/pdf", 12},
		{"other_type", "content_type_mismatch", "text/html", 100},
	} {
		if _, err := e.uploads.Put(ctx, uq, make([]byte, bad.size), docstore.PutOptions{ContentType: bad.ctype}); err != nil {
			t.Fatal(err)
		}
		up, err = e.svc.CompleteUploads(ctx, mustCode(res.Code), res.PIN, "", "")
		if err != nil {
			t.Fatal(err)
		}
		r := up.Documents[1].Rejection
		if up.Complete || up.Documents[1].Uploaded || r == nil || r.Code != bad.code || r.Reason == "" || r.ReasonVi == "" || len(up.Uploads) != 1 {
			t.Fatalf("%s: %+v (rejection %+v)", bad.name, up, r)
		}
		if _, err := e.uploads.Head(ctx, uq); !errors.Is(err, docstore.ErrNotFound) {
			t.Fatalf("%s: refused file not deleted: %v", bad.name, err)
		}
	}
	if _, err := e.uploads.Put(ctx, uq, make([]byte, 100), docstore.PutOptions{ContentType: "application/pdf"}); err != nil {
		t.Fatal(err)
	}
	if up, _ = e.svc.CompleteUploads(ctx, mustCode(res.Code), res.PIN, "", ""); !up.Complete || len(up.Uploads) != 0 || up.Documents[1].Rejection != nil {
		t.Fatalf("complete: %+v", up)
	}
	types := func() []string {
		var out []string
		for _, p := range e.q.Published(eventsQueue) {
			out = append(out, p.Type)
		}
		return out
	}
	if got := types(); !slices.Equal(got, []string{application.EventSubmitted, application.EventDocumentsUploaded}) {
		t.Errorf("events %v", got)
	}

	// Cancel: wrong PIN refused, then cancelled once, retry answers the same.
	if _, err := e.svc.Cancel(ctx, mustCode(res.Code), "00000000", "", "", ""); !errors.Is(err, application.ErrWrongPIN) && res.PIN != "00000000" {
		t.Fatalf("cancel wrong pin: %v", err)
	}
	c1, err := e.svc.Cancel(ctx, mustCode(res.Code), res.PIN, "", "Nộp nhầm thủ tục", "")
	if err != nil || c1.Status != application.StatusCancelled {
		t.Fatalf("cancel: %+v %v", c1, err)
	}
	c2, err := e.svc.Cancel(ctx, mustCode(res.Code), res.PIN, "", "", "")
	if err != nil || !c2.CancelledAt.Equal(c1.CancelledAt) {
		t.Fatalf("cancel retry: %+v %v", c2, err)
	}
	if got := types(); len(got) != 3 || got[2] != application.EventCancelled {
		t.Errorf("events %v", got)
	}
	a, _, _ := e.svc.Repository().Get(ctx, mustCode(res.Code))
	if last := a.Timeline[len(a.Timeline)-1]; last.Actor != application.ActorCitizen || last.Note != "Nộp nhầm thủ tục" {
		t.Errorf("timeline %+v", a.Timeline)
	}
	// Once received, the applicant can no longer cancel.
	res2, _ := e.svc.Submit(ctx, validInput(), "", "")
	if _, err := e.svc.Repository().Update(ctx, mustCode(res2.Code), func(a *application.Application) error {
		a.Status = application.StatusReceived
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Cancel(ctx, mustCode(res2.Code), res2.PIN, "", "", "")
	var ae *application.Error
	if !errors.Is(err, application.ErrInvalidState) || !errors.As(err, &ae) || ae.ProblemExtra()["current_status"] != "received" {
		t.Errorf("cancel received: %v", err)
	}
	if keys, _ := e.store.List(ctx, application.OutboxPrefix, "", 10); len(keys.Entries) != 0 {
		t.Errorf("outbox left %v", keys.Entries)
	}
}

func TestPIN(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		p, err := application.NewPIN()
		if err != nil || len(p) != application.PINLength {
			t.Fatalf("pin %q %v", p, err)
		}
		seen[p] = true
	}
	if len(seen) < 45 {
		t.Errorf("only %d distinct PINs of 50", len(seen))
	}
	g := guardtest.Guard(t, docstore.NewMemStore("b"))
	other := guardtest.Guard(t, docstore.NewMemStore("b")) // another pepper, same key id
	h1, s1, err := application.HashPIN(g, "12345678")
	if err != nil {
		t.Fatal(err)
	}
	h2, s2, _ := application.HashPIN(g, "12345678")
	if h1 == h2 || s1 == s2 || strings.Contains(h1, "12345678") || !strings.HasPrefix(h1, "hmac-sha256$test1$") {
		t.Errorf("hashes %q, %q: want salted hmac-sha256$test1$…", h1, h2)
	}
	if _, _, err := application.HashPIN(citizenguard.New(docstore.NewMemStore("b")), "12345678"); !errors.Is(err, citizenguard.ErrNoPepper) {
		t.Errorf("HashPIN without a pepper: err = %v, want ErrNoPepper", err)
	}
	lh, ls, err := application.HashLegacyPIN("12345678", 1000)
	if err != nil {
		t.Fatal(err)
	}
	peppered := application.Application{PINHash: h1, PINSalt: s1}
	legacy := application.Application{PINHash: lh, PINSalt: ls}
	cases := []struct {
		name  string
		guard *citizenguard.Guard
		app   application.Application
		pin   string
		want  bool
	}{
		{"right", g, peppered, "12345678", true},
		{"wrong", g, peppered, "12345679", false},
		{"short", g, peppered, "1234567", false},
		{"empty", g, peppered, "", false},
		{"legacy_right", g, legacy, "12345678", true},
		{"legacy_wrong", g, legacy, "12345679", false},
		{"other_pepper", other, peppered, "12345678", false},
		{"malformed_hash", g, application.Application{PINHash: "plain$1$x"}, "12345678", false},
	}
	for _, tc := range cases {
		if got := application.CheckPIN(tc.guard, tc.app, tc.pin); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	sealed, err := application.SealPIN("key-1", "C-1", "12345678")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := application.UnsealPIN("key-1", "C-1", sealed); err != nil || got != "12345678" {
		t.Errorf("unseal %q %v", got, err)
	}
	if _, err := application.UnsealPIN("key-2", "C-1", sealed); err == nil {
		t.Error("unsealed with another key")
	}
	if _, err := application.UnsealPIN("key-1", "C-2", sealed); err == nil {
		t.Error("unsealed for another code")
	}
}

func TestSubmit_validation_is_one_round_and_speaks_plainly(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := validInput()
	in.Applicant.IDNumber = "12345"
	in.Applicant.DateOfBirth = "17/05/1990"
	in.Documents = nil
	in.Form["maHoSoCu"] = "có dấu!"
	_, err := e.svc.Submit(ctx, in, "", "")
	p := problemOf(t, err)
	if p.Status != 422 || !errors.Is(err, application.ErrInvalidInput) {
		t.Fatalf("err = %v, want ErrInvalidInput (422)", err)
	}
	got := map[string]httpx.FieldError{}
	for _, fe := range p.Errors {
		got[fe.Field] = fe
	}
	for _, f := range []string{"applicant.idNumber", "applicant.dateOfBirth", "documents", "form.maHoSoCu"} {
		if _, ok := got[f]; !ok {
			t.Fatalf("errors %+v lack %s (validation must run in one round)", p.Errors, f)
		}
	}
	if m := got["applicant.dateOfBirth"].Message + got["applicant.dateOfBirth"].MessageVi; strings.Contains(m, "2006") || !strings.Contains(m, "YYYY-MM-DD") {
		t.Fatalf("date message %q leaks Go's layout", m)
	}
	if m := got["form.maHoSoCu"].Message; !strings.Contains(m, "maHoSoCu") {
		t.Fatalf("pattern message %q does not name the field", m)
	}

	// A phone typed with spaces is accepted in the form as in applicant.phone.
	in = validInput()
	in.Form["soDienThoai"] = "0912 345 678"
	res, err := e.svc.Submit(ctx, in, "", "")
	if err != nil {
		t.Fatalf("form phone with spaces: %v", err)
	}
	a, _, _ := e.svc.Repository().Get(ctx, mustCode(res.Code))
	if a.Form["soDienThoai"] != "0912345678" {
		t.Fatalf("stored form phone %q, want it compacted", a.Form["soDienThoai"])
	}
}
