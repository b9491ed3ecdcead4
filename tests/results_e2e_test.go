package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"motcua/shared/application"
)

// uploadResult asks process-application for a presigned PUT of the result
// document of code, PUTs body to it and returns the documentKey.
func (f *fixture) uploadResult(t *testing.T, staff, code string, body []byte) string {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"code": code, "size": len(body)})
	st, _, b := do(t, http.MethodPost, f.gw+"/function/process-application?op=result-upload", bytes.NewReader(req),
		"Content-Type", "application/json", "Authorization", staff)
	if st != http.StatusOK {
		t.Fatalf("result-upload: %d %s", st, b)
	}
	var up application.ResultUpload
	if err := json.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	put, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		put.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatalf("PUT result: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT result: %d", res.StatusCode)
	}
	return up.DocumentKey
}

// post posts body as JSON to path on the gateway.
func (f *fixture) post(t *testing.T, path string, body any, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	return do(t, http.MethodPost, f.gw+path, bytes.NewReader(b), append([]string{"Content-Type", "application/json"}, hdr...)...)
}

// Results, the work queue and PIN recovery end to end: staff upload the
// signed result (a non-PDF and a missing one are refused), return it
// online; the citizen sees the result and the settlement label, downloads
// the PDF behind the PIN guard (counted once on the timeline); the agency's
// work queue lists the application, another agency's does not; a lost PIN
// is recovered with the one-time code published for notify.
func TestResults_work_queue_and_pin_recovery_through_the_gateway(t *testing.T) {
	f := newFixture(t)
	pdf := minimalPDF("To khai - results")
	sub := f.submit(t, submitBody(t, len(pdf)))
	staff := f.token(t, "officer-results", e2eAgency)
	for _, a := range []string{"receive", "start"} {
		if st, _, b := f.process(t, staff, map[string]any{"code": sub.Code, "action": a}); st != http.StatusOK {
			t.Fatalf("%s: %d %s", a, st, b)
		}
	}

	t.Run("work_queue_lists_the_agency_applications_only", func(t *testing.T) {
		st, _, b := do(t, http.MethodGet, f.gw+"/function/process-application?view=queue&status=processing&limit=50", nil, "Authorization", staff)
		if st != http.StatusOK {
			t.Fatalf("%d %s", st, b)
		}
		var wq application.WorkQueue
		if err := json.Unmarshal(b, &wq); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, it := range wq.Items {
			found = found || it.Code == sub.Code
		}
		if !found || wq.Counts[application.StatusProcessing] < 1 {
			t.Fatalf("work queue %s", b)
		}
		other := f.token(t, "officer-other", "SYT")
		st, _, b = do(t, http.MethodGet, f.gw+"/function/process-application?view=queue&status=processing", nil, "Authorization", other)
		if st != http.StatusOK || bytes.Contains(b, []byte(sub.Code)) {
			t.Fatalf("another agency sees it: %d %s", st, b)
		}
	})

	t.Run("complete_refuses_a_missing_or_non_pdf_result", func(t *testing.T) {
		missing := fmt.Sprintf("applications/%s/result/never-uploaded.pdf", sub.Code)
		st, hdr, b := f.process(t, staff, map[string]any{"code": sub.Code, "action": "complete", "result": map[string]any{"documentKey": missing, "description": "Kết quả"}})
		if st != http.StatusConflict || codeOf(t, hdr, b) != "result_missing" {
			t.Fatalf("missing result: %d %s", st, b)
		}
		key := f.uploadResult(t, staff, sub.Code, []byte("<html>not a pdf</html>"))
		st, hdr, b = f.process(t, staff, map[string]any{"code": sub.Code, "action": "complete", "result": map[string]any{"documentKey": key, "description": "Kết quả"}})
		if st != http.StatusUnprocessableEntity || codeOf(t, hdr, b) != "result_not_pdf" {
			t.Fatalf("non-pdf result: %d %s", st, b)
		}
	})

	result := minimalPDF("Phieu ly lich tu phap so 7")
	key := f.uploadResult(t, staff, sub.Code, result)
	for _, a := range []map[string]any{
		{"action": "complete", "result": map[string]any{"documentKey": key, "description": "Phiếu lý lịch tư pháp số 7"}},
		{"action": "return", "delivery": map[string]any{"method": "online"}},
	} {
		a["code"] = sub.Code
		if st, _, b := f.process(t, staff, a); st != http.StatusOK {
			t.Fatalf("%v: %d %s", a["action"], st, b)
		}
	}

	t.Run("citizen_downloads_the_result_behind_the_pin_guard", func(t *testing.T) {
		st, _, b := f.post(t, "/function/application-status?action=download-result", map[string]string{"code": sub.Code, "pin": "00000000"})
		if st != http.StatusNotFound {
			t.Fatalf("wrong PIN: %d %s", st, b)
		}
		for i := 0; i < 2; i++ {
			st, _, b = f.post(t, "/function/application-status?action=download-result", map[string]string{"code": sub.Code, "pin": sub.PIN})
			if st != http.StatusOK {
				t.Fatalf("download: %d %s", st, b)
			}
			var dl application.ResultDownload
			if err := json.Unmarshal(b, &dl); err != nil {
				t.Fatal(err)
			}
			res, err := http.Get(dl.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !bytes.Equal(got, result) {
				t.Fatalf("GET result: %d, %d bytes", res.StatusCode, len(got))
			}
		}
		_, _, b = f.lookup(t, sub.Code, sub.PIN)
		var v struct {
			SettlementLabel *string `json:"settlementLabel"`
			Result          *struct {
				Downloadable bool `json:"downloadable"`
				Delivery     *struct {
					ElectronicDeliveredAt *time.Time `json:"electronicDeliveredAt"`
				} `json:"delivery"`
			} `json:"result"`
			Timeline []struct {
				Kind string `json:"kind"`
			} `json:"timeline"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if v.SettlementLabel == nil || v.Result == nil || !v.Result.Downloadable || v.Result.Delivery == nil || v.Result.Delivery.ElectronicDeliveredAt == nil {
			t.Fatalf("status %s", b)
		}
		n := 0
		for _, e := range v.Timeline {
			if e.Kind == application.TimelineResultDownloaded {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d result_downloaded entries after two downloads: %s", n, b)
		}
	})

	t.Run("lost_pin_is_recovered_with_the_one_time_code", func(t *testing.T) {
		// The answer is the same for a wrong identity and the right one.
		st, _, wrong := f.post(t, "/function/application-status?action=recover-pin", map[string]string{"code": sub.Code, "idNumber": "001099999999"})
		if st != http.StatusAccepted {
			t.Fatalf("recover-pin (wrong id): %d %s", st, wrong)
		}
		st, _, right := f.post(t, "/function/application-status?action=recover-pin", map[string]string{"code": sub.Code, "idNumber": "001190123456"})
		if st != http.StatusAccepted || !bytes.Equal(wrong, right) {
			t.Fatalf("recover-pin answers differ: %s vs %s", wrong, right)
		}
		otp := f.oneTimeCode(t, sub.Code)
		st, hdr, b := f.post(t, "/function/application-status?action=reset-pin", map[string]string{"code": sub.Code, "oneTimeCode": wrongOTP(otp), "newPin": "24681357"})
		if st != http.StatusNotFound || codeOf(t, hdr, b) != "recovery_code_invalid" {
			t.Fatalf("wrong code: %d %s", st, b)
		}
		st, _, b = f.post(t, "/function/application-status?action=reset-pin", map[string]string{"code": sub.Code, "oneTimeCode": otp, "newPin": "24681357"})
		if st != http.StatusOK {
			t.Fatalf("reset-pin: %d %s", st, b)
		}
		if st, _, _ := f.lookup(t, sub.Code, sub.PIN); st != http.StatusNotFound {
			t.Fatalf("old PIN still works: %d", st)
		}
		f.status(t, sub.Code, "24681357")
		st, _, b = f.post(t, "/function/application-status?action=reset-pin", map[string]string{"code": sub.Code, "oneTimeCode": otp, "newPin": "11112222"})
		if st != http.StatusNotFound {
			t.Fatalf("replayed code: %d %s", st, b)
		}
	})
}

func wrongOTP(otp string) string {
	if otp == "000000" {
		return "000001"
	}
	return "000000"
}

// oneTimeCode reads the code published for notify on notify-events.
// (Until the notify function is merged nothing else consumes that queue;
// once it is, read the dev SMS sink instead.)
func (f *fixture) oneTimeCode(t *testing.T, code string) string {
	t.Helper()
	// The code reaches the citizen the way production sends it: the notify
	// function consumes notify-events and texts the phone on file; read it
	// from the local stack's dev SMS sink.
	sinks := f.a.DevSinks()
	if sinks == nil {
		t.Fatal("the local stack runs no dev SMS sink")
	}
	re := regexp.MustCompile(`PIN hồ sơ ` + regexp.QuoteMeta(code) + `: ([0-9]{6})`)
	var otp string
	waitFor(t, 60*time.Second, "the one-time code in the dev SMS sink", func() bool {
		for _, m := range sinks.SMS() {
			if g := re.FindStringSubmatch(norm.NFC.String(m.Request.Content)); g != nil {
				otp = g[1]
			}
		}
		return otp != ""
	})
	return otp
}

// codeOf is problemCode's code member alone.
func codeOf(t *testing.T, hdr http.Header, b []byte) string {
	t.Helper()
	c, _ := problemCode(t, hdr, b)
	return c
}
