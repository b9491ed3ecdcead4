package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"motcua/infra/asynccall"
	"motcua/shared/delivery"
)

// Header names set on every queued delivery.
const (
	HeaderMessageID     = "X-Message-Id"
	HeaderReceiveCount  = "X-Receive-Count"
	HeaderQueueName     = "X-Queue-Name"
	HeaderCallID        = "X-Call-Id"
	HeaderCorrelationID = "X-Correlation-Id"
	// HeaderAttrPrefix prefixes each String message attribute's name.
	HeaderAttrPrefix = "X-Message-Attr-"
	// HeaderFunctionStatus and HeaderFunctionName are set on async callbacks.
	HeaderFunctionStatus = "X-Function-Status"
	HeaderFunctionName   = "X-Function-Name"
	// HeaderSQSMessageID and HeaderSQSQueueURL are the headers OpenFaaS's
	// own SQS connector sets, so a function written for either connector
	// finds the message id and the queue it came from.
	HeaderSQSMessageID = "X-SQS-Message-ID"
	HeaderSQSQueueURL  = "X-SQS-Queue-URL"
	// CorrelationAttribute is the message attribute carried as
	// X-Correlation-Id.
	CorrelationAttribute = "correlation_id"
)

const (
	// maxFunctionListBytes bounds the /system/functions answer.
	maxFunctionListBytes = 8 << 20
	// maxResponseBytes bounds a function's response kept for a callback.
	maxResponseBytes = 32 << 20
	// callbackTimeout bounds one callback attempt.
	callbackTimeout = 10 * time.Second
)

// functionStatus is one entry of the gateway's GET /system/functions.
type functionStatus struct {
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations"`
	Labels      map[string]string `json:"labels"`
}

// listFunctions reads the gateway's function list.
func (c *Connector) listFunctions(ctx context.Context) ([]functionStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.gateway+"/system/functions", nil)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("list functions: gateway answered %d", resp.StatusCode)
	}
	var fns []functionStatus
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxFunctionListBytes)).Decode(&fns); err != nil {
		return nil, fmt.Errorf("list functions: decode: %w", err)
	}
	return fns, nil
}

// authorize adds the gateway credentials to a /system request. Function
// invocations never carry them: a function must not see admin credentials.
func (c *Connector) authorize(req *http.Request) {
	if c.opts.GatewayUsername != "" || c.opts.GatewayPassword != "" {
		req.SetBasicAuth(c.opts.GatewayUsername, c.opts.GatewayPassword)
	}
}

// functionURL is the gateway route that invokes a function synchronously.
func (c *Connector) functionURL(function, rawQuery string) string {
	u := c.gateway + "/function/" + url.PathEscape(function)
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}

// handleFunction invokes a subscribed function with one queued message.
func (c *Connector) handleFunction(hard context.Context, function string, q queueInfo, m types.Message, log *slog.Logger) outcome {
	callID := uuid.NewString()
	log = log.With("call_id", callID)
	ctx, cancel := context.WithTimeout(hard, q.callTimeout)
	defer cancel()
	body := aws.ToString(m.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.functionURL(function, ""), strings.NewReader(body))
	if err != nil {
		log.Error("build request failed", "error", err)
		return outcomeRetry
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderMessageID, aws.ToString(m.MessageId))
	req.Header.Set(HeaderReceiveCount, strconv.Itoa(receiveCount(m)))
	req.Header.Set(HeaderQueueName, q.name)
	req.Header.Set(HeaderSQSMessageID, aws.ToString(m.MessageId))
	req.Header.Set(HeaderSQSQueueURL, q.url)
	req.Header.Set(HeaderCallID, callID)
	for name, v := range m.MessageAttributes {
		if strings.HasPrefix(aws.ToString(v.DataType), "String") && v.StringValue != nil {
			req.Header.Set(HeaderAttrPrefix+name, *v.StringValue)
		}
	}
	if corr := correlationID(m); corr != "" {
		req.Header.Set(HeaderCorrelationID, corr)
	}
	if c.opts.DeliverySecrets != nil {
		secrets, err := c.opts.DeliverySecrets()
		if err != nil {
			log.Error("delivery secrets unavailable", "error", err)
			return outcomeRetry
		}
		delivery.Sign(req.Header, secrets, time.Now(), []byte(body))
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	dur := time.Since(start)
	if err != nil {
		if isCancelled(hard, err) {
			log.Warn("delivery cut short by shutdown; message left for redelivery", "duration_ms", dur.Milliseconds())
			return outcomeAbandon
		}
		log.Warn("delivery failed", "error", err, "duration_ms", dur.Milliseconds(), "timeout", q.callTimeout.String())
		return outcomeRetry
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	log = log.With("status", resp.StatusCode, "duration_ms", dur.Milliseconds())
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		log.Warn("delivery rejected by function")
		return outcomeRetry
	}
	log.Info("delivered")
	return outcomeDelete
}

// correlationID is the message's correlation_id attribute or, failing that,
// the correlationId of a motcua queue.Envelope body.
func correlationID(m types.Message) string {
	if v, ok := m.MessageAttributes[CorrelationAttribute]; ok && v.StringValue != nil {
		return *v.StringValue
	}
	var env struct {
		CorrelationID string `json:"correlationId"`
	}
	if json.Unmarshal([]byte(aws.ToString(m.Body)), &env) == nil {
		return env.CorrelationID
	}
	return ""
}

// hopHeaders are not forwarded from an async call to the function.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host", "X-Callback-Url",
}

// handleAsync executes one queued asynccall.Call and reports its result to
// the callback URL. Any answer of the function is a result (deleted after the
// callback was attempted); only a failure to reach the gateway is retried.
func (c *Connector) handleAsync(hard context.Context, q queueInfo, m types.Message, log *slog.Logger) outcome {
	call, err := asynccall.Decode([]byte(aws.ToString(m.Body)))
	if err != nil || call.Function == "" {
		log.Error("malformed async call; left to be dead-lettered", "error", err)
		return outcomeRetry
	}
	if call.CallID == "" {
		call.CallID = uuid.NewString()
	}
	if call.Method == "" {
		call.Method = http.MethodPost
	}
	log = log.With("function", call.Function, "call_id", call.CallID)

	ctx, cancel := context.WithTimeout(hard, q.callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, call.Method, c.functionURL(call.Function, call.Query), bytes.NewReader(call.Body))
	if err != nil {
		log.Error("malformed async call; left to be dead-lettered", "error", err)
		return outcomeRetry
	}
	req.Header = call.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	req.Header.Set(HeaderCallID, call.CallID)
	req.Header.Set(HeaderMessageID, aws.ToString(m.MessageId))
	req.Header.Set(HeaderReceiveCount, strconv.Itoa(receiveCount(m)))
	req.Header.Set(HeaderQueueName, q.name)
	req.Header.Set(HeaderSQSMessageID, aws.ToString(m.MessageId))
	req.Header.Set(HeaderSQSQueueURL, q.url)

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if isCancelled(hard, err) {
			log.Warn("async call cut short by shutdown; message left for redelivery", "duration_ms", time.Since(start).Milliseconds())
			return outcomeAbandon
		}
		log.Warn("async call failed to reach the function", "error", err, "duration_ms", time.Since(start).Milliseconds())
		return outcomeRetry
	}
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	dur := time.Since(start)
	if err != nil {
		if isCancelled(hard, err) {
			return outcomeAbandon
		}
		log.Warn("async call: reading the function's response failed", "error", err, "status", resp.StatusCode)
		return outcomeRetry
	}
	if ge := resp.Header.Get(asynccall.HeaderGatewayError); asynccall.RetryableGatewayErrors[ge] {
		// The gateway answered for a function it could not reach (not
		// ready, crashed, restarting): not the function's result.
		log.Warn("async call: function not reached; message left for redelivery", "status", resp.StatusCode, "gateway_error", ge, "duration_ms", dur.Milliseconds())
		return outcomeRetry
	}
	log = log.With("status", resp.StatusCode, "duration_ms", dur.Milliseconds())
	log.Info("async call executed")

	if call.CallbackURL != "" {
		c.extendVisibility(hard, q, m, log)
		c.callback(hard, call, resp.StatusCode, resp.Header.Get("Content-Type"), respBody, log)
	}
	return outcomeDelete
}

// extendVisibility keeps an async message hidden while its callback is
// attempted (best effort).
func (c *Connector) extendVisibility(hard context.Context, q queueInfo, m types.Message, log *slog.Logger) {
	if q.visibility <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(hard, ackTimeout)
	defer cancel()
	if _, err := c.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(q.visibility / time.Second),
	}); err != nil {
		log.Warn("extend visibility before callback failed", "error", err)
	}
}

// callback POSTs a function's result to call.CallbackURL, retrying a few
// times with backoff. A callback that keeps failing is logged, not retried.
func (c *Connector) callback(hard context.Context, call asynccall.Call, status int, contentType string, body []byte, log *slog.Logger) {
	u, err := url.Parse(call.CallbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		log.Error("callback skipped: callback URL is not an http(s) URL")
		return
	}
	log = log.With("callback_host", u.Host)
	delay := 500 * time.Millisecond
	for attempt := 1; attempt <= c.opts.CallbackAttempts; attempt++ {
		code, err := c.postCallback(hard, u.String(), call, status, contentType, body)
		if err == nil && code >= 200 && code <= 299 {
			log.Info("callback delivered", "callback_status", code, "attempt", attempt)
			return
		}
		log.Warn("callback attempt failed", "callback_status", code, "error", err, "attempt", attempt)
		if attempt == c.opts.CallbackAttempts || !sleep(hard, delay) {
			break
		}
		delay *= 2
	}
	log.Error("callback abandoned", "attempts", c.opts.CallbackAttempts)
}

func (c *Connector) postCallback(hard context.Context, target string, call asynccall.Call, status int, contentType string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(hard, callbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build callback request: %w", err)
	}
	req.Header.Set(HeaderCallID, call.CallID)
	req.Header.Set(HeaderFunctionStatus, strconv.Itoa(status))
	req.Header.Set(HeaderFunctionName, call.Function)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post callback: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
