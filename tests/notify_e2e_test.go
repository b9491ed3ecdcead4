package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"motcua/cmd/dvcqg-sim/sim"
	"motcua/cmd/motcua-local/app"
	"motcua/shared/application"
	"motcua/shared/dvcqg"
	"motcua/shared/notify"
	"motcua/shared/queue"
	"motcua/shared/staffauth/stafftest"
)

// The two event consumers end to end, through the real connector: an
// application filed and processed through the gateway is told to the
// citizen by SMS and e-mail (the dev SMTP and SMS sinks the local stack
// starts) exactly once per event even when a provider fails first, and is
// synced to the portal simulator in order; an application the portal
// keeps refusing ends in dvcqg-events-dlq.
func TestNotifyAndPortalSync_through_the_connector(t *testing.T) {
	a, logs := startApp(t, app.Config{RepoRoot: repoRoot(t), ConnectorRetryBaseDelay: 200 * time.Millisecond})
	f := &fixture{a: a, gw: a.GatewayURL(), logs: logs, signer: stafftest.LoadSigner(t, filepath.Join(a.DataDir(), "secrets"))}
	sinks, portal := a.DevSinks(), a.DVCQGSim()
	if sinks == nil || portal == nil {
		t.Fatal("the local stack started no dev sinks or portal simulator")
	}

	// The first e-mail attempt fails (451): the connector redelivers and
	// the e-mail goes out once; the SMS went out on the first delivery and
	// is not sent again.
	sinks.FailNextMail(1)
	sub := f.submit(t, submitBody(t, 1000))
	code := sub.Code

	mailsFor := func(c string) int {
		n := 0
		for _, m := range sinks.Mails() {
			if strings.Contains(string(m.Raw), c) {
				n++
			}
		}
		return n
	}
	smsFor := func(c, want string) int {
		n := 0
		for _, s := range sinks.SMS() {
			if strings.Contains(s.Request.Content, c) && strings.Contains(s.Request.Content, want) {
				n++
			}
		}
		return n
	}
	waitFor(t, 60*time.Second, "the submitted notification by SMS and e-mail", func() bool {
		return smsFor(code, "đã được nộp") == 1 && mailsFor(code) == 1
	})
	for _, s := range sinks.SMS() {
		if s.Request.Phone != "0912345678" || s.Request.IsUnicode != "1" {
			t.Fatalf("SMS %+v", s.Request)
		}
	}
	if m := sinks.Mails()[0]; len(m.To) != 1 || m.To[0] != "hoa@example.vn" {
		t.Fatalf("mail to %v", m.To)
	}
	waitFor(t, 60*time.Second, "the application record at the portal", func() bool {
		return len(portalFor(portal, code)) >= 1
	})

	// Staff receive it, then ask for a supplement: each step is told once
	// and reaches the portal after the previous one.
	auth := f.token(t, "officer-1", e2eAgency)
	for _, action := range []map[string]any{
		{"code": code, "action": "receive"},
		{"code": code, "action": "request_supplement", "missing": []string{"UQ"}, "note": "Giấy ủy quyền phải có chứng thực"},
	} {
		if status, _, b := f.process(t, auth, action); status != http.StatusOK {
			t.Fatalf("%v: %d %s", action["action"], status, b)
		}
	}
	waitFor(t, 60*time.Second, "the supplement request by SMS, naming the document", func() bool {
		return smsFor(code, "cần bổ sung") == 1 && smsFor(code, "tiếp nhận lúc") == 1 && len(sinks.SMS()) == 3
	})
	want := []string{"DongBoHoSoMC:1", "CapNhatTienDoHoSoMC:2", "DongBoHoSoMC:2", "CapNhatTienDoHoSoMC:5"}
	waitFor(t, 60*time.Second, "the steps at the portal in order", func() bool {
		got := portalFor(portal, code)
		if len(got) > len(want) {
			t.Fatalf("portal got %v, more than %v", got, want)
		}
		return strings.Join(got, ",") == strings.Join(want, ",")
	})
	time.Sleep(2 * time.Second) // late duplicates would show up now
	if n := mailsFor(code); n != 3 {
		t.Fatalf("%d mails for %s, want 3 (submitted, received, supplement)", n, code)
	}
	if got := portalFor(portal, code); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("portal got %v after settling, want %v", got, want)
	}
	// The markers say what was sent; the stored recipient is masked.
	out, err := a.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(dataBucket), Prefix: aws.String(notify.SentPrefix)})
	if err != nil || len(out.Contents) < 6 {
		t.Fatalf("notification markers: %d, %v", len(out.Contents), err)
	}
	if strings.Contains(logs.String(), "0912345678") || strings.Contains(logs.String(), "+84912345678") || strings.Contains(logs.String(), "hoa@example.vn") {
		t.Fatal("a phone number or e-mail address reached the logs unmasked")
	}

	// The portal refuses everything: the next application's event is
	// retried maxReceiveCount times, then dead-lettered; nothing is
	// recorded as synced.
	portal.SetControl(sim.Control{FailRate: 1})
	sub2 := f.submit(t, submitBody(t, 1000))
	c := queue.NewConsumer(a.SQS())
	found := false
	waitFor(t, 150*time.Second, "the event in dvcqg-events-dlq", func() bool {
		msgs, err := c.Receive(context.Background(), "dvcqg-events-dlq", 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var p application.EventPayload
			env, err := m.Envelope()
			if err == nil && json.Unmarshal(env.Payload, &p) == nil && p.Code == sub2.Code {
				found = true
			}
		}
		return found
	})
	portal.SetControl(sim.Control{})
	code2, _ := application.ParseCode(sub2.Code)
	obj, err := a.S3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(dataBucket), Key: aws.String(dvcqg.StateKey(code2))})
	if err != nil {
		t.Fatalf("sync state of the dead-lettered application: %v", err)
	}
	var st dvcqg.State
	if err := json.NewDecoder(obj.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if st.Synced || st.Sent != 0 || st.Failures < 2 || st.LastError == "" {
		t.Fatalf("state %+v, want not synced with failures recorded", st)
	}
}

// portalFor lists "service:status" of what the simulator accepted for code.
func portalFor(s *sim.Sim, code string) []string {
	var out []string
	for _, r := range s.Received() {
		if r.MaHoSo == code {
			out = append(out, r.Service+":"+r.TrangThai)
		}
	}
	return out
}
