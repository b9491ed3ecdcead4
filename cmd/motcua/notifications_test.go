package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/notify"
)

func TestNotificationsList(t *testing.T) {
	store := docstore.NewMemStore("motcua-data")
	at := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	for i, r := range []notify.Record{
		{EventID: "e1", EventType: "application.submitted", Channel: notify.ChannelSMS, To: "+8491****567", ApplicationCode: "STP-261203-0001",
			Body: "Hồ sơ STP-261203-0001 đã được nộp", State: notify.StateSent, UpdatedAt: at},
		{EventID: "e2", EventType: "application.received", Channel: notify.ChannelEmail, To: "ho***@example.vn", ApplicationCode: "STP-261203-0002",
			Subject: "Hồ sơ STP-261203-0002 đã được tiếp nhận", Body: "…", State: notify.StateFailed, LastError: "smtp: 451", UpdatedAt: at.Add(time.Minute)},
	} {
		if _, err := docstore.PutJSON(context.Background(), store, notify.SentKey(r.EventID, r.Channel), r, docstore.PutOptions{}); err != nil {
			t.Fatal(i, err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		{"lists_newest_first", []string{"notifications", "list"}, 0, []string{"STP-261203-0002", "error: smtp: 451", "Hồ sơ STP-261203-0001 đã được nộp", "09:00:00"}, nil},
		{"filters_by_code", []string{"notifications", "list", "--code", "stp-261203-0001"}, 0, []string{"STP-261203-0001"}, []string{"STP-261203-0002"}},
		{"json", []string{"notifications", "list", "--json", "--limit", "1"}, 0, []string{`"eventId": "e2"`}, []string{`"eventId": "e1"`}},
		{"usage", []string{"notifications"}, 2, nil, nil},
		{"bad_limit", []string{"notifications", "list", "--limit", "0"}, 2, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, store, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if tc.name == "lists_newest_first" && strings.Index(out, "STP-261203-0002") > strings.Index(out, "STP-261203-0001") {
				t.Errorf("not newest first:\n%s", out)
			}
		})
	}
}
