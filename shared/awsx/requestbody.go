package awsx

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// requestBodyID names the middleware SafeRequestBody adds.
const requestBodyID = "motcua.SafeRequestBody"

// SafeRequestBody is an SDK API option (aws.Config.APIOptions or a client's
// Options.APIOptions) that works around a race between net/http and
// smithy-go (v1.28.9, the newest) which closes a connection while the
// response on it is still being read. Every motcua client has it (Load,
// S3Options, SQSOptions); adding it twice is harmless.
//
// The race, on any request with a body (every SQS call, S3 PUT/POST):
//
//  1. net/http's connection writeLoop sends the body's ContentLength bytes,
//     then reads the body once more to check it has no extra bytes
//     (transferWriter.writeBody: io.Copy(io.Discard, body)), which uses the
//     body's WriteTo when it has one;
//  2. if the server has answered in between (it has the whole body, so it
//     may), the SDK has its response and closes the request body;
//  3. smithy-go's closed body returns io.EOF from WriteTo, and io.Copy
//     passes a WriteTo error on: writeLoop sees a failed write, closes the
//     connection, and the goroutine reading the response body gets "use of
//     closed network connection" after the 200.
//
// The SDK retries that error, so the failed 200 was an answer already acted
// on: a SendMessage re-sent (a duplicate message), a ReceiveMessage repeated
// (its messages hidden for the visibility timeout, their receive count
// raised), an S3 conditional PUT repeated (412 for the caller's own write).
// With one attempt it is an error.
//
// The option hands the SDK the request stream without its WriteTo, so the
// extra read goes through Read, where a closed body is a clean EOF. Nothing
// else changes: ContentLength is already set, the body bytes are copied the
// same way (net/http limits the first copy to ContentLength, which hides
// WriteTo already), and the wrapper is made per attempt, after signing and
// the retry middleware's rewind.
func SafeRequestBody(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get(requestBodyID); ok {
		return nil
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc(requestBodyID, hideWriteTo), middleware.After)
}

// readOnly is a request stream reduced to io.Reader.
type readOnly struct{ io.Reader }

func hideWriteTo(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	stream := req.GetStream()
	if _, ok := stream.(io.WriterTo); !ok {
		return next.HandleFinalize(ctx, in)
	}
	length := req.ContentLength
	r, err := req.SetStream(readOnly{stream})
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("awsx: wrap request body: %w", err)
	}
	// SetStream keeps ContentLength when it cannot measure the stream (a
	// bare io.Reader); restate it so this never depends on that.
	r.ContentLength = length
	in.Request = r
	return next.HandleFinalize(ctx, in)
}
