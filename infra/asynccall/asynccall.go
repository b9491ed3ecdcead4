// Package asynccall is the message the gateway's /async-function/NAME route
// puts on the async-calls queue and the queue connector's async worker
// executes: the call as it arrived, plus where to post the result.
package asynccall

import (
	"encoding/json"
	"net/http"
)

// QueueName is the queue that carries asynchronous calls (see
// infra/provision/resources.json).
const QueueName = "faas-async-calls"

// HeaderGatewayError is set by the gateway on the errors it answers itself
// (the function was not reached: not ready, down, unknown), with the
// problem's slug as value. The connector retries an async call answered with
// one of RetryableGatewayErrors instead of reporting it as the function's
// result, so a call queued while a function restarts is not lost.
const HeaderGatewayError = "X-Gateway-Error"

// RetryableGatewayErrors are the HeaderGatewayError values meaning "the
// function was not reached, try again later".
var RetryableGatewayErrors = map[string]bool{
	"function_not_ready":   true,
	"function_unavailable": true,
}

// Call is one queued asynchronous invocation.
type Call struct {
	// CallID is the X-Call-Id the gateway answered with (202).
	CallID string `json:"callId"`
	// Function is the function name from the route.
	Function string `json:"function"`
	// Method, Query, Header and Body are the original request's.
	Method string      `json:"method"`
	Query  string      `json:"query,omitempty"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
	// CallbackURL is the X-Callback-Url header, if any: the function's
	// response is POSTed there with X-Call-Id and X-Function-Status headers.
	CallbackURL string `json:"callbackUrl,omitempty"`
}

// Encode returns the JSON message body for c.
func (c Call) Encode() ([]byte, error) { return json.Marshal(c) }

// Decode parses a message body into a Call.
func Decode(b []byte) (Call, error) {
	var c Call
	err := json.Unmarshal(b, &c)
	return c, err
}
