// Package sim is a local simulator of the national portal's integration
// endpoint as reached through the LGSP: an authentication endpoint that
// hands out sessions and an integration endpoint that accepts DongBoHoSoMC
// and CapNhatTienDoHoSoMC, validates them as the portal would (session,
// madonvi, service, required fields, yyyyMMddHHmmss dates, status codes),
// records what it accepted, and fails on demand (the next N requests, a
// random share, or slowly) so retries and ordering can be tested.
package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"motcua/shared/dvcqg"
)

// Paths served.
const (
	PathAuth        = "/lgsp/auth"
	PathIntegration = "/lgsp/dvcqg"
	PathReceived    = "/_sim/received"
	PathControl     = "/_sim/control"
)

// Received is one accepted message.
type Received struct {
	// Service is the service name; IsUpdating its flag.
	Service    string `json:"service"`
	IsUpdating bool   `json:"isUpdating"`
	// MaHoSo is the application code; TrangThai the (portal) status carried.
	MaHoSo    string `json:"maHoSo"`
	TrangThai string `json:"trangThai"`
	// Data is the record as received.
	Data json.RawMessage `json:"data"`
	// At is when it was accepted.
	At time.Time `json:"at"`
}

// Control is the failure plan (POST PathControl, JSON).
type Control struct {
	// FailNext fails the next N integration requests with HTTP 503.
	FailNext int `json:"failNext"`
	// FailRate fails that share (0..1) of the others.
	FailRate float64 `json:"failRate"`
	// RefuseNext answers the next N with error_code -1 (HTTP 200).
	RefuseNext int `json:"refuseNext"`
	// SlowMs delays every answer.
	SlowMs int `json:"slowMs"`
}

// Sim is the simulator. Safe for concurrent use.
type Sim struct {
	user, pass, unit string

	mu       sync.Mutex
	ctl      Control
	sessions map[string]bool
	received []Received
	requests int
}

// New returns a simulator accepting username/password and unit code madonvi.
func New(username, password, unitCode string) *Sim {
	return &Sim{user: username, pass: password, unit: unitCode, sessions: map[string]bool{}}
}

// SetControl replaces the failure plan.
func (s *Sim) SetControl(c Control) { s.mu.Lock(); s.ctl = c; s.mu.Unlock() }

// Received returns the accepted messages, oldest first.
func (s *Sim) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Requests counts integration requests (accepted or not).
func (s *Sim) Requests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.requests }

// Handler serves the endpoints.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathAuth, s.auth)
	mux.HandleFunc("POST "+PathIntegration, s.integration)
	mux.HandleFunc("GET "+PathReceived, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Received()) })
	mux.HandleFunc("POST "+PathControl, func(w http.ResponseWriter, r *http.Request) {
		var c Control
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&c); err != nil || c.FailRate < 0 || c.FailRate > 1 || c.FailNext < 0 || c.RefuseNext < 0 || c.SlowMs < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {failNext, failRate 0..1, refuseNext, slowMs}"})
			return
		}
		s.SetControl(c)
		writeJSON(w, http.StatusOK, c)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sim) auth(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil || in.Username != s.user || in.Password != s.pass {
		writeJSON(w, http.StatusOK, map[string]any{"error_code": -1, "message": "sai tài khoản hoặc mật khẩu"})
		return
	}
	sess := fmt.Sprintf("sim-%016x", rand.Uint64())
	s.mu.Lock()
	s.sessions[sess] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"error_code": 0, "session": sess})
}

func (s *Sim) integration(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.requests++
	ctl := &s.ctl
	slow := time.Duration(ctl.SlowMs) * time.Millisecond
	fail := ctl.FailNext > 0 || (ctl.FailRate > 0 && rand.Float64() < ctl.FailRate)
	if ctl.FailNext > 0 {
		ctl.FailNext--
	}
	refuse := !fail && ctl.RefuseNext > 0
	if refuse {
		ctl.RefuseNext--
	}
	s.mu.Unlock()
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
	}
	if fail {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error_code": -1, "message": "simulated outage"})
		return
	}
	if refuse {
		writeJSON(w, http.StatusOK, map[string]any{"error_code": -1, "message": "simulated refusal"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error_code": -1, "message": "unreadable body"})
		return
	}
	req, recs, err := ParseRequest(body)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"error_code": -1, "message": err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sessions[req.Session] || req.MaDonVi != s.unit {
		writeJSON(w, http.StatusOK, map[string]any{"error_code": -1, "message": "phiên làm việc hoặc mã đơn vị không hợp lệ"})
		return
	}
	s.received = append(s.received, recs...)
	writeJSON(w, http.StatusOK, map[string]any{"error_code": 0, "message": "thành công"})
}

// Request is a decoded integration request.
type Request struct {
	Session    string            `json:"session"`
	MaDonVi    string            `json:"madonvi"`
	Service    string            `json:"service"`
	IsUpdating string            `json:"isUpdating"`
	Data       []json.RawMessage `json:"data"`
}

// ParseRequest decodes and validates an integration request as the portal
// would, returning the records to keep.
func ParseRequest(body []byte) (Request, []Received, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return Request{}, nil, fmt.Errorf("JSON không hợp lệ: %w", err)
	}
	if len(req.Data) == 0 || len(req.Data) > 100 {
		return Request{}, nil, errors.New("data phải có từ 1 đến 100 bản ghi")
	}
	now := time.Now().UTC()
	var out []Received
	for i, raw := range req.Data {
		rec := Received{Service: req.Service, IsUpdating: req.IsUpdating == "true", Data: raw, At: now}
		switch req.Service {
		case dvcqg.ServiceSyncApplication:
			var d dvcqg.Record
			if err := json.Unmarshal(raw, &d); err != nil {
				return Request{}, nil, fmt.Errorf("data[%d]: %w", i, err)
			}
			if err := checkRecord(d); err != nil {
				return Request{}, nil, fmt.Errorf("data[%d]: %w", i, err)
			}
			rec.MaHoSo, rec.TrangThai = d.MaHoSo, d.TrangThaiHoSo
		case dvcqg.ServiceUpdateProgress:
			var d dvcqg.Progress
			if err := json.Unmarshal(raw, &d); err != nil {
				return Request{}, nil, fmt.Errorf("data[%d]: %w", i, err)
			}
			if d.MaHoSo == "" || d.NguoiXuLy == "" || d.NoiDungXuLy == "" || !validStatus(d.TrangThai) || !validTime(d.ThoiDiemXuLy, true) {
				return Request{}, nil, fmt.Errorf("data[%d]: thiếu MaHoSo/NguoiXuLy/NoiDungXuLy hoặc TrangThai/ThoiDiemXuLy sai", i)
			}
			rec.MaHoSo, rec.TrangThai = d.MaHoSo, d.TrangThai
		default:
			return Request{}, nil, fmt.Errorf("service %q không được hỗ trợ", req.Service)
		}
		out = append(out, rec)
	}
	return req, out, nil
}

func checkRecord(d dvcqg.Record) error {
	switch {
	case d.MaHoSo == "" || d.MaTTHC == "" || d.TenTTHC == "" || d.ChuHoSo == "" || d.DonViXuLy == "":
		return errors.New("thiếu MaHoSo, MaTTHC, TenTTHC, ChuHoSo hoặc DonViXuLy")
	case d.LoaiDoiTuong != 1 && d.LoaiDoiTuong != 2:
		return errors.New("LoaiDoiTuong phải là 1 hoặc 2")
	case d.KenhThucHien < 1 || d.KenhThucHien > 3:
		return errors.New("KenhThucHien phải là 1, 2 hoặc 3")
	case !validStatus(d.TrangThaiHoSo):
		return errors.New("TrangThaiHoSo không hợp lệ")
	case !validTime(d.NgayTiepNhan, true) || !validTime(d.NgayHenTra, false) || !validTime(d.NgayTra, false):
		return errors.New("ngày phải theo định dạng yyyyMMddHHmmss")
	}
	return nil
}

func validStatus(s string) bool {
	for _, v := range dvcqg.StatusMap {
		if v == s {
			return true
		}
	}
	return s == dvcqg.PortalStopped
}

func validTime(s string, required bool) bool {
	if s == "" {
		return !required
	}
	_, err := time.Parse(dvcqg.TimeLayout, s)
	return err == nil && len(s) == 14
}
