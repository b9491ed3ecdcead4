package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"motcua/cmd/motcua-local/app"
	"motcua/shared/application"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

// The application path end to end: a citizen finds a procedure, files an
// application with declared documents, uploads the files to the presigned
// URLs, looks it up by code and PIN, and officers of the settling agency
// take it from receive to return, everything through the gateway of the
// real local stack.

const (
	// e2eProcedure is a real seed procedure (Sở Tư pháp, criminal record
	// certificate) with a fee reduced online and two document kinds.
	e2eProcedure = "T.TP.001"
	e2eAgency    = "STP"
	// e2eOnlineFee is T.TP.001's online amount in the seed catalog.
	e2eOnlineFee = 100000
	dataBucket   = "motcua-data"
	eventsQueue  = "application-events"
)

// submitBody is a valid online submission of T.TP.001 by a person (the
// CCCD/date-of-birth and phone pair is the one shared/application's tests
// use) declaring the TK and UQ documents as PDFs of pdfSize bytes.
func submitBody(t *testing.T, pdfSize int) []byte {
	t.Helper()
	in := map[string]any{
		"procedureCode": e2eProcedure,
		"applicant": map[string]any{
			"kind": "person", "name": "Nguyễn Thị Hoa", "idNumber": "001190123456",
			"dateOfBirth": "1990-05-17", "phone": "0912 345 678", "email": "hoa@example.vn",
			"address": "Số 5 phố Tràng Thi, Hoàn Kiếm, Hà Nội",
		},
		"form": map[string]any{
			"hoTenNguoiYeuCau": "Nguyễn Thị Hoa", "soCCCDNguoiYeuCau": "001190123456",
			"soDienThoai": "0912345678", "loaiPhieu": "Phiếu số 1", "soLuongPhieu": 1,
			"mucDich": "Bổ sung hồ sơ xin việc", "ngaySinh": "1990-05-17",
		},
		"documents": []map[string]any{
			{"code": "TK", "fileName": "to-khai.pdf", "contentType": "application/pdf", "size": pdfSize},
			{"code": "UQ", "fileName": "uy-quyen.pdf", "contentType": "application/pdf", "size": pdfSize},
		},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// minimalPDF returns a small, well-formed one-page PDF (header, four
// objects, a cross-reference table with exact offsets, trailer).
func minimalPDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// statusView is the part of application-status's answer the tests check.
type statusView struct {
	Code      string             `json:"code"`
	Status    application.Status `json:"status"`
	Procedure struct {
		Code string `json:"code"`
	} `json:"procedure"`
	Fee struct {
		AmountVND    int64  `json:"amountVND"`
		PaymentState string `json:"paymentState"`
	} `json:"fee"`
	DueAt      *time.Time `json:"dueAt"`
	ReceivedAt *time.Time `json:"receivedAt"`
	Settlement *string    `json:"settlement"`
	Timeline   []struct {
		Step application.Status `json:"step"`
		Who  string             `json:"who"`
		Note string             `json:"note"`
	} `json:"timeline"`
	Documents []struct {
		Code     string `json:"code"`
		Uploaded bool   `json:"uploaded"`
	} `json:"documents"`
}

// steps returns the timeline's statuses in order.
func (s statusView) steps() []application.Status {
	out := make([]application.Status, len(s.Timeline))
	for i, e := range s.Timeline {
		out[i] = e.Step
	}
	return out
}

// fixture is one started stack with what the tests need from it.
type fixture struct {
	a      *app.App
	gw     string
	signer *staffauth.Signer
	logs   *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	a, logs := startApp(t, app.Config{RepoRoot: repoRoot(t)})
	// startApp leaves SecretsDir empty: the runner keeps the generated dev
	// secrets (the staff key pair among them) under DataDir/secrets
	// (app.Config.SecretsDir's default), where `motcua token mint` finds them.
	signer := stafftest.LoadSigner(t, filepath.Join(a.DataDir(), "secrets"))
	return &fixture{a: a, gw: a.GatewayURL(), signer: signer, logs: logs}
}

// token mints a staff token of agency for officer.
func (f *fixture) token(t *testing.T, officer, agency string) string {
	t.Helper()
	return "Bearer " + stafftest.Token(t, f.signer, officer, agency)
}

// submit files a valid application and returns the decoded 201 answer.
func (f *fixture) submit(t *testing.T, body []byte, hdr ...string) application.SubmitResult {
	t.Helper()
	hdr = append([]string{"Content-Type", "application/json"}, hdr...)
	code, _, b := do(t, http.MethodPost, f.gw+"/function/submit-application", bytes.NewReader(body), hdr...)
	if code != http.StatusCreated {
		t.Fatalf("submit: status %d: %s", code, b)
	}
	var res application.SubmitResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("submit answer %s: %v", b, err)
	}
	return res
}

// lookup posts {code, pin} to application-status.
func (f *fixture) lookup(t *testing.T, code, pin string) (int, http.Header, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code, "pin": pin})
	return do(t, http.MethodPost, f.gw+"/function/application-status", bytes.NewReader(body), "Content-Type", "application/json")
}

// status looks the application up and fails unless it answers 200.
func (f *fixture) status(t *testing.T, code, pin string) statusView {
	t.Helper()
	c, _, b := f.lookup(t, code, pin)
	if c != http.StatusOK {
		t.Fatalf("status look-up: %d: %s", c, b)
	}
	var v statusView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("status answer %s: %v", b, err)
	}
	return v
}

// process posts one staff action.
func (f *fixture) process(t *testing.T, auth string, action map[string]any) (int, http.Header, []byte) {
	t.Helper()
	body, _ := json.Marshal(action)
	return do(t, http.MethodPost, f.gw+"/function/process-application", bytes.NewReader(body),
		"Content-Type", "application/json", "Authorization", auth)
}

// applicationKeys lists the application documents in the data bucket.
func (f *fixture) applicationKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(f.a.S3(), &s3.ListObjectsV2Input{Bucket: aws.String(dataBucket), Prefix: aws.String("applications/")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list applications/: %v", err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if rest := strings.TrimPrefix(k, "applications/"); !strings.Contains(rest, "/") && strings.HasSuffix(rest, ".json") {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// problemCode decodes a problem's code and current_status members.
func problemCode(t *testing.T, hdr http.Header, b []byte) (string, string) {
	t.Helper()
	decodeProblem(t, hdr, b)
	var p struct {
		Code          string `json:"code"`
		CurrentStatus string `json:"current_status"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem %s: %v", b, err)
	}
	return p.Code, p.CurrentStatus
}

var (
	codePattern = regexp.MustCompile(`^STP-\d{6}-\d{4,}$`)
	pinPattern  = regexp.MustCompile(`^\d{8}$`)
)

// TestApplication_through_the_gateway starts the stack once (most of its
// time is building every function) and runs the lifecycle and the
// concurrent-officers race on it.
func TestApplication_through_the_gateway(t *testing.T) {
	f := newFixture(t)
	t.Run("lifecycle", func(t *testing.T) { lifecycle(t, f) })
	t.Run("concurrent_officers_one_wins", func(t *testing.T) { concurrentOfficers(t, f) })
}

// lifecycle is the citizen's and the officers' whole path on one
// application, step by step.
func lifecycle(t *testing.T, f *fixture) {
	pdf := minimalPDF("To khai - e2e")
	body := submitBody(t, len(pdf))
	idemKey := uuid.NewString()
	var sub application.SubmitResult

	t.Run("procedures_lists_the_seed_procedure", func(t *testing.T) {
		code, _, b := do(t, http.MethodGet, f.gw+"/function/procedures?code="+e2eProcedure, nil)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, b)
		}
		var p struct {
			Code      string                `json:"code"`
			Agency    struct{ Code string } `json:"agency"`
			Documents []struct {
				Code     string `json:"code"`
				Required bool   `json:"required"`
			} `json:"documents"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if p.Code != e2eProcedure || p.Agency.Code != e2eAgency || len(p.Documents) != 2 || p.Documents[0].Code != "TK" || !p.Documents[0].Required {
			t.Fatalf("procedure %s", b)
		}
	})

	t.Run("submit_answers_201_with_code_pin_fee_due_date_and_upload_urls", func(t *testing.T) {
		sub = f.submit(t, body, "Idempotency-Key", idemKey)
		if !codePattern.MatchString(sub.Code) || !pinPattern.MatchString(sub.PIN) || sub.PINSealed != "" {
			t.Fatalf("code %q pin %q sealed %q", sub.Code, sub.PIN, sub.PINSealed)
		}
		if sub.Status != application.StatusSubmitted || sub.ProcedureCode != e2eProcedure || sub.Agency.Code != e2eAgency {
			t.Fatalf("answer %+v", sub)
		}
		if sub.Fee.AmountVND != e2eOnlineFee || sub.Fee.PaymentState != application.PaymentUnpaid {
			t.Fatalf("fee %+v, want %d unpaid (online amount)", sub.Fee, e2eOnlineFee)
		}
		if !sub.DueDate.After(sub.SubmittedAt.Add(24 * time.Hour)) {
			t.Fatalf("due %s not days after submission %s", sub.DueDate, sub.SubmittedAt)
		}
		if len(sub.Uploads) != 2 {
			t.Fatalf("uploads %+v", sub.Uploads)
		}
		for _, u := range sub.Uploads {
			if u.Method != http.MethodPut || !strings.HasPrefix(u.URL, "http://127.0.0.1:") || u.Headers["Content-Type"] != "application/pdf" {
				t.Fatalf("upload %+v", u)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("files_go_to_the_presigned_urls_and_complete_uploads_records_them", func(t *testing.T) {
		for _, u := range sub.Uploads {
			req, err := http.NewRequest(u.Method, u.URL, bytes.NewReader(pdf))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range u.Headers {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("PUT %s: %v", u.DocumentCode, err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("PUT %s: status %d", u.DocumentCode, res.StatusCode)
			}
		}
		pin, _ := json.Marshal(map[string]string{"code": sub.Code, "pin": sub.PIN})
		code, _, b := do(t, http.MethodPost, f.gw+"/function/submit-application?action=complete-uploads", bytes.NewReader(pin), "Content-Type", "application/json")
		if code != http.StatusOK {
			t.Fatalf("complete-uploads: %d: %s", code, b)
		}
		var res application.UploadsResult
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		if !res.Complete || len(res.Uploads) != 0 || len(res.Documents) != 2 {
			t.Fatalf("complete-uploads answer %s", b)
		}
		for _, d := range res.Documents {
			if !d.Uploaded || d.Size != int64(len(pdf)) {
				t.Fatalf("document %+v, want uploaded with %d bytes", d, len(pdf))
			}
		}
	})

	t.Run("status_lookup_shows_documents_and_timeline", func(t *testing.T) {
		v := f.status(t, sub.Code, sub.PIN)
		if v.Code != sub.Code || v.Status != application.StatusSubmitted || v.Procedure.Code != e2eProcedure {
			t.Fatalf("view %+v", v)
		}
		if v.Fee.AmountVND != e2eOnlineFee || v.DueAt == nil {
			t.Fatalf("fee %+v due %v", v.Fee, v.DueAt)
		}
		if len(v.Documents) != 2 || !v.Documents[0].Uploaded || !v.Documents[1].Uploaded {
			t.Fatalf("documents %+v", v.Documents)
		}
		if got := v.steps(); len(got) != 1 || got[0] != application.StatusSubmitted || v.Timeline[0].Who == "" {
			t.Fatalf("timeline %+v", v.Timeline)
		}
	})

	t.Run("retry_with_the_same_idempotency_key_returns_the_same_application", func(t *testing.T) {
		again := f.submit(t, body, "Idempotency-Key", idemKey)
		if again.Code != sub.Code || again.PIN != sub.PIN {
			t.Fatalf("replay gave %s/%s, first %s/%s", again.Code, again.PIN, sub.Code, sub.PIN)
		}
		if keys := f.applicationKeys(t); len(keys) != 1 || keys[0] != application.Key(mustParseCode(t, sub.Code)) {
			t.Fatalf("applications in the bucket after the retry: %v", keys)
		}
	})

	t.Run("submitted_event_reaches_the_events_queue", func(t *testing.T) {
		checkSubmittedEvent(t, f, sub.Code)
	})

	staff := f.token(t, "officer-e2e", e2eAgency)
	for _, step := range []struct {
		action map[string]any
		want   application.Status
	}{
		{map[string]any{"action": "receive"}, application.StatusReceived},
		{map[string]any{"action": "start", "note": "Chuyển phòng chuyên môn"}, application.StatusProcessing},
		{map[string]any{"action": "complete", "result": map[string]any{"description": "Đã cấp Phiếu lý lịch tư pháp số 1"}}, application.StatusProcessed},
		{map[string]any{"action": "return", "delivery": map[string]any{"method": "online"}}, application.StatusReturned},
	} {
		t.Run("staff_"+step.action["action"].(string)+"_shows_in_the_timeline", func(t *testing.T) {
			step.action["code"] = sub.Code
			if r, ok := step.action["result"].(map[string]any); ok {
				r["documentKey"] = f.uploadResult(t, staff, sub.Code, minimalPDF("Phieu LLTP so 1"))
			}
			code, _, b := f.process(t, staff, step.action)
			if code != http.StatusOK {
				t.Fatalf("%v: status %d: %s", step.action["action"], code, b)
			}
			var res struct {
				Application struct {
					Status application.Status `json:"status"`
				} `json:"application"`
				Event application.Event `json:"event"`
			}
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			if res.Application.Status != step.want || res.Event.Status != step.want || res.Event.Actor != e2eAgency {
				t.Fatalf("answer %s", b)
			}
			if strings.Contains(string(b), "pinHash") || strings.Contains(string(b), "officer-e2e") {
				t.Fatalf("staff answer leaks PIN data or the officer into the application: %s", b)
			}
			v := f.status(t, sub.Code, sub.PIN)
			steps := v.steps()
			if v.Status != step.want || steps[len(steps)-1] != step.want {
				t.Fatalf("status %s, timeline %v; want %s last", v.Status, steps, step.want)
			}
			for _, e := range v.Timeline[1:] {
				if e.Who == "" || strings.Contains(e.Who, "officer") {
					t.Fatalf("timeline step by %q", e.Who)
				}
			}
		})
	}

	t.Run("timeline_holds_every_step_in_order", func(t *testing.T) {
		v := f.status(t, sub.Code, sub.PIN)
		want := []application.Status{application.StatusSubmitted, application.StatusReceived,
			application.StatusProcessing, application.StatusProcessed, application.StatusReturned}
		if got := v.steps(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("timeline %v, want %v", got, want)
		}
		if v.ReceivedAt == nil || v.Settlement == nil {
			t.Fatalf("receivedAt %v settlement %v", v.ReceivedAt, v.Settlement)
		}
	})

	t.Run("illegal_transition_is_409_with_current_status", func(t *testing.T) {
		code, hdr, b := f.process(t, staff, map[string]any{"code": sub.Code, "action": "receive"})
		if code != http.StatusConflict {
			t.Fatalf("status %d: %s", code, b)
		}
		if slug, cur := problemCode(t, hdr, b); slug != "illegal_transition" || cur != string(application.StatusReturned) {
			t.Fatalf("problem %s", b)
		}
	})

	t.Run("another_agency_is_403", func(t *testing.T) {
		code, hdr, b := f.process(t, f.token(t, "officer-syt", "SYT"), map[string]any{"code": sub.Code, "action": "start"})
		if code != http.StatusForbidden {
			t.Fatalf("status %d: %s", code, b)
		}
		if slug, _ := problemCode(t, hdr, b); slug != "wrong_agency" {
			t.Fatalf("problem %s", b)
		}
	})

	t.Run("wrong_pin_is_the_same_404_as_an_unknown_code", func(t *testing.T) {
		wrongPIN := "00000000"
		if sub.PIN == wrongPIN {
			wrongPIN = "11111111"
		}
		c1, h1, b1 := f.lookup(t, sub.Code, wrongPIN)
		c2, h2, b2 := f.lookup(t, "STP-991231-9999", wrongPIN)
		if c1 != http.StatusNotFound || c2 != http.StatusNotFound {
			t.Fatalf("statuses %d / %d", c1, c2)
		}
		s1, _ := problemCode(t, h1, b1)
		s2, _ := problemCode(t, h2, b2)
		if s1 != s2 || s1 == "" {
			t.Fatalf("codes %q / %q", s1, s2)
		}
		if withoutInstance(t, b1) != withoutInstance(t, b2) {
			t.Fatalf("bodies differ:\n%s\n%s", b1, b2)
		}
	})

	t.Run("sixth_wrong_pin_is_429_with_retry_after", func(t *testing.T) {
		// A fresh application, so earlier failures do not count.
		other := f.submit(t, body)
		wrongPIN := "00000000"
		if other.PIN == wrongPIN {
			wrongPIN = "11111111"
		}
		for i := 1; i <= 5; i++ {
			if c, _, b := f.lookup(t, other.Code, wrongPIN); c != http.StatusNotFound {
				t.Fatalf("wrong PIN #%d: status %d: %s", i, c, b)
			}
		}
		c, hdr, b := f.lookup(t, other.Code, wrongPIN)
		if c != http.StatusTooManyRequests {
			t.Fatalf("wrong PIN #6: status %d: %s", c, b)
		}
		if hdr.Get("Retry-After") == "" {
			t.Fatalf("429 without Retry-After: %v", hdr)
		}
		if slug, _ := problemCode(t, hdr, b); slug != "too_many_attempts" {
			t.Fatalf("problem %s", b)
		}
		// Throttled per code: now even the right PIN waits.
		if c, _, _ := f.lookup(t, other.Code, other.PIN); c != http.StatusTooManyRequests {
			t.Fatalf("right PIN while throttled: %d", c)
		}
	})
}

// withoutInstance returns the problem body as canonical JSON without its
// per-request members.
func withoutInstance(t *testing.T, b []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "instance")
	delete(m, "call_id")
	out, _ := json.Marshal(m)
	return string(out)
}

// checkSubmittedEvent finds the application.submitted event of code on the
// events queue. If a function consumes that queue (its connector deletes
// the messages) it can only check that the outbox marker was flushed,
// which FlushOutbox does after a good publish, and says so.
func checkSubmittedEvent(t *testing.T, f *fixture, code string) {
	t.Helper()
	for _, fn := range f.a.Functions() {
		if strings.Contains(fn.Topic, eventsQueue) {
			t.Logf("%s consumes %s: checking the flushed outbox instead of the queue", fn.Name, eventsQueue)
			// Markers of sent events are deleted in the background, just
			// after the answer.
			deadline := time.Now().Add(10 * time.Second)
			for {
				out, err := f.a.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(dataBucket), Prefix: aws.String(application.OutboxPrefix)})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Contents) == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("outbox markers left: %d", len(out.Contents))
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	c := queue.NewConsumer(f.a.SQS())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var seen []string
	for ctx.Err() == nil {
		msgs, err := c.Receive(ctx, eventsQueue, 10, 2*time.Second)
		if err != nil {
			t.Fatalf("receive %s: %v", eventsQueue, err)
		}
		for _, m := range msgs {
			env, err := m.Envelope()
			if err != nil {
				t.Fatalf("message on %s is no envelope: %v", eventsQueue, err)
			}
			var p application.EventPayload
			if err := json.Unmarshal(env.Payload, &p); err != nil {
				t.Fatalf("payload %s: %v", env.Payload, err)
			}
			seen = append(seen, env.Type+" "+p.Code)
			if env.Type == application.EventSubmitted && p.Code == code {
				if p.Status != application.StatusSubmitted || p.AgencyCode != e2eAgency || p.FeeVND != e2eOnlineFee || m.Attributes["event_type"] != application.EventSubmitted {
					t.Fatalf("event %+v attributes %v", p, m.Attributes)
				}
				if err := c.Delete(context.Background(), eventsQueue, m.ReceiptHandle); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	t.Fatalf("no %s event for %s on %s within 60 s; saw %v", application.EventSubmitted, code, eventsQueue, seen)
}

// concurrentOfficers sends two officers' receive of one fresh application
// at once: exactly one wins (200), the other gets 409 and its step is not
// recorded.
func concurrentOfficers(t *testing.T, f *fixture) {
	sub := f.submit(t, submitBody(t, 1000))
	var wg sync.WaitGroup
	codes := make([]int, 2)
	bodies := make([][]byte, 2)
	start := make(chan struct{})
	for i := range 2 {
		auth := f.token(t, fmt.Sprintf("officer-%d", i+1), e2eAgency)
		body, _ := json.Marshal(map[string]any{"code": sub.Code, "action": "receive"})
		wg.Go(func() {
			<-start
			req, err := http.NewRequest(http.MethodPost, f.gw+"/function/process-application", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", auth)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(res.Body)
			codes[i], bodies[i] = res.StatusCode, buf.Bytes()
		})
	}
	close(start)
	wg.Wait()
	ok, conflict := 0, 0
	for i, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflict++
			var p struct {
				Code          string `json:"code"`
				CurrentStatus string `json:"current_status"`
			}
			if err := json.Unmarshal(bodies[i], &p); err != nil || p.CurrentStatus != string(application.StatusReceived) ||
				(p.Code != "illegal_transition" && p.Code != "concurrent_update") {
				t.Errorf("409 body %s", bodies[i])
			}
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("statuses %v (bodies %s / %s), want one 200 and one 409", codes, bodies[0], bodies[1])
	}
	v := f.status(t, sub.Code, sub.PIN)
	if got := v.steps(); fmt.Sprint(got) != fmt.Sprint([]application.Status{application.StatusSubmitted, application.StatusReceived}) {
		t.Fatalf("timeline %v: the losing officer's step must not be recorded", got)
	}
}

// mustParseCode parses a code the service returned.
func mustParseCode(t *testing.T, s string) application.Code {
	t.Helper()
	c, err := application.ParseCode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
