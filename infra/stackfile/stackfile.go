// Package stackfile reads motcua's OpenFaaS stack file (stack.yml, version
// 1.0) into typed structs and validates it against the repository: every
// function's template folder and handler folder must exist, so nothing listed
// is ever skipped silently by the build or the local runner.
//
// Paths in the file (handler, environment_file, configuration.copy) are
// relative to the directory holding the stack file, as with faas-cli.
//
// Like faas-cli, the file's text goes through environment substitution
// before it is parsed: ${VAR}, ${VAR:-default} and the other forms of
// github.com/drone/envsubst (the library faas-cli itself uses), so
// `image: ${MOTCUA_REGISTRY:-ghcr.io/motcua}/procedures:${MOTCUA_TAG:-latest}`
// means the same thing to the local runner and to `faas-cli up`.
package stackfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drone/envsubst"
	"go.yaml.in/yaml/v3"
)

// ErrInvalid is wrapped by every validation error returned by Load and Parse.
var ErrInvalid = errors.New("stackfile: invalid stack")

// TopicAnnotation is the annotation naming the queue a function consumes; the
// queue connector reads it from /system/functions.
const TopicAnnotation = "topic"

// Stack is a parsed stack file.
type Stack struct {
	// Version is the stack file version ("1.0").
	Version string `yaml:"version"`
	// Provider names the deployment target and its gateway.
	Provider Provider `yaml:"provider"`
	// Configuration holds the template list and the extra build-context paths.
	Configuration Configuration `yaml:"configuration"`
	// Functions maps function name to its definition.
	Functions map[string]Function `yaml:"functions"`
	// Dir is the absolute directory of the stack file; relative paths in the
	// file resolve against it. Not read from YAML.
	Dir string `yaml:"-"`
}

// Provider is the stack file's provider section.
type Provider struct {
	// Name must be "openfaas".
	Name string `yaml:"name"`
	// Gateway is the OpenFaaS gateway URL.
	Gateway string `yaml:"gateway"`
}

// Configuration is the stack file's configuration section.
type Configuration struct {
	// Templates lists the templates the stack uses.
	Templates []Template `yaml:"templates"`
	// Copy lists paths copied into every function's build context at the same
	// relative path.
	Copy []string `yaml:"copy"`
}

// Template is one entry of configuration.templates.
type Template struct {
	// Name is the template (language) name: folder template/<name>/.
	Name string `yaml:"name"`
	// Source is where faas-cli pulls the template from, if not local.
	Source string `yaml:"source,omitempty"`
}

// Resources is a limits or requests block.
type Resources struct {
	// Memory such as "128Mi".
	Memory string `yaml:"memory,omitempty"`
	// CPU such as "100m".
	CPU string `yaml:"cpu,omitempty"`
}

// Function is one function of the stack.
type Function struct {
	// Name is the key under functions; filled in by Parse.
	Name string `yaml:"-"`
	// Lang is the template name (template/<lang>/).
	Lang string `yaml:"lang"`
	// Handler is the handler folder, relative to the stack file.
	Handler string `yaml:"handler"`
	// Image is the container image name.
	Image string `yaml:"image"`
	// FProcess overrides the template's fprocess.
	FProcess string `yaml:"fprocess,omitempty"`
	// Namespace is the deployment namespace, if not the default.
	Namespace string `yaml:"namespace,omitempty"`
	// Environment holds inline environment variables (these win over
	// EnvironmentFile values).
	Environment map[string]string `yaml:"environment,omitempty"`
	// EnvironmentFile lists YAML files with an "environment:" map, merged in
	// order before Environment.
	EnvironmentFile []string `yaml:"environment_file,omitempty"`
	// Secrets names the OpenFaaS secrets mounted for the function.
	Secrets []string `yaml:"secrets,omitempty"`
	// Annotations are function annotations (e.g. topic).
	Annotations map[string]string `yaml:"annotations,omitempty"`
	// Labels are function labels (e.g. com.openfaas.scale.min).
	Labels map[string]string `yaml:"labels,omitempty"`
	// Limits caps the function's resources.
	Limits *Resources `yaml:"limits,omitempty"`
	// Requests reserves resources for the function.
	Requests *Resources `yaml:"requests,omitempty"`
	// BuildArgs are passed to the image build.
	BuildArgs map[string]string `yaml:"build_args,omitempty"`
	// BuildOptions are template build options.
	BuildOptions []string `yaml:"build_options,omitempty"`
	// Constraints are placement constraints.
	Constraints []string `yaml:"constraints,omitempty"`
	// ReadOnlyRootFilesystem mounts the root filesystem read-only.
	ReadOnlyRootFilesystem bool `yaml:"readonly_root_filesystem,omitempty"`
	// SkipBuild skips the image build for this function.
	SkipBuild bool `yaml:"skip_build,omitempty"`
}

// Topic returns the queue the function consumes (the topic annotation), or "".
func (f Function) Topic() string { return f.Annotations[TopicAnnotation] }

// Timeout returns the duration of one of the watchdog timeout variables
// (read_timeout, write_timeout, exec_timeout) from env, accepting Go
// durations ("30s") or whole seconds ("30"); def if unset.
func Timeout(env map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := env[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	return ParseTimeout(v)
}

// ParseTimeout parses a watchdog timeout: a Go duration ("30s") or whole
// seconds ("30").
func ParseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative timeout %q", v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("timeout %q: %w", v, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative timeout %q", v)
	}
	return d, nil
}

// FunctionNames returns the function names, sorted.
func (s *Stack) FunctionNames() []string {
	names := make([]string, 0, len(s.Functions))
	for n := range s.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Function returns the named function.
func (s *Stack) Function(name string) (Function, bool) {
	f, ok := s.Functions[name]
	return f, ok
}

// TemplateDir returns the absolute template folder for lang.
func (s *Stack) TemplateDir(lang string) string {
	return filepath.Join(s.Dir, "template", lang)
}

// HandlerDir returns the absolute handler folder of fn.
func (s *Stack) HandlerDir(fn Function) string {
	return s.resolve(fn.Handler)
}

func (s *Stack) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(s.Dir, filepath.FromSlash(p))
}

// Env returns the function's environment: environment_file entries merged in
// order, then the inline environment on top.
func (s *Stack) Env(fn Function) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range fn.EnvironmentFile {
		b, err := os.ReadFile(s.resolve(f))
		if err != nil {
			return nil, fmt.Errorf("function %s: environment_file %s: %w", fn.Name, f, err)
		}
		var doc struct {
			Environment map[string]string `yaml:"environment"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("function %s: environment_file %s: %w", fn.Name, f, err)
		}
		for k, v := range doc.Environment {
			out[k] = v
		}
	}
	for k, v := range fn.Environment {
		out[k] = v
	}
	return out, nil
}

// Load reads, parses and validates the stack file at path. The error names
// every bad field (errors.Join) and wraps ErrInvalid for validation problems.
func Load(path string) (*Stack, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("stackfile: %s: %w", path, err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("stackfile: %w", err)
	}
	st, err := Parse(b, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("stackfile %s: %w", path, err)
	}
	return st, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Parse decodes a stack file's bytes, resolving paths against dir, and
// validates it (including that the template and handler folders exist).
// Environment references are substituted from the process environment first
// (see ParseEnv).
func Parse(b []byte, dir string) (*Stack, error) {
	return ParseEnv(b, dir, os.Getenv)
}

// ParseEnv is Parse with environment references (${VAR}, ${VAR:-default},
// ...) resolved through lookup instead of the process environment, as
// faas-cli does before it reads a stack file. A malformed reference is a
// validation error.
func ParseEnv(b []byte, dir string, lookup func(string) string) (*Stack, error) {
	if lookup == nil {
		lookup = func(string) string { return "" }
	}
	sub, err := Substitute(string(b), lookup)
	if err != nil {
		return nil, err
	}
	b = []byte(sub)
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%w: yaml: %w", ErrInvalid, err)
	}
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	// yaml.v3 refuses duplicate keys with a terse message; find them first so
	// the error names the function.
	for _, name := range duplicateFunctions(&root) {
		bad("functions.%s: duplicate function name", name)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	st := &Stack{Dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(st); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	st.Dir = dir

	if st.Version != "1.0" {
		bad("version: want 1.0, got %q", st.Version)
	}
	if st.Provider.Name != "openfaas" {
		bad("provider.name: want openfaas, got %q", st.Provider.Name)
	}
	if st.Provider.Gateway == "" {
		bad("provider.gateway: required")
	}
	templates := map[string]bool{}
	for i, t := range st.Configuration.Templates {
		if t.Name == "" {
			bad("configuration.templates[%d].name: required", i)
			continue
		}
		templates[t.Name] = true
	}
	for i, c := range st.Configuration.Copy {
		if c == "" || filepath.IsAbs(c) || strings.HasPrefix(filepath.Clean(filepath.FromSlash(c)), "..") {
			bad("configuration.copy[%d]: %q must be a relative path inside the stack folder", i, c)
			continue
		}
		if _, err := os.Stat(st.resolve(c)); err != nil {
			bad("configuration.copy[%d]: %q: %v", i, c, err)
		}
	}
	if len(st.Functions) == 0 {
		bad("functions: at least one function is required")
	}
	for _, name := range st.FunctionNames() {
		fn := st.Functions[name]
		fn.Name = name
		st.Functions[name] = fn
		if !nameRE.MatchString(name) {
			bad("functions.%s: name must be lower-case letters, digits and '-' (DNS-1123)", name)
		}
		if fn.Image == "" {
			bad("functions.%s.image: required", name)
		}
		switch {
		case fn.Lang == "":
			bad("functions.%s.lang: required", name)
		case !isFile(filepath.Join(st.TemplateDir(fn.Lang), "template.yml")):
			bad("functions.%s.lang: unknown template %q (no template/%s/template.yml)", name, fn.Lang, fn.Lang)
		case len(templates) > 0 && !templates[fn.Lang]:
			bad("functions.%s.lang: template %q not listed in configuration.templates", name, fn.Lang)
		}
		if fn.Handler == "" {
			bad("functions.%s.handler: required", name)
		} else if fi, err := os.Stat(st.HandlerDir(fn)); err != nil || !fi.IsDir() {
			bad("functions.%s.handler: folder %s does not exist", name, fn.Handler)
		}
		for i, f := range fn.EnvironmentFile {
			if !isFile(st.resolve(f)) {
				bad("functions.%s.environment_file[%d]: %s does not exist", name, i, f)
			}
		}
		for i, s := range fn.Secrets {
			if !nameRE.MatchString(s) {
				bad("functions.%s.secrets[%d]: %q is not a valid secret name", name, i, s)
			}
		}
		for _, k := range []string{"read_timeout", "write_timeout", "exec_timeout"} {
			if _, err := Timeout(fn.Environment, k, 0); err != nil {
				bad("functions.%s.environment.%s: %v", name, k, err)
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return st, nil
}

// Substitute resolves the environment references in a stack file's text the
// way faas-cli does (github.com/drone/envsubst): ${VAR}, $VAR,
// ${VAR:-default} (default when unset or empty), ${VAR=default} and the
// string operations. A malformed reference wraps ErrInvalid.
func Substitute(text string, lookup func(string) string) (string, error) {
	out, err := envsubst.Eval(text, lookup)
	if err != nil {
		return "", fmt.Errorf("%w: environment substitution: %w", ErrInvalid, err)
	}
	return out, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// duplicateFunctions returns function names that appear more than once under
// the top-level functions mapping.
func duplicateFunctions(root *yaml.Node) []string {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil
	}
	var dups []string
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "functions" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		seen := map[string]bool{}
		fns := top.Content[i+1]
		for j := 0; j+1 < len(fns.Content); j += 2 {
			n := fns.Content[j].Value
			if seen[n] {
				dups = append(dups, n)
			}
			seen[n] = true
		}
	}
	return dups
}
