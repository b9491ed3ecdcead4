package staffauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"motcua/shared/httpx"
)

// memSecrets is a SecretSource over a map; safe for concurrent use so a
// test can rotate the set while verifying.
type memSecrets struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memSecrets) Get(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	if !ok || v == "" {
		return "", errors.New("secret missing")
	}
	return v, nil
}

func (s *memSecrets) set(name, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = v
}

// newTestSigner generates an Ed25519 signer.
func newTestSigner(tb testing.TB, kid string) (*Signer, []byte) {
	tb.Helper()
	priv, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewSigner(priv, kid)
	if err != nil {
		tb.Fatal(err)
	}
	return s, priv
}

// newES256Signer generates a P-256 signer.
func newES256Signer(tb testing.TB, kid string) *Signer {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), kid)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// verifierFor returns a verifier over the key set of signers.
func verifierFor(tb testing.TB, signers ...*Signer) (*Verifier, *memSecrets) {
	tb.Helper()
	set, err := PublicKeySet(signers...)
	if err != nil {
		tb.Fatal(err)
	}
	src := &memSecrets{m: map[string]string{PublicKeysSecret: string(set)}}
	v, err := NewVerifier(src)
	if err != nil {
		tb.Fatal(err)
	}
	return v, src
}

var (
	t0      = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	officer = Claims{Subject: "officer1", Agency: "STP", Roles: []string{RoleStaff}, Name: "Nguyễn Văn A"}
)

func mustMint(tb testing.TB, s *Signer, c Claims, ttl time.Duration, at time.Time) string {
	tb.Helper()
	tok, err := s.Mint(c, ttl, at)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// signRaw signs claims with any method and key, bypassing Signer's
// checks: the attacker's (or a misconfigured issuer's) token.
func signRaw(tb testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func goodClaims(at time.Time, ttl time.Duration) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": DefaultIssuer, "aud": DefaultAudience, "sub": "officer1", "agency": "STP",
		"roles": []string{RoleStaff}, "iat": at.Unix(), "exp": at.Add(ttl).Unix(),
	}
}

func TestMint_verify_round_trip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *Signer
		alg  string
	}{
		{"eddsa", func() *Signer { s, _ := newTestSigner(t, ""); return s }(), AlgEdDSA},
		{"es256", newES256Signer(t, "ec-2026"), AlgES256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := verifierFor(t, tc.s)
			tok := mustMint(t, tc.s, officer, 8*time.Hour, t0)
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Header["alg"] != tc.alg || parsed.Header["kid"] != tc.s.KeyID() {
				t.Errorf("header = %v", parsed.Header)
			}
			c, err := v.Verify("bearer "+tok, t0.Add(time.Hour))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "officer1" || c.Agency != "STP" || c.Name != "Nguyễn Văn A" || !c.HasRole(RoleStaff) || c.HasRole(RoleAdmin) ||
				c.KeyID != tc.s.KeyID() || !c.IssuedAt.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(8*time.Hour)) {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestThumbprint_kid_is_rfc7638(t *testing.T) {
	// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
	var k jose.JSONWebKey
	if err := json.Unmarshal([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), &k); err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("thumbprint = %s, want %s", got, want)
	}
}

func TestMint_refuses(t *testing.T) {
	s, _ := newTestSigner(t, "")
	tests := []struct {
		name   string
		claims Claims
		ttl    time.Duration
	}{
		{"no_subject", Claims{Agency: "STP"}, time.Hour},
		{"no_agency", Claims{Subject: "a"}, time.Hour},
		{"zero_ttl", Claims{Subject: "a", Agency: "STP"}, 0},
		{"ttl_above_max_lifetime", Claims{Subject: "a", Agency: "STP"}, MaxLifetime + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Mint(tt.claims, tt.ttl, t0); err == nil {
				t.Fatal("Mint accepted")
			}
		})
	}
}

func TestVerify_rejects(t *testing.T) {
	s, _ := newTestSigner(t, "")
	v, src := verifierFor(t, s)
	other, _ := newTestSigner(t, s.KeyID()) // same kid, another key: a forgery
	ecSameKid := newES256Signer(t, s.KeyID())
	good := mustMint(t, s, officer, time.Hour, t0)
	if _, err := v.Verify("Bearer "+good, t0); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	parts := strings.Split(good, ".")
	pubRaw := []byte(s.key.Public().(ed25519.PublicKey))
	pubPEM := func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(s.key.Public())
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	keySetJSON, _ := src.Get(PublicKeysSecret)

	withClaim := func(k string, val any) jwt.MapClaims {
		c := goodClaims(t0, time.Hour)
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	noneTok := signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.KeyID(), goodClaims(t0, time.Hour))
	tests := []struct {
		name   string
		auth   string
		now    time.Time
		kind   Kind
		status int
	}{
		{"no_header", "", t0, KindInvalid, 401},
		{"basic_scheme", "Basic b2ZmaWNlcjE6cHc=", t0, KindInvalid, 401},
		{"bearer_without_token", "Bearer ", t0, KindInvalid, 401},
		{"two_parts", "Bearer " + parts[0] + "." + parts[1], t0, KindInvalid, 401},
		{"forged_other_key_same_kid", "Bearer " + mustMint(t, other, officer, time.Hour, t0), t0, KindInvalid, 401},
		{"es256_key_under_eddsa_kid", "Bearer " + mustMint(t, ecSameKid, officer, time.Hour, t0), t0, KindInvalid, 401},
		{"alg_none", "Bearer " + noneTok, t0, KindInvalid, 401},
		{"alg_none_with_original_signature", "Bearer " + strings.Join(strings.Split(noneTok, ".")[:2], ".") + "." + parts[2], t0, KindInvalid, 401},
		{"hs256_with_raw_public_key_as_secret", "Bearer " + signRaw(t, jwt.SigningMethodHS256, pubRaw, s.KeyID(), goodClaims(t0, time.Hour)), t0, KindInvalid, 401},
		{"hs256_with_public_pem_as_secret", "Bearer " + signRaw(t, jwt.SigningMethodHS256, pubPEM, s.KeyID(), goodClaims(t0, time.Hour)), t0, KindInvalid, 401},
		{"hs256_with_key_set_as_secret", "Bearer " + signRaw(t, jwt.SigningMethodHS256, []byte(keySetJSON), s.KeyID(), goodClaims(t0, time.Hour)), t0, KindInvalid, 401},
		{"tampered_payload", "Bearer " + parts[0] + "." + strings.TrimRight(parts[1], "A") + "A." + parts[2], t0, KindInvalid, 401},
		{"tampered_signature", "Bearer " + parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), t0, KindInvalid, 401},
		{"padded_base64", "Bearer " + parts[0] + "." + parts[1] + "=." + parts[2], t0, KindInvalid, 401},
		{"unknown_kid", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, "not-in-set", goodClaims(t0, time.Hour)), t0, KindInvalid, 401},
		{"no_kid", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, "", goodClaims(t0, time.Hour)), t0, KindInvalid, 401},
		{"expired_beyond_leeway", "Bearer " + good, t0.Add(time.Hour + Leeway + time.Second), KindExpired, 401},
		{"not_yet_valid", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("nbf", t0.Add(10*time.Minute).Unix())), t0, KindInvalid, 401},
		{"issued_in_the_future", "Bearer " + mustMint(t, s, officer, time.Hour, t0.Add(10*time.Minute)), t0, KindInvalid, 401},
		{"lifetime_too_long", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), goodClaims(t0, MaxLifetime+time.Minute)), t0, KindInvalid, 401},
		{"no_iat", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("iat", nil)), t0, KindInvalid, 401},
		{"no_exp", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("exp", nil)), t0, KindInvalid, 401},
		{"wrong_audience", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("aud", "urn:other:api")), t0, KindInvalid, 401},
		{"no_audience", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("aud", nil)), t0, KindInvalid, 401},
		{"wrong_issuer", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("iss", "https://evil.example")), t0, KindInvalid, 401},
		{"exp_as_string", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("exp", "soon")), t0, KindInvalid, 401},
		{"missing_sub", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("sub", nil)), t0, KindInvalid, 401},
		{"missing_agency", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("agency", nil)), t0, KindInvalid, 401},
		{"missing_roles", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("roles", nil)), t0, KindNotStaff, 403},
		{"not_staff", "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, s.key, s.KeyID(), withClaim("roles", []string{"citizen"})), t0, KindNotStaff, 403},
		{"token_too_long", "Bearer " + strings.Repeat("a", maxTokenLen+1), t0, KindInvalid, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.auth, tt.now)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Kind != tt.kind || e.StatusCode() != tt.status {
				t.Fatalf("kind/status = %d/%d, want %d/%d (%v)", e.Kind, e.StatusCode(), tt.kind, tt.status, err)
			}
		})
	}
}

func TestVerify_leeway(t *testing.T) {
	s, _ := newTestSigner(t, "")
	v, _ := verifierFor(t, s)
	tok := mustMint(t, s, officer, time.Hour, t0)
	if _, err := v.Verify("Bearer "+tok, t0.Add(time.Hour+Leeway-time.Second)); err != nil {
		t.Fatalf("expired within leeway refused: %v", err)
	}
	early := mustMint(t, s, officer, time.Hour, t0.Add(Leeway/2))
	if _, err := v.Verify("Bearer "+early, t0); err != nil {
		t.Fatalf("iat within leeway refused: %v", err)
	}
}

func TestVerify_rotation(t *testing.T) {
	old, _ := newTestSigner(t, "2026-01")
	next, _ := newTestSigner(t, "2026-07")
	v, src := verifierFor(t, old)
	oldTok := mustMint(t, old, officer, time.Hour, t0)
	newTok := mustMint(t, next, officer, time.Hour, t0)
	check := func(step, tok string, ok bool) {
		t.Helper()
		_, err := v.Verify("Bearer "+tok, t0)
		if ok != (err == nil) {
			t.Fatalf("%s: err = %v, want ok=%v", step, err, ok)
		}
	}
	check("old_set_old_key", oldTok, true)
	check("old_set_new_key", newTok, false)
	both, _ := PublicKeySet(old, next)
	src.set(PublicKeysSecret, string(both)) // no restart, no new verifier
	check("both_listed_old_key", oldTok, true)
	check("both_listed_new_key", newTok, true)
	only, _ := PublicKeySet(next)
	src.set(PublicKeysSecret, string(only))
	check("old_removed_old_key", oldTok, false)
	check("old_removed_new_key", newTok, true)
	src.set(PublicKeysSecret, "{not json")
	if _, err := v.Verify("Bearer "+newTok, t0); err == nil || errors.As(err, new(*Error)) {
		t.Fatalf("broken key set: err = %v, want a server error (fail closed)", err)
	}
}

func TestNewVerifier_key_set_errors(t *testing.T) {
	s, priv := newTestSigner(t, "k1")
	pub := s.PublicJWK()
	privJWK := func() string {
		key, _, _ := parsePrivateKey(priv)
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1"}}})
		return string(b)
	}()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	set := func(keys ...jose.JSONWebKey) string {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	noKid := pub
	noKid.KeyID = ""
	wrongAlg := pub
	wrongAlg.Algorithm = "ES256"
	encUse := pub
	encUse.Use = "enc"
	tests := []struct {
		name string
		set  string
	}{
		{"missing", ""},
		{"not_json", "-----BEGIN PUBLIC KEY-----"},
		{"empty_set", `{"keys":[]}`},
		{"no_kid", set(noKid)},
		{"duplicate_kid", set(pub, pub)},
		{"private_key_published", privJWK},
		{"rsa_key", set(jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "r"})},
		{"p384_key", set(jose.JSONWebKey{Key: &p384.PublicKey, KeyID: "p"})},
		{"alg_mismatch", set(wrongAlg)},
		{"encryption_key", set(encUse)},
		{"hmac_key", `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &memSecrets{m: map[string]string{PublicKeysSecret: tt.set}}
			if _, err := NewVerifier(src); err == nil {
				t.Fatal("NewVerifier accepted the key set")
			}
		})
	}
}

func TestClaims_require_and_authorize(t *testing.T) {
	c := Claims{Subject: "o", Agency: "STP", Roles: []string{RoleStaff}}
	if err := Authorize(c, "stp"); err != nil {
		t.Fatalf("same agency: %v", err)
	}
	for _, agency := range []string{"SYT", ""} {
		if err := Authorize(c, agency); !errors.Is(err, ErrForbidden) {
			t.Fatalf("Authorize(%q) = %v, want ErrForbidden", agency, err)
		}
	}
	if err := c.Require(RoleStaff); err != nil {
		t.Fatal(err)
	}
	err := c.Require(RoleAdmin)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindMissingRole || !errors.Is(err, ErrForbidden) || e.ProblemCode() != "role_required" {
		t.Fatalf("Require(admin) = %v", err)
	}
	admin := Claims{Subject: "o", Agency: "STP", Roles: []string{RoleStaff, RoleAdmin}}
	if err := admin.Require(RoleAdmin); err != nil {
		t.Fatal(err)
	}
}

func TestFromError_problem(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		status    int
		code      string
		challenge bool
	}{
		{"invalid_token_401", &Error{Kind: KindInvalid, Reason: "x"}, 401, "invalid_token", true},
		{"expired_401", &Error{Kind: KindExpired, Reason: "x"}, 401, "token_expired", true},
		{"not_staff_403", &Error{Kind: KindNotStaff, Reason: "x"}, 403, "not_staff", false},
		{"wrong_agency_403", &Error{Kind: KindWrongAgency, Reason: "officer o"}, 403, "wrong_agency", false},
		{"role_required_403", &Error{Kind: KindMissingRole, Role: RoleAdmin, Reason: "officer o"}, 403, "role_required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := httpx.FromError(context.Background(), nil, tt.err)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var body map[string]any
			if err := json.Unmarshal(resp.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body["code"] != tt.code || body["detail_vi"] == "" || body["detail"] == "" {
				t.Fatalf("body = %v", body)
			}
			if strings.Contains(string(resp.Body), "officer o") {
				t.Fatalf("internal reason leaked: %s", resp.Body)
			}
			ch := http.Header(resp.Header).Get("WWW-Authenticate")
			if tt.challenge != strings.HasPrefix(ch, `Bearer error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate = %q", ch)
			}
		})
	}
}

// TestVerify_cached_token_keeps_every_check: a token verified once is
// remembered, but a repeat is still refused when its clock checks fail
// (expired, not yet valid) and a token carrying a remembered token's
// signature under another payload is checked from scratch and refused.
func TestVerify_cached_token_keeps_every_check(t *testing.T) {
	s, _ := newTestSigner(t, "")
	v, _ := verifierFor(t, s)
	tok := mustMint(t, s, officer, time.Hour, t0)
	first, err := v.Verify("Bearer "+tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := v.Verify("Bearer "+tok, t0.Add(time.Minute))
	if err != nil || again.Subject != first.Subject || again.Agency != first.Agency || !again.ExpiresAt.Equal(first.ExpiresAt) {
		t.Fatalf("repeat: %+v, %v; first %+v", again, err, first)
	}
	again.Roles[0] = "admin" // a caller changing its copy changes nothing stored
	if c, err := v.Verify("Bearer "+tok, t0); err != nil || !c.HasRole(RoleStaff) {
		t.Fatalf("after a caller changed its roles: %+v, %v", c, err)
	}
	var e *Error
	if _, err := v.Verify("Bearer "+tok, t0.Add(time.Hour+Leeway+time.Second)); !errors.As(err, &e) || e.Kind != KindExpired {
		t.Fatalf("expired repeat: %v, want KindExpired", err)
	}
	if _, err := v.Verify("Bearer "+tok, t0.Add(-2*Leeway)); !errors.As(err, &e) || e.Kind != KindInvalid {
		t.Fatalf("repeat before iat: %v, want KindInvalid", err)
	}
	parts := strings.Split(tok, ".")
	forged := goodClaims(t0, time.Hour)
	forged["sub"], forged["agency"] = "officer2", "UBND-X"
	payload, err := json.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	swapped := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	if c, err := v.Verify("Bearer "+swapped, t0); !errors.As(err, &e) || e.Kind != KindInvalid {
		t.Fatalf("remembered signature on another payload: %+v, %v, want KindInvalid", c, err)
	}
}

// BenchmarkVerify is one staff token check: a fresh token each time (the
// signature verified) against the same token again (remembered).
//
//	go test ./shared/staffauth -run '^$' -bench Verify
func BenchmarkVerify(b *testing.B) {
	s, _ := newTestSigner(b, "")
	v, _ := verifierFor(b, s)
	b.Run("fresh", func(b *testing.B) {
		toks := make([]string, b.N)
		for i := range toks {
			c := officer
			c.Subject = fmt.Sprintf("officer-%d", i)
			toks[i] = "Bearer " + mustMint(b, s, c, time.Hour, t0)
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := v.Verify(toks[i], t0.Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repeat", func(b *testing.B) {
		tok := "Bearer " + mustMint(b, s, officer, time.Hour, t0)
		for b.Loop() {
			if _, err := v.Verify(tok, t0.Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
