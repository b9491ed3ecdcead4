package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua/shared/catalog"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/httpx"
	"motcua/shared/outbox"
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
	d       Deps
	repo    *Repository
	access  *Access
	cleaner *outbox.Cleaner
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
	return &Service{d: d, repo: repo, access: NewAccess(repo, d.Guard), cleaner: outbox.NewCleaner(d.Store, d.Log)}, nil
}

// Drain waits until the background work of earlier submissions (deleting
// the outbox markers of sent events) is done, or ctx ends; for tests and
// graceful shutdown. Work lost when a process stops is repaired by
// RepairOutbox.
func (s *Service) Drain(ctx context.Context) error { return s.cleaner.Drain(ctx) }

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
	// EventID is the application.submitted event's ID, kept inside stored
	// idempotency records so a retry that takes a stale record over
	// announces the same event; never sent to clients.
	EventID string `json:"eventId,omitempty"`
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
// procedure is one of those fields.
//
// The durable part costs two rounds of concurrent writes and one send:
// first the outbox marker of the application.submitted event (and, through
// HTTP, the idempotency record holding the answer), then the application
// (create once) with its work-queue index entry (the entry's pointer is
// only written when a later write moves the entry, see SyncIndex), then the
// event is sent; the marker is deleted in the background (see Drain). A
// crash after the marker leaves it to RepairOutbox, which publishes the
// event if the application was written and discards it otherwise; a
// failed send after the durable write is logged and repaired the same way,
// and the submission still succeeds. The code comes from this process's
// block of numbers (AllocateCode).
func (s *Service) Submit(ctx context.Context, in SubmitInput, authorization, correlationID string) (SubmitResult, error) {
	res, err := s.submit(ctx, in, authorization, correlationID, nil, nil)
	res.EventID = ""
	return res, err
}

// pinned are the values a submission taken over from a stale idempotency
// record reuses: the recorded answer's code, PIN, time and event.
type pinned struct {
	code    Code
	pin     string
	at      time.Time
	eventID string
}

// claimFunc records a submission's answer before the application is
// written (HTTP: the idempotency record); it runs concurrently with the
// outbox marker write. A non-nil error stops the submission before the
// application is written and is returned by submit as is.
type claimFunc func(ctx context.Context, res SubmitResult) error

// submit is Submit with the values of a taken-over record (pin, nil for a
// new submission) and the answer's claim (nil: none).
func (s *Service) submit(ctx context.Context, in SubmitInput, authorization, correlationID string, pin0 *pinned, claim claimFunc) (SubmitResult, error) {
	now := s.d.Now().UTC()
	if pin0 != nil {
		now = pin0.at.UTC()
	}
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
	var (
		code Code
		pin  string
	)
	if pin0 != nil {
		code, pin = pin0.code, pin0.pin
	} else {
		if code, err = AllocateCode(ctx, s.d.Store, proc.Agency.Code, now); err != nil {
			return SubmitResult{}, fmt.Errorf("submit: %w", err)
		}
		if pin, err = NewPIN(); err != nil {
			return SubmitResult{}, fmt.Errorf("submit: %w", err)
		}
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
	expected := app.DueAt
	app.ExpectedDueAt = &expected
	actor := ActorCitizen
	if channel != ChannelOnline {
		actor = proc.Agency.Code
	}
	env, err := NewEvent(EventSubmitted, correlationID, app, now)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit: %w", err)
	}
	if pin0 != nil && pin0.eventID != "" {
		env.ID = pin0.eventID
	}
	app.Timeline = []Event{{At: now, Status: StatusSubmitted, Actor: actor, EventID: env.ID}}

	uploads, err := s.presign(ctx, app, now)
	if err != nil {
		// The client gets fresh URLs from complete-uploads.
		s.d.Log.WarnContext(ctx, "submit: presign uploads", "code", code, "error", err.Error())
	}
	res := SubmitResult{
		Code: code.String(), PIN: pin, Status: app.Status, ProcedureCode: app.ProcedureCode,
		ProcedureName: app.ProcedureName, Agency: app.Agency, Fee: app.Fee,
		SubmittedAt: APITime(app.SubmittedAt), DueDate: APITime(app.DueAt), Uploads: uploads, EventID: env.ID,
	}
	if err := s.file(ctx, &app, env, res, pin0 != nil, claim); err != nil {
		return SubmitResult{}, err
	}
	s.d.Log.InfoContext(ctx, "application submitted", "code", code, "procedure", proc.Code,
		"agency", proc.Agency.Code, "channel", string(channel), "documents", len(docs))
	return res, nil
}

// file makes a prepared submission durable and announces it: round 1 the
// outbox marker (staged again, fresh, when retried) with claim; round 2
// the application (create once) with its index (after it, when retried);
// then the send, the marker's delete left to the cleaner.
func (s *Service) file(ctx context.Context, app *Application, env queue.Envelope, res SubmitResult, retried bool, claim claimFunc) error {
	tie := outbox.Tie{Kind: OutboxKind, ID: app.Code}
	var stageErr, claimErr error
	var wg sync.WaitGroup
	if claim != nil {
		wg.Go(func() { claimErr = claim(ctx, res) })
	}
	if retried {
		stageErr = outbox.Restage(ctx, s.d.Store, s.d.EventsQueue, env, tie)
	} else {
		stageErr = outbox.Stage(ctx, s.d.Store, s.d.EventsQueue, env, tie)
	}
	wg.Wait()
	if claimErr != nil {
		if stageErr == nil && !retried {
			s.cleaner.Delete(env.ID) // no application will carry this event
		}
		return claimErr
	}
	if stageErr != nil {
		return fmt.Errorf("submit: %w", stageErr)
	}

	var createErr error
	indexed := *app
	if retried {
		// The application may exist and have moved on since: sync the
		// index after the write, moving only forward (SyncIndex), rather
		// than writing a version-1 entry blindly.
		if _, createErr = s.repo.create(ctx, app, false); createErr == nil || errors.Is(createErr, ErrExists) {
			indexAfterWrite(ctx, s.d.Store, indexed)
		}
	} else {
		wg.Go(func() { _, createErr = s.repo.create(ctx, app, false) })
		indexCreated(ctx, s.d.Store, indexed)
		wg.Wait()
	}
	switch {
	case retried && errors.Is(createErr, ErrExists):
		// The first attempt wrote it after all; its event is re-sent below
		// (consumers de-duplicate on the envelope ID).
	case errors.Is(createErr, ErrExists):
		s.cleaner.Delete(env.ID)
		return fmt.Errorf("submit: %w", createErr)
	case createErr != nil:
		// The write may have happened in spite of the error: the marker
		// stays for RepairOutbox, which checks.
		return fmt.Errorf("submit: %w", createErr)
	}
	if err := outbox.Send(context.WithoutCancel(ctx), s.d.Publisher, s.cleaner, s.d.EventsQueue, env); err != nil {
		s.d.Log.WarnContext(ctx, "submit: event left in outbox for repair", "code", app.Code, "event_id", env.ID, "error", err.Error())
	}
	return nil
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
