package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
)

// TestAttacker_through_the_gateway plays the attacker of issue 11 against
// the whole local stack: guessing PINs on every guarded path, trying to
// lock a citizen out, steering storage keys, uploading more than declared.
// Distinct attackers are distinct loopback source addresses (127.0.0.x):
// the gateway puts the peer into X-Forwarded-For and the functions trust
// only the gateway (MOTCUA_TRUSTED_PROXIES' loopback default).
func TestAttacker_through_the_gateway(t *testing.T) {
	f := newFixture(t)
	pdf := minimalPDF("To khai - attacker")
	body := submitBody(t, len(pdf))
	newApp := func(t *testing.T) application.SubmitResult {
		t.Helper()
		return f.submit(t, body)
	}
	pair := citizenguard.DefaultPolicy.Pair.Free

	// guessUntilThrottled sends wrong guesses from one address until the
	// answer is 429 and returns the number of 404s before it.
	guessUntilThrottled := func(t *testing.T, from, method, fn, query string, payload map[string]string) int {
		t.Helper()
		for i := 0; i <= pair+1; i++ {
			code, hdr, b := doFrom(t, from, method, f.gw+"/function/"+fn+query, payload)
			switch code {
			case http.StatusNotFound:
				continue
			case http.StatusTooManyRequests:
				if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 {
					t.Fatalf("429 without a usable Retry-After: %q", hdr.Get("Retry-After"))
				}
				return i
			default:
				t.Fatalf("guess %d on %s: %d %s", i+1, fn, code, b)
			}
		}
		t.Fatalf("%d wrong guesses on %s%s from one address never hit the throttle", pair+2, fn, query)
		return 0
	}

	t.Run("pin_guessing_hits_the_throttle_on_every_guarded_path", func(t *testing.T) {
		paths := []struct {
			name, method, fn, query string
			payload                 func(code string) map[string]string
		}{
			{"status", http.MethodPost, "application-status", "", func(c string) map[string]string { return map[string]string{"code": c, "pin": "00000000"} }},
			{"complete_uploads", http.MethodPost, "submit-application", "?action=complete-uploads", func(c string) map[string]string { return map[string]string{"code": c, "pin": "00000000"} }},
			{"cancel", http.MethodPost, "submit-application", "?action=cancel", func(c string) map[string]string { return map[string]string{"code": c, "pin": "00000000"} }},
			{"pay_fee", http.MethodPost, "pay-fee", "", func(c string) map[string]string {
				return map[string]string{"code": c, "pin": "00000000", "method": "vietqr"}
			}},
		}
		for i, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				victim := newApp(t)
				from := fmt.Sprintf("127.0.0.%d", 10+i)
				if n := guessUntilThrottled(t, from, p.method, p.fn, p.query, p.payload(victim.Code)); n != pair {
					t.Fatalf("throttled after %d wrong guesses, want %d", n, pair)
				}
				// Even the right PIN is refused to this address now: a lucky
				// guess on cancel cannot withdraw the application.
				right := p.payload(victim.Code)
				right["pin"] = victim.PIN
				if code, _, b := doFrom(t, from, p.method, f.gw+"/function/"+p.fn+p.query, right); code != http.StatusTooManyRequests {
					t.Fatalf("right PIN from the throttled address: %d %s", code, b)
				}
				if v := f.status(t, victim.Code, victim.PIN); v.Status != application.StatusSubmitted {
					t.Fatalf("victim's application is %s after the attack", v.Status)
				}
			})
		}
		t.Run("pay_fee_status_by_ref", func(t *testing.T) {
			q := func() string { return "?" + url.Values{"ref": {"MCAAAAAAAAAAAA"}, "pin": {"00000000"}}.Encode() }
			if n := guessUntilThrottled(t, "127.0.0.20", http.MethodGet, "pay-fee", q(), nil); n != pair {
				t.Fatalf("throttled after %d wrong guesses, want %d", n, pair)
			}
		})
	})

	t.Run("an_attacker_cannot_lock_the_citizen_out", func(t *testing.T) {
		victim := newApp(t)
		// Sequential codes are easy to find; many addresses guess on one.
		for i := range 6 {
			from := fmt.Sprintf("127.0.1.%d", 10+i)
			for range pair {
				code, _, b := doFrom(t, from, http.MethodPost, f.gw+"/function/application-status", map[string]string{"code": victim.Code, "pin": "00000000"})
				if code != http.StatusNotFound && code != http.StatusTooManyRequests {
					t.Fatalf("guess: %d %s", code, b)
				}
			}
		}
		// The citizen, from their own address, is at worst slowed for the
		// per-code delay, never locked out.
		payload := map[string]string{"code": victim.Code, "pin": victim.PIN}
		code, hdr, b := doFrom(t, "127.0.2.1", http.MethodPost, f.gw+"/function/application-status", payload)
		if code == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(hdr.Get("Retry-After"))
			if max := int(citizenguard.DefaultPolicy.ID.Max / time.Second); wait < 1 || wait > max {
				t.Fatalf("owner asked to wait %ds, more than the per-code delay %ds", wait, max)
			}
			time.Sleep(time.Duration(wait) * time.Second)
			code, _, b = doFrom(t, "127.0.2.1", http.MethodPost, f.gw+"/function/application-status", payload)
		}
		if code != http.StatusOK {
			t.Fatalf("owner after the attack: %d %s", code, b)
		}
	})

	t.Run("a_forged_x_forwarded_for_does_not_make_a_new_client", func(t *testing.T) {
		victim := newApp(t)
		from := "127.0.3.1"
		guessUntilThrottled(t, from, http.MethodPost, "application-status", "", map[string]string{"code": victim.Code, "pin": "00000000"})
		code, _, b := doFrom(t, from, http.MethodPost, f.gw+"/function/application-status",
			map[string]string{"code": victim.Code, "pin": "00000000"}, "X-Forwarded-For", "203.0.113.99", "X-Real-Ip", "203.0.113.98")
		if code != http.StatusTooManyRequests {
			t.Fatalf("forged headers escaped the throttle: %d %s", code, b)
		}
	})

	t.Run("key_shaped_inputs_are_refused", func(t *testing.T) {
		for _, bad := range []string{"../../applications/x", "STP%2F261203-0001", "STP/261203/0001", strings.Repeat("A", 300), "STP-261203-０００1", "STP-261203-0001.json", "STP-261203-0001\x00"} {
			for _, call := range []struct{ fn, query string }{
				{"application-status", ""}, {"submit-application", "?action=cancel"}, {"submit-application", "?action=complete-uploads"},
			} {
				code, hdr, b := doFrom(t, "127.0.4.1", http.MethodPost, f.gw+"/function/"+call.fn+call.query, map[string]string{"code": bad, "pin": "12345678"})
				if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
					t.Fatalf("%s with code %.40q: %d %s", call.fn, bad, code, b)
				}
				decodeProblem(t, hdr, b)
			}
			q := "?" + url.Values{"ref": {bad}, "pin": {"12345678"}}.Encode()
			if code, _, b := doFrom(t, "127.0.4.1", http.MethodGet, f.gw+"/function/pay-fee"+q, nil); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
				t.Fatalf("pay-fee ref %.40q: %d %s", bad, code, b)
			}
		}
		// GET with a raw encoded slash in the query string.
		if code, _, b := doFrom(t, "127.0.4.1", http.MethodGet, f.gw+"/function/application-status?code=..%2F..%2Fapplications%2Fx&pin=12345678", nil); code != http.StatusBadRequest {
			t.Fatalf("encoded path in GET: %d %s", code, b)
		}
	})

	t.Run("an_oversized_upload_is_refused", func(t *testing.T) {
		victim := newApp(t)
		u := victim.Uploads[0]
		if u.Headers["Content-Length"] != strconv.Itoa(len(pdf)) || u.Size != int64(len(pdf)) {
			t.Fatalf("upload does not bind the declared size: %+v", u)
		}
		parsed, _ := url.Parse(u.URL)
		if !strings.Contains(parsed.Query().Get("X-Amz-SignedHeaders"), "content-length") {
			t.Fatalf("presigned URL does not sign Content-Length: %s", u.URL)
		}
		big := bytes.Repeat([]byte("A"), 12<<20)
		req, _ := http.NewRequest(u.Method, u.URL, bytes.NewReader(big))
		req.Header.Set("Content-Type", u.Headers["Content-Type"])
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Fatal("the presigned URL accepted 12 MB against the declared size")
			}
		}
		// Nothing was stored: complete-uploads still offers the URL.
		code, _, b := doFrom(t, "127.0.5.1", http.MethodPost, f.gw+"/function/submit-application?action=complete-uploads",
			map[string]string{"code": victim.Code, "pin": victim.PIN})
		if code != http.StatusOK {
			t.Fatalf("complete-uploads: %d %s", code, b)
		}
		var out application.UploadsResult
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Documents[0].Uploaded || out.Complete || len(out.Uploads) != 2 {
			t.Fatalf("after a refused upload: %s", b)
		}
	})

	t.Run("stored_pins_are_peppered_and_the_pepper_is_nowhere_else", func(t *testing.T) {
		victim := newApp(t)
		raw, err := os.ReadFile(filepath.Join(f.a.DataDir(), "secrets", citizenguard.PepperSecret))
		if err != nil {
			t.Fatalf("the runner made no dev pepper: %v", err)
		}
		pepper, err := citizenguard.ParsePepper(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		store := docstore.NewS3Store(f.a.S3(), nil, dataBucket)
		code, err := application.ParseCode(victim.Code)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := store.Get(context.Background(), application.Key(code))
		if err != nil {
			t.Fatal(err)
		}
		var a application.Application
		if err := json.Unmarshal(obj.Body, &a); err != nil {
			t.Fatal(err)
		}
		if want := citizenguard.SchemeHMAC + "$" + pepper.Current() + "$"; !strings.HasPrefix(a.PINHash, want) {
			t.Fatalf("stored PIN hash %q: want %s… (a reader of the bucket must not be able to test guesses)", a.PINHash, want)
		}
		// Neither the key nor its line may show in the bucket or the logs.
		_, key, _ := strings.Cut(strings.TrimSpace(strings.Split(string(raw), "\n")[0]), ":")
		if strings.Contains(f.logs.String(), key) {
			t.Fatal("the pepper key is in the stack's logs")
		}
		for next := ""; ; {
			page, err := store.List(context.Background(), "", next, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				o, err := store.Get(context.Background(), e.Key)
				if err != nil {
					continue // deleted meanwhile
				}
				if bytes.Contains(o.Body, []byte(key)) {
					t.Fatalf("the pepper key is stored in %s", e.Key)
				}
			}
			if next = page.Next; next == "" {
				break
			}
		}
	})

	t.Run("no_pin_or_citizen_id_in_the_logs", func(t *testing.T) {
		victim := newApp(t)
		f.status(t, victim.Code, victim.PIN)
		logs := f.logs.String()
		for _, secret := range []string{victim.PIN, "001190123456", "0912345678"} {
			if strings.Contains(logs, secret) {
				i := strings.Index(logs, secret)
				t.Fatalf("%q in the stack's logs: …%s…", secret, logs[max(0, i-200):min(len(logs), i+100)])
			}
		}
	})
}

// doFrom sends a JSON body (or none) from a given loopback source address.
func doFrom(t *testing.T, from, method, target string, payload map[string]string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	var body io.Reader
	if payload != nil {
		b, _ := json.Marshal(payload)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", method, target, from, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}
