"""Checks that a non-Go AWS client (boto3 / botocore, the library behind the
AWS CLI) works against motcua's embedded S3+SQS edge, the way the Go SDK does.

Run by tests/clients/run.sh against a stack it starts itself. Exits non-zero
on the first mismatch, printing what differed.
"""

import json
import os
import sys
import urllib.request
import uuid

import time
import urllib.error

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Default settings, as a newcomer's script has them: the region from
# AWS_DEFAULT_REGION (what boto3 reads), the key pair of the local stack,
# no botocore Config (so flexible checksums are on: when_supported).
endpoint = os.environ["AWS_ENDPOINT_URL"]
s = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test")
assert s.region_name == "us-east-1", "AWS_DEFAULT_REGION must be us-east-1, got %r" % s.region_name
s3 = s.client("s3", endpoint_url=endpoint)
sqs = s.client("sqs", endpoint_url=endpoint)
# boto3 presigns S3 URLs with Signature Version 2 unless told otherwise; S3
# (and the embedded stack) accept only version 4.
presigner = s.client("s3", endpoint_url=endpoint, config=Config(signature_version="s3v4"))
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


# S3: put/get, conditional writes, listing, presigned URLs.
key = "clients/%s.json" % uuid.uuid4()
body = json.dumps({"tên": "Nguyễn Văn A"}, ensure_ascii=False).encode()
put = s3.put_object(Bucket="motcua-data", Key=key, Body=body, ContentType="application/json")
got = s3.get_object(Bucket="motcua-data", Key=key)
check(got["Body"].read() == body, "s3 get returns what was put")
check(got["ETag"] == put["ETag"], "s3 etag stable")
try:
    s3.put_object(Bucket="motcua-data", Key=key, Body=b"x", IfNoneMatch="*")
    check(False, "s3 If-None-Match on an existing key must fail")
except ClientError as e:
    check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 412, "s3 If-None-Match -> 412, got %s" % e.response)
lst = s3.list_objects_v2(Bucket="motcua-data", Prefix="clients/")
check(any(o["Key"] == key for o in lst.get("Contents", [])), "s3 list by prefix finds the key")
url = presigner.generate_presigned_url("put_object", Params={"Bucket": "motcua-uploads", "Key": key}, ExpiresIn=300)
req = urllib.request.Request(url, data=b"%PDF-1.4 test", method="PUT")
with urllib.request.urlopen(req) as r:
    check(r.status == 200, "presigned PUT accepted")
check(s3.get_object(Bucket="motcua-uploads", Key=key)["Body"].read() == b"%PDF-1.4 test", "presigned upload landed")


def http_status(req):
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# Ranged GET with default checksum validation (FlexibleChecksumError before),
# and user metadata keys as sent (lower case, as S3 returns them).
big = bytes(range(256)) * 64
s3.put_object(Bucket="motcua-data", Key=key + ".bin", Body=big, Metadata={"doc": "giay-to", "so-ho-so": "STP-1"})
part = s3.get_object(Bucket="motcua-data", Key=key + ".bin", Range="bytes=100-199")
check(part["Body"].read() == big[100:200], "s3 ranged GET returns the range")
check(part["Metadata"] == {"doc": "giay-to", "so-ho-so": "STP-1"}, "s3 metadata keys keep their case, got %s" % part["Metadata"])
whole = s3.get_object(Bucket="motcua-data", Key=key + ".bin")
check(whole["Body"].read() == big, "s3 whole GET with checksum validation")
check(s3.head_object(Bucket="motcua-data", Key=key + ".bin")["Metadata"]["doc"] == "giay-to", "s3 head metadata")

# Signatures are enforced: anonymous access, a changed presigned URL and a
# body longer than the signed Content-Length are refused with S3's errors.
status, body = http_status(urllib.request.Request("%s/motcua-data/%s" % (endpoint, key)))
check(status == 403 and b"<Code>AccessDenied</Code>" in body, "anonymous GET refused, got %s %s" % (status, body[:200]))
v2url = s3.generate_presigned_url("get_object", Params={"Bucket": "motcua-uploads", "Key": key}, ExpiresIn=300)
if "AWSAccessKeyId=" in v2url:
    status, body = http_status(urllib.request.Request(v2url))
    check(status == 400 and b"AWS4-HMAC-SHA256" in body, "a SigV2 presigned URL is refused with S3's hint, got %s" % status)
url = presigner.generate_presigned_url("put_object", Params={"Bucket": "motcua-uploads", "Key": key + ".pdf",
                                                      "ContentType": "application/pdf", "ContentLength": 10}, ExpiresIn=300)
status, body = http_status(urllib.request.Request(url, data=b"x" * 5000, method="PUT", headers={"Content-Type": "application/pdf"}))
check(status == 403 and b"SignatureDoesNotMatch" in body, "body longer than the signed length refused, got %s" % status)
status, body = http_status(urllib.request.Request(url, data=b"0123456789", method="PUT", headers={"Content-Type": "text/html"}))
check(status == 403 and b"SignatureDoesNotMatch" in body, "other content type refused, got %s" % status)
status, body = http_status(urllib.request.Request(url.replace(".pdf?", ".exe?"), data=b"0123456789", method="PUT",
                                                  headers={"Content-Type": "application/pdf"}))
check(status == 403 and b"SignatureDoesNotMatch" in body, "other key refused, got %s" % status)
status, body = http_status(urllib.request.Request(url, data=b"0123456789", method="PUT", headers={"Content-Type": "application/pdf"}))
check(status == 200, "upload as signed accepted, got %s %s" % (status, body[:200]))
bad = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="wrong", region_name="us-east-1")
try:
    bad.client("s3", endpoint_url=endpoint).get_object(Bucket="motcua-data", Key=key)
    check(False, "wrong secret must fail")
except ClientError as e:
    check(e.response["Error"]["Code"] == "SignatureDoesNotMatch", "wrong secret: %s" % e.response["Error"])
try:
    bad.client("sqs", endpoint_url=endpoint).list_queues()
    check(False, "sqs wrong secret must fail")
except ClientError as e:
    check(e.response["Error"]["Code"] == "SignatureDoesNotMatch", "sqs wrong secret: %s" % e.response["Error"])

# SQS: JSON protocol, attributes and their MD5s (botocore verifies them), batches, errors.
name = "clients-%s" % uuid.uuid4().hex[:10]
dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
q = sqs.create_queue(
    QueueName=name,
    Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})},
)["QueueUrl"]
sqs.send_message(
    QueueUrl=q, MessageBody="hồ sơ",
    MessageAttributes={"event_type": {"DataType": "String", "StringValue": "application.submitted"},
                       "n": {"DataType": "Number", "StringValue": "42"}},
)
res = sqs.send_message_batch(QueueUrl=q, Entries=[{"Id": str(i), "MessageBody": "m%d" % i} for i in range(3)])
check(len(res.get("Successful", [])) == 3, "sqs batch of 3 sent")
msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                           MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]).get("Messages", [])
check(len(msgs) >= 1, "sqs receive")
first = [m for m in msgs if m["Body"] == "hồ sơ"]
if first:
    check(first[0]["MessageAttributes"]["event_type"]["StringValue"] == "application.submitted", "sqs attributes round trip")
    check(first[0]["Attributes"]["ApproximateReceiveCount"] == "1", "sqs receive count")
for m in msgs:
    sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
try:
    sqs.get_queue_url(QueueName="does-not-exist-" + name)
    check(False, "sqs unknown queue must fail")
except ClientError as e:
    check(e.response["Error"]["Code"] in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"),
          "sqs unknown queue error code, got %s" % e.response["Error"])
attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
check("RedrivePolicy" in attrs and "ApproximateNumberOfMessages" in attrs, "sqs queue attributes")

# DLQ redrive with a message move task: fail a message into the DLQ, move it back.
sqs.send_message(QueueUrl=q, MessageBody="redrive-me")
deadline = time.time() + 20
while time.time() < deadline and sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0":
    sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1)  # not deleted: 1 s visibility, then dead-lettered
check(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] != "0",
      "message dead-lettered")
handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
check(bool(handle), "move task started")
deadline = time.time() + 20
while True:
    task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    if task["Status"] != "RUNNING" or time.time() > deadline:
        break
    time.sleep(0.2)
check(task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] >= 1, "move task completed: %s" % task)
back = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=2).get("Messages", [])
check(any(m["Body"] == "redrive-me" for m in back), "redriven message back in its source queue")
sqs.delete_queue(QueueUrl=q)
sqs.delete_queue(QueueUrl=dlq)
print("%d passed, 0 failed" % checks)
