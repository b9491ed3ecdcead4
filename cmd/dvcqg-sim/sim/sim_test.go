package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t *testing.T, h http.Handler, path, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

const record = `{"MaHoSo":"STP-261203-0001","MaTTHC":"X.HT.001","TenTTHC":"Đăng ký khai sinh","MaLinhVuc":"","KenhThucHien":2,"ChuHoSo":"Nguyễn Văn A","LoaiDoiTuong":1,"NgayTiepNhan":"20261203090000","NgayHenTra":"20261208170000","TrangThaiHoSo":"1","NgayTra":"","DonViXuLy":"Sở Tư pháp","DanhSachLePhi":[]}`

func TestSim_session_validation_and_failures(t *testing.T) {
	s := New("u", "p", "H00")
	h := s.Handler()
	if _, out := post(t, h, PathAuth, `{"username":"u","password":"wrong"}`); out["error_code"] != float64(-1) {
		t.Fatalf("wrong password: %v", out)
	}
	_, out := post(t, h, PathAuth, `{"username":"u","password":"p"}`)
	sess, _ := out["session"].(string)
	if out["error_code"] != float64(0) || sess == "" {
		t.Fatalf("login: %v", out)
	}
	good := `{"session":"` + sess + `","madonvi":"H00","service":"DongBoHoSoMC","isUpdating":"false","data":[` + record + `]}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   float64
	}{
		{"accepted", good, 200, 0},
		{"unknown_session", strings.Replace(good, sess, "nope", 1), 200, -1},
		{"wrong_unit", strings.Replace(good, `"H00"`, `"H01"`, 1), 200, -1},
		{"bad_date", strings.Replace(good, "20261203090000", "2026-12-03", 1), 200, -1},
		{"bad_status", strings.Replace(good, `"TrangThaiHoSo":"1"`, `"TrangThaiHoSo":"42"`, 1), 200, -1},
		{"unknown_service", strings.Replace(good, "DongBoHoSoMC", "XoaHoSo", 1), 200, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, h, PathIntegration, tc.body)
			if status != tc.status || out["error_code"] != tc.code {
				t.Fatalf("%d %v, want %d error_code %v", status, out, tc.status, tc.code)
			}
		})
	}
	if n := len(s.Received()); n != 1 {
		t.Fatalf("%d accepted, want 1", n)
	}
	if status, _ := post(t, h, PathControl, `{"failNext":2}`); status != 200 {
		t.Fatal("control refused")
	}
	for i, want := range []int{503, 503, 200} {
		if status, _ := post(t, h, PathIntegration, good); status != want {
			t.Fatalf("request %d after failNext 2: %d, want %d", i, status, want)
		}
	}
	if status, _ := post(t, h, PathControl, `{"failRate":2}`); status != 400 {
		t.Fatal("a fail rate above 1 was accepted")
	}
}

// FuzzParseRequest: any body is refused or parsed without panicking, and
// what is kept has a code and a known status.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"service":"DongBoHoSoMC","data":[` + record + `]}`))
	f.Add([]byte(`{"service":"CapNhatTienDoHoSoMC","data":[{"MaHoSo":"A","NguoiXuLy":"B","NoiDungXuLy":"C","TrangThai":"4","ThoiDiemXuLy":"20261203090000"}]}`))
	f.Add([]byte(`{"data":[null,1,"x"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, recs, err := ParseRequest(body)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.MaHoSo == "" || !validStatus(r.TrangThai) || !bytes.HasPrefix(bytes.TrimSpace(r.Data), []byte("{")) {
				t.Fatalf("kept %+v", r)
			}
		}
	})
}
