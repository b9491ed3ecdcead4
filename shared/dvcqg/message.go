package dvcqg

import (
	"motcua/shared/application"
)

// Request is the body POSTed to the integration endpoint.
type Request struct {
	// Session is the token from the authentication endpoint.
	Session string `json:"session"`
	// MaDonVi is the province's unit code at the portal.
	MaDonVi string `json:"madonvi"`
	// Service is ServiceSyncApplication or ServiceUpdateProgress.
	Service string `json:"service"`
	// IsUpdating is "true" when a DongBoHoSoMC updates a record sent before.
	IsUpdating string `json:"isUpdating,omitempty"`
	// Data holds the records (one per request here).
	Data []any `json:"data"`
}

// Fee is one entry of DanhSachLePhi.
type Fee struct {
	TenPhiLePhi  string `json:"TenPhiLePhi"`
	MaPhiLePhi   string `json:"MaPhiLePhi,omitempty"`
	HinhThucThu  string `json:"HinhThucThu,omitempty"`
	Gia          int64  `json:"Gia"`
	LoaiPhiLePhi string `json:"LoaiPhiLePhi"`
}

// Record is the DongBoHoSoMC data of one application.
type Record struct {
	MaHoSo        string `json:"MaHoSo"`
	MaTTHC        string `json:"MaTTHC"`
	TenTTHC       string `json:"TenTTHC"`
	MaLinhVuc     string `json:"MaLinhVuc"`
	KenhThucHien  int    `json:"KenhThucHien"`
	ChuHoSo       string `json:"ChuHoSo"`
	LoaiDoiTuong  int    `json:"LoaiDoiTuong"`
	MaDoiTuong    string `json:"MaDoiTuong,omitempty"`
	NgayTiepNhan  string `json:"NgayTiepNhan"`
	NgayHenTra    string `json:"NgayHenTra"`
	TrangThaiHoSo string `json:"TrangThaiHoSo"`
	NgayTra       string `json:"NgayTra"`
	DonViXuLy     string `json:"DonViXuLy"`
	DanhSachLePhi []Fee  `json:"DanhSachLePhi"`
}

// Progress is the CapNhatTienDoHoSoMC data of one step.
type Progress struct {
	MaHoSo       string `json:"MaHoSo"`
	NguoiXuLy    string `json:"NguoiXuLy"`
	ChucDanh     string `json:"ChucDanh,omitempty"`
	ThoiDiemXuLy string `json:"ThoiDiemXuLy"`
	DonViXuLy    string `json:"DonViXuLy"`
	NoiDungXuLy  string `json:"NoiDungXuLy"`
	TrangThai    string `json:"TrangThai"`
}

// Message is one unit of an application's sync sequence.
type Message struct {
	// Service is the service name.
	Service string
	// IsUpdating marks a DongBoHoSoMC of a record already sent.
	IsUpdating bool
	// Data is a Record or a Progress.
	Data any
}

// recordAt is the application's record as of timeline step i.
func recordAt(a application.Application, i int, fieldCode string) Record {
	step := a.Timeline[i]
	r := Record{
		MaHoSo: a.Code, MaTTHC: a.ProcedureCode, TenTTHC: a.ProcedureName, MaLinhVuc: fieldCode,
		KenhThucHien: PortalChannel(a.Channel), ChuHoSo: a.Applicant.Name, LoaiDoiTuong: PortalSubject(a.Applicant.Kind),
		NgayTiepNhan: FormatTime(a.SubmittedAt), NgayHenTra: FormatTime(a.DueAt),
		TrangThaiHoSo: PortalStatus(step.Status), DonViXuLy: a.Agency.Name, DanhSachLePhi: []Fee{},
	}
	if a.ReceivedAt != nil && !a.ReceivedAt.After(step.At) {
		r.NgayTiepNhan = FormatTime(*a.ReceivedAt)
	}
	switch step.Status {
	case application.StatusReturned, application.StatusRejected, application.StatusCancelled:
		r.NgayTra = FormatTime(step.At)
	}
	if a.Fee.AmountVND > 0 {
		kind := "1" // phí
		name := "Phí"
		if a.Fee.Kind == "charge" {
			kind, name = "2", "Lệ phí"
		}
		r.DanhSachLePhi = append(r.DanhSachLePhi, Fee{TenPhiLePhi: name + " " + a.ProcedureName, Gia: a.Fee.AmountVND, LoaiPhiLePhi: kind,
			HinhThucThu: a.Fee.PaymentMethod})
	}
	return r
}

// updatesRecord lists the steps after which the record's fields change
// (reception date, due date, return date): they also send DongBoHoSoMC.
var updatesRecord = map[application.Status]bool{
	application.StatusReceived: true, application.StatusRejected: true, application.StatusProcessed: true,
	application.StatusReturned: true, application.StatusCancelled: true,
}

// MessagesFor returns the messages of timeline step i, in order: step 0
// sends the record; later steps send their progress, and the record again
// (isUpdating) when the step changes its dates. A step whose status has no
// portal code sends nothing.
func MessagesFor(a application.Application, i int, fieldCode string) []Message {
	step := a.Timeline[i]
	st := PortalStatus(step.Status)
	if st == "" {
		return nil
	}
	if i == 0 {
		return []Message{{Service: ServiceSyncApplication, Data: recordAt(a, i, fieldCode)}}
	}
	note := step.Note
	if note == "" {
		note = application.StatusLabelVi(step.Status)
	}
	who := a.Agency.Name
	switch step.Actor {
	case application.ActorCitizen:
		who = a.Applicant.Name
	case application.ActorSystem:
		who = "Hệ thống"
	}
	out := []Message{{Service: ServiceUpdateProgress, Data: Progress{MaHoSo: a.Code, NguoiXuLy: who, ThoiDiemXuLy: FormatTime(step.At),
		DonViXuLy: a.Agency.Name, NoiDungXuLy: note, TrangThai: st}}}
	if updatesRecord[step.Status] {
		out = append(out, Message{Service: ServiceSyncApplication, IsUpdating: true, Data: recordAt(a, i, fieldCode)})
	}
	return out
}
