package staffauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"motcua/shared/httpx"
)

var testSecret = []byte("motcua-test-secret-0123456789abcdef")

// rfcShapeToken was computed outside Go (Python hmac/base64) in the shape
// of RFC 7519 §3.1's example: CRLF and spaces inside the JSON, typ before
// alg. Header {"typ":"JWT",\r\n "alg":"HS256"}, payload
// {"sub":"officer1",\r\n "roles":["staff","reviewer"],\r\n "agency":"STP",
// \r\n "exp":1300819380,\r\n "iat":1300815780}.
const rfcShapeToken = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." +
	"eyJzdWIiOiJvZmZpY2VyMSIsDQogInJvbGVzIjpbInN0YWZmIiwicmV2aWV3ZXIiXSwNCiAiYWdlbmN5IjoiU1RQIiwNCiAiZXhwIjoxMzAwODE5MzgwLA0KICJpYXQiOjEzMDA4MTU3ODB9." +
	"j8wARgPtCG_ojGB3rseqO8zl5pEUMWkLQtRK_Tssg9E"

var rfcNow = time.Unix(1300819000, 0)

var b64t = base64.RawURLEncoding

// handToken builds a token from raw header and payload JSON, signed with
// secret (or with the given raw signature when sig != nil).
func handToken(secret []byte, headerJSON, payloadJSON string, sig []byte) string {
	in := b64t.EncodeToString([]byte(headerJSON)) + "." + b64t.EncodeToString([]byte(payloadJSON))
	if sig == nil {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	}
	return in + "." + b64t.EncodeToString(sig)
}

func TestVerifyRFCShapeVector(t *testing.T) {
	c, err := Verify(testSecret, "Bearer "+rfcShapeToken, rfcNow)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := Claims{Subject: "officer1", Roles: []string{"staff", "reviewer"}, Agency: "STP", ExpiresAt: 1300819380, IssuedAt: 1300815780}
	if c.Subject != want.Subject || c.Agency != want.Agency || c.ExpiresAt != want.ExpiresAt || c.IssuedAt != want.IssuedAt || strings.Join(c.Roles, ",") != "staff,reviewer" {
		t.Fatalf("claims = %+v, want %+v", c, want)
	}
}

func TestMintVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	tok, err := MintAt(testSecret, Claims{Subject: "officer1", Agency: "STP", Roles: []string{RoleStaff}}, 8*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", tok, len(parts))
	}
	hb, _ := b64t.DecodeString(parts[0])
	if string(hb) != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header = %s", hb)
	}
	c, err := Verify(testSecret, "bearer "+tok, now.Add(time.Hour))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.ExpiresAt != now.Add(8*time.Hour).Unix() || c.IssuedAt != now.Unix() {
		t.Errorf("exp/iat = %d/%d", c.ExpiresAt, c.IssuedAt)
	}
}

func TestMintRefuses(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		claims Claims
		ttl    time.Duration
	}{
		{"short_secret", []byte("short"), Claims{Subject: "a", Agency: "STP"}, time.Hour},
		{"no_subject", testSecret, Claims{Agency: "STP"}, time.Hour},
		{"no_agency", testSecret, Claims{Subject: "a"}, time.Hour},
		{"zero_ttl", testSecret, Claims{Subject: "a", Agency: "STP"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Mint(tt.secret, tt.claims, tt.ttl); err == nil {
				t.Fatal("Mint accepted")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	const okHeader = `{"alg":"HS256","typ":"JWT"}`
	exp := rfcNow.Add(time.Hour).Unix()
	payload := func(extra string) string {
		return `{"sub":"officer1","roles":["staff"],"agency":"STP","exp":` + itoa(exp) + extra + `}`
	}
	good := handToken(testSecret, okHeader, payload(""), nil)
	if _, err := Verify(testSecret, "Bearer "+good, rfcNow); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64t.EncodeToString([]byte(strings.Replace(payload(""), "STP", "SYT", 1))) + "." + parts[2]
	tests := []struct {
		name   string
		auth   string
		now    time.Time
		kind   Kind
		status int
	}{
		{"no_header", "", rfcNow, KindInvalid, 401},
		{"basic_scheme", "Basic b2ZmaWNlcjE6cHc=", rfcNow, KindInvalid, 401},
		{"bearer_without_token", "Bearer ", rfcNow, KindInvalid, 401},
		{"two_parts", "Bearer " + parts[0] + "." + parts[1], rfcNow, KindInvalid, 401},
		{"alg_none_unsigned", "Bearer " + b64t.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".", rfcNow, KindInvalid, 401},
		{"alg_none_with_valid_mac", "Bearer " + handToken(testSecret, `{"alg":"none"}`, payload(""), nil), rfcNow, KindInvalid, 401},
		{"alg_hs512", "Bearer " + handToken(testSecret, `{"alg":"HS512"}`, payload(""), nil), rfcNow, KindInvalid, 401},
		{"alg_lowercase", "Bearer " + handToken(testSecret, `{"alg":"hs256"}`, payload(""), nil), rfcNow, KindInvalid, 401},
		{"tampered_payload", "Bearer " + tampered, rfcNow, KindInvalid, 401},
		{"tampered_signature", "Bearer " + parts[0] + "." + parts[1] + "." + b64t.EncodeToString(make([]byte, 32)), rfcNow, KindInvalid, 401},
		{"other_secret", "Bearer " + handToken([]byte("another-secret-of-enough-length-000"), okHeader, payload(""), nil), rfcNow, KindInvalid, 401},
		{"bad_base64_signature", "Bearer " + parts[0] + "." + parts[1] + ".***", rfcNow, KindInvalid, 401},
		{"payload_not_json", "Bearer " + handToken(testSecret, okHeader, `not json`, nil), rfcNow, KindInvalid, 401},
		{"missing_exp", "Bearer " + handToken(testSecret, okHeader, `{"sub":"officer1","roles":["staff"],"agency":"STP"}`, nil), rfcNow, KindInvalid, 401},
		{"missing_sub", "Bearer " + handToken(testSecret, okHeader, `{"roles":["staff"],"agency":"STP","exp":`+itoa(exp)+`}`, nil), rfcNow, KindInvalid, 401},
		{"missing_agency", "Bearer " + handToken(testSecret, okHeader, `{"sub":"o","roles":["staff"],"exp":`+itoa(exp)+`}`, nil), rfcNow, KindInvalid, 401},
		{"missing_roles", "Bearer " + handToken(testSecret, okHeader, `{"sub":"o","agency":"STP","exp":`+itoa(exp)+`}`, nil), rfcNow, KindInvalid, 401},
		{"exp_as_string", "Bearer " + handToken(testSecret, okHeader, `{"sub":"o","roles":["staff"],"agency":"STP","exp":"soon"}`, nil), rfcNow, KindInvalid, 401},
		{"expired_beyond_leeway", "Bearer " + good, time.Unix(exp, 0).Add(Leeway + time.Second), KindExpired, 401},
		{"not_yet_valid", "Bearer " + handToken(testSecret, okHeader, payload(`,"nbf":`+itoa(rfcNow.Add(10*time.Minute).Unix())), nil), rfcNow, KindExpired, 401},
		{"not_staff", "Bearer " + handToken(testSecret, okHeader, `{"sub":"o","roles":["citizen"],"agency":"STP","exp":`+itoa(exp)+`}`, nil), rfcNow, KindNotStaff, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(testSecret, tt.auth, tt.now)
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

func TestVerifyLeeway(t *testing.T) {
	exp := rfcNow.Unix()
	tok := handToken(testSecret, `{"alg":"HS256"}`, `{"sub":"o","roles":["staff"],"agency":"STP","exp":`+itoa(exp)+`,"nbf":`+itoa(exp+30)+`}`, nil)
	if _, err := Verify(testSecret, "Bearer "+tok, rfcNow.Add(Leeway)); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
}

func TestVerifyEmptySecretNeverVerifies(t *testing.T) {
	tok := handToken(nil, `{"alg":"HS256"}`, `{"sub":"o","roles":["staff"],"agency":"STP","exp":9999999999}`, nil)
	if _, err := Verify(nil, "Bearer "+tok, rfcNow); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
}

func TestAuthorize(t *testing.T) {
	c := Claims{Subject: "o", Agency: "STP", Roles: []string{RoleStaff}}
	if err := Authorize(c, "stp"); err != nil {
		t.Fatalf("same agency: %v", err)
	}
	for _, agency := range []string{"SYT", ""} {
		err := Authorize(c, agency)
		if !errors.Is(err, ErrForbidden) {
			t.Fatalf("Authorize(%q) = %v, want ErrForbidden", agency, err)
		}
	}
}

func TestFromErrorProblem(t *testing.T) {
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

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
