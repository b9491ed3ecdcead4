package sqsserver

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error reported to the client in the AWS JSON 1.0 shape.
type apiError struct {
	status    int
	shape     string // modelled shape name: body __type is com.amazonaws.sqs#<shape>
	queryCode string // legacy Query error code sent in x-amzn-query-error
	message   string
	receiver  bool // fault is the server's, not the sender's
}

func (e *apiError) Error() string { return e.queryCode + ": " + e.message }

// write sends the error response.
func (e *apiError) write(w http.ResponseWriter, requestID string) {
	fault := "Sender"
	if e.receiver {
		fault = "Receiver"
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("x-amzn-query-error", e.queryCode+";"+fault)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"__type":  "com.amazonaws.sqs#" + e.shape,
		"message": e.message,
	})
}

func newErr(shape, query, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: shape, queryCode: query, message: fmt.Sprintf(format, args...)}
}

func errNoQueue() *apiError {
	return newErr("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

func errQueueExists(name string) *apiError {
	return newErr("QueueNameExists", "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute(s) of queue %s.", name)
}

func errReceipt(h string) *apiError {
	return newErr("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", h)
}

func errNotInflight() *apiError {
	return newErr("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "Message does not exist or is not available for visibility timeout change.")
}

func errMissing(param string) *apiError {
	return newErr("MissingParameter", "MissingParameter", "The request must contain the parameter %s.", param)
}

func errInvalidParam(format string, args ...any) *apiError {
	return newErr("InvalidParameterValue", "InvalidParameterValue", format, args...)
}

func errInvalidAttrName(name string) *apiError {
	return newErr("InvalidAttributeName", "InvalidAttributeName", "Unknown Attribute %s.", name)
}

func errInvalidAttrValue(msg string) *apiError {
	return newErr("InvalidAttributeValue", "InvalidAttributeValue", "%s", msg)
}

func errInvalidContents() *apiError {
	return newErr("InvalidMessageContents", "InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
}

func errEmptyBatch() *apiError {
	return newErr("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request.")
}

func errTooManyEntries(n int) *apiError {
	return newErr("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", n)
}

func errIDsNotDistinct(id string) *apiError {
	return newErr("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", id)
}

func errInvalidBatchID(id string) *apiError {
	return newErr("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. Invalid id: %q.", id)
}

func errBatchTooLong(n int) *apiError {
	return newErr("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than 262144 bytes. You have sent %d bytes.", n)
}

func errInvalidAction(a string) *apiError {
	return newErr("InvalidAction", "InvalidAction", "The action %s is not valid for this endpoint.", a)
}

func errMalformed(msg string) *apiError {
	return newErr("SerializationException", "MalformedInput", "%s", msg)
}

func errInternal() *apiError {
	e := newErr("InternalFailure", "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
	e.status = http.StatusInternalServerError
	e.receiver = true
	return e
}

func errUnavailable() *apiError {
	e := newErr("ServiceUnavailable", "ServiceUnavailable", "The service is shutting down.")
	e.status = http.StatusServiceUnavailable
	e.receiver = true
	return e
}
