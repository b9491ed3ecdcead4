package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua/shared/config"
)

func TestLoadSettings(t *testing.T) {
	secretDir := t.TempDir()
	for name, v := range map[string]string{"basic-auth-user": "admin\n", "basic-auth-password": "s3cret\n"} {
		if err := os.WriteFile(filepath.Join(secretDir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	onlyUserDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(onlyUserDir, "basic-auth-user"), []byte("admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      config.MapSource
		check    func(t *testing.T, s settings)
		wantKeys []string // keys the error must name
	}{
		{
			name: "defaults_without_auth",
			env:  config.MapSource{config.SecretsDirKey: t.TempDir()},
			check: func(t *testing.T, s settings) {
				o := s.opts
				if o.GatewayURL != "http://127.0.0.1:8080" || o.DefaultConcurrency != 4 || o.WaitTime != 20*time.Second ||
					o.RefreshInterval != 30*time.Second || o.ShutdownGrace != 30*time.Second || o.GatewayUsername != "" || s.healthAddr != ":8081" {
					t.Errorf("defaults = %+v %q", o, s.healthAddr)
				}
			},
		},
		{
			name: "values_and_gateway_credentials",
			env: config.MapSource{
				"GATEWAY_URL": "http://gateway.openfaas:8080", "CONNECTOR_CONCURRENCY": "8", "CONNECTOR_WAIT_TIME": "5",
				"CONNECTOR_SHUTDOWN_GRACE": "45s", "CONNECTOR_HEALTH_ADDR": "off", config.SecretsDirKey: secretDir,
			},
			check: func(t *testing.T, s settings) {
				o := s.opts
				if o.GatewayURL != "http://gateway.openfaas:8080" || o.DefaultConcurrency != 8 || o.WaitTime != 5*time.Second ||
					o.ShutdownGrace != 45*time.Second || o.GatewayUsername != "admin" || o.GatewayPassword != "s3cret" || s.healthAddr != "off" {
					t.Errorf("settings = %+v %q", o, s.healthAddr)
				}
			},
		},
		{
			name:     "every_bad_key_is_named",
			env:      config.MapSource{"CONNECTOR_CONCURRENCY": "0", "CONNECTOR_WAIT_TIME": "30s", "CONNECTOR_REFRESH_INTERVAL": "soon"},
			wantKeys: []string{"CONNECTOR_CONCURRENCY", "CONNECTOR_WAIT_TIME", "CONNECTOR_REFRESH_INTERVAL"},
		},
		{
			name:     "half_configured_credentials_fail",
			env:      config.MapSource{config.SecretsDirKey: onlyUserDir},
			wantKeys: []string{"basic-auth-password"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := loadSettings(tt.env)
			if len(tt.wantKeys) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, k := range tt.wantKeys {
					if !strings.Contains(err.Error(), k) {
						t.Errorf("error %q does not name %s", err, k)
					}
				}
				if strings.Contains(err.Error(), "admin") {
					t.Errorf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadSettings: %v", err)
			}
			tt.check(t, s)
		})
	}
}
