package feedback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/httpx"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

// Defaults of the spam limits.
const (
	// DefaultDedupWindow: the same content from the same sender within it
	// answers the existing item.
	DefaultDedupWindow = 24 * time.Hour
	// DefaultPerSender is the intakes allowed per phone/e-mail per window.
	DefaultPerSender = 5
	// DefaultPerClient is the intakes allowed per client address per window.
	DefaultPerClient = 20
	// DefaultIntakeWindow is the window of the intake limits.
	DefaultIntakeWindow = time.Hour
	// DefaultUploadTTL is the validity of presigned upload URLs.
	DefaultUploadTTL = 15 * time.Minute
)

// Deps are the Service's dependencies.
type Deps struct {
	// Store is the data bucket.
	Store docstore.Store
	// Uploads is the uploads bucket (nil: attachments are refused).
	Uploads docstore.Store
	// Publisher publishes events to EventsQueue (DefaultEventsQueue when "").
	Publisher   queue.Publisher
	EventsQueue string
	// Calendar counts working days.
	Calendar *workdays.Calendar
	// Tables gives the field and routing tables (NewTables(Store) when nil).
	Tables *Tables
	// Guard hashes and checks follow-up secrets; it must carry the pepper
	// (citizenguard.WithPepper; platform.Platform.CitizenGuard).
	Guard *citizenguard.Guard
	// PerSender limits intakes per phone/e-mail and PerClient per client
	// address (DefaultPerSender / DefaultPerClient per DefaultIntakeWindow
	// when zero).
	PerSender, PerClient Limit
	// DedupWindow is DefaultDedupWindow when 0.
	DedupWindow time.Duration
	// Log is the logger (slog.Default when nil).
	Log *slog.Logger
	// Now is time.Now when nil.
	Now func() time.Time
}

// Service is the feedback domain service. Safe for concurrent use.
type Service struct {
	d      Deps
	repo   repo
	limits limiter
	outbox outbox
	apps   *application.Repository
}

// NewService checks deps and returns a Service.
func NewService(d Deps) (*Service, error) {
	var missing []string
	if d.Store == nil {
		missing = append(missing, "Store")
	}
	if d.Publisher == nil {
		missing = append(missing, "Publisher")
	}
	if d.Calendar == nil {
		missing = append(missing, "Calendar")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("feedback: missing dependencies: %s", strings.Join(missing, ", "))
	}
	if err := application.RegisterRules(); err != nil {
		return nil, fmt.Errorf("feedback: %w", err)
	}
	if d.EventsQueue == "" {
		d.EventsQueue = DefaultEventsQueue
	}
	if d.Tables == nil {
		d.Tables = NewTables(d.Store)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Guard == nil || d.Guard.Pepper() == nil {
		return nil, fmt.Errorf("feedback.NewService: Guard with a pepper is required (secret %s): follow-up secrets are never hashed unkeyed", citizenguard.PepperSecret)
	}
	if d.PerSender.Max == 0 {
		d.PerSender = Limit{Max: DefaultPerSender, Window: DefaultIntakeWindow}
	}
	if d.PerClient.Max == 0 {
		d.PerClient = Limit{Max: DefaultPerClient, Window: DefaultIntakeWindow}
	}
	if d.DedupWindow <= 0 {
		d.DedupWindow = DefaultDedupWindow
	}
	return &Service{
		d: d, repo: repo{store: d.Store}, limits: limiter{store: d.Store, now: d.Now},
		outbox: outbox{store: d.Store, pub: d.Publisher, queue: d.EventsQueue},
		apps:   application.NewRepository(d.Store),
	}, nil
}

// Upload is a presigned upload of one attachment.
type Upload struct {
	// FileName is the stored file name.
	FileName string `json:"fileName"`
	// Method is PUT.
	Method string `json:"method"`
	// URL is the presigned URL.
	URL string `json:"url"`
	// Headers must be sent with the upload.
	Headers map[string]string `json:"headers"`
	// MaxSize is the declared size the file must not exceed.
	MaxSize int64 `json:"maxSize"`
	// ExpiresAt is when the URL stops working.
	ExpiresAt time.Time `json:"expiresAt"`
}

// SubmitResult is the answer to an intake.
type SubmitResult struct {
	// ID is the item's id.
	ID string `json:"id"`
	// Secret is the follow-up secret (absent for anonymous items and
	// duplicates: the sender got it with the first submission).
	Secret string `json:"secret,omitempty"`
	// SecretSealed carries the secret inside the idempotency record only.
	SecretSealed string `json:"secretSealed,omitempty"`
	// Duplicate is true when the same content from the same sender was
	// already received within the window: ID is that item.
	Duplicate bool `json:"duplicate"`
	// Anonymous is true when no contact was given (no private follow-up).
	Anonymous bool `json:"anonymous"`
	// Status and StatusLabel are the item's status.
	Status      Status `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// Field is the field code.
	Field string `json:"field"`
	// Agency is the agency the item was routed to.
	Agency Agency `json:"agency"`
	// ReceivedAt is the intake time.
	ReceivedAt time.Time `json:"receivedAt"`
	// Due holds the deadlines.
	Due Due `json:"due"`
	// Uploads are the presigned URLs, one per declared attachment.
	Uploads []Upload `json:"uploads"`
	// Notice tells the sender what happens next (Vietnamese).
	Notice string `json:"notice"`
}

// Origin says where an intake came from.
type Origin struct {
	// Client is the client address (citizenguard.Guard.Client).
	Client string
	// Channel is web or open311.
	Channel string
	// CallID correlates the events.
	CallID string
	// MediaURL is an external media link (Open311 media_url).
	MediaURL string
}

// ErrUnknownApplication: the application code does not exist.
var ErrUnknownApplication = fault.New("feedback", "validation_failed", 422,
	"Không tìm thấy hồ sơ có mã đã nhập.", "No application has this code.").WithParam("applicationCode")

// Submit files a feedback item: it validates in, applies the spam limits
// (per sender phone/e-mail and per client; 429), answers the existing item
// for the same content from the same sender within the dedup window, routes
// the item, computes its deadlines, stores it, publishes feedback.received
// and returns presigned upload URLs for the declared attachments.
func (s *Service) Submit(ctx context.Context, in SubmitInput, o Origin) (SubmitResult, error) {
	if err := httpx.Validate(&in); err != nil {
		return SubmitResult{}, err
	}
	fields, routing, err := s.d.Tables.Get(ctx)
	if err != nil {
		return SubmitResult{}, err
	}
	contact, atts, field, ferrs := checkInput(in, fields)
	if len(atts) > 0 && s.d.Uploads == nil {
		ferrs = append(ferrs, fieldErr("attachments", "uploads_unavailable", "Attachments are not accepted by this deployment.",
			"Hệ thống chưa cho phép đính kèm tệp."))
	}
	if in.Location != nil && in.Location.AreaCode != "" {
		if _, ok := routing.area(in.Location.AreaCode); !ok {
			ferrs = append(ferrs, fieldErr("location.areaCode", "unknown_area", "Unknown area code.", "Mã địa bàn không có trong danh mục."))
		}
	}
	if len(ferrs) > 0 {
		return SubmitResult{}, httpx.ValidationProblem(ferrs...)
	}
	var appCode string
	if strings.TrimSpace(in.ApplicationCode) != "" {
		code, err := application.ParseCode(in.ApplicationCode)
		if err != nil {
			return SubmitResult{}, ErrUnknownApplication.WithCause(err)
		}
		if _, _, err := s.apps.Get(ctx, code); err != nil {
			if errors.Is(err, application.ErrNotFound) {
				return SubmitResult{}, ErrUnknownApplication
			}
			return SubmitResult{}, err
		}
		appCode = code.String()
	}
	// Every intake counts against its client address and, when the sender
	// gave a contact, against the phone (or e-mail): a spammer changing
	// addresses still hits the phone's limit, and the other way round.
	sender := "client:" + o.Client
	if o.Client != "" {
		if err := s.limits.take(ctx, "client", o.Client, s.d.PerClient); err != nil {
			return SubmitResult{}, err
		}
	}
	if contact != nil {
		sender = "phone:" + contact.Phone
		if contact.Phone == "" {
			sender = "email:" + contact.Email
		}
		if err := s.limits.take(ctx, "sender", sender, s.d.PerSender); err != nil {
			return SubmitResult{}, err
		}
	}
	now := s.d.Now().UTC()
	ref, err := NewID(now)
	if err != nil {
		return SubmitResult{}, err
	}
	dkey := dedupKey(sender, field.Code, in.Title, in.Content)
	id := ref.String()
	existing, err := s.repo.claimDedup(ctx, dkey, id, now, s.d.DedupWindow)
	if err != nil {
		return SubmitResult{}, err
	}
	if existing != "" {
		prev, _ := ParseID(existing)
		it, _, err := s.repo.get(ctx, prev)
		if err == nil {
			s.d.Log.InfoContext(ctx, "feedback duplicate answered with the existing item", "id", it.ID)
			return SubmitResult{ID: it.ID, Duplicate: true, Anonymous: it.Anonymous, Status: it.Status,
				StatusLabel: StatusLabelVi(it.Status), Field: it.FieldCode, Agency: it.Agency, ReceivedAt: vn(it.ReceivedAt),
				Due: vnDue(it.Due), Uploads: []Upload{},
				Notice: "Nội dung này đã được tiếp nhận trước đó; dùng mã tra cứu đã cấp lần đầu để theo dõi."}, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return SubmitResult{}, err
		}
		// The marker outlived a failed intake: take it over.
		if _, err := docstore.PutJSON(ctx, s.d.Store, dkey, dedupMarker{ID: id, CreatedAt: now}, docstore.PutOptions{}); err != nil {
			return SubmitResult{}, fmt.Errorf("feedback dedup takeover: %w", err)
		}
	}

	loc := Location{}
	if l := in.Location; l != nil {
		loc = Location{Address: strings.TrimSpace(l.Address), Lat: l.Lat, Long: l.Long}
		loc.AreaCode = routing.ResolveArea(l.AreaCode, l.Lat, l.Long)
	}
	agency, rule := routing.Route(field.Code, loc.AreaCode)
	it := Item{
		ID: id, Version: 1, Kind: in.Kind, FieldCode: field.Code, FieldName: field.Name,
		Title: strings.TrimSpace(in.Title), Content: strings.TrimSpace(in.Content), Location: loc,
		Attachments: atts, Anonymous: contact == nil, Contact: contact,
		ApplicationCode: appCode, Channel: o.Channel,
		Agency: agency, Routing: rule, Status: StatusReceived, ReceivedAt: now, UpdatedAt: now,
		Due: ComputeDue(s.d.Calendar, now),
	}
	if it.Channel == "" {
		it.Channel = "web"
	}
	for i := range it.Attachments {
		it.Attachments[i].UploadKey = UploadKey(ref, it.Attachments[i].FileName)
	}
	if o.MediaURL != "" {
		it.Attachments = append(it.Attachments, Attachment{FileName: "media", URL: o.MediaURL})
	}
	var secret string
	if !it.Anonymous {
		var h citizenguard.Hashed
		if secret, h, err = newSecret(s.d.Guard); err != nil {
			return SubmitResult{}, err
		}
		it.SecretHash, it.SecretSalt = h.Hash, h.Salt
	}
	env, err := newEvent(ActionReceive, o.CallID, it, "")
	if err != nil {
		return SubmitResult{}, err
	}
	it.Timeline = []Step{{At: now, Action: ActionReceive, Status: StatusReceived, By: "system",
		Note: "Chuyển đến " + agency.Name, EventID: env.ID}}
	if err := s.outbox.stage(ctx, it.Ref(), env); err != nil {
		return SubmitResult{}, err
	}
	if err := s.repo.create(ctx, it); err != nil {
		_ = s.outbox.discard(context.WithoutCancel(ctx), env)
		return SubmitResult{}, err
	}
	s.flush(ctx, env)
	s.d.Log.InfoContext(ctx, "feedback received", "id", id, "field", field.Code, "agency", agency.Code,
		"routing", rule, "anonymous", it.Anonymous, "attachments", len(atts))
	uploads, err := s.presign(ctx, it, now)
	if err != nil {
		s.d.Log.WarnContext(ctx, "feedback presign failed", "id", id, "error", err.Error())
	}
	notice := "Phản ánh đã được tiếp nhận và chuyển đến " + agency.Name + ". Giữ mã phản ánh và mã tra cứu để theo dõi kết quả."
	if it.Anonymous {
		notice = "Phản ánh ẩn danh đã được tiếp nhận và chuyển đến " + agency.Name + ". Kết quả trả lời được công khai trên cổng; không có trao đổi riêng với người gửi ẩn danh."
	}
	return SubmitResult{ID: id, Secret: secret, Anonymous: it.Anonymous, Status: it.Status, StatusLabel: StatusLabelVi(it.Status),
		Field: field.Code, Agency: agency, ReceivedAt: vn(now), Due: vnDue(it.Due), Uploads: uploads, Notice: notice}, nil
}

// presign returns upload URLs for the item's attachments.
func (s *Service) presign(ctx context.Context, it Item, now time.Time) ([]Upload, error) {
	out := []Upload{}
	for _, a := range it.Attachments {
		if a.UploadKey == "" {
			continue
		}
		// The size is signed into the URL: the upload must be exactly the
		// declared size, of the declared type.
		url, err := s.d.Uploads.PresignPutSized(ctx, a.UploadKey, a.ContentType, a.Size, DefaultUploadTTL)
		if err != nil {
			return out, err
		}
		out = append(out, Upload{FileName: a.FileName, Method: "PUT", URL: url,
			Headers: map[string]string{"Content-Type": a.ContentType, "Content-Length": strconv.FormatInt(a.Size, 10)},
			MaxSize: a.Size, ExpiresAt: vn(now.Add(DefaultUploadTTL))})
	}
	return out, nil
}

// flush publishes a staged event; a failure leaves the marker for the
// outbox repair and is only logged (the state change is durable).
func (s *Service) flush(ctx context.Context, env queue.Envelope) {
	if err := s.outbox.flush(context.WithoutCancel(ctx), env); err != nil {
		s.d.Log.WarnContext(ctx, "feedback event left in the outbox", "event_id", env.ID, "type", env.Type, "error", err.Error())
	}
}

// ErrConcurrentUpdate: the item changed since the caller read it.
var ErrConcurrentUpdate = fault.New("feedback", "concurrent_update", 409,
	"Phản ánh vừa được người khác cập nhật; vui lòng tải lại và thử lại.",
	"The item was changed by someone else; reload it and try again.")

// ErrWrongAgency: the officer's agency is not the item's.
var ErrWrongAgency = fault.New("feedback", "wrong_agency", 403,
	"Phản ánh không thuộc cơ quan của cán bộ.", "The item belongs to another agency.")

// apply runs one step on item id with compare-and-swap: check (may be nil)
// vets the item first; version (> 0) must equal the item's version. A lost
// race is ErrConcurrentUpdate. It returns the item after the step.
func (s *Service) apply(ctx context.Context, it Item, etag string, actor Actor, in Input, version int, callID string) (Item, error) {
	if version > 0 && version != it.Version {
		return Item{}, ErrConcurrentUpdate.WithExtra(map[string]any{"current_status": string(it.Status), "current_version": it.Version})
	}
	before := it
	if _, err := Apply(&it, actor, in, s.d.Now(), s.d.Calendar); err != nil {
		return Item{}, err
	}
	prev := ""
	if in.Action == ActionReassign {
		prev = before.Agency.Code
	}
	env, err := newEvent(in.Action, callID, it, prev)
	if err != nil {
		return Item{}, err
	}
	it.Timeline[len(it.Timeline)-1].EventID = env.ID
	if err := s.outbox.stage(ctx, it.Ref(), env); err != nil {
		return Item{}, err
	}
	undo := func() { _ = s.outbox.discard(context.WithoutCancel(ctx), env) }
	// Side documents that must exist once the step is durable are written
	// first; readers check them against the item.
	switch in.Action {
	case ActionReassign:
		if err := s.repo.index(ctx, it); err != nil {
			undo()
			return Item{}, err
		}
	case ActionPublish:
		if _, err := docstore.PutJSON(ctx, s.d.Store, PublicKey(it.Ref()), PublicView(it), docstore.PutOptions{}); err != nil {
			undo()
			return Item{}, fmt.Errorf("feedback publish %s: %w", it.ID, err)
		}
	}
	if _, err := s.repo.replace(ctx, it, etag); err != nil {
		undo()
		s.cleanSideDocuments(context.WithoutCancel(ctx), in.Action, it)
		if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict) {
			return Item{}, ErrConcurrentUpdate.WithExtra(map[string]any{"current_status": string(before.Status), "current_version": before.Version})
		}
		return Item{}, fmt.Errorf("feedback %s %s: %w", in.Action, it.ID, err)
	}
	switch in.Action {
	case ActionReassign:
		if err := s.repo.unindex(context.WithoutCancel(ctx), before.Agency.Code, before); err != nil {
			s.d.Log.WarnContext(ctx, "feedback stale index entry left", "id", it.ID, "error", err.Error())
		}
	case ActionAnswer:
		// A new answer replaces a published older one only once published.
		if err := s.d.Store.Delete(context.WithoutCancel(ctx), PublicKey(it.Ref()), ""); err != nil {
			s.d.Log.WarnContext(ctx, "feedback old public answer left", "id", it.ID, "error", err.Error())
		}
	}
	s.flush(ctx, env)
	s.d.Log.InfoContext(ctx, "feedback step", "id", it.ID, "action", in.Action, "status", string(it.Status),
		"agency", it.Agency.Code, "by", actor.by(), "version", it.Version)
	return it, nil
}

// cleanSideDocuments removes what a step wrote before losing its item
// write (the public copy of a publish, the new index entry of a reassign),
// unless the item as it is now needs it: a concurrent publish by another
// officer wrote the same public copy, a concurrent reassign may have moved
// the item to the same agency. Best effort; readers check side documents
// against the item anyway.
func (s *Service) cleanSideDocuments(ctx context.Context, action string, attempted Item) {
	if action != ActionPublish && action != ActionReassign {
		return
	}
	cur, _, err := s.repo.get(ctx, attempted.Ref())
	if err != nil {
		return
	}
	switch {
	case action == ActionPublish && !cur.Published:
		_ = s.d.Store.Delete(ctx, PublicKey(attempted.Ref()), "")
	case action == ActionReassign && !strings.EqualFold(cur.Agency.Code, attempted.Agency.Code):
		_ = s.repo.unindex(ctx, attempted.Agency.Code, attempted)
	}
}

// FollowUp returns the sender's view of item id (secret checked, throttled).
func (s *Service) FollowUp(ctx context.Context, id ID, secret, client string) (SenderView, error) {
	it, _, err := s.checkSecret(ctx, id, secret, client)
	if err != nil {
		return SenderView{}, err
	}
	return senderView(it, s.d.Now()), nil
}

// SenderAct applies a sender action (provide_info, rate, reopen) after
// checking the secret.
func (s *Service) SenderAct(ctx context.Context, id ID, secret, client string, in Input, callID string) (SenderView, error) {
	it, etag, err := s.checkSecret(ctx, id, secret, client)
	if err != nil {
		return SenderView{}, err
	}
	out, err := s.apply(ctx, it, etag, Actor{Sender: true}, in, 0, callID)
	if err != nil {
		return SenderView{}, err
	}
	return senderView(out, s.d.Now()), nil
}

// Officer is an authenticated officer.
type Officer struct {
	// Subject is the officer's id.
	Subject string
	// Agency is the officer's agency code.
	Agency string
}

// staffGet reads item id for officer o (403 for another agency's item).
func (s *Service) staffGet(ctx context.Context, o Officer, id ID) (Item, string, error) {
	it, etag, err := s.repo.get(ctx, id)
	if err != nil {
		return Item{}, "", err
	}
	if !strings.EqualFold(it.Agency.Code, o.Agency) {
		return Item{}, "", ErrWrongAgency
	}
	return it, etag, nil
}

// StaffGet returns the staff view of item id.
func (s *Service) StaffGet(ctx context.Context, o Officer, id ID) (StaffView, error) {
	it, _, err := s.staffGet(ctx, o, id)
	if err != nil {
		return StaffView{}, err
	}
	v := staffView(it, s.d.Now())
	if v.Files, err = s.files(ctx, it); err != nil {
		return StaffView{}, err
	}
	return v, nil
}

// files looks the item's uploads up in the uploads bucket.
func (s *Service) files(ctx context.Context, it Item) ([]FileState, error) {
	var out []FileState
	for _, a := range it.Attachments {
		if a.UploadKey == "" || s.d.Uploads == nil {
			continue
		}
		f := FileState{FileName: a.FileName}
		e, err := s.d.Uploads.Head(ctx, a.UploadKey)
		switch {
		case errors.Is(err, docstore.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("feedback file %s: %w", a.UploadKey, err)
		default:
			f.Uploaded, f.Size, f.TooLarge = true, e.Size, e.Size > a.Size
			if !f.TooLarge {
				if f.ViewURL, err = s.d.Uploads.PresignGet(ctx, a.UploadKey, DefaultUploadTTL); err != nil {
					return nil, fmt.Errorf("feedback file %s: %w", a.UploadKey, err)
				}
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// StaffAct applies a staff action to item id. version (the item's
// version the officer saw) is required: when the item changed since, the
// answer is 409 concurrent_update, so two officers acting on the same
// version get one success and one 409.
func (s *Service) StaffAct(ctx context.Context, o Officer, id ID, version int, in Input, callID string) (StaffView, error) {
	it, etag, err := s.staffGet(ctx, o, id)
	if err != nil {
		return StaffView{}, err
	}
	if in.Action == ActionReassign {
		_, routing, err := s.d.Tables.Get(ctx)
		if err != nil {
			return StaffView{}, err
		}
		if in.Agency.Code != "" {
			a, ok := routing.Agency(in.Agency.Code)
			if !ok {
				return StaffView{}, ErrUnknownAgency.WithParam("agency")
			}
			in.Agency = a
		}
	}
	out, err := s.apply(ctx, it, etag, Actor{Officer: o.Subject, Agency: strings.ToUpper(o.Agency)}, in, version, callID)
	if err != nil {
		return StaffView{}, err
	}
	return staffView(out, s.d.Now()), nil
}

// Fields returns the current field table.
func (s *Service) Fields(ctx context.Context) (Fields, error) {
	f, _, err := s.d.Tables.Get(ctx)
	return f, err
}

// Routing returns the current routing table.
func (s *Service) Routing(ctx context.Context) (Routing, error) {
	_, r, err := s.d.Tables.Get(ctx)
	return r, err
}
