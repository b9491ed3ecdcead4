package stackfile_test

import (
	"errors"
	"strings"
	"testing"

	"motcua/infra/stackfile"
)

func TestParseEnv_substitutes_like_faas_cli(t *testing.T) {
	stack := strings.Replace(good, "image: motcua/procedures:latest",
		"image: ${MOTCUA_REGISTRY:-ghcr.io/motcua}/procedures:${MOTCUA_TAG:-latest}", 1)
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "defaults_when_unset", env: nil, want: "ghcr.io/motcua/procedures:latest"},
		{name: "defaults_when_empty", env: map[string]string{"MOTCUA_REGISTRY": "", "MOTCUA_TAG": ""}, want: "ghcr.io/motcua/procedures:latest"},
		{name: "registry_and_tag_from_environment", env: map[string]string{"MOTCUA_REGISTRY": "registry.tinh.gov.vn/motcua", "MOTCUA_TAG": "2026.12.03"}, want: "registry.tinh.gov.vn/motcua/procedures:2026.12.03"},
		{name: "tag_only", env: map[string]string{"MOTCUA_TAG": "abc123"}, want: "ghcr.io/motcua/procedures:abc123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := stackfile.ParseEnv([]byte(stack), repo(t), func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Functions["procedures"].Image; got != tc.want {
				t.Fatalf("image %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseEnv_substitutes_every_field(t *testing.T) {
	stack := strings.Replace(good, "B: inline", "B: ${B_VALUE}", 1)
	st, err := stackfile.ParseEnv([]byte(stack), repo(t), func(k string) string {
		if k == "B_VALUE" {
			return "from-env"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Functions["procedures"].Environment["B"]; got != "from-env" {
		t.Fatalf("B = %q, want from-env", got)
	}
}

func TestParseEnv_malformed_reference_is_invalid(t *testing.T) {
	stack := strings.Replace(good, "image: motcua/procedures:latest", "image: ${MOTCUA_REGISTRY", 1)
	_, err := stackfile.ParseEnv([]byte(stack), repo(t), func(string) string { return "" })
	if !errors.Is(err, stackfile.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestParse_reads_the_process_environment(t *testing.T) {
	t.Setenv("MOTCUA_TAG", "from-process")
	stack := strings.Replace(good, "image: motcua/procedures:latest", "image: motcua/procedures:${MOTCUA_TAG:-latest}", 1)
	st, err := stackfile.Parse([]byte(stack), repo(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Functions["procedures"].Image; got != "motcua/procedures:from-process" {
		t.Fatalf("image %q", got)
	}
}
