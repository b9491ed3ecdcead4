package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/httpx"
)

func TestSubmit_routes_stores_and_publishes(t *testing.T) {
	f := newFixture(t)
	out := f.submit(t, validInput())
	if pid(out.ID).IsZero() || len(out.Secret) != 8 || out.Anonymous || out.Duplicate {
		t.Fatalf("result %+v", out)
	}
	if out.Agency.Code != "UBND-X-VIETHUNG" {
		t.Fatalf("routed to %s, want the commune", out.Agency.Code)
	}
	if want := ict(2026, 12, 23, 17, 0); !out.Due.AnswerBy.Equal(want) {
		t.Fatalf("answerBy %v, want %v", out.Due.AnswerBy, want)
	}
	it, _, err := f.svc.repo.get(context.Background(), pid(out.ID))
	if err != nil {
		t.Fatal(err)
	}
	if it.Contact == nil || it.Contact.Phone != "+84912345678" || it.SecretHash == "" || strings.Contains(it.SecretHash, out.Secret) {
		t.Fatalf("stored contact/secret wrong: %+v", it.Contact)
	}
	if got := f.eventTypes(); !slices.Equal(got, []string{"feedback.received"}) {
		t.Fatalf("events %v", got)
	}
	if it.Timeline[0].EventID != f.q.Published(DefaultEventsQueue)[0].ID {
		t.Fatal("the timeline does not carry the event id")
	}
	if ok, err := EventWritten(f.store)(context.Background(), out.ID, it.Timeline[0].EventID); !ok || err != nil {
		t.Fatalf("EventWritten = %v, %v", ok, err)
	}
	if ok, _ := EventWritten(f.store)(context.Background(), out.ID, "another-event"); ok {
		t.Fatal("EventWritten for an event not on the timeline")
	}
	if ok, err := EventWritten(f.store)(context.Background(), "PAKN-261203-ZZZZZZZZ", "x"); ok || err != nil {
		t.Fatalf("EventWritten of an unknown item = %v, %v", ok, err)
	}
	page, err := f.store.List(context.Background(), OutboxPrefixForTest, "", 10)
	if err != nil || len(page.Entries) != 0 {
		t.Fatalf("outbox markers left: %v %v", page.Entries, err)
	}
}

// problemFields returns the fields the client's problem names.
func problemFields(err error) []string {
	resp := httpx.FromError(context.Background(), nil, err)
	var p httpx.Problem
	_ = json.Unmarshal(resp.Body, &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// OutboxPrefixForTest is where the shared outbox keeps markers.
const OutboxPrefixForTest = "outbox/"

func TestStaffGet_files(t *testing.T) {
	f := newFixture(t)
	in := validInput()
	in.Attachments = []AttachmentInput{{FileName: "Ảnh rác.JPG", ContentType: "image/jpeg", Size: 100}, {FileName: "b.pdf", ContentType: "application/pdf", Size: 10}}
	out := f.submit(t, in)
	if len(out.Uploads) != 2 || out.Uploads[0].FileName != "1-anh_rac.jpg" {
		t.Fatalf("uploads %+v", out.Uploads)
	}
	ctx := context.Background()
	up := f.svc.d.Uploads
	if _, err := up.Put(ctx, UploadKey(pid(out.ID), "1-anh_rac.jpg"), make([]byte, 100), docstore.PutOptions{ContentType: "image/jpeg"}); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Put(ctx, UploadKey(pid(out.ID), "2-b.pdf"), make([]byte, 11), docstore.PutOptions{ContentType: "application/pdf"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.StaffGet(ctx, Officer{Subject: "o", Agency: out.Agency.Code}, pid(out.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Files) != 2 || !v.Files[0].Uploaded || v.Files[0].TooLarge || v.Files[0].ViewURL == "" ||
		!v.Files[1].TooLarge || v.Files[1].ViewURL != "" {
		t.Fatalf("files %+v", v.Files)
	}
}

func TestSubmit_validation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		edit  func(*SubmitInput)
		field string
	}{
		{"unknown_field", func(in *SubmitInput) { in.Field = "NOPE" }, "field"},
		{"bad_kind", func(in *SubmitInput) { in.Kind = "complaint" }, "kind"},
		{"content_too_long", func(in *SubmitInput) { in.Content = strings.Repeat("ạ", 4001) }, "content"},
		{"lat_out_of_range", func(in *SubmitInput) { in.Location.Lat = f64(91) }, "location.lat"},
		{"lat_without_long", func(in *SubmitInput) { in.Location.Long = nil }, "location.long"},
		{"bad_phone", func(in *SubmitInput) { in.Contact.Phone = "12345" }, "contact.phone"},
		{"contact_without_phone_or_email", func(in *SubmitInput) { in.Contact = &ContactInput{Name: "An"} }, "contact.phone"},
		{"attachment_type", func(in *SubmitInput) {
			in.Attachments = []AttachmentInput{{FileName: "x.exe", ContentType: "application/octet-stream", Size: 10}}
		}, "attachments[0].fileName"},
		{"attachment_too_large", func(in *SubmitInput) {
			in.Attachments = []AttachmentInput{{FileName: "a.jpg", ContentType: "image/jpeg", Size: 11 << 20}}
		}, "attachments[0].size"},
		{"unknown_area", func(in *SubmitInput) { in.Location.AreaCode = "NOPE" }, "location.areaCode"},
		{"unknown_application", func(in *SubmitInput) { in.ApplicationCode = "STP-260302-0001" }, "applicationCode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := validInput()
			tc.edit(&in)
			_, err := f.svc.Submit(context.Background(), in, Origin{Client: "203.0.113.8"})
			if err == nil {
				t.Fatal("accepted")
			}
			if got := problemFields(err); !slices.Contains(got, tc.field) {
				t.Fatalf("error %v names %v, want %s", err, got, tc.field)
			}
		})
	}
	if page, _ := f.store.List(context.Background(), ItemsPrefix, "", 10); len(page.Entries) != 0 {
		t.Fatal("a refused intake stored an item")
	}
}

func TestSubmit_same_content_same_sender_is_the_existing_item(t *testing.T) {
	f := newFixture(t)
	first := f.submit(t, validInput())
	again := validInput()
	again.Content = "  điểm tập kết rác ở đầu THÔN 2 không được thu gom ba ngày nay,   gây mùi hôi. "
	dup := f.submit(t, again)
	if !dup.Duplicate || dup.ID != first.ID || dup.Secret != "" {
		t.Fatalf("duplicate = %+v, want the first item %s without a secret", dup, first.ID)
	}
	other := validInput()
	other.Contact.Phone = "0987654321"
	if o := f.submit(t, other); o.Duplicate {
		t.Fatal("another sender's same text is a duplicate")
	}
	f.clk.add(DefaultDedupWindow + time.Minute)
	if o := f.submit(t, validInput()); o.Duplicate || o.ID == first.ID {
		t.Fatal("the same text after the window is still a duplicate")
	}
}

func TestSubmit_rate_limits_per_phone_and_client(t *testing.T) {
	f := newFixture(t)
	for i := range DefaultPerSender {
		in := validInput()
		in.Title = fmt.Sprintf("Phản ánh số %d về rác", i)
		f.submit(t, in)
	}
	in := validInput()
	in.Title = "Phản ánh thứ sáu về rác"
	_, err := f.svc.Submit(context.Background(), in, Origin{Client: "198.51.100.1"})
	var lim *TooManyError
	if !errors.As(err, &lim) {
		t.Fatalf("6th intake from one phone: %v, want 429", err)
	}
	// Anonymous intakes are limited per client address.
	f2 := newFixture(t)
	for i := 0; i < DefaultPerClient; i++ {
		in := validInput()
		in.Contact = nil
		in.Title = fmt.Sprintf("Phản ánh ẩn danh %d", i)
		if _, err := f2.svc.Submit(context.Background(), in, Origin{Client: "198.51.100.2"}); err != nil {
			t.Fatalf("intake %d: %v", i, err)
		}
	}
	in = validInput()
	in.Contact = nil
	if _, err := f2.svc.Submit(context.Background(), in, Origin{Client: "198.51.100.2"}); !errors.As(err, &lim) {
		t.Fatalf("intake over the client limit: %v, want 429", err)
	}
}

func TestFollowUp_secret(t *testing.T) {
	f := newFixture(t)
	out := f.submit(t, validInput())
	ctx := context.Background()
	v, err := f.svc.FollowUp(ctx, pid(strings.ToLower(out.ID)), out.Secret, "192.0.2.1")
	if err != nil || v.ID != out.ID || v.Status != StatusReceived || v.Agency.Code != "UBND-X-VIETHUNG" {
		t.Fatalf("follow-up: %+v %v", v, err)
	}
	_, errWrong := f.svc.FollowUp(ctx, pid(out.ID), "00000001", "192.0.2.1")
	_, errUnknown := f.svc.FollowUp(ctx, pid("PAKN-261203-ZZZZZZZZ"), out.Secret, "192.0.2.1")
	_, errJunk := f.svc.FollowUp(ctx, pid("../../etc"), out.Secret, "192.0.2.1")
	for _, e := range []error{errWrong, errUnknown, errJunk} {
		if !errors.Is(e, ErrNotFound) {
			t.Fatalf("err = %v, want the one 404", e)
		}
	}
	anon := validInput()
	anon.Contact = nil
	a := f.submit(t, anon)
	if a.Secret != "" || !a.Anonymous {
		t.Fatalf("anonymous intake got a secret: %+v", a)
	}
	if _, err := f.svc.FollowUp(ctx, pid(a.ID), "00000000", "192.0.2.1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("anonymous follow-up: %v", err)
	}
	// Guessing is throttled (shared/citizenguard).
	var lim *citizenguard.LimitedError
	for i := range 10 {
		_, err = f.svc.FollowUp(ctx, pid(out.ID), fmt.Sprintf("1234567%d", i), fmt.Sprintf("192.0.2.%d", 10+i))
		if errors.As(err, &lim) {
			return
		}
	}
	t.Fatal("guessing the secret was never throttled")
}

func TestStaff_workflow_events_rating_reopen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	out := f.submit(t, validInput())
	ag := out.Agency.Code
	if _, err := f.svc.StaffGet(ctx, Officer{Subject: "x", Agency: "STP"}, pid(out.ID)); !errors.Is(err, ErrWrongAgency) {
		t.Fatalf("other agency: %v", err)
	}
	f.staff(t, ag, out.ID, Input{Action: ActionAssign})
	f.staff(t, ag, out.ID, Input{Action: ActionRequestInfo, Text: "Xin cho biết vị trí cụ thể"})
	v, err := f.svc.SenderAct(ctx, pid(out.ID), out.Secret, "192.0.2.1", Input{Action: ActionProvideInfo, Text: "Cạnh nhà văn hóa thôn"}, "")
	if err != nil || v.Status != StatusInProgress {
		t.Fatalf("provide info: %v %v", v.Status, err)
	}
	sv := f.staff(t, ag, out.ID, Input{Action: ActionAnswer, Text: "Đã thu gom. Liên hệ 0912345678 hoặc an.nguyen@example.com, CCCD 001090123456, ông Nguyễn Văn An."})
	if !slices.Contains(sv.AllowedActions, ActionPublish) {
		t.Fatalf("allowed %v after answer", sv.AllowedActions)
	}
	f.staff(t, ag, out.ID, Input{Action: ActionPublish})
	p, err := f.svc.GetPublic(ctx, pid(out.ID))
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"0912345678", "an.nguyen@example.com", "001090123456", "Nguyễn Văn An"} {
		if strings.Contains(p.Answer+p.Content+p.Title+p.Address, leak) {
			t.Fatalf("public view leaks %q: %+v", leak, p)
		}
	}
	if *p.Lat != 21.138 || *p.Long != 105.884 {
		t.Fatalf("coordinates not rounded: %v %v", *p.Lat, *p.Long)
	}
	if _, err := f.svc.SenderAct(ctx, pid(out.ID), out.Secret, "", Input{Action: ActionRate, Score: 2}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SenderAct(ctx, pid(out.ID), out.Secret, "", Input{Action: ActionRate, Score: 5}, ""); !errors.Is(err, ErrAlreadyRated) {
		t.Fatalf("second rating: %v", err)
	}
	f.clk.add(3 * 24 * time.Hour)
	v, err = f.svc.SenderAct(ctx, pid(out.ID), out.Secret, "", Input{Action: ActionReopen, Text: "Rác lại tồn đọng"}, "")
	if err != nil || v.Status != StatusReopened || v.ReopenCount != 1 {
		t.Fatalf("reopen: %+v %v", v, err)
	}
	f.staff(t, ag, out.ID, Input{Action: ActionAnswer, Text: "Đã bố trí thu gom hằng ngày."})
	f.staff(t, ag, out.ID, Input{Action: ActionClose})
	f.clk.add(11 * 24 * time.Hour)
	if _, err := f.svc.SenderAct(ctx, pid(out.ID), out.Secret, "", Input{Action: ActionReopen, Text: "x"}, ""); !errors.Is(err, ErrReopenWindow) {
		t.Fatalf("late reopen: %v", err)
	}
	want := []string{"feedback.received", "feedback.assigned", "feedback.info_requested", "feedback.info_provided",
		"feedback.answered", "feedback.published", "feedback.rated", "feedback.reopened", "feedback.answered", "feedback.closed"}
	if got := f.eventTypes(); !slices.Equal(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	it, _, _ := f.svc.repo.get(ctx, pid(out.ID))
	if len(it.Timeline) != len(want) || it.Version != len(want) {
		t.Fatalf("timeline %d steps, version %d; want %d", len(it.Timeline), it.Version, len(want))
	}
}

func TestStaff_two_officers_one_wins(t *testing.T) {
	f := newFixture(t)
	out := f.submit(t, validInput())
	ag := out.Agency.Code
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Officer{Subject: fmt.Sprintf("officer-%d", i), Agency: ag}
			_, errs[i] = f.svc.StaffAct(context.Background(), o, pid(out.ID), 1, Input{Action: ActionAnswer, Text: fmt.Sprintf("trả lời %d", i)}, "")
		}()
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, e := range errs {
		switch {
		case e == nil:
			ok++
		case errors.Is(e, ErrConcurrentUpdate):
			conflict++
		default:
			t.Fatalf("unexpected error %v", e)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("%d ok, %d conflicts; want 1 and 1", ok, conflict)
	}
	if n := len(f.eventTypes()); n != 2 {
		t.Fatalf("%d events, want received + one answered", n)
	}
	if page, _ := f.store.List(context.Background(), OutboxPrefixForTest, "", 10); len(page.Entries) != 0 {
		t.Fatalf("the loser left outbox markers: %v", page.Entries)
	}
}

func TestQueue_filters_paging_and_reassign(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	for i := range 7 {
		in := validInput()
		in.Title = fmt.Sprintf("Phản ánh rác số %d", i)
		in.Contact.Phone = fmt.Sprintf("091234560%d", i)
		ids = append(ids, f.submit(t, in).ID)
		f.clk.add(40 * 24 * time.Hour) // spread over months
	}
	ag := "UBND-X-VIETHUNG"
	o := Officer{Subject: "o", Agency: ag}
	var got []string
	cursor := ""
	for range 10 {
		page, err := f.svc.Queue(ctx, o, QueueQuery{Limit: 3, Cursor: cursor, From: ict(2026, 1, 1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			got = append(got, e.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("paged queue %v, want %v", got, ids)
	}
	f.staff(t, ag, ids[0], Input{Action: ActionAnswer, Text: "ok"})
	f.staff(t, ag, ids[1], Input{Action: ActionReassign, Agency: Agency{Code: "STP"}, Text: "thuộc Sở Tư pháp"})
	page, err := f.svc.Queue(ctx, o, QueueQuery{Status: StatusAnswered, From: ict(2026, 1, 1, 0, 0)})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != ids[0] {
		t.Fatalf("status filter: %+v %v", page.Items, err)
	}
	yes := true
	page, _ = f.svc.Queue(ctx, o, QueueQuery{Overdue: &yes, From: ict(2026, 1, 1, 0, 0)})
	for _, e := range page.Items {
		if len(e.Overdue) == 0 {
			t.Fatalf("overdue filter kept %s", e.ID)
		}
	}
	if len(page.Items) == 0 {
		t.Fatal("no overdue items although the oldest are months old")
	}
	page, _ = f.svc.Queue(ctx, o, QueueQuery{From: ict(2026, 1, 1, 0, 0), Limit: 100})
	for _, e := range page.Items {
		if e.ID == ids[1] {
			t.Fatal("a reassigned item is still in the old agency's queue")
		}
	}
	stp, _ := f.svc.Queue(ctx, Officer{Subject: "s", Agency: "STP"}, QueueQuery{From: ict(2026, 1, 1, 0, 0)})
	if len(stp.Items) != 1 || stp.Items[0].ID != ids[1] {
		t.Fatalf("STP queue %+v", stp.Items)
	}
	if _, err := f.svc.Queue(ctx, o, QueueQuery{Cursor: "garbage"}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestPublic_search(t *testing.T) {
	f := newFixture(t)
	out := f.submit(t, validInput())
	f.staff(t, out.Agency.Code, out.ID, Input{Action: ActionAnswer, Text: "Đã thu gom xong."})
	f.staff(t, out.Agency.Code, out.ID, Input{Action: ActionPublish})
	other := validInput()
	other.Title, other.Content = "Đèn đường hỏng", "Đèn đường trước cổng trường tiểu học bị hỏng một tuần."
	other.Field = "CHIEU_SANG_CAY_XANH"
	f.submit(t, other) // not published
	ctx := context.Background()
	page, err := f.svc.Public(ctx, PublicQuery{Q: "tap ket rac"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != out.ID {
		t.Fatalf("search: %+v %v", page.Items, err)
	}
	if page, _ := f.svc.Public(ctx, PublicQuery{Q: "GOM  rác thu"}); len(page.Items) != 1 {
		t.Fatal("words in another order are not found")
	}
	if page, _ := f.svc.Public(ctx, PublicQuery{Q: "thu gom đèn"}); len(page.Items) != 0 {
		t.Fatal("a search matched with a missing word")
	}
	if page, _ := f.svc.Public(ctx, PublicQuery{Q: "đèn đường"}); len(page.Items) != 0 {
		t.Fatal("an unpublished item is public")
	}
}

func TestStaff_concurrent_publish_keeps_the_public_copy(t *testing.T) {
	for round := range 5 {
		f := newFixture(t)
		out := f.submit(t, validInput())
		ag := out.Agency.Code
		f.staff(t, ag, out.ID, Input{Action: ActionAnswer, Text: fmt.Sprintf("Đã thu gom (%d).", round)})
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := Officer{Subject: fmt.Sprintf("officer-%d", i), Agency: ag}
				_, _ = f.svc.StaffAct(context.Background(), o, pid(out.ID), 2, Input{Action: ActionPublish}, "")
			}()
		}
		wg.Wait()
		it, _, _ := f.svc.repo.get(context.Background(), pid(out.ID))
		if !it.Published {
			t.Fatal("neither publish won")
		}
		if _, err := f.svc.GetPublic(context.Background(), pid(out.ID)); err != nil {
			t.Fatalf("round %d: the published item has no public copy: %v", round, err)
		}
	}
}
