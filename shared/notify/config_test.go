package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua/shared/config"
	"motcua/shared/docstore"
	"motcua/shared/notify"
)

func TestFromConfig(t *testing.T) {
	secrets := t.TempDir()
	for name, v := range map[string]string{"sms-api-key": "k", "sms-secret-key": "s", "smtp-password": "p"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	full := config.MapSource{"MOTCUA_SECRETS_DIR": secrets, notify.KeySMSURL: "http://127.0.0.1:1/x", notify.KeySMSBrandname: "DVC",
		notify.KeySMTPAddr: "smtp.example.vn:587", notify.KeySMTPFrom: "a@example.vn"}
	with := func(kv ...string) config.MapSource {
		m := config.MapSource{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name string
		src  config.MapSource
		want []string // "" = ok
	}{
		{"complete", full, nil},
		{"email_only_needs_no_sms_settings", config.MapSource{notify.KeyChannels: "email", notify.KeySMTPAddr: "smtp.example.vn:587", notify.KeySMTPFrom: "a@example.vn"}, nil},
		{"missing_keys_are_named", with(notify.KeySMSURL, "", notify.KeySMTPFrom, ""), []string{notify.KeySMSURL, notify.KeySMTPFrom}},
		{"unknown_channel", with(notify.KeyChannels, "sms,fax"), []string{"fax"}},
		{"bad_security", with(notify.KeySMTPSecurity, "ssl3"), []string{notify.KeySMTPSecurity}},
		{"clear_text_login_refused", with(notify.KeySMTPSecurity, "none", notify.KeySMTPUsername, "u"), []string{"in clear"}},
		{"missing_sms_secret", with("MOTCUA_SECRETS_DIR", t.TempDir()), []string{"sms-api-key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.FromConfig(tc.src, config.SecretsFrom(tc.src), docstore.NewMemStore("b"), nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
