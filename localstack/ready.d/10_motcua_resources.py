"""LocalStack READY hook: create motcua's buckets and queues.

The one definition of buckets and queues is infra/provision/resources.json
(the embedded stack and cmd/motcua-provision read the same file). This hook
is used unchanged by LocalStack in Docker (docker-compose.yml mounts it into
/etc/localstack/init/ready.d and the JSON file into /etc/localstack/motcua/)
and by LocalStack started on the host (localstack/start-host.sh runs it with
the LocalStack virtualenv's Python, which has boto3).

Idempotent: existing buckets and queues are kept; queue attributes are
brought in line with the definition; each queue gets <name>-dlq first, then
its RedrivePolicy pointing at it.
"""

import json
import os
import sys

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
CANDIDATES = [
    os.environ.get("MOTCUA_RESOURCES", ""),
    "/etc/localstack/motcua/resources.json",
    os.path.join(HERE, "..", "..", "infra", "provision", "resources.json"),
]


def load_resources():
    for path in CANDIDATES:
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return path, json.load(f)
    raise SystemExit("motcua: resources.json not found in %s" % CANDIDATES)


def main():
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    region = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        region_name=region,
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    path, res = load_resources()
    print("motcua: provisioning from %s against %s" % (path, endpoint))

    for b in res.get("buckets", []):
        name = b["name"]
        try:
            if region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            print("motcua: created bucket %s" % name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            print("motcua: bucket %s exists" % name)

    for q in res.get("queues", []):
        name = q["name"]
        retention = str(q.get("messageRetentionPeriod", 345600))
        dlq_url = sqs.create_queue(QueueName=name + "-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attrs = {
            "VisibilityTimeout": str(q.get("visibilityTimeout", 30)),
            "MessageRetentionPeriod": retention,
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(q.get("maxReceiveCount", 5))}
            ),
        }
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        print("motcua: queue %s ready (dlq %s, maxReceiveCount %s)" % (name, name + "-dlq", q.get("maxReceiveCount", 5)))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # make the hook's failure visible in LocalStack's log
        print("motcua: provisioning failed: %s" % e, file=sys.stderr)
        raise
