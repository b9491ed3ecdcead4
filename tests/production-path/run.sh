#!/usr/bin/env bash
# The production path, checked on this machine (make test-production-path):
#
#   1. cfn-lint infra/cloudformation/motcua.json (the generated template);
#   2. an empty LocalStack on the host (localstack/start-host.sh, no init hook,
#      with CloudFormation, IAM, STS and KMS);
#   3. `aws cloudformation deploy` of the template with a real client (the AWS
#      CLI), then a look at what it made (versioning, DLQ redrive);
#   4. the end-to-end suite (submit -> pay with the bank simulator -> signed
#      receipt -> status) twice with one compiled test binary: on the
#      embedded stack, then with MOTCUA_E2E_EXTERNAL_AWS=1 against that
#      LocalStack. Same functions; only AWS_ENDPOINT_URL differs.
#      Both wall times are printed (and kept in .production-path.log).
#
# CI=true turns a missing tool (aws, cfn-lint, Python >= 3.13) into a
# failure; otherwise the leg is skipped with a message.
#   MOTCUA_PRODPATH_ADDR   LocalStack address (default 127.0.0.1:4577)
#   MOTCUA_PRODPATH_TESTS  -test.run pattern of the suite
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
addr="${MOTCUA_PRODPATH_ADDR:-127.0.0.1:4577}"
tests="${MOTCUA_PRODPATH_TESTS:-^TestReceipts_through_the_gateway_and_connector\$}"
stack=motcua
log="$root/.production-path.log"
: >"$log"
say() { echo "production-path: $*" | tee -a "$log"; }
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then say "FAIL: $1 is missing ($2)"; exit 1; fi
    say "SKIP: $1 is missing ($2)"; exit 0
  fi
}
need aws "apt-get install awscli, or pip install awscli"
need cfn-lint "pip install cfn-lint"

say "cfn-lint $(cfn-lint --version 2>&1 | awk '{print $2}')"
cfn-lint infra/cloudformation/motcua.json

export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export LOCALSTACK_ADDR="$addr"
set +e
LOCALSTACK_SERVICES=s3,sqs,kms,cloudformation,iam,sts MOTCUA_LOCALSTACK_NO_INIT=1 bash localstack/start-host.sh
rc=$?
set -e
if [ $rc = 3 ]; then
  if [ "${CI:-}" = true ]; then say "FAIL: no Python >= 3.13 for LocalStack"; exit 1; fi
  say "SKIP: no Python >= 3.13 for LocalStack"; exit 0
elif [ $rc != 0 ]; then
  say "FAIL: LocalStack did not start ($rc)"; exit $rc
fi
trap 'bash localstack/stop-host.sh' EXIT
ep="http://$addr"
awsl() { aws --endpoint-url "$ep" --region us-east-1 "$@"; }

t0=$(date +%s)
# Templates over 51 200 bytes go through S3, as on AWS (`aws cloudformation
# deploy --s3-bucket` would upload to the real S3 endpoint, so upload here).
awsl s3 mb s3://motcua-cfn-staging >/dev/null
awsl s3 cp --quiet infra/cloudformation/motcua.json s3://motcua-cfn-staging/motcua.json
awsl cloudformation create-stack --stack-name "$stack" --template-url "$ep/motcua-cfn-staging/motcua.json" \
  --parameters ParameterKey=TrustedPrincipalArn,ParameterValue=arn:aws:iam::000000000000:root \
  --capabilities CAPABILITY_IAM >/dev/null
awsl cloudformation wait stack-create-complete --stack-name "$stack" || {
  awsl cloudformation describe-stack-events --stack-name "$stack" --max-items 15 --output text >&2; say "FAIL: stack creation"; exit 1; }
status=$(awsl cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text)
say "stack $stack: $status in $(( $(date +%s) - t0 )) s"
[ "$status" = CREATE_COMPLETE ] || [ "$status" = UPDATE_COMPLETE ] || { say "FAIL: stack status $status"; exit 1; }
v=$(awsl s3api get-bucket-versioning --bucket motcua-data --query Status --output text)
[ "$v" = Enabled ] || { say "FAIL: motcua-data versioning is $v"; exit 1; }
url=$(awsl sqs get-queue-url --queue-name payment-events --query QueueUrl --output text)
awsl sqs get-queue-attributes --queue-url "$url" --attribute-names RedrivePolicy VisibilityTimeout --output text | tee -a "$log"
awsl sqs get-queue-attributes --queue-url "$url" --attribute-names RedrivePolicy --output text | grep -q payment-events-dlq \
  || { say "FAIL: payment-events has no redrive to payment-events-dlq"; exit 1; }
say "deployed: buckets, queues with DLQs, KMS key, $(awsl iam list-roles --query 'length(Roles)' --output text) roles"

mkdir -p .build
go test -c -o .build/e2e.test ./tests
run_suite() { # $1 = label; rest = env
  local label=$1; shift
  local s e
  s=$(date +%s.%N)
  (cd tests && env MOTCUA_E2E_START_TIMEOUT="${MOTCUA_E2E_START_TIMEOUT:-10m}" "$@" ../.build/e2e.test -test.run "$tests" -test.count=1 -test.timeout 15m -test.v) >"$root/.production-path-$label.log" 2>&1 \
    || { tail -80 "$root/.production-path-$label.log" >&2; say "FAIL: suite on $label" >&2; exit 1; }
  e=$(date +%s.%N)
  grep -E '^(--- |ok|PASS|FAIL)' "$root/.production-path-$label.log" | tee -a "$log" >/dev/null
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }'
}
# startup = building and starting the functions, gateway and connector (the
# same work on both backends); the rest is the suite's traffic.
startup() { grep -o 'stack started in [0-9.]*[a-z]*' "$root/.production-path-$1.log" | awk '{ d = $4; if (d ~ /ms$/) { sub(/ms$/, "", d); d /= 1000 } else { sub(/s$/, "", d) } t += d } END { printf "%.1f", t }'; }
emb=$(run_suite embedded MOTCUA_E2E_EXTERNAL_AWS=0)
ls=$(run_suite localstack MOTCUA_E2E_EXTERNAL_AWS=1 AWS_ENDPOINT_URL="$ep")
es=$(startup embedded); lss=$(startup localstack)
ef=$(awk -v a="$emb" -v b="$es" 'BEGIN { printf "%.1f", a - b }'); lf=$(awk -v a="$ls" -v b="$lss" 'BEGIN { printf "%.1f", a - b }')
say "suite on the embedded stack: ${emb} s (stack start ${es} s, traffic ${ef} s)"
say "suite on LocalStack (CloudFormation-deployed): ${ls} s (stack start ${lss} s, traffic ${lf} s)"
say "ratio LocalStack/embedded: whole $(awk -v a="$ls" -v b="$emb" 'BEGIN { printf "%.2f", a / b }'), traffic $(awk -v a="$lf" -v b="$ef" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
