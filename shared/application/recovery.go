package application

// PIN recovery: an applicant who lost the PIN asks with the application
// code and the CCCD (persons) or MST (businesses) on file; a 6-digit
// one-time code goes to the phone and e-mail on file through the notify
// function; with it the applicant sets a new PIN.
//
//	POST application-status?action=recover-pin {code, idNumber}          → 202 RecoveryAccepted (always the same)
//	POST application-status?action=reset-pin   {code, oneTimeCode, newPin} → 200 {code, pinChanged: true}, or 404
//
// Where the one-time code lives: hashed with the guard's pepper
// (citizenguard.Guard.Hash) in pinrecovery/<code>.json in the data bucket, with its expiry, attempts
// and use. The clear code leaves the process once, in the envelope of
// application.pin_recovery_requested published straight to the
// notify-events queue (not to application-events, so neither the fan-out
// copies — stats, dvcqg, events-tap — nor any outbox marker ever hold
// it): notify is that queue's only consumer and needs the clear code to
// send it. No sealed store is needed then, and notify stays stateless.
//
// Both steps go through the citizen guard (throttle, constant-cost
// compare). recover-pin answers the same 202 whether or not the code
// exists and the identity matches; reset-pin answers the same 404
// "recovery_code_invalid" for an unknown application, no request, a
// wrong, expired, used or exhausted code.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/queue"
	"motcua/shared/workdays"
)

// Recovery parameters.
const (
	// OneTimeCodeLength is the number of digits of a one-time code.
	OneTimeCodeLength = 6
	// OneTimeCodeTTL is how long a one-time code is valid.
	OneTimeCodeTTL = 10 * time.Minute
	// OneTimeCodeAttempts is how many wrong codes burn a request.
	OneTimeCodeAttempts = 5
	// RecoveryCooldown is the least time between two codes sent for one
	// application (a new request within it sends nothing).
	RecoveryCooldown = time.Minute
	// RecoveryDailySends caps the codes sent for one application per day.
	RecoveryDailySends = 5
)

// Guard kinds of recovery (their counters are separate from the PIN's).
const (
	// GuardKindRecoveryRequest counts identity mismatches of recover-pin.
	GuardKindRecoveryRequest = "pin-recovery-request"
	// GuardKindRecoveryCode counts wrong one-time codes of reset-pin.
	GuardKindRecoveryCode = "pin-recovery-code"
)

// Event types of recovery, published to the notify queue only.
const (
	// EventPINRecoveryRequested carries the one-time code to notify.
	EventPINRecoveryRequested = "application.pin_recovery_requested"
	// EventPINReset tells the applicant the PIN was changed.
	EventPINReset = "application.pin_reset"
)

// DefaultNotifyQueue is the queue consumed by the notify function.
const DefaultNotifyQueue = "notify-events"

// RecoveryKey returns the key of an application's recovery record.
func RecoveryKey(code Code) string { return "pinrecovery/" + code.String() + ".json" }

// Errors of recovery.
var (
	// ErrRecoveryCodeInvalid is the one answer of reset-pin for anything
	// but a live, right one-time code.
	ErrRecoveryCodeInvalid = fault.New(domain, "recovery_code_invalid", http.StatusNotFound,
		"Mã xác nhận không đúng hoặc đã hết hạn. Vui lòng yêu cầu mã mới.",
		"The one-time code is wrong or expired. Ask for a new one.")
	// ErrRecoveryUnavailable means the function has no recovery configured.
	ErrRecoveryUnavailable = fault.New(domain, "recovery_unavailable", http.StatusServiceUnavailable,
		"Chức năng lấy lại mã tra cứu tạm thời không sẵn sàng.", "PIN recovery is temporarily unavailable.")
	// errIdentityMismatch is the guard's refusal of recover-pin (never shown).
	errIdentityMismatch = errors.New("application: recovery identity mismatch")
)

// RecoverPINInput is the body of recover-pin.
type RecoverPINInput struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=80"`
	// IDNumber is the applicant's CCCD (12 digits) or the business's MST.
	IDNumber string `json:"idNumber" validate:"required,max=20"`
}

// ResetPINInput is the body of reset-pin.
type ResetPINInput struct {
	// Code is the application code.
	Code string `json:"code" validate:"required,max=80"`
	// OneTimeCode is the 6-digit code sent to the applicant.
	OneTimeCode string `json:"oneTimeCode" validate:"required,len=6,number"`
	// NewPIN is the new 8-digit look-up PIN.
	NewPIN string `json:"newPin" validate:"required,len=8,number"`
}

// RecoveryAccepted is the answer of recover-pin, the same in every case.
type RecoveryAccepted struct {
	// Accepted is always true.
	Accepted bool `json:"accepted"`
	// Message explains what happens, in Vietnamese; MessageEn in English.
	Message   string `json:"message"`
	MessageEn string `json:"messageEn"`
	// ExpiresInSeconds is the validity of a code once received.
	ExpiresInSeconds int `json:"expiresInSeconds"`
}

// PINResetResult is the answer of reset-pin.
type PINResetResult struct {
	// Code is the application code.
	Code string `json:"code"`
	// PINChanged is true: the old PIN no longer works.
	PINChanged bool `json:"pinChanged"`
}

// RecoveryRecord is the stored state of an application's PIN recovery.
type RecoveryRecord struct {
	// Code is the application code.
	Code string `json:"code"`
	// Hash and Salt are the one-time code's hash (citizenguard.Hashed).
	Hash string `json:"hash"`
	Salt string `json:"salt"`
	// CreatedAt and ExpiresAt bound the code's validity.
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Attempts counts wrong codes; OneTimeCodeAttempts burns the code.
	Attempts int `json:"attempts"`
	// UsedAt is when the code set a new PIN; nil before.
	UsedAt *time.Time `json:"usedAt,omitempty"`
	// Day (yyyy-MM-dd, Asia/Ho_Chi_Minh) and SentOnDay count the codes
	// sent that day (RecoveryDailySends).
	Day       string `json:"day"`
	SentOnDay int    `json:"sentOnDay"`
}

// live reports whether the record's code may still be used at now.
func (r RecoveryRecord) live(now time.Time) bool {
	return r.Hash != "" && r.UsedAt == nil && now.Before(r.ExpiresAt) && r.Attempts < OneTimeCodeAttempts
}

// RecoveryNotice is the payload of EventPINRecoveryRequested and
// EventPINReset: what notify needs to reach the applicant. It is
// published to the notify queue only.
type RecoveryNotice struct {
	// Code is the application code.
	Code string `json:"code"`
	// ProcedureName and AgencyName give the message context.
	ProcedureName string `json:"procedureName"`
	AgencyName    string `json:"agencyName"`
	// Phone (E.164) and Email are the contacts on file (Email may be empty).
	Phone string `json:"phone"`
	Email string `json:"email,omitempty"`
	// OneTimeCode is the clear code (EventPINRecoveryRequested only).
	OneTimeCode string `json:"oneTimeCode,omitempty"`
	// ExpiresAt is the code's expiry (EventPINRecoveryRequested only).
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// At is when it happened.
	At time.Time `json:"at"`
}

// Recovery runs PIN recovery. Safe for concurrent use.
type Recovery struct {
	repo  *Repository
	guard *citizenguard.Guard
	pub   queue.Publisher
	queue string
	now   func() time.Time
	log   *slog.Logger
}

// RecoveryOptions tune NewRecovery; zero values are the defaults.
type RecoveryOptions struct {
	// NotifyQueue is where codes go (DefaultNotifyQueue).
	NotifyQueue string
	// Iterations is ignored: one-time codes and PINs are hashed with the
	// guard's pepper. Kept so existing callers compile.
	Iterations int
	// Now is the clock (time.Now); Log the logger (slog.Default).
	Now func() time.Time
	Log *slog.Logger
}

// NewRecovery returns PIN recovery over repo, guarded by guard, sending
// codes through pub.
func NewRecovery(repo *Repository, guard *citizenguard.Guard, pub queue.Publisher, o RecoveryOptions) (*Recovery, error) {
	if repo == nil || guard == nil || pub == nil {
		return nil, errors.New("application.NewRecovery: repository, guard and publisher are required")
	}
	if guard.Pepper() == nil {
		return nil, fmt.Errorf("application.NewRecovery: the guard has no pepper (secret %s): one-time codes and PINs are never hashed unkeyed", citizenguard.PepperSecret)
	}
	r := &Recovery{repo: repo, guard: guard, pub: pub, queue: o.NotifyQueue, now: o.Now, log: o.Log}
	if r.queue == "" {
		r.queue = DefaultNotifyQueue
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r, nil
}

// accepted is the one answer of recover-pin.
func accepted() RecoveryAccepted {
	return RecoveryAccepted{Accepted: true,
		Message:          "Nếu mã hồ sơ và số giấy tờ khớp với hồ sơ, mã xác nhận đã được gửi tới số điện thoại/e-mail đã đăng ký. Mã có hiệu lực 10 phút.",
		MessageEn:        "If the code and ID number match the application, a one-time code was sent to the phone/e-mail on file. It is valid for 10 minutes.",
		ExpiresInSeconds: int(OneTimeCodeTTL / time.Second)}
}

// identity is the identifier the applicant proves: the CCCD of a person,
// the MST of a business (digits only, so "0101234567-001" matches).
func identity(a Application) string {
	if a.Applicant.Kind == ApplicantBusiness {
		return digits(a.Applicant.TaxCode)
	}
	return digits(a.Applicant.IDNumber)
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Request handles recover-pin. It returns the same RecoveryAccepted
// whether or not code exists and idNumber matches; errors are only the
// guard's *citizenguard.LimitedError (429) and store faults.
func (r *Recovery) Request(ctx context.Context, code Code, idNumber, client, correlationID string) (RecoveryAccepted, error) {
	secret := digits(idNumber)
	a, err := citizenguard.Check(ctx, r.guard,
		citizenguard.Attempt{Kind: GuardKindRecoveryRequest, ID: code.String(), Client: client, Secret: secret, Refusal: errIdentityMismatch},
		func(ctx context.Context) (Application, citizenguard.Hashed, error) {
			a, _, err := r.repo.Get(ctx, code)
			// The stored identity is not hashed: hash it here, and hash a
			// stand-in when the application is unknown, so both paths cost
			// one hash and one comparison.
			id := identity(a)
			if err != nil || id == "" {
				id = "unknown"
			}
			h, herr := r.guard.Hash(id)
			if err != nil {
				return a, citizenguard.Hashed{}, err
			}
			if herr != nil {
				return a, citizenguard.Hashed{}, herr
			}
			if identity(a) == "" {
				return a, citizenguard.Hashed{}, citizenguard.ErrUnknown
			}
			return a, h, nil
		})
	if errors.Is(err, errIdentityMismatch) {
		return accepted(), nil
	}
	if err != nil {
		return RecoveryAccepted{}, err
	}
	if err := r.send(ctx, a, correlationID); err != nil {
		// Logged, not answered: a different answer would tell a guesser
		// the identity matched. The applicant asks again after the cooldown.
		r.log.ErrorContext(ctx, "pin recovery: code not sent", "code", a.Code, "error", err.Error())
	}
	return accepted(), nil
}

// send creates a fresh one-time code (unless the cooldown or the daily cap
// says no), stores its hash and publishes it to the notify queue.
func (r *Recovery) send(ctx context.Context, a Application, correlationID string) error {
	now := r.now().UTC()
	day := now.In(workdays.Location).Format(time.DateOnly)
	otp, err := newOneTimeCode()
	if err != nil {
		return err
	}
	h, err := r.guard.Hash(otp)
	if err != nil {
		return err
	}
	store := r.repo.Store()
	key := RecoveryKey(a.ID())
	var rec RecoveryRecord
	skip := false
	err = docstore.Upsert(ctx, store, key, &rec, func() error {
		if rec.Hash != "" && rec.UsedAt == nil && now.Sub(rec.CreatedAt) < RecoveryCooldown {
			skip = true
			return docstore.ErrUnchanged
		}
		sent := 0
		if rec.Day == day {
			sent = rec.SentOnDay
		}
		if sent >= RecoveryDailySends {
			skip = true
			return docstore.ErrUnchanged
		}
		skip = false
		rec = RecoveryRecord{Code: a.Code, Hash: h.Hash, Salt: h.Salt, CreatedAt: now, ExpiresAt: now.Add(OneTimeCodeTTL), Day: day, SentOnDay: sent + 1}
		return nil
	}, updateRetries)
	if err != nil {
		return fmt.Errorf("pin recovery %s: %w", a.Code, err)
	}
	if skip {
		r.log.InfoContext(ctx, "pin recovery: code not re-sent (cooldown or daily cap)", "code", a.Code)
		return nil
	}
	exp := APITime(rec.ExpiresAt)
	env, err := queue.NewEnvelope(EventPINRecoveryRequested, correlationID, RecoveryNotice{
		Code: a.Code, ProcedureName: a.ProcedureName, AgencyName: a.Agency.Name,
		Phone: a.Applicant.Phone, Email: a.Applicant.Email, OneTimeCode: otp, ExpiresAt: &exp, At: now,
	})
	if err == nil {
		err = r.pub.Publish(ctx, r.queue, env)
	}
	if err != nil {
		// Without the message the stored code is useless: remove it so the
		// cooldown does not hold the applicant back.
		_ = store.Delete(context.WithoutCancel(ctx), key, "")
		return fmt.Errorf("pin recovery %s: publish: %w", a.Code, err)
	}
	r.log.InfoContext(ctx, "pin recovery: one-time code sent", "code", a.Code, "event_id", env.ID)
	return nil
}

// Reset handles reset-pin: a live, right one-time code sets newPIN as the
// application's PIN (the old one stops working) and burns the code. Every
// other case is ErrRecoveryCodeInvalid, at the same cost; too many wrong
// codes give *citizenguard.LimitedError (429).
func (r *Recovery) Reset(ctx context.Context, code Code, oneTimeCode, newPIN, client, correlationID string) (PINResetResult, error) {
	now := r.now().UTC()
	store := r.repo.Store()
	key := RecoveryKey(code)
	var etag string
	var liveRec bool
	rec, err := citizenguard.Check(ctx, r.guard,
		citizenguard.Attempt{Kind: GuardKindRecoveryCode, ID: code.String(), Client: client, Secret: oneTimeCode, Refusal: ErrRecoveryCodeInvalid},
		func(ctx context.Context) (RecoveryRecord, citizenguard.Hashed, error) {
			var rec RecoveryRecord
			tag, err := docstore.GetJSON(ctx, store, key, &rec)
			if err != nil {
				return rec, citizenguard.Hashed{}, err
			}
			if !rec.live(now) {
				return rec, citizenguard.Hashed{}, citizenguard.ErrUnknown
			}
			etag, liveRec = tag, true
			return rec, citizenguard.Hashed{Hash: rec.Hash, Salt: rec.Salt}, nil
		})
	if errors.Is(err, ErrRecoveryCodeInvalid) && liveRec {
		r.countWrong(ctx, key)
	}
	if err != nil {
		return PINResetResult{}, err
	}
	// Burn the code first (compare-and-swap): a replay or a concurrent
	// reset with the same code loses here.
	used := now
	rec.UsedAt = &used
	if _, err := docstore.PutJSON(ctx, store, key, rec, docstore.PutOptions{IfMatch: etag}); err != nil {
		if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrNotFound) {
			return PINResetResult{}, ErrRecoveryCodeInvalid
		}
		return PINResetResult{}, fmt.Errorf("pin reset %s: %w", code, err)
	}
	hash, salt, err := HashPIN(r.guard, newPIN)
	if err != nil {
		return PINResetResult{}, err
	}
	a, err := r.repo.Update(ctx, code, func(a *Application) error {
		a.PINHash, a.PINSalt = hash, salt
		at := now
		a.PINChangedAt = &at
		return nil
	})
	if err != nil {
		return PINResetResult{}, fmt.Errorf("pin reset %s: %w", code, err)
	}
	r.log.InfoContext(ctx, "pin reset with a one-time code", "code", code)
	env, err := queue.NewEnvelope(EventPINReset, correlationID, RecoveryNotice{
		Code: a.Code, ProcedureName: a.ProcedureName, AgencyName: a.Agency.Name,
		Phone: a.Applicant.Phone, Email: a.Applicant.Email, At: now,
	})
	if err == nil {
		err = r.pub.Publish(context.WithoutCancel(ctx), r.queue, env)
	}
	if err != nil {
		r.log.WarnContext(ctx, "pin reset: notice not sent", "code", code, "error", err.Error())
	}
	return PINResetResult{Code: a.Code, PINChanged: true}, nil
}

// countWrong adds a wrong attempt to the record (compare-and-swap, best
// effort: a failure is logged; the guard still counts the failure).
func (r *Recovery) countWrong(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	var rec RecoveryRecord
	err := docstore.Update(ctx, r.repo.Store(), key, &rec, func() error {
		rec.Attempts++
		return nil
	}, 4)
	if err != nil {
		r.log.WarnContext(ctx, "pin recovery: wrong attempt not counted", "error", err.Error())
	}
}

// newOneTimeCode returns OneTimeCodeLength uniform digits from crypto/rand.
func newOneTimeCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("one-time code: %w", err)
	}
	return fmt.Sprintf("%0*d", OneTimeCodeLength, n.Int64()), nil
}
