package application

// Results: staff upload the result document (a PDF) through a presigned PUT
// tied to the application, complete checks it is there and is a PDF, and
// after return the applicant downloads it behind the PIN guard; the first
// download is the "electronic result delivered" timeline entry.
//
//	uploads bucket key            applications/<code>/result/<yyyyMMddHHmmss>-<random>.pdf
//	Application.Result            {documentKey, description, size, recordedAt}   set by complete
//	Application.Delivery          {method, trackingNumber, returnedAt, electronicDeliveredAt, downloads, lastDownloadAt}
//	timeline entry                {kind: "result_downloaded", status: returned, actor: citizen}  first download only
//	event                         application.result_downloaded (first download only)

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/outbox"
	"motcua/shared/queue"
	"motcua/shared/staffauth"
)

// ResultContentType is the only media type of result documents.
const ResultContentType = "application/pdf"

// MaxResultSize is the largest result document accepted (10 MiB).
const MaxResultSize = 10 << 20

// ResultUploadTTL is how long a result upload URL stays valid.
const ResultUploadTTL = 15 * time.Minute

// ResultDownloadTTL is how long a citizen's download URL stays valid.
const ResultDownloadTTL = 5 * time.Minute

// TimelineResultDownloaded is the Event.Kind of the timeline entry added on
// the applicant's first download of the result (electronic delivery); the
// indicator "results delivered electronically" counts applications having it.
const TimelineResultDownloaded = "result_downloaded"

// EventResultDownloaded is published on the first download of the result.
const EventResultDownloaded = "application.result_downloaded"

// pdfMagic starts every PDF file.
var pdfMagic = []byte("%PDF-")

// ResultRecord is the result document of a completed application.
type ResultRecord struct {
	// DocumentKey is the uploads-bucket key (under ResultPrefix).
	DocumentKey string `json:"documentKey"`
	// Description says what the result is (public).
	Description string `json:"description"`
	// Size is the document's size in bytes as checked by complete.
	Size int64 `json:"size,omitempty"`
	// RecordedAt is when complete recorded it.
	RecordedAt time.Time `json:"recordedAt"`
}

// DeliveryRecord is how the result went back to the applicant.
type DeliveryRecord struct {
	// Method is online or postal.
	Method string `json:"method"`
	// TrackingNumber is the postal tracking number (postal only).
	TrackingNumber string `json:"trackingNumber,omitempty"`
	// ReturnedAt is when staff recorded the return.
	ReturnedAt time.Time `json:"returnedAt"`
	// ElectronicDeliveredAt is the applicant's first download of the
	// result document; nil until then.
	ElectronicDeliveredAt *time.Time `json:"electronicDeliveredAt,omitempty"`
	// Downloads counts the download links handed to the applicant.
	Downloads int `json:"downloads,omitempty"`
	// LastDownloadAt is the latest of them.
	LastDownloadAt *time.Time `json:"lastDownloadAt,omitempty"`
}

// ResultPrefix returns the uploads-bucket prefix of an application's result
// documents.
func ResultPrefix(code Code) string { return "applications/" + code.String() + "/result/" }

// Errors of results.
var (
	// ErrResultMissing means complete named a result that was not uploaded.
	ErrResultMissing = fault.New(domain, "result_missing", http.StatusConflict,
		"Chưa tải lên văn bản kết quả; hãy tải tệp PDF lên rồi thực hiện lại.",
		"The result document has not been uploaded; upload the PDF and try again.")
	// ErrResultNotPDF means the uploaded result is not a PDF file.
	ErrResultNotPDF = fault.New(domain, "result_not_pdf", http.StatusUnprocessableEntity,
		"Văn bản kết quả phải là tệp PDF.", "The result document must be a PDF file.")
	// ErrResultSize means the uploaded result is empty or too large.
	ErrResultSize = fault.New(domain, "result_size", http.StatusUnprocessableEntity,
		fmt.Sprintf("Văn bản kết quả phải có dung lượng từ 1 byte đến %d MB.", MaxResultSize>>20),
		fmt.Sprintf("The result document must be between 1 byte and %d MB.", MaxResultSize>>20))
	// ErrResultsUnavailable means the function has no uploads bucket.
	ErrResultsUnavailable = fault.New(domain, "results_unavailable", http.StatusServiceUnavailable,
		"Chức năng kết quả điện tử tạm thời không sẵn sàng.", "Result documents are temporarily unavailable.")
	// ErrNoResultToDownload means the application has no downloadable
	// result yet (not returned, or returned without a document).
	ErrNoResultToDownload = fault.New(domain, "result_not_available", http.StatusConflict,
		"Hồ sơ chưa có kết quả điện tử để tải về.", "The application has no result to download yet.")
)

// ResultUploadInput is the body of process-application ?op=result-upload.
type ResultUploadInput struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=64"`
	// Size is the exact size in bytes of the PDF to upload.
	Size int64 `json:"size" validate:"required,min=1"`
}

// ResultUpload is a presigned PUT for the result document.
type ResultUpload struct {
	// DocumentKey is the key to pass to complete as result.documentKey.
	DocumentKey string `json:"documentKey"`
	// URL is the presigned PUT URL.
	URL string `json:"url"`
	// Method is PUT.
	Method string `json:"method"`
	// Headers are the headers the PUT must carry (they are signed).
	Headers map[string]string `json:"headers"`
	// ExpiresAt is when the URL stops working.
	ExpiresAt time.Time `json:"expiresAt"`
	// MaxSize is the largest accepted size.
	MaxSize int64 `json:"maxSize"`
}

// WithResults gives the processor the uploads bucket, where result
// documents are uploaded and checked; it returns p.
func (p *Processor) WithResults(uploads docstore.Store) *Processor {
	p.uploads = uploads
	return p
}

// PrepareResultUpload returns a presigned PUT for the result document of an
// application of the officer's agency that is being processed: exactly
// in.Size bytes of application/pdf (both headers signed).
func (p *Processor) PrepareResultUpload(ctx context.Context, claims staffauth.Claims, in ResultUploadInput) (ResultUpload, error) {
	if p.uploads == nil {
		return ResultUpload{}, ErrResultsUnavailable
	}
	code, err := ParseCode(in.Code)
	if err != nil {
		return ResultUpload{}, err
	}
	if in.Size < 1 || in.Size > MaxResultSize {
		return ResultUpload{}, &ActionError{"size", "max", fmt.Sprintf("Between 1 and %d bytes.", MaxResultSize), fmt.Sprintf("Từ 1 đến %d byte.", MaxResultSize)}
	}
	a, _, err := p.repo.Get(ctx, code)
	if err != nil {
		return ResultUpload{}, err
	}
	if err := staffauth.Authorize(claims, a.Agency.Code); err != nil {
		return ResultUpload{}, err
	}
	if !Allowed(a.Status, ActComplete) {
		return ResultUpload{}, withStatus(ErrIllegalTransition, a.Status)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return ResultUpload{}, fmt.Errorf("result upload %s: %w", code, err)
	}
	now := p.now().UTC()
	key := ResultPrefix(code) + now.Format("20060102150405") + "-" + hex.EncodeToString(rnd[:]) + ".pdf"
	url, err := p.uploads.PresignPutSized(ctx, key, ResultContentType, in.Size, ResultUploadTTL)
	if err != nil {
		return ResultUpload{}, fmt.Errorf("result upload %s: %w", code, err)
	}
	p.log.InfoContext(ctx, "result upload prepared", "code", code, "size", in.Size, "agency", a.Agency.Code)
	return ResultUpload{
		DocumentKey: key, URL: url, Method: http.MethodPut,
		Headers:   map[string]string{"Content-Type": ResultContentType, "Content-Length": fmt.Sprint(in.Size)},
		ExpiresAt: APITime(now.Add(ResultUploadTTL)), MaxSize: MaxResultSize,
	}, nil
}

// checkResult verifies the result document named by complete: under the
// application's result prefix, present, within MaxResultSize and starting
// with the PDF magic. It returns the document's size.
func (p *Processor) checkResult(ctx context.Context, code Code, key string) (int64, error) {
	if p.uploads == nil {
		return 0, ErrResultsUnavailable
	}
	key = strings.TrimSpace(key)
	rest, ok := strings.CutPrefix(key, ResultPrefix(code))
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return 0, &ActionError{"result.documentKey", "result_key",
			"Use the documentKey returned by ?op=result-upload for this application.",
			"Hãy dùng documentKey do ?op=result-upload trả về cho hồ sơ này."}
	}
	if pr, ok := p.uploads.(docstore.PrefixReader); ok {
		// One ranged read: the magic and the size, without reading the
		// document (up to MaxResultSize) into memory.
		head, size, err := pr.GetPrefix(ctx, key, int64(len(pdfMagic)))
		if errors.Is(err, docstore.ErrNotFound) {
			return 0, ErrResultMissing
		}
		if err != nil {
			return 0, fmt.Errorf("check result %s: %w", code, err)
		}
		if size < int64(len(pdfMagic)) || size > MaxResultSize {
			return 0, ErrResultSize.With("size", size)
		}
		if !bytes.Equal(head, pdfMagic) {
			return 0, ErrResultNotPDF
		}
		return size, nil
	}
	e, err := p.uploads.Head(ctx, key)
	if errors.Is(err, docstore.ErrNotFound) {
		return 0, ErrResultMissing
	}
	if err != nil {
		return 0, fmt.Errorf("check result %s: %w", code, err)
	}
	if e.Size < int64(len(pdfMagic)) || e.Size > MaxResultSize {
		return 0, ErrResultSize.With("size", e.Size)
	}
	obj, err := p.uploads.Get(ctx, key)
	if errors.Is(err, docstore.ErrNotFound) {
		return 0, ErrResultMissing
	}
	if err != nil {
		return 0, fmt.Errorf("check result %s: %w", code, err)
	}
	if !bytes.HasPrefix(obj.Body, pdfMagic) {
		return 0, ErrResultNotPDF
	}
	return int64(len(obj.Body)), nil
}

// ResultView is the citizen's view of the result (StatusView.Result).
type ResultView struct {
	// Description says what the result is.
	Description string `json:"description"`
	// SettledAt is when the result was issued.
	SettledAt *time.Time `json:"settledAt"`
	// Delivery is how it went back; null until returned.
	Delivery *DeliveryView `json:"delivery"`
	// Downloadable is true when the result document can be downloaded
	// (returned, with a document): POST application-status?action=download-result.
	Downloadable bool `json:"downloadable"`
}

// DeliveryView is how the result went back to the applicant.
type DeliveryView struct {
	// Method is online or postal.
	Method string `json:"method"`
	// MethodLabel is its Vietnamese label.
	MethodLabel string `json:"methodLabel"`
	// TrackingNumber is the postal tracking number (postal only).
	TrackingNumber string `json:"trackingNumber,omitempty"`
	// ReturnedAt is when the result was returned.
	ReturnedAt time.Time `json:"returnedAt"`
	// ElectronicDeliveredAt is the first download; null before.
	ElectronicDeliveredAt *time.Time `json:"electronicDeliveredAt"`
}

// newResultView is the citizen's view of a's result; nil before complete.
func newResultView(a Application) *ResultView {
	if a.Result == nil {
		return nil
	}
	v := &ResultView{Description: a.Result.Description, SettledAt: apiTimePtr(a.SettledAt)}
	if d := a.Delivery; d != nil {
		label := "Trả kết quả trực tuyến"
		if d.Method == DeliveryPostal {
			label = "Trả kết quả qua bưu chính"
		}
		v.Delivery = &DeliveryView{Method: d.Method, MethodLabel: label, TrackingNumber: d.TrackingNumber,
			ReturnedAt: APITime(d.ReturnedAt), ElectronicDeliveredAt: apiTimePtr(d.ElectronicDeliveredAt)}
	}
	v.Downloadable = downloadable(a)
	return v
}

func downloadable(a Application) bool {
	return a.Status == StatusReturned && a.Result != nil && a.Result.DocumentKey != "" && a.Delivery != nil
}

// ResultDownload is the answer of download-result.
type ResultDownload struct {
	// URL is a presigned GET of the result PDF.
	URL string `json:"url"`
	// ExpiresAt is when it stops working (ResultDownloadTTL).
	ExpiresAt time.Time `json:"expiresAt"`
	// ContentType is application/pdf.
	ContentType string `json:"contentType"`
	// Size is the document's size in bytes.
	Size int64 `json:"size,omitempty"`
}

// ResultDownloads hands result documents to applicants and records the
// electronic delivery. Safe for concurrent use.
type ResultDownloads struct {
	repo    *Repository
	uploads docstore.Store
	pub     queue.Publisher
	queue   string
	now     func() time.Time
	cleaner *outbox.Cleaner
}

// NewResultDownloads returns the download service: results are read from
// uploads, the first download is published to queueName through pub; now
// may be nil.
func NewResultDownloads(repo *Repository, uploads docstore.Store, pub queue.Publisher, queueName string, now func() time.Time) (*ResultDownloads, error) {
	if repo == nil || uploads == nil || pub == nil || queueName == "" {
		return nil, errors.New("application.NewResultDownloads: repository, uploads, publisher and queue are required")
	}
	if now == nil {
		now = time.Now
	}
	return &ResultDownloads{repo: repo, uploads: uploads, pub: pub, queue: queueName, now: now,
		cleaner: outbox.NewCleaner(repo.Store(), nil)}, nil
}

// Drain waits until the outbox markers of published events are deleted
// (tests and graceful shutdown), or ctx ends.
func (d *ResultDownloads) Drain(ctx context.Context) error { return d.cleaner.Drain(ctx) }

// Download records a download of a's result (already authorised by PIN)
// and returns a short-lived URL. The first download sets
// Delivery.ElectronicDeliveredAt, adds the TimelineResultDownloaded entry
// and publishes EventResultDownloaded (outbox); later ones only count.
func (d *ResultDownloads) Download(ctx context.Context, a Application, correlationID string) (ResultDownload, error) {
	return d.DownloadTagged(ctx, a, "", correlationID)
}

// DownloadTagged is Download of a as read with ETag etag (Access.AuthorizeTagged):
// the change is written with compare-and-swap on that ETag, without reading
// the application again; when it was changed since (or etag is "") the
// change is re-applied to the stored application in a compare-and-swap
// loop. The work-queue entry is not touched: a download changes nothing
// it is keyed by (the status stays returned).
func (d *ResultDownloads) DownloadTagged(ctx context.Context, a Application, etag, correlationID string) (ResultDownload, error) {
	if !downloadable(a) {
		return ResultDownload{}, withStatus(ErrNoResultToDownload, a.Status)
	}
	now := d.now().UTC()
	var env queue.Envelope
	first := a.Delivery.ElectronicDeliveredAt == nil
	if first {
		probe := a
		probe.Version++
		var err error
		if env, err = NewEvent(EventResultDownloaded, correlationID, probe, now); err != nil {
			return ResultDownload{}, fmt.Errorf("download result %s: %w", a.Code, err)
		}
		if err := StageOutbox(ctx, d.repo.Store(), d.queue, env, a.Code); err != nil {
			return ResultDownload{}, fmt.Errorf("download result %s: %w", a.Code, err)
		}
	}
	wrote := false
	mutate := func(cur *Application) error {
		wrote = false
		if !downloadable(*cur) {
			return withStatus(ErrNoResultToDownload, cur.Status)
		}
		dl := *cur.Delivery
		dl.Downloads++
		at := now
		dl.LastDownloadAt = &at
		if dl.ElectronicDeliveredAt == nil && first {
			dl.ElectronicDeliveredAt = &at
			cur.Timeline = append(slices.Clip(cur.Timeline), Event{At: now, Status: cur.Status, Actor: ActorCitizen,
				Note: "Người nộp hồ sơ đã tải kết quả điện tử", EventID: env.ID, Kind: TimelineResultDownloaded})
			wrote = true
		}
		cur.Delivery = &dl
		return nil
	}
	var updated Application
	err := errStale
	if etag != "" {
		cur := a
		if err = mutate(&cur); err == nil {
			if _, err = d.repo.updateIfMatch(ctx, &cur, etag, false); err == nil {
				updated = cur
			} else if errors.Is(err, docstore.ErrPrecondition) {
				err = errStale
			}
		}
	}
	if errors.Is(err, errStale) {
		updated, err = d.repo.update(ctx, a.ID(), mutate, false)
	}
	if err == nil && IndexKey(updated) != IndexKey(a) {
		indexAfterWrite(ctx, d.repo.Store(), updated) // not reached while downloads keep the status
	}
	if first {
		if err != nil || !wrote || !hasEvent(updated, env.ID) {
			_ = DiscardOutbox(context.WithoutCancel(ctx), d.repo.Store(), env.ID)
		} else if perr := outbox.Send(context.WithoutCancel(ctx), d.pub, d.cleaner, d.queue, env); perr != nil {
			slog.Default().WarnContext(ctx, "result download: event left in outbox for repair", "code", a.Code, "event_id", env.ID, "error", perr.Error())
		}
	}
	if err != nil {
		return ResultDownload{}, err
	}
	url, err := d.uploads.PresignGet(ctx, updated.Result.DocumentKey, ResultDownloadTTL)
	if err != nil {
		return ResultDownload{}, fmt.Errorf("download result %s: %w", a.Code, err)
	}
	return ResultDownload{URL: url, ExpiresAt: APITime(now.Add(ResultDownloadTTL)), ContentType: ResultContentType, Size: updated.Result.Size}, nil
}

// errStale means the application read before has changed since: read it again.
var errStale = errors.New("application changed since read")
