package sqsserver

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	bolt "go.etcd.io/bbolt"
)

// legacyFixture describes testdata/legacy-v1/sqs.db, written by the server
// as it was before message bodies moved to their own bucket (every
// msgs-<uid> record held its body and attributes inline): queue "legacy"
// holds message a (attributes, a trace header, received once) and c (never
// received); "legacy-src" redrove message b to "legacy-dlq".
type legacyFixture struct {
	WrittenMS int64 `json:"written_ms"`
	A         struct {
		ID       string `json:"id"`
		MD5Attrs string `json:"md5_attrs"`
	} `json:"a"`
	B string `json:"b"`
	C string `json:"c"`
}

// openLegacyCopy starts a server on dir whose clock is set back to the
// fixture's time plus after milliseconds (so its messages are not past their retention
// period whenever the test runs).
func openLegacyCopy(t *testing.T, dir string, fx legacyFixture, after int64) *env {
	t.Helper()
	e := newEnv(t, dir, false)
	e.srv.skewMS.Store(fx.WrittenMS + after - time.Now().UnixMilli())
	return e
}

func TestLegacyFormatLoadsAndIsServed(t *testing.T) {
	raw, err := os.ReadFile("testdata/legacy-v1/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx legacyFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile("testdata/legacy-v1/sqs.db")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(db, []byte(`"body":"dead letter body"`)) {
		t.Fatalf("fixture is not in the legacy format (no inline body)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DBFileName), db, 0o600); err != nil {
		t.Fatal(err)
	}

	e := openLegacyCopy(t, dir, fx, 1000)
	url := e.ts.URL + "/000000000000/legacy"
	got := map[string]types.Message{}
	for _, m := range e.receive(url, 10, 0, nil) {
		got[aws.ToString(m.MessageId)] = m
	}
	if len(got) != 2 {
		t.Fatalf("received %d messages from legacy, want 2", len(got))
	}
	a, c := got[fx.A.ID], got[fx.C]
	if aws.ToString(a.Body) != "Đơn đăng ký kết hôn — hồ sơ 1" || aws.ToString(c.Body) != `{"event":"plain","n":2}` {
		t.Fatalf("bodies = %q, %q", aws.ToString(a.Body), aws.ToString(c.Body))
	}
	if a.Attributes["ApproximateReceiveCount"] != "2" || c.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("receive counts = %s, %s; want 2, 1", a.Attributes["ApproximateReceiveCount"], c.Attributes["ApproximateReceiveCount"])
	}
	if aws.ToString(a.MD5OfMessageAttributes) != fx.A.MD5Attrs || aws.ToString(a.MessageAttributes["kind"].StringValue) != "application.submitted" ||
		!bytes.Equal(a.MessageAttributes["blob"].BinaryValue, []byte{0, 1, 2, 255}) {
		t.Fatalf("attributes of a = %v (md5 %s, want %s)", a.MessageAttributes, aws.ToString(a.MD5OfMessageAttributes), fx.A.MD5Attrs)
	}
	if a.Attributes["AWSTraceHeader"] != "Root=1-5759e988-bd862e3fe1be46a994272793" {
		t.Fatalf("AWSTraceHeader of a = %q", a.Attributes["AWSTraceHeader"])
	}
	dl := e.receive(e.ts.URL+"/000000000000/legacy-dlq", 10, 0, nil)
	if len(dl) != 1 || aws.ToString(dl[0].MessageId) != fx.B || aws.ToString(dl[0].Body) != "dead letter body" ||
		!strings.HasSuffix(dl[0].Attributes["DeadLetterQueueSourceArn"], ":legacy-src") {
		t.Fatalf("dead-letter queue = %+v", dl)
	}
	// Deleting a converted message removes its content too.
	if _, err := e.c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: c.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	e.stop()

	// The database is converted: no state record holds a body any more, and
	// every message has exactly one content record.
	bdb, err := bolt.Open(filepath.Join(dir, DBFileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	states, contents := 0, 0
	err = bdb.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			switch {
			case bytes.HasPrefix(name, []byte("msgs-")):
				return b.ForEach(func(k, v []byte) error {
					states++
					if _, _, content, err := decodeMsg(v); err != nil || content != nil {
						t.Errorf("state record %x of %s: content %v, err %v", k, name, content, err)
					}
					return nil
				})
			case bytes.HasPrefix(name, []byte("bodies-")):
				contents += b.Stats().KeyN
			}
			return nil
		})
	})
	_ = bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if states != 2 || contents != 2 {
		t.Fatalf("after conversion: %d state records, %d contents; want 2, 2", states, contents)
	}

	// Served again after a restart on the converted database, and a
	// converted message still dead-letters with its content.
	e = openLegacyCopy(t, dir, fx, 60_000)
	ms := e.receive(url, 10, 0, nil)
	if len(ms) != 1 || aws.ToString(ms[0].MessageId) != fx.A.ID || aws.ToString(ms[0].Body) != "Đơn đăng ký kết hôn — hồ sơ 1" ||
		aws.ToString(ms[0].MD5OfMessageAttributes) != fx.A.MD5Attrs {
		t.Fatalf("after restart: %+v", ms)
	}
	for i := 0; i < 3; i++ { // receive counts 4 and 5, then the move
		e.receive(url, 10, 0, nil)
	}
	dl = e.receive(e.ts.URL+"/000000000000/legacy-dlq", 10, 0, nil)
	if len(dl) != 2 {
		t.Fatalf("dead-letter queue holds %d messages, want 2", len(dl))
	}
	for _, m := range dl {
		if aws.ToString(m.MessageId) == fx.A.ID && aws.ToString(m.Body) != "Đơn đăng ký kết hôn — hồ sơ 1" {
			t.Fatalf("dead-lettered a has body %q", aws.ToString(m.Body))
		}
	}
}
