package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"motcua/infra/embedded"
)

// TestCatalogLoadThroughStandardAWSEnv runs the CLI exactly as an operator
// would, configured only by MOTCUA_BUCKET and the AWS SDK's standard
// variables, against the embedded S3 server.
func TestCatalogLoadThroughStandardAWSEnv(t *testing.T) {
	stack := embedded.StartForTest(t)
	environ := append(stack.Env(), "MOTCUA_BUCKET=motcua-data")
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, environ: os.Environ()}
	if code := run(context.Background(), []string{"catalog", "load"}, e); code != 0 {
		t.Fatalf("load: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "as catalog version 1 (17 procedures)") {
		t.Fatalf("load output %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"catalog", "list", "--q", "giay phep lai xe"}, e); code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "T.GT.001") || !strings.Contains(out.String(), "135000 (online 115000)") {
		t.Fatalf("list output:\n%s", out.String())
	}
}
