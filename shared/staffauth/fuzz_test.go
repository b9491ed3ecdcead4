package staffauth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzSecret signs the seed tokens; the fuzzer never learns it.
var fuzzSecret = []byte("fuzz-staffauth-secret-0123456789abcdef")

// fuzzNow is the fixed clock of FuzzVerify.
var fuzzNow = time.Unix(1_790_000_000, 0)

// fuzzMinted is one token minted for the seed corpus.
type fuzzMinted struct {
	token  string
	input  string // header.payload, the signed part
	claims Claims // claims as minted (iat/exp filled)
}

// fuzzMint mints the seed tokens: a valid staff token, a staff token with a
// not-before in the future, a token without the staff role and an expired
// one.
func fuzzMint(tb testing.TB) []fuzzMinted {
	tb.Helper()
	specs := []struct {
		c   Claims
		at  time.Time
		ttl time.Duration
	}{
		{Claims{Subject: "cb-0042", Roles: []string{RoleStaff}, Agency: "SO-TU-PHAP"}, fuzzNow, time.Hour},
		{Claims{Subject: "cb-0043", Roles: []string{"reviewer", RoleStaff}, Agency: "UBND-Phường Bến Nghé", NotBefore: fuzzNow.Add(time.Hour).Unix()}, fuzzNow, 2 * time.Hour},
		{Claims{Subject: "dan-1", Roles: []string{"citizen"}, Agency: "SO-TU-PHAP"}, fuzzNow, time.Hour},
		{Claims{Subject: "cb-0044", Roles: []string{RoleStaff}, Agency: "SO-TU-PHAP"}, fuzzNow.Add(-3 * time.Hour), time.Hour},
	}
	out := make([]fuzzMinted, 0, len(specs))
	for _, s := range specs {
		tok, err := MintAt(fuzzSecret, s.c, s.ttl, s.at)
		if err != nil {
			tb.Fatalf("MintAt: %v", err)
		}
		c := s.c
		c.IssuedAt, c.ExpiresAt = s.at.Unix(), s.at.Add(s.ttl).Unix()
		out = append(out, fuzzMinted{token: tok, input: tok[:strings.LastIndexByte(tok, '.')], claims: c})
	}
	return out
}

// FuzzVerify feeds arbitrary Authorization header values to Verify. It
// never panics, fails only with an *Error of a known kind, and accepts (or
// gets past the signature check with) only the exact header and payload of
// a token signed with the secret, whose claims it returns unchanged.
func FuzzVerify(f *testing.F) {
	minted := fuzzMint(f)
	valid := minted[0].token
	if c, err := Verify(fuzzSecret, "Bearer "+valid, fuzzNow); err != nil || !reflect.DeepEqual(c, minted[0].claims) {
		f.Fatalf("seed token does not verify: %+v, %v", c, err)
	}
	parts := strings.Split(valid, ".")
	for _, m := range minted {
		f.Add("Bearer " + m.token)
	}
	for _, s := range []string{
		"bearer " + valid,
		"  BEARER   " + valid + "  ",
		"Bearer\t" + valid,
		valid,
		"Basic " + valid,
		"Bearer " + valid + "A",
		"Bearer " + valid[:len(valid)-1],
		"Bearer " + parts[0] + "." + parts[1] + ".",
		"Bearer " + parts[0] + "." + parts[1],
		"Bearer " + valid + "." + parts[2],
		"Bearer " + b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"Bearer " + b64.EncodeToString([]byte(`{"alg":"HS512"}`)) + "." + parts[1] + "." + parts[2],
		"Bearer " + parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"x","agency":"y","exp":9999999999,"roles":["staff"]}`)) + "." + parts[2],
		"Bearer " + parts[0] + "." + parts[1] + "=." + parts[2],
		"Bearer ...",
		"Bearer ",
		"Bearer",
		"",
		"Bearer " + strings.Repeat("a", maxTokenLen+1),
	} {
		f.Add(s)
	}
	signed := make(map[string]Claims, len(minted))
	for _, m := range minted {
		signed[m.input] = m.claims
	}
	otherSecret := []byte("another-secret-of-enough-length-0123456789")

	f.Fuzz(func(t *testing.T, authorization string) {
		c, err := Verify(fuzzSecret, authorization, fuzzNow)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T (%v), want *Error", err, err)
			}
			if e.Kind < KindInvalid || e.Kind > KindNotStaff {
				t.Fatalf("Verify returned kind %d: %v", e.Kind, e)
			}
			if st := e.StatusCode(); st != 401 && st != 403 {
				t.Fatalf("status %d", st)
			}
			if e.Kind == KindInvalid {
				return
			}
		}
		// Verified, or failed only after the signature check (expired,
		// not staff): the signed part must be one the secret signed.
		tok, terr := BearerToken(authorization)
		if terr != nil {
			t.Fatalf("Verify got past BearerToken but BearerToken fails: %v", terr)
		}
		i := strings.LastIndexByte(tok, '.')
		if i < 0 {
			t.Fatalf("verified token %q has no signature part", tok)
		}
		want, ok := signed[tok[:i]]
		if !ok {
			t.Fatalf("forged token passed the signature check: %q (err %v)", tok, err)
		}
		if err == nil && !reflect.DeepEqual(c, want) {
			t.Fatalf("claims %+v, want %+v", c, want)
		}
		// Another secret, or one too short, never verifies it.
		if _, err := Verify(otherSecret, authorization, fuzzNow); err == nil {
			t.Fatalf("token verified with another secret: %q", authorization)
		}
		if _, err := Verify(nil, authorization, fuzzNow); err == nil {
			t.Fatalf("token verified with an empty secret: %q", authorization)
		}
	})
}
