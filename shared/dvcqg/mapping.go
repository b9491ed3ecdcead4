// Package dvcqg syncs applications to the national public-service portal
// (Cổng Dịch vụ công quốc gia, DVCQG) through the provincial integration
// platform (LGSP), the way the provinces' one-stop systems do: JSON POSTs to
// the integration endpoint carrying a service name — DongBoHoSoMC (the
// application record) and CapNhatTienDoHoSoMC (a processing step) — with a
// session obtained from the authentication endpoint and the unit code
// (madonvi).
//
// It is the domain of the dvcqg-sync function, fed by the dvcqg-events
// queue (the fan-out copy of application-events). Delivery is at least once
// and in order per application: the application's timeline is the sequence
// (see Syncer).
package dvcqg

import (
	"time"

	"motcua/shared/application"
	"motcua/shared/workdays"
)

// Service names of the integration endpoint.
const (
	// ServiceSyncApplication sends (or updates, isUpdating) an application record.
	ServiceSyncApplication = "DongBoHoSoMC"
	// ServiceUpdateProgress sends one processing step.
	ServiceUpdateProgress = "CapNhatTienDoHoSoMC"
)

// TimeLayout is the portal's date-time format (yyyyMMddHHmmss, Vietnam time).
const TimeLayout = "20060102150405"

// FormatTime formats t for the portal ("" for the zero time).
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(workdays.Location).Format(TimeLayout)
}

// Portal application statuses (TrangThaiHoSo / TrangThai).
const (
	PortalNew            = "1"  // Mới đăng ký
	PortalReceived       = "2"  // Được tiếp nhận
	PortalNotReceived    = "3"  // Không được tiếp nhận
	PortalProcessing     = "4"  // Đang xử lý
	PortalSupplement     = "5"  // Yêu cầu bổ sung giấy tờ
	PortalFinancial      = "6"  // Yêu cầu thực hiện nghĩa vụ tài chính
	PortalWithdrawn      = "7"  // Công dân yêu cầu rút hồ sơ
	PortalStopped        = "8"  // Dừng xử lý
	PortalProcessed      = "9"  // Đã xử lý xong
	PortalResultReturned = "10" // Đã trả kết quả
)

// StatusMap is the one table from our statuses to the portal's.
var StatusMap = map[application.Status]string{
	application.StatusSubmitted:           PortalNew,
	application.StatusReceived:            PortalReceived,
	application.StatusRejected:            PortalNotReceived,
	application.StatusProcessing:          PortalProcessing,
	application.StatusSupplementRequested: PortalSupplement,
	application.StatusAwaitingPayment:     PortalFinancial,
	application.StatusCancelled:           PortalWithdrawn,
	application.StatusProcessed:           PortalProcessed,
	application.StatusReturned:            PortalResultReturned,
}

// PortalStatus maps s ("" if unknown: such a step is not sent).
func PortalStatus(s application.Status) string { return StatusMap[s] }

// Channel codes (KenhThucHien).
const (
	ChannelDirect = 1 // trực tiếp
	ChannelOnline = 2 // trực tuyến
	ChannelPostal = 3 // bưu chính công ích
)

// PortalChannel maps a submission channel.
func PortalChannel(c application.Channel) int {
	switch c {
	case application.ChannelDirect:
		return ChannelDirect
	case application.ChannelPostal:
		return ChannelPostal
	}
	return ChannelOnline
}

// Applicant kinds (LoaiDoiTuong).
const (
	SubjectCitizen  = 1 // công dân
	SubjectBusiness = 2 // doanh nghiệp, tổ chức
)

// PortalSubject maps an applicant kind.
func PortalSubject(k application.ApplicantKind) int {
	if k == application.ApplicantBusiness {
		return SubjectBusiness
	}
	return SubjectCitizen
}
