package devsink_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua/infra/devsink"
	"motcua/shared/notify"
)

func TestSinks_record_to_memory_and_files(t *testing.T) {
	dir := t.TempDir()
	s, err := devsink.Start(devsink.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	sms, err := notify.NewESMS(notify.ESMSConfig{URL: s.SMSURL(), APIKey: "k", SecretKey: "s", Brandname: "DVC"})
	if err != nil {
		t.Fatal(err)
	}
	// The same RequestId twice: eSMS keeps one message (the sink too).
	for range 2 {
		if _, err := sms.Send(ctx, notify.Outgoing{To: "+84901234567", Body: "Hồ sơ đã được tiếp nhận", RequestID: "r1"}); err != nil {
			t.Fatal(err)
		}
	}
	mail, err := notify.NewSMTP(notify.SMTPConfig{Addr: s.SMTPAddr(), Security: notify.SMTPPlain, From: "a@b.vn"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mail.Send(ctx, notify.Outgoing{To: "x@y.vn", Name: "Nguyễn Văn A", Subject: "Tiêu đề có dấu", Body: "Nội dung", RequestID: "r2"}); err != nil {
		t.Fatal(err)
	}
	s.FailNextSMS(1)
	if _, err := sms.Send(ctx, notify.Outgoing{To: "0901234567", Body: "x", RequestID: "r3"}); err == nil || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("a 503 from the provider: %v, want a transient error", err)
	}
	if got := s.SMS(); len(got) != 1 || got[0].Request.Phone != "0901234567" {
		t.Fatalf("SMS = %+v", got)
	}
	if got := s.Mails(); len(got) != 1 || got[0].Header().Get("Subject") == "" || !strings.Contains(string(got[0].Raw), "=?utf-8?b?") {
		t.Fatalf("mails = %+v", got)
	}
	for _, sub := range []string{"mail", "sms"} {
		files, _ := os.ReadDir(filepath.Join(dir, sub))
		if len(files) != 1 {
			t.Fatalf("%s: %d files, want 1", sub, len(files))
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sms", mustOnly(t, filepath.Join(dir, "sms"))))
	if strings.Contains(string(b), `"k"`) || strings.Contains(string(b), "SecretKey\": \"s") {
		t.Fatalf("credentials written to the SMS file: %s", b)
	}
}

func mustOnly(t *testing.T, dir string) string {
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("%s: %v", dir, err)
	}
	return files[0].Name()
}
