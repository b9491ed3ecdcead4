package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"motcua/cmd/motcua-local/app"
	"motcua/shared/queue"
	"motcua/shared/staffauth/stafftest"
)

// The feedback (PAKN) path end to end through the gateway of the real
// local stack: a citizen files an item with a photo (uploaded to the
// presigned URL), follows it up with the secret, officers of the routed
// agency work it (two of them racing on one version: one wins, one gets
// 409), the sender rates it, the answer is published redacted, the Open311
// face serves the same data at /function/feedback/open311/v2/…, and every
// step is an event on feedback-events.
func TestFeedback_end_to_end(t *testing.T) {
	a, _ := startApp(t, app.Config{RepoRoot: repoRoot(t)})
	signer := stafftest.LoadSigner(t, filepath.Join(a.DataDir(), "secrets"))
	token := func(officer, agency string) string { return "Bearer " + stafftest.Token(t, signer, officer, agency) }
	fn := a.GatewayURL() + "/function/feedback"
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0}, 1000)

	// 1. Intake with an Idempotency-Key, retried once.
	in := map[string]any{
		"kind": "regulation", "field": "RAC_THAI", "title": "Rác tồn đọng ở đầu thôn 2",
		"content":     "Điểm tập kết rác ở đầu thôn 2 không được thu gom ba ngày nay. Liên hệ tôi: 0912345678.",
		"location":    map[string]any{"address": "Thôn 2, xã Việt Hùng, Đông Anh", "lat": 21.13751, "long": 105.88423},
		"contact":     map[string]any{"name": "Lê Thị Mai", "phone": "0912 345 678", "email": "mai.le@example.vn"},
		"attachments": []map[string]any{{"fileName": "ảnh rác.jpg", "contentType": "image/jpeg", "size": len(photo)}},
	}
	body, _ := json.Marshal(in)
	var created struct {
		ID, Secret string
		Agency     struct{ Code string }
		Uploads    []struct {
			URL     string
			Headers map[string]string
		}
	}
	for i := range 2 {
		st, hdr, out := do(t, "POST", fn, bytes.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", "fb-e2e-1")
		if st != http.StatusCreated {
			t.Fatalf("submit #%d: %d %s", i, st, out)
		}
		if i == 1 && hdr.Get("Idempotent-Replayed") != "true" {
			t.Fatal("the retry was not a replay")
		}
		var c = created
		if err := json.Unmarshal(out, &created); err != nil {
			t.Fatal(err)
		}
		if i == 1 && (c.ID != created.ID || c.Secret != created.Secret) {
			t.Fatal("the replay gave another id or secret")
		}
	}
	if created.Agency.Code != "UBND-X-VIETHUNG" || len(created.Uploads) != 1 || len(created.Secret) != 8 {
		t.Fatalf("created %+v", created)
	}
	up := created.Uploads[0]
	st, _, out := do(t, "PUT", up.URL, bytes.NewReader(photo), "Content-Type", up.Headers["Content-Type"])
	if st != http.StatusOK {
		t.Fatalf("upload to the presigned URL: %d %s", st, out)
	}

	// 2. Follow-up: right secret 200; wrong secret and unknown id the same 404.
	id := created.ID
	st, _, out = do(t, "GET", fn+"?action=status&id="+id+"&secret="+created.Secret, nil)
	if st != 200 || !strings.Contains(string(out), `"status":"received"`) {
		t.Fatalf("follow-up: %d %s", st, out)
	}
	st1, _, out1 := do(t, "GET", fn+"?action=status&id="+id+"&secret=00000000", nil)
	st2, _, out2 := do(t, "GET", fn+"?action=status&id=PAKN-261203-ZZZZZZZZ&secret=00000000", nil)
	if st1 != 404 || st2 != 404 || !strings.Contains(string(out1), "feedback_not_found") || !strings.Contains(string(out2), "feedback_not_found") {
		t.Fatalf("wrong secret %d %s / unknown id %d %s", st1, out1, st2, out2)
	}

	// 3. Staff: another agency is refused; two officers race on version 1.
	ag := created.Agency.Code
	if st, _, out = do(t, "GET", fn+"?action=item&id="+id, nil, "Authorization", token("x", "STP")); st != 403 {
		t.Fatalf("other agency: %d %s", st, out)
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := `{"id":"` + id + `","version":1,"action":"assign"}`
			codes[i], _, _ = do(t, "POST", fn+"?action=staff", strings.NewReader(b), "Content-Type", "application/json",
				"Authorization", token("officer-"+strconv.Itoa(i), ag))
		}()
	}
	wg.Wait()
	slices.Sort(codes)
	if !slices.Equal(codes, []int{200, 409}) {
		t.Fatalf("two officers on one version: %v, want one 200 and one 409", codes)
	}
	staff := func(action, extra string, version int) {
		t.Helper()
		b := `{"id":"` + id + `","version":` + strconv.Itoa(version) + `,"action":"` + action + `"` + extra + `}`
		st, _, out := do(t, "POST", fn+"?action=staff", strings.NewReader(b), "Content-Type", "application/json", "Authorization", token("officer-0", ag))
		if st != 200 {
			t.Fatalf("%s: %d %s", action, st, out)
		}
	}
	staff("answer", `,"text":"Đã thu gom. Bà Lê Thị Mai (0912345678) vui lòng phản hồi nếu còn tồn đọng."`, 2)
	staff("publish", "", 3)
	if st, _, out = do(t, "POST", fn+"?action=staff", strings.NewReader(`{"id":"`+id+`","version":4,"action":"refuse","reason":"out_of_scope","text":"x"}`),
		"Content-Type", "application/json", "Authorization", token("officer-0", ag)); st != 409 || !strings.Contains(string(out), "illegal_transition") {
		t.Fatalf("refuse after answer: %d %s", st, out)
	}

	// 4. The sender rates once.
	rate := `{"id":"` + id + `","secret":"` + created.Secret + `","score":4}`
	if st, _, out = do(t, "POST", fn+"?action=rate", strings.NewReader(rate), "Content-Type", "application/json"); st != 200 {
		t.Fatalf("rate: %d %s", st, out)
	}
	if st, _, out = do(t, "POST", fn+"?action=rate", strings.NewReader(rate), "Content-Type", "application/json"); st != 409 {
		t.Fatalf("second rating: %d %s", st, out)
	}

	// 5. Public answer and Open311, redacted.
	st, _, out = do(t, "GET", fn+"?action=public&q=tap+ket+rac", nil)
	if st != 200 || !strings.Contains(string(out), id) || strings.Contains(string(out), "0912345678") || strings.Contains(string(out), "Lê Thị Mai") {
		t.Fatalf("public search: %d %s", st, out)
	}
	o311 := fn + "/open311/v2"
	if st, _, out = do(t, "GET", o311+"/services.json", nil); st != 200 || !strings.Contains(string(out), `"service_code":"RAC_THAI"`) {
		t.Fatalf("services.json: %d %.200s", st, out)
	}
	st, _, out = do(t, "GET", o311+"/requests/"+id+".json", nil)
	var reqs []map[string]any
	if st != 200 || json.Unmarshal(out, &reqs) != nil || len(reqs) != 1 || reqs[0]["status"] != "closed" ||
		reqs[0]["lat"] != 21.138 || strings.Contains(string(out), "0912345678") {
		t.Fatalf("requests/{id}.json: %d %s", st, out)
	}
	form := url.Values{"api_key": {"e2e-test-key"}, "service_code": {"CHIEU_SANG_CAY_XANH"}, "lat": {"21.14"}, "long": {"105.88"},
		"description": {"Đèn đường trước nhà văn hóa thôn 3 bị hỏng một tuần nay."}}
	st, _, out = do(t, "POST", o311+"/requests.json", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	var posted []map[string]any
	if st != 201 || json.Unmarshal(out, &posted) != nil || len(posted) != 1 || posted[0]["service_request_id"] == nil {
		t.Fatalf("POST requests.json: %d %s", st, out)
	}
	if st, _, out = do(t, "POST", o311+"/requests.json", strings.NewReader("service_code=RAC_THAI"), "Content-Type", "application/x-www-form-urlencoded"); st != 400 ||
		!strings.Contains(string(out), `"code":400`) {
		t.Fatalf("POST without api_key: %d %s", st, out)
	}

	// 6. Every step is an event on feedback-events.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	qurl, err := a.SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("feedback-events")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"feedback.received", "feedback.assigned", "feedback.answered", "feedback.published", "feedback.rated", "feedback.received"}
	var got []string
	waitFor(t, 30*time.Second, "feedback events", func() bool {
		res, err := a.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qurl.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			env, err := queue.Message{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body)}.Envelope()
			if err != nil {
				t.Fatalf("event body: %v", err)
			}
			got = append(got, env.Type)
		}
		return len(got) >= len(want)
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
