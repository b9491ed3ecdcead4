// Package sqsserver is motcua's embedded SQS-compatible server: an
// http.Handler speaking both protocols real SQS accepts — AWS JSON 1.0
// (POST, X-Amz-Target: AmazonSQS.<Action>, Content-Type:
// application/x-amz-json-1.0: aws-sdk-go-v2, current boto3, the JS SDK v3)
// and the Query protocol (form-encoded Action=<Action>&Version=2012-11-05
// with XML responses: the AWS CLI v1 and v2 before 2.13, older SDKs) — and
// persisting every queue, message and message move task in a bbolt database
// (DataDir/sqs.db). With Options.Credentials set (the embedded stack sets
// them) every request must be SigV4-signed for service "sqs" as AWS
// requires: an unsigned request gets MissingAuthenticationToken, an unknown
// key InvalidClientTokenId, a wrong signature or changed body
// SignatureDoesNotMatch (all 403).
//
// Usage:
//
//	srv, err := sqsserver.New(sqsserver.Options{DataDir: dir})
//	...
//	http.ListenAndServe("127.0.0.1:9324", srv) // then AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9324
//	defer srv.Close()
//
// Supported actions: CreateQueue, GetQueueUrl, ListQueues,
// GetQueueAttributes, SetQueueAttributes, DeleteQueue, PurgeQueue,
// SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage,
// DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch,
// StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask (see
// movetasks.go for their semantics). Any other action gets 400 InvalidAction.
//
// Queue URLs are http://<request Host>/<AccountID>/<QueueName>; requests
// naming a queue by URL are resolved by its last path segment, whatever the
// host or account in the URL (a bare queue name is accepted too). Errors use the AWS JSON shape (HTTP 400, body __type
// com.amazonaws.sqs#<Shape> and message, header x-amzn-query-error
// <QueryCode>;Sender), which the Go SDK decodes to its typed errors
// (*types.QueueDoesNotExist, *types.ReceiptHandleIsInvalid, ...).
//
// Durability: every API write (send, receive, delete, visibility change,
// queue change) is one bbolt transaction committed, and fsynced unless
// Options.NoSync, before the response is written. Concurrent writes are
// group-committed (one fsync for all writes that arrive while the previous
// commit is in progress), which keeps throughput up without adding latency.
// Receive counts, visibility deadlines and receipt tokens are persisted, so
// redrive counts and in-flight receipt handles survive a restart.
//
// Memory: message bodies and attributes live only in the database (written
// once, at send); memory holds each message's small state (id, MD5,
// visibility, receive count, receipt token: about 250 bytes a message,
// whatever its size) in a per-queue heap ordered by visibility time, rebuilt
// from the database on New. A receive reads the bodies of the messages it
// returns in the transaction that records their new state. So a backlog
// nobody consumes costs disk, not RAM: 200 000 messages of 1 KiB hold
// 48 MB of heap where bodies in memory took 293 MB (BenchmarkBacklogHeap). Databases written
// before this split (bodies inside the state records) are converted in
// batches when New opens them.
//
// Known differences from AWS:
//   - Standard queues only: FIFO queues (.fifo names, FifoQueue=true,
//     MessageGroupId, MessageDeduplicationId) are rejected.
//   - Authentication is SigV4 against a fixed key list; there is no IAM:
//     any configured key may do anything. SenderId is the access key id.
//     Policy, KMS and tag parameters are stored or ignored, never enforced.
//   - Counts and receives are exact, not approximate; messages are served in
//     order of visibility time then send order (AWS standard queues give no
//     ordering), and a receive sees every visible message (no sampling of
//     servers, so short polls never miss messages).
//   - PurgeQueue takes effect at once and may be repeated at any time (no
//     60-second PurgeQueueInProgress); a deleted queue's name may be reused at
//     once (no QueueDeletedRecently).
//   - A message moved to the dead-letter queue keeps its MessageId, sent
//     timestamp and ApproximateReceiveCount, and gains the
//     DeadLetterQueueSourceArn system attribute. The move happens on the
//     receive after the one that reached maxReceiveCount, as on AWS. If the
//     dead-letter queue does not exist at that moment, the message is
//     delivered normally.
//   - DeleteMessage accepts any well-formed receipt handle of the queue: an
//     older handle of a message received again still deletes it, and a handle
//     of a message already gone succeeds. ChangeMessageVisibility is strict:
//     an outdated or deleted handle gives ReceiptHandleIsInvalid, a current
//     handle of a message whose timeout already expired MessageNotInflight.
//   - Retention: an expired message is dropped when a receive reaches it and
//     by a background sweep once a minute, so counts may include expired
//     messages for up to a minute.
//   - The maximum message size is 256 KiB (the newer 1 MiB limit is not
//     offered); a batch's payload is limited to 256 KiB in total.
//   - Permissions, tags (ListQueueTags etc.) and ListDeadLetterSourceQueues
//     are not implemented (InvalidAction).
//   - Message move tasks: cancelling a task that is no longer running gives
//     InvalidParameterValue (AWS's answer there is not documented); a
//     message that was sent straight to a dead-letter queue has no source to
//     return to, so a task with the default destination that meets one
//     FAILS with AWS.SimpleQueueService.NonExistentQueue.
package sqsserver
