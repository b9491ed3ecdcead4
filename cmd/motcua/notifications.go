package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"motcua/shared/notify"
	"motcua/shared/workdays"
)

func init() {
	groups["notifications"] = group{summary: "list the SMS and e-mails the notify function sent", run: notificationsCmd}
}

const notificationsUsage = `usage:
  motcua notifications list [--limit 50] [--code STP-261203-0001] [--json]

Lists the notifications the notify function recorded in MOTCUA_BUCKET
(notifications/sent/<event id>/<channel>.json), newest first: when, the
channel, the state (sent, failed, refused, sending), the event, the masked
recipient and the text. Against the local stack (make run) these are the
messages the dev SMTP and SMS sinks received (also kept as files under
.data/devsink/).`

func notificationsCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("%w\n%s", errUsage, notificationsUsage)
	}
	fs := flag.NewFlagSet("notifications list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	limit := fs.Int("limit", 50, "at most this many, newest first")
	code := fs.String("code", "", "only this application's (or feedback item's)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 || *limit < 1 {
		return fmt.Errorf("%w\n%s", errUsage, notificationsUsage)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	recs, err := notify.List(ctx, store, 0)
	if err != nil {
		return err
	}
	var out []notify.Record
	want := strings.ToUpper(strings.TrimSpace(*code))
	for _, r := range recs {
		if want != "" && r.ApplicationCode != want && r.FeedbackID != want {
			continue
		}
		out = append(out, r)
		if len(out) == *limit {
			break
		}
	}
	if *asJSON {
		if out == nil {
			out = []notify.Record{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(e.stdout, "no notifications")
		return nil
	}
	for _, r := range out {
		subject := ""
		if r.Subject != "" {
			subject = " «" + r.Subject + "»"
		}
		fmt.Fprintf(e.stdout, "%s  %-5s  %-7s  %s  %s → %s%s\n", r.UpdatedAt.In(workdays.Location).Format("2006-01-02 15:04:05"),
			r.Channel, r.State, r.EventType, strings.TrimSpace(r.ApplicationCode+r.FeedbackID), r.To, subject)
		if r.Channel == notify.ChannelSMS {
			fmt.Fprintf(e.stdout, "    %s\n", r.Body)
		}
		if r.LastError != "" {
			fmt.Fprintf(e.stdout, "    error: %s\n", r.LastError)
		}
	}
	return nil
}
