#!/usr/bin/env bash
# Checks the AWS CLI packaged by Debian (awscli 2.9.19 in bookworm: AWS CLI v2,
# which still speaks SQS's Query protocol and predates AWS_ENDPOINT_URL, hence
# --endpoint-url) against the embedded edge at $AWS_ENDPOINT_URL: S3 cp (single
# and multipart), ls, presign; SQS create-queue, send/receive/delete,
# get-queue-attributes, batch, errors. Prints "N passed, 0 failed".
set -euo pipefail
aws_bin=${AWSCLI:-/usr/bin/aws}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
a() { "$aws_bin" --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); }
fail() { echo "FAIL: $*"; exit 1; }
echo "$("$aws_bin" --version 2>&1)"

key="cli/$(date +%s%N)"
printf 'hồ sơ trực tuyến\n' >"$tmp/small.txt"
a s3 cp --only-show-errors "$tmp/small.txt" "s3://motcua-data/$key/small.txt" || fail "s3 cp up"; ok
a s3 ls "s3://motcua-data/$key/" | grep -q small.txt || fail "s3 ls"; ok
[ "$(a s3 cp --only-show-errors "s3://motcua-data/$key/small.txt" -)" = "$(cat "$tmp/small.txt")" ] || fail "s3 cp down"; ok
head -c 9000000 /dev/urandom >"$tmp/big.bin" # over the CLI's 8 MB multipart threshold
a s3 cp --only-show-errors "$tmp/big.bin" "s3://motcua-data/$key/big.bin" || fail "s3 multipart upload"; ok
a s3 cp --only-show-errors "s3://motcua-data/$key/big.bin" "$tmp/big2.bin" || fail "s3 download"; ok
cmp -s "$tmp/big.bin" "$tmp/big2.bin" || fail "s3 multipart round trip differs"; ok
url=$(a s3 presign "s3://motcua-data/$key/small.txt" --expires-in 60)
[ "$(curl -sf "$url")" = "$(cat "$tmp/small.txt")" ] || fail "presigned GET"; ok
code=$(curl -s -o /dev/null -w '%{http_code}' "${url/small.txt/big.bin}")
[ "$code" = 403 ] || fail "presigned URL for another key accepted ($code)"; ok
code=$(curl -s -o /dev/null -w '%{http_code}' "$AWS_ENDPOINT_URL/motcua-data/$key/small.txt")
[ "$code" = 403 ] || fail "anonymous GET answered $code"; ok

q=$(a sqs create-queue --queue-name "cli-$(date +%s%N | tail -c 10)" --attributes VisibilityTimeout=5 --query QueueUrl --output text) || fail "sqs create-queue"; ok
a sqs send-message --queue-url "$q" --message-body "hồ sơ" \
  --message-attributes '{"event_type":{"DataType":"String","StringValue":"application.submitted"}}' >/dev/null || fail "sqs send-message"; ok
a sqs send-message-batch --queue-url "$q" --entries Id=a,MessageBody=A Id=b,MessageBody=B --query 'length(Successful)' --output text | grep -qx 2 || fail "sqs batch"; ok
[ "$(a sqs get-queue-attributes --queue-url "$q" --attribute-names ApproximateNumberOfMessages --query Attributes.ApproximateNumberOfMessages --output text)" = 3 ] || fail "sqs get-queue-attributes"; ok
out=$(a sqs receive-message --queue-url "$q" --max-number-of-messages 10 --message-attribute-names All --attribute-names All --output json)
echo "$out" | grep -q '"StringValue": "application.submitted"' || fail "sqs receive attributes: $out"; ok
for h in $(echo "$out" | grep -o '"ReceiptHandle": "[^"]*"' | cut -d'"' -f4); do
  a sqs delete-message --queue-url "$q" --receipt-handle "$h" || fail "sqs delete-message"
done; ok
[ "$(a sqs get-queue-attributes --queue-url "$q" --attribute-names All --query Attributes.ApproximateNumberOfMessagesNotVisible --output text)" = 0 ] || fail "sqs messages left in flight"; ok
if a sqs get-queue-url --queue-name "missing-$$" 2>"$tmp/err"; then fail "sqs unknown queue accepted"; fi
grep -q NonExistentQueue "$tmp/err" || fail "sqs unknown queue error: $(cat "$tmp/err")"; ok
a sqs delete-queue --queue-url "$q" || fail "sqs delete-queue"; ok
echo "$n passed, 0 failed"
