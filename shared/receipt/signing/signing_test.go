package signing_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"motcua/shared/config"
	"motcua/shared/receipt/signing"
)

var (
	pairOnce        sync.Once
	devKey, devCert []byte
)

func pair(t *testing.T) ([]byte, []byte) {
	t.Helper()
	pairOnce.Do(func() {
		var err error
		devKey, devCert, err = signing.GenerateDevPair("Sở Tư pháp (dev)", time.Now())
		if err != nil {
			t.Fatal(err)
		}
	})
	return devKey, devCert
}

func TestLocal_signs_and_verifies(t *testing.T) {
	keyPEM, certPEM := pair(t)
	s, err := signing.NewLocal(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("biên lai"))
	sig, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(s.Certificate().PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if s.Certificate().Subject.CommonName != "Sở Tư pháp (dev)" {
		t.Errorf("subject = %q", s.Certificate().Subject.CommonName)
	}
	if _, err := s.Sign(nil, digest[:], crypto.SHA1); err == nil {
		t.Error("signing with SHA-1 accepted")
	}
	if _, err := s.Sign(nil, digest[:4], crypto.SHA256); err == nil {
		t.Error("short digest accepted")
	}
}

func TestNewLocal_refuses(t *testing.T) {
	keyPEM, certPEM := pair(t)
	otherKey, _, err := signing.GenerateDevPair("other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		key, cert []byte
	}{
		{"key_of_another_certificate", otherKey, certPEM},
		{"garbage_key", []byte("not pem"), certPEM},
		{"certificate_as_key", certPEM, certPEM},
		{"key_as_certificate", keyPEM, keyPEM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signing.NewLocal(tc.key, tc.cert)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), string(keyPEM[40:80])) {
				t.Fatalf("error leaks key material: %v", err)
			}
		})
	}
	if _, err := signing.NewLocal(otherKey, certPEM); !errors.Is(err, signing.ErrKeyMismatch) {
		t.Errorf("mismatch error = %v", err)
	}
}

// fakeKMS serves the two KMS operations the adapter uses (AWS JSON 1.1
// protocol) with a real RSA key, recording the requests.
type fakeKMS struct {
	key   *rsa.PrivateKey
	keyID string
	mu    sync.Mutex
	calls []map[string]any
	// tamper makes Sign return a signature of another digest.
	tamper bool
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	target := r.Header.Get("X-Amz-Target")
	in["target"] = target
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if in["KeyId"] != f.keyID {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"__type":"NotFoundException","message":"key not found"}`))
		return
	}
	switch target {
	case "TrentService.GetPublicKey":
		der, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": f.keyID, "PublicKey": der,
			"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})
	case "TrentService.Sign":
		msg, _ := base64.StdEncoding.DecodeString(in["Message"].(string))
		if f.tamper {
			msg[0] ^= 1
		}
		sig, err := rsa.SignPKCS1v15(nil, f.key, crypto.SHA256, msg)
		if err != nil {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"__type":"ValidationException","message":"bad digest"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": f.keyID, "Signature": sig,
			"SigningAlgorithm": in["SigningAlgorithm"]})
	default:
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"__type":"UnsupportedOperationException"}`))
	}
}

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

func secretsDir(t *testing.T, files map[string][]byte) config.Secrets {
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return config.Secrets{Dir: dir}
}

func TestFromConfig_kms_signs_through_the_KMS_API(t *testing.T) {
	keyPEM, certPEM := pair(t)
	priv, err := signing.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeKMS{key: priv, keyID: "alias/receipts"}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	src := config.MapSource{signing.KeySigner: "kms", signing.KeyKMSKeyID: "alias/receipts"}
	s, err := signing.FromConfig(context.Background(), src, secretsDir(t, map[string][]byte{signing.SecretCert: certPEM}), awsConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*signing.KMS); !ok {
		t.Fatalf("FromConfig returned %T, want *signing.KMS", s)
	}
	digest := sha256.Sum256([]byte("biên lai 42"))
	sig, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatal(err)
	}
	last := fake.calls[len(fake.calls)-1]
	if last["target"] != "TrentService.Sign" || last["MessageType"] != "DIGEST" || last["SigningAlgorithm"] != "RSASSA_PKCS1_V1_5_SHA_256" {
		t.Fatalf("Sign request = %v", last)
	}

	fake.tamper = true
	if _, err := s.Sign(nil, digest[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("a wrong KMS signature was accepted: %v", err)
	}
}

func TestFromConfig_refuses(t *testing.T) {
	_, certPEM := pair(t)
	other, _, _ := signing.GenerateDevPair("other", time.Now())
	otherPriv, _ := signing.ParsePrivateKey(other)
	srv := httptest.NewServer(&fakeKMS{key: otherPriv, keyID: "k1"})
	defer srv.Close()
	cases := []struct {
		name    string
		src     config.MapSource
		secrets map[string][]byte
		want    string
	}{
		{"unknown_mode", config.MapSource{signing.KeySigner: "hsm"}, nil, signing.KeySigner},
		{"kms_without_key_id", config.MapSource{signing.KeySigner: "kms"}, nil, signing.KeyKMSKeyID},
		{"local_without_secrets", config.MapSource{}, nil, signing.SecretCert},
		{"local_without_key", config.MapSource{}, map[string][]byte{signing.SecretCert: certPEM}, signing.SecretKey},
		{"kms_key_not_matching_certificate", config.MapSource{signing.KeySigner: "kms", signing.KeyKMSKeyID: "k1"},
			map[string][]byte{signing.SecretCert: certPEM}, "does not match"},
		{"kms_unknown_key", config.MapSource{signing.KeySigner: "kms", signing.KeyKMSKeyID: "k2"},
			map[string][]byte{signing.SecretCert: certPEM}, "NotFoundException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signing.FromConfig(context.Background(), tc.src, secretsDir(t, tc.secrets), awsConfig(srv.URL))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FromConfig() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestFromConfig_refuses_expired_certificate(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired"},
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(0, 0, -1)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	secrets := secretsDir(t, map[string][]byte{
		signing.SecretKey:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		signing.SecretCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	})
	_, err = signing.FromConfig(context.Background(), config.MapSource{}, secrets, aws.Config{})
	if err == nil || !strings.Contains(err.Error(), "not now") {
		t.Fatalf("FromConfig(expired certificate) = %v", err)
	}
}

func TestFromConfig_local(t *testing.T) {
	keyPEM, certPEM := pair(t)
	s, err := signing.FromConfig(context.Background(), config.MapSource{},
		secretsDir(t, map[string][]byte{signing.SecretKey: keyPEM, signing.SecretCert: certPEM}), aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*signing.Local); !ok {
		t.Fatalf("FromConfig returned %T, want *signing.Local", s)
	}
}
