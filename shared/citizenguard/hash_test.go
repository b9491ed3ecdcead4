package citizenguard

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua/shared/config"
	"motcua/shared/docstore"
)

// keyLine is a pepper line for kid with a key of n bytes of b.
func keyLine(kid string, b byte, n int) string {
	return kid + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

// testPepper is a key set with the given ids, the first current; a key id
// always has the same key (its SHA-256), so sets share keys by id.
func testPepper(t testing.TB, kids ...string) *Pepper {
	t.Helper()
	var lines []string
	for _, k := range kids {
		key := sha256.Sum256([]byte(k))
		lines = append(lines, k+":"+base64.StdEncoding.EncodeToString(key[:]))
	}
	p, err := ParsePepper(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPepper_Verify(t *testing.T) {
	k1 := testPepper(t, "k1")
	rotated := testPepper(t, "k2", "k1") // k2 current, k1 still verifies
	k2only := testPepper(t, "k2")
	sameKidOtherKey, err := ParsePepper(keyLine("k1", 'z', 32))
	if err != nil {
		t.Fatal(err)
	}
	newHash, err := k1.Hash("12345678")
	if err != nil {
		t.Fatal(err)
	}
	afterRotation, err := rotated.Hash("12345678")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := HashLegacy("12345678", 1000)
	if err != nil {
		t.Fatal(err)
	}
	swap := func(h Hashed, f func(*Hashed)) Hashed { f(&h); return h }
	cases := []struct {
		name    string
		p       *Pepper
		h       Hashed
		secret  string
		want    bool
		wantErr error
	}{
		{"new_right", k1, newHash, "12345678", true, nil},
		{"new_wrong", k1, newHash, "12345679", false, nil},
		{"new_empty_secret", k1, newHash, "", false, nil},
		{"legacy_right", k1, legacy, "12345678", true, nil},
		{"legacy_wrong", k1, legacy, "87654321", false, nil},
		{"legacy_without_pepper", nil, legacy, "12345678", true, nil},
		{"rotated_old_kid_still_verifies", rotated, newHash, "12345678", true, nil},
		{"rotated_new_kid", rotated, afterRotation, "12345678", true, nil},
		{"new_kid_unknown_to_old_set", k1, afterRotation, "12345678", false, ErrUnknownKey},
		{"retired_kid", k2only, newHash, "12345678", false, ErrUnknownKey},
		{"same_kid_other_key", sameKidOtherKey, newHash, "12345678", false, nil},
		{"peppered_without_pepper", nil, newHash, "12345678", false, ErrNoPepper},
		{"zero_hash", k1, Hashed{}, "12345678", false, ErrMalformedHash},
		{"unknown_scheme", k1, Hashed{Hash: "md5$1$AAAA", Salt: newHash.Salt}, "12345678", false, ErrMalformedHash},
		{"kid_with_bad_chars", k1, swap(newHash, func(h *Hashed) { h.Hash = strings.Replace(h.Hash, "$k1$", "$k/1$", 1) }), "12345678", false, ErrMalformedHash},
		{"mac_not_base64", k1, swap(newHash, func(h *Hashed) { h.Hash = "hmac-sha256$k1$!!!" }), "12345678", false, ErrMalformedHash},
		{"mac_truncated", k1, swap(newHash, func(h *Hashed) { h.Hash = h.Hash[:len(h.Hash)-4] }), "12345678", false, ErrMalformedHash},
		{"salt_missing", k1, swap(newHash, func(h *Hashed) { h.Salt = "" }), "12345678", false, ErrMalformedHash},
		{"salt_of_another_record", k1, swap(newHash, func(h *Hashed) { h.Salt = legacy.Salt }), "12345678", false, nil},
		{"extra_member", k1, swap(newHash, func(h *Hashed) { h.Hash += "$x" }), "12345678", false, ErrMalformedHash},
		{"huge_work_factor", k1, Hashed{Hash: "pbkdf2-sha256$999999999$AAAA", Salt: legacy.Salt}, "12345678", false, ErrMalformedHash},
		{"legacy_zero_work_factor", k1, Hashed{Hash: "pbkdf2-sha256$0$AAAA", Salt: legacy.Salt}, "12345678", false, ErrMalformedHash},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.Verify(c.h, c.secret)
			if got != c.want || !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("Verify = %v, %v; want %v, %v", got, err, c.want, c.wantErr)
			}
			if c.p.Compare(c.h, c.secret) != c.want {
				t.Fatal("Compare disagrees with Verify")
			}
		})
	}
}

func TestPepper_Hash_form(t *testing.T) {
	p := testPepper(t, "2026-12", "old")
	a, err := p.Hash("12345678")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Hash("12345678")
	if a.Scheme() != SchemeHMAC || !strings.HasPrefix(a.Hash, "hmac-sha256$2026-12$") {
		t.Fatalf("hash %q: want hmac-sha256$2026-12$…", a.Hash)
	}
	if a.Hash == b.Hash || a.Salt == b.Salt {
		t.Fatal("two hashes of one secret are equal: the salt is not fresh")
	}
	if strings.Contains(a.Hash+a.Salt, "12345678") {
		t.Fatal("the secret shows in its hash")
	}
	var nilPepper *Pepper
	if _, err := nilPepper.Hash("12345678"); !errors.Is(err, ErrNoPepper) {
		t.Fatalf("nil pepper Hash err = %v, want ErrNoPepper (never an unkeyed hash)", err)
	}
	if _, err := New(docstore.NewMemStore("b")).Hash("12345678"); !errors.Is(err, ErrNoPepper) {
		t.Fatalf("guard without pepper Hash err = %v, want ErrNoPepper", err)
	}
}

func TestParsePepper(t *testing.T) {
	good := keyLine("k1", 'a', 32)
	cases := []struct {
		name    string
		value   string
		current string
		kids    string
		wantErr string
	}{
		{"one_key", good, "k1", "k1", ""},
		{"current_is_first", keyLine("k2", 'b', 32) + "\n" + good + "\n", "k2", "k1,k2", ""},
		{"comments_blank_lines_crlf", "# rotated 2026-12\r\n\r\n" + keyLine("k2", 'b', 48) + "\r\n" + good, "k2", "k1,k2", ""},
		{"raw_url_base64", "k1:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), "k1", "k1", ""},
		{"empty", "", "", "", "no key"},
		{"only_comments", "# nothing\n", "", "", "no key"},
		{"no_colon", "k1 " + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)), "", "", "line 1: want"},
		{"bad_kid", keyLine("k$1", 'a', 32), "", "", "key id must match"},
		{"empty_kid", keyLine("", 'a', 32), "", "", "key id must match"},
		{"duplicate_kid", good + "\n" + keyLine("k1", 'b', 32), "", "", "appears twice"},
		{"not_base64", "k1:not base64 at all!", "", "", "not base64"},
		{"short_key", keyLine("k1", 'a', 16), "", "", "16 bytes"},
		{"huge_key", keyLine("k1", 'a', 300), "", "", "300 bytes"},
		{"hex_dev_value_of_wrong_shape", strings.Repeat("ab", 32), "", "", "line 1: want"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePepper(c.value)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'a'}, 16))) {
					t.Fatal("the error shows key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Current() != c.current || strings.Join(p.Kids(), ",") != c.kids {
				t.Fatalf("current %q kids %v; want %q %q", p.Current(), p.Kids(), c.current, c.kids)
			}
		})
	}
}

func TestLoadPepper(t *testing.T) {
	dir := t.TempDir()
	secrets := config.Secrets{Dir: dir}
	if _, err := LoadPepper(secrets); err == nil || !strings.Contains(err.Error(), PepperSecret) {
		t.Fatalf("missing secret: err = %v, want one naming %s", err, PepperSecret)
	}
	if err := os.WriteFile(filepath.Join(dir, PepperSecret), []byte("k1:c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPepper(secrets); err == nil || !strings.Contains(err.Error(), PepperSecret) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("malformed secret: err = %v, want one naming %s and the problem", err, PepperSecret)
	}
	v, err := GeneratePepper("dev1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PepperSecret), v, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPepper(secrets)
	if err != nil || p.Current() != "dev1" {
		t.Fatalf("generated secret: %v, %v", p, err)
	}
	if _, err := GeneratePepper("bad kid"); err == nil {
		t.Fatal("GeneratePepper accepted a bad key id")
	}
}

func TestPepper_is_never_printed(t *testing.T) {
	raw := bytes.Repeat([]byte{0x42}, 32)
	p, err := ParsePepper("k1:" + base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "pepper", p)
	out := fmt.Sprintf("%v %+v %#v %s", p, p, p, p) + logged.String()
	for _, leak := range []string{base64.StdEncoding.EncodeToString(raw), string(raw), fmt.Sprint(raw)} {
		if strings.Contains(out, leak) {
			t.Fatalf("the key shows in %q", out)
		}
	}
	if !strings.Contains(out, "k1") {
		t.Fatalf("the key id should show: %q", out)
	}
}

func TestCheck_pepper_cases(t *testing.T) {
	legacy, err := HashLegacy("12345678", 1000)
	if err != nil {
		t.Fatal(err)
	}
	retired, err := testPepper(t, "gone").Hash("12345678")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		opts    []Option
		h       Hashed
		pin     string
		wantErr error
		wantLog string
	}{
		{"legacy_record_right_pin", nil, legacy, "12345678", nil, ""},
		{"legacy_record_wrong_pin", nil, legacy, "00000000", errRefused, ""},
		{"retired_kid_refused_and_logged", nil, retired, "12345678", errRefused, "cannot be checked"},
		{"guard_without_pepper_fails_closed", []Option{WithPepper(nil)}, retired, "12345678", ErrNoPepper, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := newFixture(t, append([]Option{WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, c.opts...)...)
			f.hash = c.h
			err := f.try("A-1", "203.0.113.7", c.pin)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if c.wantLog != "" && !strings.Contains(logs.String(), c.wantLog) {
				t.Fatalf("logs %q lack %q", logs.String(), c.wantLog)
			}
			if strings.Contains(logs.String(), c.pin) {
				t.Fatal("the PIN was logged")
			}
		})
	}
}

func TestDummy_has_the_form_of_new_records(t *testing.T) {
	p := testPepper(t, "k2", "k1")
	if d := dummyFor(p); d.key == nil || string(d.key) != string(p.keys["k2"]) || len(d.want) != keyLen || len(d.salt) != saltLen {
		t.Fatalf("peppered dummy = %+v; want an HMAC with the current key", d)
	}
	if d := dummyFor(nil); d.iter != DefaultIterations || len(d.want) != keyLen {
		t.Fatalf("legacy dummy = %d iterations, %d bytes; want %d, %d", d.iter, len(d.want), DefaultIterations, keyLen)
	}
}

// FuzzParseHashed feeds arbitrary stored forms to the parser and the
// comparison: never a panic, never a match of a form the key set did not
// make, and a parsed HMAC form always has a known key id and exact sizes.
func FuzzParseHashed(f *testing.F) {
	p := testPepper(f, "k2", "k1")
	good, err := p.Hash("12345678")
	if err != nil {
		f.Fatal(err)
	}
	legacy, err := HashLegacy("12345678", 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Hash, good.Salt, "12345678")
	f.Add(legacy.Hash, legacy.Salt, "12345678")
	f.Add("hmac-sha256$zz$AAAA", "AAAA", "x")
	f.Add("hmac-sha256$k1$$", "", "")
	f.Add("pbkdf2-sha256$-1$AAAA", "AAAA", "x")
	f.Add("$$", "$", "$")
	f.Fuzz(func(t *testing.T, hash, salt, secret string) {
		h := Hashed{Hash: hash, Salt: salt}
		q, err := parseHashed(p, h)
		if err == nil {
			switch {
			case q.key != nil:
				if len(q.want) != keyLen || len(q.salt) != saltLen {
					t.Fatalf("parsed HMAC form with %d-byte MAC, %d-byte salt", len(q.want), len(q.salt))
				}
			case q.iter > 0:
				if q.iter > maxIterations || len(q.want) == 0 {
					t.Fatalf("parsed PBKDF2 form with %d iterations", q.iter)
				}
				return // do not spend fuzz time on big work factors
			default:
				t.Fatal("parsed form is neither HMAC nor PBKDF2")
			}
		}
		ok, verr := p.Verify(h, secret)
		if ok && (verr != nil || err != nil) {
			t.Fatal("an unparsable form matched")
		}
		if ok && h != good {
			// Only a MAC made with our key can match: the fuzzer cannot
			// forge one, so a match means it replayed good's members.
			if !strings.HasPrefix(hash, SchemeHMAC+"$") {
				t.Fatalf("matched %q", hash)
			}
		}
	})
}
