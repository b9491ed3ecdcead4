package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"motcua/infra/provision"
	"motcua/shared/payment"
	"motcua/shared/receipt/book"
)

// Retention of the raw payment-callback audit (payment.AuditPrefix): moved to
// infrequent access after AuditIADays, to Glacier after AuditGlacierDays,
// deleted after AuditExpireDays (ten years, the retention of accounting
// vouchers under Vietnam's Law on Accounting, art. 41).
const (
	AuditIADays      = 90
	AuditGlacierDays = 365
	AuditExpireDays  = 3650
)

// AbandonedUploadDays is when an unfinished multipart upload (a citizen who
// closed the browser mid-upload) is aborted and its parts deleted.
const AbandonedUploadDays = 1

// ChurnPrefixes are data-bucket prefixes whose old versions (in the
// versioned bucket) are worth nothing after NoncurrentDays: attempt
// counters, idempotency records and outbox markers.
var ChurnPrefixes = []string{"guard/", "idempotency/", "outbox/"}

// NoncurrentDays is how long an overwritten version of a churn prefix is kept.
const NoncurrentDays = 7

type obj = map[string]any

func sub(s string) obj           { return obj{"Fn::Sub": s} }
func ref(id string) obj          { return obj{"Ref": id} }
func getAtt(id, attr string) obj { return obj{"Fn::GetAtt": []string{id, attr}} }
func bucketName(name string) obj { return sub(name + "${BucketSuffix}") }
func bucketARN(name string) obj  { return sub("arn:${AWS::Partition}:s3:::" + name + "${BucketSuffix}") }
func objectsARN(g Grant) obj {
	return sub("arn:${AWS::Partition}:s3:::" + g.Bucket + "${BucketSuffix}/" + g.Prefix + "*")
}
func queueARN(name string) obj { return getAtt(QueueID(name), "Arn") }
func statement(sid string, actions []string, resources any) obj {
	return obj{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
}

// LogicalID turns a resource name ("payment-events") into a CloudFormation
// logical id fragment ("PaymentEvents").
func LogicalID(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// BucketID is the logical id of a bucket.
func BucketID(name string) string { return LogicalID(name) + "Bucket" }

// QueueID is the logical id of a queue (its DLQ is QueueID(DLQName(name))).
func QueueID(name string) string { return LogicalID(name) + "Queue" }

// RoleID is the logical id of a function's IAM role.
func RoleID(function string) string { return "Fn" + LogicalID(function) + "Role" }

// ConnectorRoleID is the logical id of the queue connector's IAM role.
const ConnectorRoleID = "ConnectorRole"

// ReceiptKeyID is the logical id of the receipt-signing KMS key.
const ReceiptKeyID = "ReceiptSigningKey"

// VersionedBuckets returns the buckets that keep every version: those
// holding the receipts prefix (book.Prefix), legal documents that must
// survive an overwrite or delete.
func (m *Model) VersionedBuckets() map[string]bool {
	out := map[string]bool{}
	for _, f := range m.Functions {
		for _, g := range f.Grants {
			if strings.HasPrefix(g.Prefix, book.Prefix) || strings.HasPrefix(book.Prefix, g.Prefix) {
				out[g.Bucket] = true
			}
		}
	}
	return out
}

// auditBuckets returns the buckets holding the raw payment-callback audit.
func (m *Model) auditBuckets() map[string]bool {
	out := map[string]bool{}
	for _, f := range m.Functions {
		for _, g := range f.Grants {
			if strings.HasPrefix(payment.AuditPrefix, g.Prefix) {
				out[g.Bucket] = true
			}
		}
	}
	return out
}

// CloudFormation returns the template (JSON, keys sorted, two-space indent,
// trailing newline): deterministic, so a test compares it with the
// committed infra/cloudformation/motcua.json.
func (m *Model) CloudFormation() ([]byte, error) {
	resources := obj{}
	outputs := obj{}
	versioned, audit := m.VersionedBuckets(), m.auditBuckets()

	for _, b := range m.Resources.Buckets {
		id := BucketID(b.Name)
		rules := []any{obj{
			"Id": "abort-abandoned-multipart-uploads", "Status": "Enabled", "Prefix": "",
			"AbortIncompleteMultipartUpload": obj{"DaysAfterInitiation": AbandonedUploadDays},
		}}
		if audit[b.Name] {
			rules = append(rules, obj{
				"Id": "raw-payment-callback-audit", "Status": "Enabled", "Prefix": payment.AuditPrefix,
				"Transitions": []any{
					obj{"StorageClass": "STANDARD_IA", "TransitionInDays": AuditIADays},
					obj{"StorageClass": "GLACIER", "TransitionInDays": AuditGlacierDays},
				},
				"ExpirationInDays": AuditExpireDays,
			})
		}
		props := obj{
			"BucketName": bucketName(b.Name),
			"BucketEncryption": obj{"ServerSideEncryptionConfiguration": []any{
				obj{"ServerSideEncryptionByDefault": obj{"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": true},
			}},
			"PublicAccessBlockConfiguration": obj{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"OwnershipControls": obj{"Rules": []any{obj{"ObjectOwnership": "BucketOwnerEnforced"}}},
		}
		if versioned[b.Name] {
			props["VersioningConfiguration"] = obj{"Status": "Enabled"}
			for _, p := range ChurnPrefixes {
				rules = append(rules, obj{
					"Id": "noncurrent-" + strings.TrimSuffix(p, "/"), "Status": "Enabled", "Prefix": p,
					"NoncurrentVersionExpiration": obj{"NoncurrentDays": NoncurrentDays},
				})
			}
		}
		if b.Name == "motcua-uploads" || strings.Contains(b.Purpose, "presigned") {
			// Browsers PUT to presigned URLs: CORS for the portal's origin.
			props["CorsConfiguration"] = obj{"CorsRules": []any{obj{
				"AllowedMethods": []string{"PUT", "GET", "HEAD"}, "AllowedOrigins": []any{ref("PortalOrigin")},
				"AllowedHeaders": []string{"*"}, "ExposedHeaders": []string{"ETag"}, "MaxAge": 3600,
			}}}
		}
		props["LifecycleConfiguration"] = obj{"Rules": rules}
		resources[id] = obj{"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": props}
		resources[id+"Policy"] = obj{"Type": "AWS::S3::BucketPolicy", "Properties": obj{
			"Bucket": ref(id),
			"PolicyDocument": obj{"Version": "2012-10-17", "Statement": []any{obj{
				"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
				"Resource":  []any{bucketARN(b.Name), sub("arn:${AWS::Partition}:s3:::" + b.Name + "${BucketSuffix}/*")},
				"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
			}}},
		}}
		outputs[id+"Name"] = obj{"Description": b.Purpose, "Value": ref(id)}
	}

	for _, q := range m.Resources.Queues {
		dlq := provision.DLQName(q.Name)
		resources[QueueID(dlq)] = obj{"Type": "AWS::SQS::Queue", "Properties": obj{
			"QueueName":              dlq,
			"MessageRetentionPeriod": provision.DLQRetentionSeconds,
			"SqsManagedSseEnabled":   true,
		}}
		resources[QueueID(q.Name)] = obj{"Type": "AWS::SQS::Queue", "Properties": obj{
			"QueueName":              q.Name,
			"VisibilityTimeout":      q.VisibilityTimeout,
			"MessageRetentionPeriod": q.MessageRetentionPeriod,
			"SqsManagedSseEnabled":   true,
			"RedrivePolicy":          obj{"deadLetterTargetArn": queueARN(dlq), "maxReceiveCount": q.MaxReceiveCount},
		}}
		outputs[QueueID(q.Name)+"Url"] = obj{"Value": ref(QueueID(q.Name))}
	}

	resources[ReceiptKeyID] = obj{"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": obj{
		"Description":         "motcua receipt signing (RSASSA-PKCS1-v1_5 SHA-256); only issue-receipt may sign",
		"KeySpec":             "RSA_2048",
		"KeyUsage":            "SIGN_VERIFY",
		"EnableKeyRotation":   false,
		"PendingWindowInDays": 30,
		"KeyPolicy": obj{"Version": "2012-10-17", "Statement": []any{obj{
			"Sid": "AccountAdministersKeyThroughIAM", "Effect": "Allow",
			"Principal": obj{"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
			"Action":    "kms:*", "Resource": "*",
		}}},
	}}
	resources[ReceiptKeyID+"Alias"] = obj{"Type": "AWS::KMS::Alias", "Properties": obj{
		"AliasName": "alias/motcua-receipt-signing", "TargetKeyId": ref(ReceiptKeyID),
	}}
	outputs[ReceiptKeyID+"Arn"] = obj{"Description": "MOTCUA_RECEIPT_KMS_KEY_ID of issue-receipt", "Value": getAtt(ReceiptKeyID, "Arn")}

	trust := obj{"Version": "2012-10-17", "Statement": []any{obj{
		"Effect": "Allow", "Action": "sts:AssumeRole",
		"Principal": obj{"AWS": ref("TrustedPrincipalArn")},
	}}}
	for _, f := range m.Functions {
		var stmts []any
		buckets := map[string][]any{}
		var order []string
		var objects []any
		for _, g := range f.Grants {
			objects = append(objects, objectsARN(g))
			if _, ok := buckets[g.Bucket]; !ok {
				order = append(order, g.Bucket)
			}
			buckets[g.Bucket] = append(buckets[g.Bucket], g.Prefix+"*")
		}
		if len(objects) > 0 {
			stmts = append(stmts, statement("Objects", []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, objects))
		}
		for _, b := range order {
			s := statement("List"+LogicalID(b), []string{"s3:ListBucket"}, bucketARN(b))
			s["Condition"] = obj{"StringLike": obj{"s3:prefix": buckets[b]}}
			stmts = append(stmts, s)
		}
		if len(f.Publishes) > 0 {
			var qs []any
			for _, q := range f.Publishes {
				qs = append(qs, queueARN(q))
			}
			stmts = append(stmts, statement("Publish", []string{"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}, qs))
		}
		if f.KMSSign {
			stmts = append(stmts, statement("SignReceipts", []string{"kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"}, getAtt(ReceiptKeyID, "Arn")))
		}
		props := obj{
			"Description":              fmt.Sprintf("motcua function %s: only its own S3 prefixes, queues and keys", f.Name),
			"AssumeRolePolicyDocument": trust,
			"Tags":                     []any{obj{"Key": "motcua:function", "Value": f.Name}},
		}
		if len(stmts) > 0 {
			props["Policies"] = []any{obj{"PolicyName": "motcua-" + f.Name, "PolicyDocument": obj{"Version": "2012-10-17", "Statement": stmts}}}
		}
		resources[RoleID(f.Name)] = obj{"Type": "AWS::IAM::Role", "Properties": props}
		outputs[RoleID(f.Name)+"Arn"] = obj{"Value": getAtt(RoleID(f.Name), "Arn")}
	}

	var consumed []any
	for _, q := range m.ConsumedQueues() {
		consumed = append(consumed, queueARN(q))
	}
	connector := []any{statement("Consume", []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}, consumed)}
	if _, ok := m.Resources.Queue(AsyncQueue); ok {
		connector = append(connector, statement("AsyncCalls", []string{"sqs:SendMessage"}, queueARN(AsyncQueue)))
	}
	resources[ConnectorRoleID] = obj{"Type": "AWS::IAM::Role", "Properties": obj{
		"Description":              "motcua queue connector: receive, delete and extend visibility on the consumed queues, send async calls",
		"AssumeRolePolicyDocument": trust,
		"Policies":                 []any{obj{"PolicyName": "motcua-connector", "PolicyDocument": obj{"Version": "2012-10-17", "Statement": connector}}},
		"Tags":                     []any{obj{"Key": "motcua:component", "Value": "connector"}},
	}}
	outputs[ConnectorRoleID+"Arn"] = obj{"Value": getAtt(ConnectorRoleID, "Arn")}

	tmpl := obj{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              "motcua: buckets, queues, receipt-signing key and least-privilege roles. GENERATED by `go run ./cmd/motcua-provision -generate` from stack.yml and infra/provision/resources.json: do not edit.",
		"Parameters": obj{
			"BucketSuffix": obj{
				"Type": "String", "Default": "", "AllowedPattern": "^[a-z0-9.-]{0,30}$",
				"Description": "appended to every bucket name (S3 names are global); set MOTCUA_BUCKET_SUFFIX to the same value for faas-cli",
			},
			"TrustedPrincipalArn": obj{
				"Type": "String", "AllowedPattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:.+$",
				"Description": "who may assume the function and connector roles (the node role of the OpenFaaS cluster, or an account root)",
			},
			"PortalOrigin": obj{
				"Type": "String", "Default": "https://dichvucong.example.gov.vn",
				"Description": "the portal's origin, allowed to PUT uploads to presigned URLs (CORS)",
			},
		},
		"Resources": resources,
		"Outputs":   outputs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tmpl); err != nil {
		return nil, fmt.Errorf("deploy: encode template: %w", err)
	}
	return buf.Bytes(), nil
}
