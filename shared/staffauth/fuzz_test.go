package staffauth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzNow is the fixed clock of FuzzVerify.
var fuzzNow = time.Unix(1_790_000_000, 0).UTC()

// FuzzVerify feeds arbitrary Authorization header values to Verify. It
// never panics, fails only with an *Error of a known kind, and accepts (or
// gets past the signature check with) only the exact header and payload of
// a token signed with the set's key, whose claims it returns unchanged.
func FuzzVerify(f *testing.F) {
	s, _ := newTestSigner(f, "fuzz-1")
	v, _ := verifierFor(f, s)
	other, _ := newTestSigner(f, "fuzz-1")
	vOther, _ := verifierFor(f, other)
	specs := []struct {
		c   Claims
		at  time.Time
		ttl time.Duration
	}{
		{Claims{Subject: "cb-0042", Roles: []string{RoleStaff}, Agency: "SO-TU-PHAP"}, fuzzNow, time.Hour},
		{Claims{Subject: "cb-0043", Roles: []string{"reviewer", RoleStaff, RoleAdmin}, Agency: "UBND-Phường Bến Nghé", Name: "Trần Thị B"}, fuzzNow.Add(-time.Hour), 2 * time.Hour},
		{Claims{Subject: "dan-1", Roles: []string{"citizen"}, Agency: "SO-TU-PHAP"}, fuzzNow, time.Hour},
		{Claims{Subject: "cb-0044", Roles: []string{RoleStaff}, Agency: "SO-TU-PHAP"}, fuzzNow.Add(-3 * time.Hour), time.Hour},
	}
	signed := map[string]Claims{}
	var valid string
	for i, sp := range specs {
		tok := mustMint(f, s, sp.c, sp.ttl, sp.at)
		c := sp.c
		c.KeyID, c.IssuedAt, c.ExpiresAt = s.KeyID(), sp.at, sp.at.Add(sp.ttl)
		signed[tok[:strings.LastIndexByte(tok, '.')]] = c
		if i == 0 {
			valid = tok
			got, err := v.Verify("Bearer "+tok, fuzzNow)
			if err != nil || !reflect.DeepEqual(got, c) {
				f.Fatalf("seed token does not verify: %+v, %v (want %+v)", got, err, c)
			}
		}
		f.Add("Bearer " + tok)
	}
	parts := strings.Split(valid, ".")
	for _, x := range []string{
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
		"Bearer " + signRaw(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "fuzz-1", goodClaims(fuzzNow, time.Hour)),
		"Bearer " + signRaw(f, jwt.SigningMethodHS256, []byte("fuzz-1"), "fuzz-1", goodClaims(fuzzNow, time.Hour)),
		"Bearer " + parts[0] + "." + parts[1] + "=." + parts[2],
		"Bearer ...",
		"Bearer ",
		"",
	} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, authorization string) {
		c, err := v.Verify(authorization, fuzzNow)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T (%v), want *Error", err, err)
			}
			if e.Kind != KindInvalid && e.Kind != KindExpired && e.Kind != KindNotStaff {
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
		// not staff): the signed part must be one the key signed.
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
		// Another key under the same kid never verifies it.
		if _, err := vOther.Verify(authorization, fuzzNow); err == nil {
			t.Fatalf("token verified with another key: %q", authorization)
		}
	})
}
