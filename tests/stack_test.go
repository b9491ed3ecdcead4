package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/cmd/motcua-local/app"
)

// callback is what the test's async callback server received.
type callback struct {
	header http.Header
	body   []byte
}

// TestEmbeddedStack_through_the_gateway drives the real repository's stack.yml
// (every function built and run as its own process) through the gateway.
func TestEmbeddedStack_through_the_gateway(t *testing.T) {
	a, _ := startApp(t, app.Config{RepoRoot: repoRoot(t)})
	gw := a.GatewayURL()

	t.Run("procedure_search_finds_birth_registration", func(t *testing.T) {
		code, hdr, body := do(t, http.MethodGet, gw+"/function/procedures?q=khai+sinh", nil)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		if hdr.Get("X-Call-Id") == "" {
			t.Error("no X-Call-Id on the answer")
		}
		var page struct {
			Items []struct {
				Code string `json:"code"`
				Name string `json:"name"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		found := false
		for _, p := range page.Items {
			if p.Name == "Đăng ký khai sinh" {
				found = true
			}
		}
		if !found {
			t.Fatalf("birth registration (Đăng ký khai sinh) not in %s", body)
		}
	})

	t.Run("system_functions_lists_every_function", func(t *testing.T) {
		code, _, body := do(t, http.MethodGet, gw+"/system/functions", nil)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		var list []struct {
			Name              string            `json:"name"`
			Image             string            `json:"image"`
			Labels            map[string]string `json:"labels"`
			Annotations       map[string]string `json:"annotations"`
			AvailableReplicas int               `json:"availableReplicas"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if len(list) != len(a.Functions()) {
			t.Fatalf("%d functions listed, %d running", len(list), len(a.Functions()))
		}
		byName := map[string]int{}
		for i, f := range list {
			byName[f.Name] = i
			if f.Annotations == nil || f.Labels == nil {
				t.Errorf("%s: labels/annotations missing from the listing", f.Name)
			}
			if f.AvailableReplicas != 1 {
				t.Errorf("%s: availableReplicas %d", f.Name, f.AvailableReplicas)
			}
		}
		i, ok := byName["procedures"]
		if !ok {
			t.Fatalf("procedures not listed: %s", body)
		}
		if p := list[i]; p.Image != "ghcr.io/motcua/procedures:latest" /* stack.yml default registry and tag */ || p.Labels["com.openfaas.scale.min"] != "1" {
			t.Fatalf("procedures entry %+v", p)
		}
	})

	t.Run("unknown_function_is_a_404_problem", func(t *testing.T) {
		code, hdr, body := do(t, http.MethodGet, gw+"/function/no-such-function", nil)
		if code != http.StatusNotFound {
			t.Fatalf("status %d: %s", code, body)
		}
		if p := decodeProblem(t, hdr, body); !strings.HasSuffix(p.Type, "/function_not_found") || p.Status != 404 {
			t.Fatalf("problem %+v", p)
		}
	})

	body2MiB := bytes.Repeat([]byte("a"), 2<<20)
	for _, tc := range []struct {
		name string
		body func() io.Reader
	}{
		{"body_of_2MiB_with_length_is_a_413_problem", func() io.Reader { return bytes.NewReader(body2MiB) }},
		// Wrapped so the client does not know the length: chunked encoding.
		{"chunked_body_of_2MiB_is_a_413_problem", func() io.Reader { return io.MultiReader(bytes.NewReader(body2MiB)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := do(t, http.MethodPost, gw+"/function/procedures", tc.body())
			if code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d: %s", code, body)
			}
			if p := decodeProblem(t, hdr, body); !strings.HasSuffix(p.Type, "/payload_too_large") {
				t.Fatalf("problem %+v", p)
			}
		})
	}

	t.Run("async_call_answers_202_then_calls_back_with_the_result", func(t *testing.T) {
		got := make(chan callback, 4)
		cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- callback{header: r.Header.Clone(), body: b}
		}))
		defer cb.Close()
		code, hdr, body := do(t, http.MethodGet, gw+"/async-function/procedures?code=X.HT.001", nil,
			"X-Callback-Url", cb.URL+"/done")
		if code != http.StatusAccepted {
			t.Fatalf("status %d: %s", code, body)
		}
		callID := hdr.Get("X-Call-Id")
		if callID == "" {
			t.Fatal("no X-Call-Id on the 202")
		}
		select {
		case c := <-got:
			if c.header.Get("X-Call-Id") != callID || c.header.Get("X-Function-Status") != "200" ||
				c.header.Get("X-Function-Name") != "procedures" {
				t.Fatalf("callback headers %v", c.header)
			}
			var p struct {
				Code string `json:"code"`
				Name string `json:"name"`
			}
			if err := json.Unmarshal(c.body, &p); err != nil || p.Code != "X.HT.001" || p.Name != "Đăng ký khai sinh" {
				t.Fatalf("callback body %s (%v)", c.body, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no callback within 60 s")
		}
	})

	t.Run("concurrent_calls_all_answer", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 20)
		for range 20 {
			wg.Go(func() {
				res, err := http.Get(gw + "/function/procedures?code=X.HT.001")
				if err != nil {
					errs <- err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs <- res.Status
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}
