package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"motcua/shared/catalog"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/httpx"
	"motcua/shared/queue"
	"motcua/shared/vnid"
	"motcua/shared/workdays"
)

// DefaultUploadTTL is how long presigned upload URLs stay valid.
const DefaultUploadTTL = 15 * time.Minute

// Procedures is what the service needs from the catalog
// (*catalog.Service fits).
type Procedures interface {
	// Get returns the procedure with code; an error matching
	// catalog.ErrNotFound when there is none.
	Get(ctx context.Context, code string) (catalog.Procedure, error)
}

// StaffClaims is what the service needs to know about a verified staff
// token.
type StaffClaims struct {
	// Sub identifies the officer (never stored in the timeline).
	Sub string
	// Agency is the officer's agency code.
	Agency string
}

// StaffVerifier checks an Authorization header value ("Bearer …") and
// returns the staff claims; nil in Deps means no staff token is accepted.
type StaffVerifier func(authorization string, now time.Time) (StaffClaims, error)

// Deps are the service's dependencies.
type Deps struct {
	// Store is the data bucket (applications, counters, outbox).
	Store docstore.Store
	// Uploads is the uploads bucket (presigned document uploads).
	Uploads docstore.Store
	// Publisher sends events; EventsQueue names the queue.
	Publisher   queue.Publisher
	EventsQueue string
	// Procedures is the catalog.
	Procedures Procedures
	// Calendar computes due dates.
	Calendar *workdays.Calendar
	// Staff verifies staff tokens for direct/postal submissions; nil
	// accepts online submissions only.
	Staff StaffVerifier
	// Guard hashes new PINs and checks applicants' PINs (cancel,
	// complete-uploads); it must carry the pepper
	// (citizenguard.WithPepper; platform.Platform.CitizenGuard).
	Guard *citizenguard.Guard
	// Log receives structured logs (never PINs, CCCDs in clear or phones).
	Log *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// PINIterations is ignored: PINs are hashed with Guard's pepper
	// (HashPIN). Kept so existing callers compile.
	PINIterations int
	// UploadTTL is the validity of upload URLs (DefaultUploadTTL when 0).
	UploadTTL time.Duration
}

// Service files applications and serves the applicant's actions on them.
// Safe for concurrent use.
type Service struct {
	d      Deps
	repo   *Repository
	access *Access
}

// NewService checks deps, registers the validation rules and returns the
// service.
func NewService(d Deps) (*Service, error) {
	var missing []string
	if d.Store == nil {
		missing = append(missing, "Store")
	}
	if d.Uploads == nil {
		missing = append(missing, "Uploads")
	}
	if d.Publisher == nil {
		missing = append(missing, "Publisher")
	}
	if d.EventsQueue == "" {
		missing = append(missing, "EventsQueue")
	}
	if d.Procedures == nil {
		missing = append(missing, "Procedures")
	}
	if d.Calendar == nil {
		missing = append(missing, "Calendar")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("application.NewService: missing %s", strings.Join(missing, ", "))
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.UploadTTL <= 0 {
		d.UploadTTL = DefaultUploadTTL
	}
	if err := RegisterRules(); err != nil {
		return nil, fmt.Errorf("application.NewService: %w", err)
	}
	if d.Guard == nil || d.Guard.Pepper() == nil {
		return nil, fmt.Errorf("application.NewService: Guard with a pepper is required (secret %s): a PIN is never hashed unkeyed", citizenguard.PepperSecret)
	}
	repo := NewRepository(d.Store)
	return &Service{d: d, repo: repo, access: NewAccess(repo, d.Guard)}, nil
}

// Access returns the guarded access to applications by code and PIN.
func (s *Service) Access() *Access { return s.access }

// Repository returns the service's repository.
func (s *Service) Repository() *Repository { return s.repo }

// Upload is a presigned upload of one declared document.
type Upload struct {
	// DocumentCode is the document the URL is for.
	DocumentCode string `json:"documentCode"`
	// Method is always PUT.
	Method string `json:"method"`
	// URL is the presigned URL.
	URL string `json:"url"`
	// Headers must be sent with the PUT exactly: Content-Type and
	// Content-Length are signed into the URL.
	Headers map[string]string `json:"headers"`
	// Size is the only body length the URL accepts (the declared size).
	Size int64 `json:"size"`
	// ExpiresAt is when the URL stops working.
	ExpiresAt time.Time `json:"expiresAt"`
}

// SubmitResult is the answer to a submission. PIN is shown once: only its
// hash is stored.
type SubmitResult struct {
	// Code is the application code.
	Code string `json:"code"`
	// PIN is the 8-digit lookup PIN.
	PIN string `json:"pin,omitempty"`
	// PINSealed replaces PIN inside stored idempotency records (see
	// SealPIN); never sent to clients.
	PINSealed string `json:"pinSealed,omitempty"`
	// Status is submitted.
	Status Status `json:"status"`
	// ProcedureCode and ProcedureName echo the procedure.
	ProcedureCode string `json:"procedureCode"`
	ProcedureName string `json:"procedureName"`
	// Agency settles the application.
	Agency Agency `json:"agency"`
	// Fee is the amount due.
	Fee Fee `json:"fee"`
	// SubmittedAt is the submission time.
	SubmittedAt time.Time `json:"submittedAt"`
	// DueDate is the expected due time counted from submission; the legal
	// due time is recomputed from the time staff receive the application.
	DueDate time.Time `json:"dueDate"`
	// Uploads are the presigned URLs, one per declared document not yet
	// uploaded.
	Uploads []Upload `json:"uploads"`
}

// Submit validates in, files the application and returns its code, PIN,
// fee, expected due date and upload URLs. authorization is the request's
// Authorization header (needed for direct and postal channels only);
// correlationID goes on the event.
//
// Bad input gives ErrInvalidInput (422) naming every bad field; an unknown
// procedure is one of those fields. The application write and its
// application.submitted event are tied by an outbox marker written first;
// a failed publish after a durable write is logged and repaired later by
// RepairOutbox, and the submission still succeeds.
func (s *Service) Submit(ctx context.Context, in SubmitInput, authorization, correlationID string) (SubmitResult, error) {
	now := s.d.Now().UTC()
	// One round: the tags' errors, the cross-field checks, the form and
	// the documents are all reported together (a bad CCCD does not hide a
	// missing document).
	var fieldErrs []fault.Issue
	if err := httpx.Validate(&in); err != nil {
		var p *httpx.Problem
		if !errors.As(err, &p) || len(p.Errors) == 0 {
			return SubmitResult{}, err
		}
		for _, fe := range p.Errors {
			fieldErrs = append(fieldErrs, fieldErr(fe.Field, fe.Code, fe.Message, fe.MessageVi))
		}
	}
	in.ProcedureCode = strings.TrimSpace(in.ProcedureCode)
	fieldErrs = append(fieldErrs, checkApplicant(in.Applicant)...)
	if hasFieldError(fieldErrs, "procedureCode") {
		return SubmitResult{}, invalidInput(firstPerField(fieldErrs)...)
	}
	proc, err := s.d.Procedures.Get(ctx, in.ProcedureCode)
	if errors.Is(err, catalog.ErrNotFound) {
		fieldErrs = append(fieldErrs, fieldErr("procedureCode", "unknown_procedure",
			"No procedure has this code.", "Không có thủ tục hành chính với mã này."))
		return SubmitResult{}, invalidInput(firstPerField(fieldErrs)...)
	}
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit: procedure %s: %w", in.ProcedureCode, err)
	}
	form, errs := checkForm(in.Form, proc.FormFields)
	fieldErrs = append(fieldErrs, errs...)
	docs, errs := checkDocuments(in.Documents, proc.Documents)
	fieldErrs = append(fieldErrs, errs...)
	channel := in.Channel
	if channel == "" {
		channel = ChannelOnline
	}
	delivery := ResultDelivery{Method: in.ResultDelivery.Method, Address: strings.TrimSpace(in.ResultDelivery.Address)}
	if delivery.Method == "" {
		delivery.Method = DeliveryOnline
	}
	if delivery.Method != DeliveryPostal {
		delivery.Address = ""
	}
	if len(fieldErrs) > 0 {
		return SubmitResult{}, invalidInput(firstPerField(fieldErrs)...)
	}
	if channel != ChannelOnline {
		if err := s.checkStaff(authorization, proc.Agency.Code, now); err != nil {
			return SubmitResult{}, err
		}
	}

	applicant, err := buildApplicant(in.Applicant)
	if err != nil {
		return SubmitResult{}, err
	}
	code, err := AllocateCode(ctx, s.d.Store, proc.Agency.Code, now)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	pin, err := NewPIN()
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	hash, salt, err := HashPIN(s.d.Guard, pin)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	for i := range docs {
		docs[i].UploadKey = UploadKey(code, docs[i].Code, docs[i].FileName)
	}
	amount := proc.Fee.Amount(channel == ChannelOnline)
	fee := Fee{AmountVND: amount, Kind: string(proc.Fee.Kind), PaymentState: PaymentUnpaid}
	if amount == 0 {
		fee.PaymentState = PaymentNotRequired
	}
	app := Application{
		Code: code.String(), ProcedureCode: proc.Code, ProcedureName: proc.Name, ProcedureVersion: proc.Version,
		ProcessingDays: proc.ProcessingDays,
		Agency:         Agency{Code: proc.Agency.Code, Name: proc.Agency.Name},
		Applicant:      applicant, Form: form, Documents: docs, Channel: channel,
		ResultDelivery: delivery, Status: StatusSubmitted, Fee: fee,
		SubmittedAt: now, DueAt: s.d.Calendar.AddWorkingDays(now, proc.ProcessingDays),
		PINHash: hash, PINSalt: salt, Version: 1,
	}
	actor := ActorCitizen
	if channel != ChannelOnline {
		actor = proc.Agency.Code
	}
	env, err := NewEvent(EventSubmitted, correlationID, app, now)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	app.Timeline = []Event{{At: now, Status: StatusSubmitted, Actor: actor, EventID: env.ID}}

	if err := StageOutbox(ctx, s.d.Store, s.d.EventsQueue, env, code.String()); err != nil {
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	if _, err := s.repo.Create(ctx, &app); err != nil {
		if derr := DiscardOutbox(context.WithoutCancel(ctx), s.d.Store, env.ID); derr != nil {
			s.d.Log.WarnContext(ctx, "submit: discard outbox marker", "event_id", env.ID, "error", derr.Error())
		}
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	if err := FlushOutbox(context.WithoutCancel(ctx), s.d.Store, s.d.Publisher, s.d.EventsQueue, env); err != nil {
		s.d.Log.WarnContext(ctx, "submit: event left in outbox for repair", "code", code, "event_id", env.ID, "error", err.Error())
	}
	s.d.Log.InfoContext(ctx, "application submitted", "code", code, "procedure", proc.Code,
		"agency", proc.Agency.Code, "channel", string(channel), "documents", len(docs))

	uploads, err := s.presign(ctx, app, now)
	if err != nil {
		// The application is filed; the client gets fresh URLs from
		// complete-uploads.
		s.d.Log.WarnContext(ctx, "submit: presign uploads", "code", code, "error", err.Error())
	}
	return SubmitResult{
		Code: code.String(), PIN: pin, Status: app.Status, ProcedureCode: app.ProcedureCode,
		ProcedureName: app.ProcedureName, Agency: app.Agency, Fee: app.Fee,
		SubmittedAt: APITime(app.SubmittedAt), DueDate: APITime(app.DueAt), Uploads: uploads,
	}, nil
}

// checkStaff verifies the staff token of a direct or postal submission.
func (s *Service) checkStaff(authorization, agency string, now time.Time) error {
	if s.d.Staff == nil || authorization == "" {
		return ErrStaffOnly
	}
	c, err := s.d.Staff(authorization, now)
	if err != nil {
		return fmt.Errorf("staff token: %w: %w", ErrStaffOnly, err)
	}
	if c.Agency != "" && !strings.EqualFold(strings.TrimSpace(c.Agency), agency) {
		return ErrStaffOnly
	}
	return nil
}

// buildApplicant normalises a validated applicant.
func buildApplicant(in ApplicantInput) (Applicant, error) {
	phone, err := vnid.NormalizePhone(in.Phone)
	if err != nil {
		return Applicant{}, invalidInput(fieldErr("applicant.phone", "vnphone", err.Error(), "Số điện thoại không hợp lệ."))
	}
	a := Applicant{
		Kind: in.Kind, Name: strings.TrimSpace(in.Name), Phone: phone,
		Email: strings.TrimSpace(in.Email), Address: strings.TrimSpace(in.Address),
	}
	switch in.Kind {
	case ApplicantPerson:
		a.IDNumber, a.DateOfBirth = in.IDNumber, in.DateOfBirth
		if dob, err := time.Parse(time.DateOnly, in.DateOfBirth); err == nil {
			if g, err := vnid.ValidateCCCD(in.IDNumber, dob); err == nil {
				a.Gender = string(g)
			}
		}
	case ApplicantBusiness:
		mst, err := vnid.ValidateMST(in.TaxCode)
		if err != nil {
			return Applicant{}, invalidInput(fieldErr("applicant.taxCode", "mst", "Invalid tax code.", "Mã số thuế không hợp lệ."))
		}
		a.TaxCode = mst
		if r := in.Representative; r != nil {
			a.Representative = &Representative{Name: strings.TrimSpace(r.Name), IDNumber: r.IDNumber, Position: strings.TrimSpace(r.Position)}
		}
	}
	return a, nil
}

// presign returns upload URLs for the documents not uploaded yet.
func (s *Service) presign(ctx context.Context, a Application, now time.Time) ([]Upload, error) {
	out := []Upload{}
	for _, d := range a.Documents {
		if d.Uploaded {
			continue
		}
		url, err := s.d.Uploads.PresignPutSized(ctx, d.UploadKey, d.ContentType, d.Size, s.d.UploadTTL)
		if err != nil {
			return out, fmt.Errorf("presign %s: %w", d.UploadKey, err)
		}
		out = append(out, Upload{
			DocumentCode: d.Code, Method: http.MethodPut, URL: url, Size: d.Size,
			Headers:   map[string]string{"Content-Type": d.ContentType, "Content-Length": strconv.FormatInt(d.Size, 10)},
			ExpiresAt: APITime(now.Add(s.d.UploadTTL)),
		})
	}
	return out, nil
}
