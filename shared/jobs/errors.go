package jobs

import (
	"net/http"

	"motcua/shared/docstore"
	"motcua/shared/fault"
)

// Error is the jobs domain's coded error (see motcua/shared/fault).
type Error = fault.Error

// Domain errors; errors.Is matches any *Error of the same code.
var (
	// ErrNotFound: no job with that id.
	ErrNotFound = fault.New("jobs", "job_not_found", http.StatusNotFound,
		"Không tìm thấy tác vụ xử lý lại.", "No reprocessing job with that id.", fault.Matches(docstore.ErrNotFound))
	// ErrUnknownKind: the kind is not registered.
	ErrUnknownKind = fault.New("jobs", "unknown_kind", http.StatusUnprocessableEntity,
		"Loại tác vụ không được hỗ trợ.", "This kind of job is not supported.")
	// ErrBadScope: the scope or parameters are unusable.
	ErrBadScope = fault.New("jobs", "invalid_scope", http.StatusUnprocessableEntity,
		"Phạm vi tác vụ không hợp lệ.", "The job's scope is not valid.")
	// ErrTooManyItems: the plan exceeds MaxItems.
	ErrTooManyItems = fault.New("jobs", "too_many_items", http.StatusUnprocessableEntity,
		"Tác vụ có quá nhiều mục; hãy thu hẹp phạm vi (ngày, cơ quan, số lượng).",
		"The job would touch too many items; narrow its scope (dates, agency, limit).")
	// ErrNotPlanned: confirm of a job that is not a dry run.
	ErrNotPlanned = fault.New("jobs", "not_a_dry_run", http.StatusConflict,
		"Tác vụ này không phải bản chạy thử đang chờ xác nhận.", "This job is not a dry run waiting for confirmation.")
	// ErrPlanExpired: the dry run is too old to confirm.
	ErrPlanExpired = fault.New("jobs", "dry_run_expired", http.StatusConflict,
		"Bản chạy thử đã quá hạn xác nhận; hãy chạy thử lại.", "The dry run is too old to confirm; start a new one.")
	// ErrKindMismatch: confirm names another kind than the dry run's.
	ErrKindMismatch = fault.New("jobs", "kind_mismatch", http.StatusConflict,
		"Loại tác vụ không khớp với bản chạy thử.", "The kind does not match the dry run's kind.")
	// ErrFinished: cancel or resume of a finished job.
	ErrFinished = fault.New("jobs", "job_finished", http.StatusConflict,
		"Tác vụ đã kết thúc.", "The job has already finished.")
)

// scopeError returns ErrBadScope naming the offending field.
func scopeError(field, vi, en string) *Error {
	return ErrBadScope.WithMessages(vi, en).WithParam(field)
}

// ScopeError is the error a Kind's Check returns for a bad scope field
// (field is the JSON name, e.g. "scope.olderThan").
func ScopeError(field, vi, en string) error { return scopeError(field, vi, en) }
