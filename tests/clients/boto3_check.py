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

import boto3
from botocore.exceptions import ClientError

endpoint = os.environ["AWS_ENDPOINT_URL"]
s = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
s3 = s.client("s3", endpoint_url=endpoint)
sqs = s.client("sqs", endpoint_url=endpoint)
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
url = s3.generate_presigned_url("put_object", Params={"Bucket": "motcua-uploads", "Key": key}, ExpiresIn=300)
req = urllib.request.Request(url, data=b"%PDF-1.4 test", method="PUT")
with urllib.request.urlopen(req) as r:
    check(r.status == 200, "presigned PUT accepted")
check(s3.get_object(Bucket="motcua-uploads", Key=key)["Body"].read() == b"%PDF-1.4 test", "presigned upload landed")

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
sqs.delete_queue(QueueUrl=q)
sqs.delete_queue(QueueUrl=dlq)
print("%d passed, 0 failed" % checks)
