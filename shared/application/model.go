package application

import (
	"time"
)

// Status is the state of an application, with the meaning the national
// public-service portal gives it.
type Status string

// Statuses of an application.
const (
	// StatusSubmitted (đã nộp / chờ tiếp nhận): filed, not yet received by staff.
	StatusSubmitted Status = "submitted"
	// StatusReceived (đã tiếp nhận): staff accepted the file; the legal clock runs.
	StatusReceived Status = "received"
	// StatusRejected (từ chối tiếp nhận / không giải quyết): refused, with a reason.
	StatusRejected Status = "rejected"
	// StatusProcessing (đang xử lý): being settled by the agency.
	StatusProcessing Status = "processing"
	// StatusSupplementRequested (yêu cầu bổ sung): the applicant must add or fix documents.
	StatusSupplementRequested Status = "supplement_requested"
	// StatusAwaitingPayment (chờ thanh toán): a fee or charge is due.
	StatusAwaitingPayment Status = "awaiting_payment"
	// StatusProcessed (đã có kết quả): settled, result ready.
	StatusProcessed Status = "processed"
	// StatusReturned (đã trả kết quả): result handed to the applicant.
	StatusReturned Status = "returned"
	// StatusCancelled (đã rút / hủy): withdrawn by the applicant.
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{
	StatusSubmitted, StatusReceived, StatusRejected, StatusProcessing,
	StatusSupplementRequested, StatusAwaitingPayment, StatusProcessed,
	StatusReturned, StatusCancelled,
}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// Channel is how an application was filed.
type Channel string

// Channels of submission.
const (
	// ChannelOnline is filed from the portal or an app by the applicant.
	ChannelOnline Channel = "online"
	// ChannelDirect is filed at the counter, entered by staff (nộp trực tiếp).
	ChannelDirect Channel = "direct"
	// ChannelPostal is filed through the public postal service, entered by staff.
	ChannelPostal Channel = "postal"
)

// ApplicantKind says whether the applicant is a person or a business.
type ApplicantKind string

// Applicant kinds.
const (
	// ApplicantPerson is a citizen identified by a CCCD.
	ApplicantPerson ApplicantKind = "person"
	// ApplicantBusiness is an organisation identified by a tax code (MST).
	ApplicantBusiness ApplicantKind = "business"
)

// Delivery methods of the result.
const (
	// DeliveryOnline returns the result electronically.
	DeliveryOnline = "online"
	// DeliveryPostal returns the result by public postal service.
	DeliveryPostal = "postal"
)

// Payment states of an application's fee.
const (
	// PaymentNotRequired means the procedure is free.
	PaymentNotRequired = "not_required"
	// PaymentUnpaid means a fee is due and not paid yet.
	PaymentUnpaid = "unpaid"
	// PaymentPaid means the fee has been paid.
	PaymentPaid = "paid"
)

// Actors recorded in the timeline besides agency codes.
const (
	// ActorCitizen is the applicant.
	ActorCitizen = "citizen"
	// ActorSystem is motcua itself.
	ActorSystem = "system"
)

// Agency is the authority that settles the application.
type Agency struct {
	// Code is the agency code from the catalog.
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
}

// Representative is the legal representative of a business applicant.
type Representative struct {
	// Name is the representative's full name.
	Name string `json:"name"`
	// IDNumber is the representative's CCCD.
	IDNumber string `json:"idNumber"`
	// Position is the title, e.g. "Giám đốc".
	Position string `json:"position,omitempty"`
}

// Applicant is the person or business filing the application.
type Applicant struct {
	// Kind is person or business.
	Kind ApplicantKind `json:"kind"`
	// Name is the person's full name or the business name (NFC).
	Name string `json:"name"`
	// IDNumber is the 12-digit CCCD (persons).
	IDNumber string `json:"idNumber,omitempty"`
	// DateOfBirth is YYYY-MM-DD (persons).
	DateOfBirth string `json:"dateOfBirth,omitempty"`
	// Gender is the gender the CCCD encodes (persons).
	Gender string `json:"gender,omitempty"`
	// TaxCode is the canonical MST (businesses).
	TaxCode string `json:"taxCode,omitempty"`
	// Representative is the legal representative (businesses).
	Representative *Representative `json:"representative,omitempty"`
	// Phone is the mobile number in E.164 (+84…).
	Phone string `json:"phone"`
	// Email is optional.
	Email string `json:"email,omitempty"`
	// Address is the contact address.
	Address string `json:"address"`
}

// Document is one declared document of the application and its upload.
type Document struct {
	// Code is the catalog DocumentSpec code.
	Code string `json:"code"`
	// Name is the document's Vietnamese name from the catalog.
	Name string `json:"name"`
	// FileName is the (sanitised) name of the file.
	FileName string `json:"fileName"`
	// ContentType is the declared media type.
	ContentType string `json:"contentType"`
	// Size is the declared size in bytes (the actual size once uploaded).
	Size int64 `json:"size"`
	// MaxSize is the largest accepted size in bytes (from the catalog).
	MaxSize int64 `json:"maxSize,omitempty"`
	// Required mirrors the catalog spec.
	Required bool `json:"required"`
	// UploadKey is the object key in the uploads bucket.
	UploadKey string `json:"uploadKey"`
	// Uploaded is true once the object was found in the uploads bucket.
	Uploaded bool `json:"uploaded"`
	// UploadedAt is when the upload was recorded.
	UploadedAt *time.Time `json:"uploadedAt,omitempty"`
	// Rejection says why the last file found for this document was refused
	// (and deleted); nil before any refusal and once a file is accepted.
	Rejection *UploadRejection `json:"rejection,omitempty"`
}

// UploadRejection is why an uploaded file was refused, in both languages,
// so an app can tell the citizen what to fix instead of retrying blindly.
type UploadRejection struct {
	// Code is size_mismatch, file_too_large or content_type_mismatch.
	Code string `json:"code"`
	// Reason is the English explanation; ReasonVi the Vietnamese one.
	Reason   string `json:"reason"`
	ReasonVi string `json:"reasonVi"`
	// DeclaredSize and ActualSize are the sizes in bytes.
	DeclaredSize int64 `json:"declaredSize"`
	ActualSize   int64 `json:"actualSize"`
	// DeclaredType and ActualType are the media types.
	DeclaredType string `json:"declaredType"`
	ActualType   string `json:"actualType,omitempty"`
	// At is when the file was refused.
	At time.Time `json:"at"`
}

// ResultDelivery is how the result goes back to the applicant.
type ResultDelivery struct {
	// Method is online or postal.
	Method string `json:"method"`
	// Address is the postal address (postal only).
	Address string `json:"address,omitempty"`
}

// Fee is the fee or charge due for this application.
type Fee struct {
	// AmountVND is the amount due in đồng (0 when free).
	AmountVND int64 `json:"amountVND"`
	// Kind is fee, charge or free (catalog.FeeKind).
	Kind string `json:"kind"`
	// PaymentState is not_required, unpaid or paid.
	PaymentState string `json:"paymentState"`
	// PaymentRef is the reference of the payment that paid the fee (set
	// with PaymentState paid by ApplyPaymentConfirmed).
	PaymentRef string `json:"paymentRef,omitempty"`
	// PaymentMethod is how it was paid (vnpay, vietqr).
	PaymentMethod string `json:"paymentMethod,omitempty"`
	// PaidAt is when the payment was confirmed.
	PaidAt *time.Time `json:"paidAt,omitempty"`
}

// Event is one entry of an application's timeline.
type Event struct {
	// At is when it happened (UTC).
	At time.Time `json:"at"`
	// Status is the status the application entered (or kept, for notes).
	Status Status `json:"status"`
	// Actor is an agency code, "citizen" or "system" — never an officer's name.
	Actor string `json:"actor"`
	// Note is a short public explanation (reason for rejection …).
	Note string `json:"note,omitempty"`
	// EventID is the ID of the queue envelope published for this step, if
	// any; RepairOutbox uses it to tell a written step from a lost one.
	EventID string `json:"eventId,omitempty"`
	// Kind marks entries that are not a status change: "" for a status
	// step, TimelineResultDownloaded for the first electronic delivery.
	Kind string `json:"kind,omitempty"`
}

// Application is one application file (hồ sơ), stored as one JSON document.
type Application struct {
	// Code is the application code {agency}-{yyMMdd}-{NNNN}.
	Code string `json:"code"`
	// ProcedureCode is the catalog procedure.
	ProcedureCode string `json:"procedureCode"`
	// ProcedureName is its name at submission time.
	ProcedureName string `json:"procedureName"`
	// ProcedureVersion is the catalog revision used.
	ProcedureVersion int `json:"procedureVersion,omitempty"`
	// ProcessingDays is the legal processing time in working days.
	ProcessingDays int `json:"processingDays"`
	// Agency settles the application.
	Agency Agency `json:"agency"`
	// Applicant filed it.
	Applicant Applicant `json:"applicant"`
	// Form is the form data, validated against the procedure's fields.
	Form map[string]any `json:"form,omitempty"`
	// Documents are the declared documents and their uploads.
	Documents []Document `json:"documents"`
	// Channel is online, direct or postal.
	Channel Channel `json:"channel"`
	// ResultDelivery is how the result is returned.
	ResultDelivery ResultDelivery `json:"resultDelivery"`
	// Status is the current status.
	Status Status `json:"status"`
	// Fee is the fee due and its payment state.
	Fee Fee `json:"fee"`
	// SubmittedAt is when it was filed.
	SubmittedAt time.Time `json:"submittedAt"`
	// ReceivedAt is when staff received it (the legal clock's start).
	ReceivedAt *time.Time `json:"receivedAt,omitempty"`
	// DueAt is the due time: expected (from SubmittedAt) until received,
	// then recomputed from ReceivedAt.
	DueAt time.Time `json:"dueAt"`
	// ExpectedDueAt is the due time announced at submission (DueAt until
	// receipt recomputes it); it names the application's first work-queue
	// entry, whose index pointer is only written when the entry first
	// moves (see SyncIndex). Nil in applications filed before it existed.
	ExpectedDueAt *time.Time `json:"expectedDueAt,omitempty"`
	// SettledAt is when a result (or refusal) was issued.
	SettledAt *time.Time `json:"settledAt,omitempty"`
	// Settlement is early, on_time or late (workdays.Settlement).
	Settlement string `json:"settlement,omitempty"`
	// Timeline lists every step, oldest first, starting with submitted.
	Timeline []Event `json:"timeline"`
	// Result is the result document recorded by complete (nil before).
	Result *ResultRecord `json:"result,omitempty"`
	// Delivery is how the result went back, recorded by return, and its
	// electronic delivery (downloads) afterwards (nil before return).
	Delivery *DeliveryRecord `json:"delivery,omitempty"`
	// PINHash is the peppered hash of the lookup PIN (see HashPIN; legacy
	// records hold PBKDF2); never the PIN.
	PINHash string `json:"pinHash"`
	// PINSalt is the per-application salt (base64).
	PINSalt string `json:"pinSalt"`
	// PINChangedAt is when the PIN was last reset through PIN recovery.
	PINChangedAt *time.Time `json:"pinChangedAt,omitempty"`
	// Version counts the writes of this document (1 on creation).
	Version int `json:"version"`
}

// Redacted returns a copy of a without the PIN hash and salt, for answers
// to clients and for events.
func (a Application) Redacted() Application {
	a.PINHash, a.PINSalt = "", ""
	return a
}

// MissingUploads returns the codes of declared documents not uploaded yet.
func (a Application) MissingUploads() []string {
	var out []string
	for _, d := range a.Documents {
		if !d.Uploaded {
			out = append(out, d.Code)
		}
	}
	return out
}

// Key returns the document-store key of the application with code.
func Key(code Code) string { return "applications/" + code.String() + ".json" }

// UploadKey returns the uploads-bucket key of a document's file; docCode
// comes from the catalog and fileName is sanitised (safeFileName).
func UploadKey(code Code, docCode, fileName string) string {
	return "applications/" + code.String() + "/documents/" + docCode + "/" + fileName
}
