package application

import (
	"time"

	"motcua/shared/queue"
)

// Event types published to the events queue.
const (
	// EventSubmitted is published when an application is filed.
	EventSubmitted = "application.submitted"
	// EventCancelled is published when the applicant withdraws it.
	EventCancelled = "application.cancelled"
	// EventDocumentsUploaded is published when every declared document has
	// been uploaded.
	EventDocumentsUploaded = "application.documents_uploaded"
)

// EventPayload is the payload of application.* events: enough to route
// and count without personal data (consumers read the application for
// more).
type EventPayload struct {
	// Code is the application code.
	Code string `json:"code"`
	// ProcedureCode is the catalog procedure.
	ProcedureCode string `json:"procedureCode"`
	// AgencyCode is the settling agency.
	AgencyCode string `json:"agencyCode"`
	// Status is the status after the step.
	Status Status `json:"status"`
	// Channel is online, direct or postal.
	Channel Channel `json:"channel"`
	// FeeVND is the amount due.
	FeeVND int64 `json:"feeVND"`
	// At is when the step happened.
	At time.Time `json:"at"`
	// Version is the application's version after the step.
	Version int `json:"version"`
}

// NewEvent builds the envelope of an application event of type typ for a
// (in its state after the step).
func NewEvent(typ, correlationID string, a Application, at time.Time) (queue.Envelope, error) {
	return queue.NewEnvelope(typ, correlationID, EventPayload{
		Code: a.Code, ProcedureCode: a.ProcedureCode, AgencyCode: a.Agency.Code,
		Status: a.Status, Channel: a.Channel, FeeVND: a.Fee.AmountVND, At: at.UTC(), Version: a.Version,
	})
}
