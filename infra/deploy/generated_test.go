package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"motcua/infra/deploy"
)

const root = "../.."

func load(t *testing.T) *deploy.Model {
	t.Helper()
	m, err := deploy.Load(root)
	if err != nil {
		t.Fatalf("stack.yml and resources.json: %v", err)
	}
	return m
}

// TestGenerated_files_are_current fails while a committed generated file
// (CloudFormation template, secrets script) differs from what the generator
// makes of today's stack.yml and resources.json.
func TestGenerated_files_are_current(t *testing.T) {
	files, err := load(t).Generated()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%s: %v (run `go run ./cmd/motcua-provision -generate`)", f.Path, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s is stale: run `go run ./cmd/motcua-provision -generate` and commit it", f.Path)
		}
	}
}

// TestCloudFormation_fits_the_service_limits: a template deployed through S3
// may be at most 1 MB and hold at most 500 resources.
func TestCloudFormation_fits_the_service_limits(t *testing.T) {
	m := load(t)
	b, err := m.CloudFormation()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1_000_000 {
		t.Errorf("template is %d bytes, CloudFormation takes at most 1 000 000 (from S3)", len(b))
	}
	tpl := template(t, m)
	if n := len(tpl.Resources); n > 500 {
		t.Errorf("template has %d resources, CloudFormation allows 500", n)
	}
}
