package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/config"
)

func TestFromEnviron(t *testing.T) {
	src := config.FromEnviron([]string{"A=1", "B=x=y", "EMPTY=", "junk", "A=2"})
	tests := []struct {
		name   string
		key    string
		want   string
		wantOK bool
	}{
		{name: "later_entry_wins", key: "A", want: "2", wantOK: true},
		{name: "value_keeps_equals_sign", key: "B", want: "x=y", wantOK: true},
		{name: "empty_value_is_set", key: "EMPTY", want: "", wantOK: true},
		{name: "entry_without_equals_ignored", key: "junk", wantOK: false},
		{name: "absent_key", key: "NOPE", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := src.Lookup(tt.key)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("Lookup(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestReader_values(t *testing.T) {
	src := config.MapSource{
		"S": " hello ", "N": "7", "D": "1m30s", "DSEC": "45", "B": "true", "LVL": "WARN",
	}
	r := config.NewReader(src)
	if got := r.String("S", config.Required()); got != "hello" {
		t.Errorf("String = %q, want trimmed %q", got, "hello")
	}
	if got := r.String("ABSENT", config.Default("dflt")); got != "dflt" {
		t.Errorf("String default = %q", got)
	}
	if got := r.String("LVL", config.OneOf("debug", "warn")); got != "WARN" {
		t.Errorf("String OneOf = %q", got)
	}
	if got := r.Int("N", config.Min(1), config.Max(10)); got != 7 {
		t.Errorf("Int = %d", got)
	}
	if got := r.Int("ABSENT", config.Default(5)); got != 5 {
		t.Errorf("Int default = %d", got)
	}
	if got := r.Duration("D"); got != 90*time.Second {
		t.Errorf("Duration = %s", got)
	}
	if got := r.Duration("DSEC"); got != 45*time.Second {
		t.Errorf("Duration bare seconds = %s", got)
	}
	if got := r.Duration("ABSENT", config.Default(3*time.Second)); got != 3*time.Second {
		t.Errorf("Duration default = %s", got)
	}
	if got := r.Bool("B"); !got {
		t.Errorf("Bool = false")
	}
	if got := r.Bool("ABSENT", config.Default(true)); !got {
		t.Errorf("Bool default = false")
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v, want nil", err)
	}
}

func TestReader_problems(t *testing.T) {
	tests := []struct {
		name    string
		src     config.MapSource
		read    func(r *config.Reader)
		wantErr error
	}{
		{name: "required_string_unset", src: config.MapSource{}, read: func(r *config.Reader) { r.String("K", config.Required()) }, wantErr: config.ErrMissing},
		{name: "required_string_blank", src: config.MapSource{"K": "  "}, read: func(r *config.Reader) { r.String("K", config.Required()) }, wantErr: config.ErrMissing},
		{name: "string_not_one_of", src: config.MapSource{"K": "loud"}, read: func(r *config.Reader) { r.String("K", config.OneOf("a", "b")) }, wantErr: config.ErrInvalid},
		{name: "int_not_a_number", src: config.MapSource{"K": "five"}, read: func(r *config.Reader) { r.Int("K") }, wantErr: config.ErrInvalid},
		{name: "int_below_min", src: config.MapSource{"K": "0"}, read: func(r *config.Reader) { r.Int("K", config.Min(1)) }, wantErr: config.ErrInvalid},
		{name: "int_above_max", src: config.MapSource{"K": "11"}, read: func(r *config.Reader) { r.Int("K", config.Max(10)) }, wantErr: config.ErrInvalid},
		{name: "duration_garbage", src: config.MapSource{"K": "soon"}, read: func(r *config.Reader) { r.Duration("K") }, wantErr: config.ErrInvalid},
		{name: "duration_below_min", src: config.MapSource{"K": "1ms"}, read: func(r *config.Reader) { r.Duration("K", config.Min(time.Second)) }, wantErr: config.ErrInvalid},
		{name: "bool_garbage", src: config.MapSource{"K": "yes please"}, read: func(r *config.Reader) { r.Bool("K") }, wantErr: config.ErrInvalid},
		{name: "default_of_wrong_type", src: config.MapSource{}, read: func(r *config.Reader) { r.Int("K", config.Default("5")) }, wantErr: config.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.NewReader(tt.src)
			tt.read(r)
			err := r.Err()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Err = %v, want %v", err, tt.wantErr)
			}
			var ke *config.KeyError
			if !errors.As(err, &ke) || ke.Key != "K" {
				t.Fatalf("Err = %v, want a KeyError naming K", err)
			}
		})
	}
}

func TestReader_reports_every_key_at_once(t *testing.T) {
	r := config.NewReader(config.MapSource{"PORT": "http", "SECRET_TOKEN": "s3cr3t-value"})
	r.String("NEED_A", config.Required())
	r.String("NEED_B", config.Required())
	r.Int("PORT")
	r.Int("SECRET_TOKEN")
	err := r.Err()
	if err == nil {
		t.Fatal("Err = nil, want problems")
	}
	for _, key := range []string{"NEED_A", "NEED_B", "PORT", "SECRET_TOKEN"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
	if strings.Contains(err.Error(), "s3cr3t-value") {
		t.Errorf("error %q leaks a value", err)
	}
}

func TestLoadCommon(t *testing.T) {
	tests := []struct {
		name     string
		src      config.MapSource
		want     config.Common
		wantKeys []string
	}{
		{
			name: "minimal",
			src:  config.MapSource{"MOTCUA_BUCKET": "motcua-data"},
			want: config.Common{Bucket: "motcua-data", LogLevel: "info"},
		},
		{
			name: "everything_set",
			src: config.MapSource{"MOTCUA_BUCKET": "motcua-data", "MOTCUA_UPLOADS_BUCKET": "motcua-uploads",
				"MOTCUA_EVENTS_QUEUE": "application-events", "MOTCUA_LOG_LEVEL": "DEBUG"},
			want: config.Common{Bucket: "motcua-data", UploadsBucket: "motcua-uploads", EventsQueue: "application-events", LogLevel: "debug"},
		},
		{
			name:     "all_problems_named_together",
			src:      config.MapSource{"MOTCUA_UPLOADS_BUCKET": "Bad_Bucket", "MOTCUA_EVENTS_QUEUE": "no spaces", "MOTCUA_LOG_LEVEL": "loud"},
			wantKeys: []string{"MOTCUA_BUCKET", "MOTCUA_UPLOADS_BUCKET", "MOTCUA_EVENTS_QUEUE", "MOTCUA_LOG_LEVEL"},
		},
		{
			name:     "bad_bucket_name",
			src:      config.MapSource{"MOTCUA_BUCKET": "-x"},
			wantKeys: []string{"MOTCUA_BUCKET"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.LoadCommon(tt.src)
			if len(tt.wantKeys) == 0 {
				if err != nil {
					t.Fatalf("LoadCommon: %v", err)
				}
				if got != tt.want {
					t.Fatalf("LoadCommon = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadCommon = %+v, want an error", got)
			}
			for _, k := range tt.wantKeys {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("bank-key", "abc123\n")
	write("crlf", "v\r\n")
	write("inner", "line1\nline2\n\n")
	write("empty", "\n")
	s := config.SecretsFrom(config.MapSource{"MOTCUA_SECRETS_DIR": dir})
	tests := []struct {
		name    string
		secret  string
		want    string
		wantErr error
	}{
		{name: "trailing_newline_trimmed", secret: "bank-key", want: "abc123"},
		{name: "crlf_trimmed", secret: "crlf", want: "v"},
		{name: "only_one_newline_trimmed", secret: "inner", want: "line1\nline2\n"},
		{name: "empty_is_missing", secret: "empty", wantErr: config.ErrSecretMissing},
		{name: "absent_is_missing", secret: "nope", wantErr: config.ErrSecretMissing},
		{name: "path_traversal_rejected", secret: "../etc", wantErr: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Get(tt.secret)
			if tt.name == "path_traversal_rejected" {
				if err == nil {
					t.Fatalf("Get(%q) = %q, want an error", tt.secret, got)
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get = %q, %v; want %v", got, err, tt.wantErr)
				}
				var se *config.SecretError
				if !errors.As(err, &se) || se.Name != tt.secret {
					t.Fatalf("error %v does not name secret %q", err, tt.secret)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Get = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSecretsFrom_default_dir(t *testing.T) {
	if got := config.SecretsFrom(config.MapSource{}).Dir; got != config.DefaultSecretsDir {
		t.Fatalf("Dir = %q, want %q", got, config.DefaultSecretsDir)
	}
}
