package main

import (
	"bytes"
	"strings"
	"testing"

	"motcua/infra/embedded"
)

func TestRunAgainstEmbeddedStack(t *testing.T) {
	st := embedded.StartForTest(t)
	for _, kv := range st.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_PROFILE", "")

	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errOut.String())
	}
	// The stack provisioned itself at start, so everything already exists.
	for _, want := range []string{"exists  bucket motcua-data", "exists  dlq    receipt-jobs-dlq", "exists  queue  faas-async-calls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunRejectsBadResourcesFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-resources", "/nonexistent/resources.json"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "load resources") {
		t.Fatalf("stderr: %s", errOut.String())
	}
}
