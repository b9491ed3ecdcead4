// Checks that the AWS SDK for JavaScript v3 works against motcua's embedded
// S3+SQS edge (SQS over the JSON protocol, S3 path-style with conditional
// writes and presigned URLs). Run by tests/clients/run.sh.
import { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  SQSClient, CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SendMessageBatchCommand,
  ReceiveMessageCommand, DeleteMessageCommand, GetQueueUrlCommand, DeleteQueueCommand,
} from "@aws-sdk/client-sqs";
import { randomUUID } from "node:crypto";

const endpoint = process.env.AWS_ENDPOINT_URL;
const common = { endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
const s3 = new S3Client({ ...common, forcePathStyle: true });
const sqs = new SQSClient(common);
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) { console.log("FAIL:", what); process.exit(1); }
}

const key = `clients/js-${randomUUID()}.json`;
const body = JSON.stringify({ "tên": "Trần Thị B" });
const put = await s3.send(new PutObjectCommand({ Bucket: "motcua-data", Key: key, Body: body, ContentType: "application/json" }));
const got = await s3.send(new GetObjectCommand({ Bucket: "motcua-data", Key: key }));
check((await got.Body.transformToString()) === body, "s3 get returns what was put");
check(got.ETag === put.ETag, "s3 etag stable");
try {
  await s3.send(new PutObjectCommand({ Bucket: "motcua-data", Key: key, Body: "x", IfNoneMatch: "*" }));
  check(false, "s3 If-None-Match on an existing key must fail");
} catch (e) {
  check(e.$metadata?.httpStatusCode === 412, `s3 If-None-Match -> 412, got ${e.$metadata?.httpStatusCode}`);
}
const lst = await s3.send(new ListObjectsV2Command({ Bucket: "motcua-data", Prefix: "clients/js-" }));
check((lst.Contents || []).some((o) => o.Key === key), "s3 list by prefix");
const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "motcua-uploads", Key: key }), { expiresIn: 300 });
const res = await fetch(url, { method: "PUT", body: "%PDF-1.4 js" });
check(res.status === 200, `presigned PUT accepted, got ${res.status}`);

const name = `clients-js-${randomUUID().slice(0, 8)}`;
const { QueueUrl: q } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "5" } }));
await sqs.send(new SendMessageCommand({
  QueueUrl: q, MessageBody: "hồ sơ",
  MessageAttributes: { event_type: { DataType: "String", StringValue: "application.submitted" } },
}));
const batch = await sqs.send(new SendMessageBatchCommand({ QueueUrl: q, Entries: [0, 1, 2].map((i) => ({ Id: `${i}`, MessageBody: `m${i}` })) }));
check((batch.Successful || []).length === 3, "sqs batch of 3");
const rcv = await sqs.send(new ReceiveMessageCommand({
  QueueUrl: q, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
}));
const msgs = rcv.Messages || [];
check(msgs.length >= 1, "sqs receive");
const first = msgs.find((m) => m.Body === "hồ sơ");
if (first) check(first.MessageAttributes.event_type.StringValue === "application.submitted", "sqs attributes round trip");
for (const m of msgs) await sqs.send(new DeleteMessageCommand({ QueueUrl: q, ReceiptHandle: m.ReceiptHandle }));
try {
  await sqs.send(new GetQueueUrlCommand({ QueueName: `missing-${name}` }));
  check(false, "sqs unknown queue must fail");
} catch (e) {
  check(e.name === "QueueDoesNotExist", `sqs unknown queue error, got ${e.name}`);
}
const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q, AttributeNames: ["All"] }));
check("ApproximateNumberOfMessages" in attrs.Attributes, "sqs queue attributes");
await sqs.send(new DeleteQueueCommand({ QueueUrl: q }));
console.log(`${checks} passed, 0 failed`);
