package function

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"motcua/shared/citizenguard"
	"motcua/shared/citizenguard/guardtest"
	"net/http"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/docstore"
	"motcua/shared/idempotency"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

// newAPI wires the function's HTTP layer over memory fakes and the seed
// catalog, as build does over the platform.
func newAPI(t *testing.T) (*application.HTTP, *docstore.MemStore, *queue.MemQueue) {
	t.Helper()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	store, uploads := docstore.NewMemStore("motcua-data"), docstore.NewMemStore("motcua-uploads")
	q := queue.NewMemQueue("application-events")
	cal, err := workdays.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := application.NewService(application.Deps{
		Store: store, Uploads: uploads, Publisher: q, EventsQueue: "application-events",
		Procedures: catalog.NewService(store, quiet, catalog.ServiceOptions{SeedIfEmpty: true}),
		Calendar:   cal, Log: quiet, Guard: guardtest.Guard(t, store, citizenguard.WithLogger(quiet)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return application.NewHTTP(svc, idempotency.New(store, "idem", time.Hour), quiet), store, q
}

func call(t *testing.T, h *application.HTTP, query string, body any, key string) handler.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	req := handler.Request{Method: http.MethodPost, QueryString: query, Body: b,
		Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return h.Serve(context.Background(), req)
}

func birthRegistration() map[string]any {
	return map[string]any{
		"procedureCode": "X.HT.001",
		"applicant": map[string]any{"kind": "person", "name": "Nguyễn Văn Bình", "idNumber": "001090123456",
			"dateOfBirth": "1990-01-02", "phone": "0987654321", "address": "Thôn 2, xã Việt Hùng"},
		"form": map[string]any{"hoTenNguoiYeuCau": "Nguyễn Văn Bình", "soCCCDNguoiYeuCau": "001090123456",
			"soDienThoai": "0987654321", "hoTenTre": "Nguyễn Văn An", "ngaySinhTre": "2026-11-01",
			"gioiTinhTre": "Nam", "noiSinh": "Bệnh viện huyện", "hoTenMe": "Trần Thị Hoa", "quanHe": "Cha"},
		"documents": []map[string]any{
			{"code": "TK", "fileName": "to-khai.pdf", "contentType": "application/pdf", "size": 1000},
			{"code": "GCS", "fileName": "giay-chung-sinh.jpg", "contentType": "image/jpeg", "size": 2000},
		},
	}
}

func TestHandle(t *testing.T) {
	h, store, q := newAPI(t)
	body := birthRegistration()
	r := call(t, h, "", body, "k-1")
	if r.StatusCode != http.StatusCreated {
		// The seed's enum options may differ from this fixture: show why.
		t.Fatalf("submit: %d %s", r.StatusCode, r.Body)
	}
	var out application.SubmitResult
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	if out.PIN == "" || len(out.Uploads) != 2 || out.Fee.AmountVND != 0 || out.Status != application.StatusSubmitted {
		t.Fatalf("result %s", r.Body)
	}
	again := call(t, h, "", body, "k-1")
	var out2 application.SubmitResult
	_ = json.Unmarshal(again.Body, &out2)
	if again.StatusCode != http.StatusCreated || out2.Code != out.Code || out2.PIN != out.PIN || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.StatusCode, again.Body)
	}
	if n := len(q.Published("application-events")); n != 1 {
		t.Errorf("%d events", n)
	}
	if _, err := store.Get(context.Background(), application.Key(mustCode(t, out.Code))); err != nil {
		t.Errorf("stored: %v", err)
	}
	cases := []struct {
		name, query string
		body        any
		want        int
	}{
		{"bad_cccd_is_422", "", func() map[string]any {
			b := birthRegistration()
			b["applicant"].(map[string]any)["idNumber"] = "12345"
			return b
		}(), http.StatusUnprocessableEntity},
		{"complete_uploads", "action=complete-uploads", map[string]string{"code": out.Code, "pin": out.PIN}, http.StatusOK},
		{"cancel", "action=cancel", map[string]string{"code": out.Code, "pin": out.PIN}, http.StatusOK},
		{"unknown_action", "action=x", map[string]string{}, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := call(t, h, tc.query, tc.body, ""); r.StatusCode != tc.want {
				t.Fatalf("%d, want %d: %s", r.StatusCode, tc.want, r.Body)
			}
		})
	}
}

func mustCode(t *testing.T, s string) application.Code {
	t.Helper()
	c, err := application.ParseCode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
