// Package api_test keeps api/openapi.yaml in step with the real functions:
// the document lists exactly the functions of stack.yml, and every
// documented example request, sent through the gateway to the real function
// processes (built and run by infra/runner over the embedded S3/SQS stack),
// gets an answer whose status, Content-Type, headers and body match the
// documentation. Response schemas are closed, so an undocumented member
// fails the check, and so does a documented required member that is missing.
package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"motcua/infra/asynccall"
	"motcua/infra/embedded"
	"motcua/infra/gateway"
	"motcua/infra/runner"
	"motcua/infra/stackfile"
	"motcua/shared/catalog"
	"motcua/shared/config"
	"motcua/shared/staffauth"
	"motcua/shared/staffauth/stafftest"
)

// functionPrefix is the gateway route of synchronous function calls.
const functionPrefix = "/function/"

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestDocument_is_consistent checks the document on its own: references
// resolve, schemas use only keywords the checker enforces and every object
// schema says whether it is closed, operations are named and carry
// well-formed examples for documented statuses and parameters, and the
// static examples match their schemas.
func TestDocument_is_consistent(t *testing.T) {
	d := loadDocument(t)
	for _, e := range lintDocument(d) {
		t.Error(e)
	}
}

// lintDocument returns every inconsistency of d.
func lintDocument(d *document) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") && !strings.HasPrefix(v, "3.0.") {
		fail("openapi: version %q, want 3.1.x or 3.0.x", v)
	}
	if d.kinErr != nil {
		fail("%v", d.kinErr)
	}
	walkRefs(d.root, "#", func(at, ref string) {
		if _, err := d.v.resolve(ref); err != nil {
			fail("%s: %v", at, err)
		}
	})
	comps, _ := d.root["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for _, name := range sortedKeys(schemas) {
		errs = append(errs, lintSchema(d, schemas[name], "#/components/schemas/"+name)...)
	}
	for _, kind := range []string{"parameters", "headers"} {
		m, _ := comps[kind].(map[string]any)
		for _, name := range sortedKeys(m) {
			p, _ := m[name].(map[string]any)
			errs = append(errs, lintSchema(d, p["schema"], fmt.Sprintf("#/components/%s/%s/schema", kind, name))...)
		}
	}
	resps, _ := comps["responses"].(map[string]any)
	for _, name := range sortedKeys(resps) {
		errs = append(errs, lintResponse(d, resps[name], "#/components/responses/"+name, 0, "")...)
	}
	seen := map[string]bool{}
	for _, o := range d.ops {
		at := o.method + " " + o.path
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			fail("%s: operationId is missing", at)
		case seen[id]:
			fail("%s: operationId %q is used twice", at, id)
		}
		seen[id] = true
		rs, _ := o.op["responses"].(map[string]any)
		if len(rs) == 0 {
			fail("%s: no responses", at)
		}
		format, err := errorFormat(o)
		if err != nil {
			fail("%s: %v", at, err)
		}
		for _, code := range sortedKeys(rs) {
			st := 0
			_, _ = fmt.Sscanf(code, "%d", &st)
			errs = append(errs, lintResponse(d, rs[code], at+" "+code, st, format)...)
		}
		params, err := d.parameters(o)
		if err != nil {
			fail("%s: %v", at, err)
		}
		for _, k := range sortedKeys(params) {
			errs = append(errs, lintSchema(d, params[k]["schema"], at+" parameter "+k)...)
		}
		if rb, ok := o.op["requestBody"]; ok {
			m, err := d.v.deref(rb)
			if err != nil {
				fail("%s requestBody: %v", at, err)
			}
			content, _ := m["content"].(map[string]any)
			for _, mt := range sortedKeys(content) {
				c, _ := content[mt].(map[string]any)
				errs = append(errs, lintSchema(d, c["schema"], at+" requestBody "+mt)...)
			}
		}
		errs = append(errs, lintExamples(d, o, params)...)
		secs, _ := o.op["security"].([]any)
		schemes, _ := comps["securitySchemes"].(map[string]any)
		for _, req := range secs {
			m, _ := req.(map[string]any)
			for name := range m {
				if _, ok := schemes[name]; !ok {
					fail("%s: security scheme %q is not defined in components/securitySchemes", at, name)
				}
			}
		}
	}
	return errs
}

// lintExamples checks an operation's x-motcua-examples.
func lintExamples(d *document, o operation, params map[string]map[string]any) []string {
	var errs []string
	at := o.id()
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	exs, err := o.examples()
	if err != nil {
		return []string{err.Error()}
	}
	if len(exs) == 0 {
		fail("%s: no x-motcua-examples (every operation is exercised against the real handler)", at)
	}
	names := map[string]bool{}
	for _, ex := range exs {
		if !snakeCase.MatchString(ex.Name) || names[ex.Name] {
			fail("%s: example name %q must be unique snake_case", at, ex.Name)
		}
		names[ex.Name] = true
		if ex.Status == 0 {
			fail("%s/%s: status is required", at, ex.Name)
		} else if _, ok, _ := d.response(o, ex.Status); !ok {
			fail("%s/%s: status %d is not documented", at, ex.Name, ex.Status)
		}
		for _, k := range sortedKeys(ex.Query) {
			if _, ok := params["query:"+k]; !ok {
				fail("%s/%s: query parameter %q is not documented", at, ex.Name, k)
			}
		}
		pp, _ := ex.Path.(map[string]any)
		if ex.Path != nil && pp == nil {
			fail("%s/%s: path must be a map of path parameters", at, ex.Name)
		}
		for k := range params {
			if name, ok := strings.CutPrefix(k, "path:"); ok {
				if _, ok := pp[name]; !ok {
					fail("%s/%s: path parameter %q has no value", at, ex.Name, name)
				}
			}
		}
		if ex.Status >= 200 && ex.Status < 300 {
			if rb, err := d.v.deref(o.op["requestBody"]); err == nil && rb["required"] == true && !ex.hasBody && ex.BodyText == nil {
				fail("%s/%s: the request body is required but the example has none", at, ex.Name)
			}
			for _, k := range sortedKeys(params) {
				in, name, _ := strings.Cut(k, ":")
				if params[k]["required"] != true {
					continue
				}
				switch in {
				case "query":
					if _, ok := ex.Query[name]; !ok {
						fail("%s/%s: required query parameter %q is missing", at, ex.Name, name)
					}
				case "header":
					if !hasHeader(ex.Headers, name) {
						fail("%s/%s: required header %q is missing", at, ex.Name, name)
					}
				}
			}
		}
		for i, s := range ex.Setup {
			if p, ok := s.Path.(string); (!ok || !strings.HasPrefix(p, "/")) && s.URL == "" {
				fail("%s/%s: setup[%d].path must be a full gateway path", at, ex.Name, i)
			}
		}
	}
	return errs
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// errorFormatKey is the operation extension naming an error format other
// than RFC 9457 problem+json, for faces of a function that follow another
// specification (Open311 GeoReport v2 answers its errors as a JSON list
// [{"code", "description"}] with application/json).
const errorFormatKey = "x-motcua-error-format"

// errorMediaTypes are the media types of error answers per error format
// ("" is the project's default).
var errorMediaTypes = map[string]string{
	"":        "application/problem+json",
	"open311": "application/json",
}

// errorFormat returns the operation's error format ("" = problem+json).
func errorFormat(o operation) (string, error) {
	raw, ok := o.op[errorFormatKey]
	if !ok {
		return "", nil
	}
	f, _ := raw.(string)
	if _, known := errorMediaTypes[f]; !known || f == "" {
		return "", fmt.Errorf("%s %v is unknown (known: open311)", errorFormatKey, raw)
	}
	return f, nil
}

// lintResponse checks one response: schemas, the error format's media type
// for errors (problem+json unless the operation declares another format),
// static examples valid.
func lintResponse(d *document, r any, at string, status int, format string) []string {
	m, err := d.v.deref(r)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var errs []string
	if s, _ := m["description"].(string); s == "" {
		errs = append(errs, at+": description is required")
	}
	hs, _ := m["headers"].(map[string]any)
	for _, name := range sortedKeys(hs) {
		h, err := d.v.deref(hs[name])
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s header %s: %v", at, name, err))
			continue
		}
		errs = append(errs, lintSchema(d, h["schema"], at+" header "+name)...)
	}
	content, _ := m["content"].(map[string]any)
	for _, mt := range sortedKeys(content) {
		if want := errorMediaTypes[format]; status >= 400 && mt != want {
			errs = append(errs, fmt.Sprintf("%s: error responses are %s, not %s", at, want, mt))
		}
		c, _ := content[mt].(map[string]any)
		errs = append(errs, lintSchema(d, c["schema"], at+" "+mt)...)
	}
	return errs
}

// lintSchema checks the project's rules on a schema and its inline
// subschemas ($ref targets are checked where they are defined): every
// object schema declares additionalProperties (false for closed objects, a
// schema for maps) and requires only documented properties. The schema
// language itself and the examples are kin-openapi's to check.
func lintSchema(d *document, schema any, at string) []string {
	var errs []string
	var walk func(s any, at string)
	walk = func(s any, at string) {
		m, ok := s.(map[string]any)
		if !ok {
			if _, isBool := s.(bool); s != nil && !isBool {
				errs = append(errs, fmt.Sprintf("%s: a schema must be an object", at))
			}
			return
		}
		_, hasProps := m["properties"]
		if (hasProps || m["type"] == "object") && m["$ref"] == nil {
			if _, ok := m["additionalProperties"]; !ok {
				errs = append(errs, fmt.Sprintf("%s: object schema must declare additionalProperties (false, or a schema for maps)", at))
			}
		}
		props, _ := m["properties"].(map[string]any)
		for _, name := range sortedKeys(props) {
			walk(props[name], at+"/properties/"+name)
		}
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); props[name] == nil {
					errs = append(errs, fmt.Sprintf("%s: required %v is not a documented property", at, r))
				}
			}
		}
		walk(m["items"], at+"/items")
		if ap, ok := m["additionalProperties"].(map[string]any); ok {
			walk(ap, at+"/additionalProperties")
		}
		for _, k := range []string{"oneOf", "anyOf", "allOf"} {
			list, _ := m[k].([]any)
			for i, sub := range list {
				walk(sub, fmt.Sprintf("%s/%s/%d", at, k, i))
			}
		}
	}
	walk(schema, at)
	return errs
}

// asJSON converts a value decoded from YAML to its encoding/json form
// (numbers as float64), as a client would see it.
func asJSON(x any) any {
	b, err := json.Marshal(x)
	if err != nil {
		return x
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return x
	}
	return v
}

// walkRefs calls fn for every $ref string in x.
func walkRefs(x any, at string, fn func(at, ref string)) {
	switch v := x.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if k == "$ref" {
				if s, ok := v[k].(string); ok {
					fn(at, s)
				}
				continue
			}
			walkRefs(v[k], at+"/"+k, fn)
		}
	case []any:
		for i, e := range v {
			walkRefs(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// selects reports whether o requires a query parameter whose only allowed
// value is value.
func selects(d *document, o operation, value string) bool {
	params, err := d.parameters(o)
	if err != nil {
		return false
	}
	for k, p := range params {
		if !strings.HasPrefix(k, "query:") || p["required"] != true {
			continue
		}
		schema, _ := p["schema"].(map[string]any)
		if enum, _ := schema["enum"].([]any); len(enum) == 1 && enum[0] == value {
			return true
		}
	}
	return false
}

// TestStack_functions_are_documented checks both directions: every function
// of stack.yml has /function/<name>, every documented /function/<name> is
// in stack.yml.
func TestStack_functions_are_documented(t *testing.T) {
	d := loadDocument(t)
	st, err := stackfile.Load(filepath.Join(repoRoot(t), "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range compareFunctions(st.FunctionNames(), d) {
		t.Error(e)
	}
}

// routedKey is the path-item extension saying that the function itself
// routes /function/<name>/<sub-path> (the template hands it the path in
// X-Motcua-Path): such a path may be nested and templated
// (/function/feedback/open311/v2/requests/{id}.json), and the examples run
// against the real function prove the route exists.
const routedKey = "x-motcua-routed-by-path"

// routedByPath reports whether a path item declares routedKey.
func routedByPath(item map[string]any) (bool, error) {
	raw, ok := item[routedKey]
	if !ok {
		return false, nil
	}
	b, isBool := raw.(bool)
	if !isBool {
		return false, fmt.Errorf("%s must be true or false, got %v", routedKey, raw)
	}
	return b, nil
}

// compareFunctions lists the differences between the stack's functions and
// the documented /function/ paths.
func compareFunctions(stack []string, d *document) []string {
	var errs []string
	paths, _ := d.root["paths"].(map[string]any)
	documented := map[string]bool{}
	for _, p := range sortedKeys(paths) {
		if name, ok := strings.CutPrefix(p, functionPrefix); ok {
			name, sub, hasSub := strings.Cut(name, "/")
			item, _ := paths[p].(map[string]any)
			routed, err := routedByPath(item)
			if err != nil {
				errs = append(errs, fmt.Sprintf("path %s: %v", p, err))
				continue
			}
			if routed && !hasSub {
				errs = append(errs, fmt.Sprintf("path %s: %s is for sub-paths /function/<name>/<sub-path> only", p, routedKey))
				continue
			}
			if name == "" || strings.ContainsAny(name, "{}") || (hasSub && (sub == "" || strings.HasSuffix(sub, "/"))) ||
				(hasSub && !routed && strings.ContainsAny(sub, "/{}")) {
				errs = append(errs, fmt.Sprintf("path %s: document a function as /function/<name> (or /function/<name>/<action> for one action, "+
					"or any /function/<name>/<sub-path> with %s: true when the function routes by its path)", p, routedKey))
				continue
			}
			if hasSub && !routed {
				// The function sees no path: /function/<name>/<x> is one
				// action's (or provider's) operation only when every method
				// of it requires a query parameter whose only value is <x>
				// (?action=cancel, ?provider=bank): that is what the
				// function reads.
				for _, m := range httpMethods {
					if op, ok := item[m].(map[string]any); ok && !selects(d, operation{path: p, method: m, op: op}, sub) {
						errs = append(errs, fmt.Sprintf("path %s: %s must require a query parameter (action, provider …) with enum [%s]", p, m, sub))
					}
				}
			}
			documented[name] = true
		}
	}
	inStack := map[string]bool{}
	for _, name := range stack {
		inStack[name] = true
		if !documented[name] {
			errs = append(errs, fmt.Sprintf("function %q of stack.yml has no path %s%s in api/openapi.yaml", name, functionPrefix, name))
		}
	}
	for _, name := range sortedKeys(documented) {
		if !inStack[name] {
			errs = append(errs, fmt.Sprintf("path %s%s is documented but stack.yml has no function %q", functionPrefix, name, name))
		}
	}
	return errs
}

// TestExamples_against_real_handlers runs every documented example through
// the gateway against the real function processes and checks each answer
// against the document.
func TestExamples_against_real_handlers(t *testing.T) {
	d := loadDocument(t)
	gw, secret, logs, asyncURL, sqsClient := startPortal(t)
	client := &http.Client{Timeout: 90 * time.Second}
	vs := &vars{
		captured: map[string]any{},
		uuids:    map[string]string{},
		newUUID:  uuid.NewString,
		token:    func(agency string, roles ...string) (string, error) { return mintStaffToken(secret, agency, roles...) },
	}
	ran := 0
	for _, o := range d.ops {
		exs, err := o.examples()
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range exs {
			ok := t.Run(o.id()+"/"+ex.Name, func(t *testing.T) {
				runExample(t, client, gw, d, o, ex, vs)
			})
			ran++
			if !ok {
				t.Logf("function logs (tail):\n%s", logs.tail(40))
			}
		}
	}
	if ran == 0 {
		t.Fatal("the document has no examples")
	}
	// The 202 of /async-function is real: the call is on the queue.
	t.Run("async_call_is_queued", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(asyncURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if c, err := asynccall.Decode([]byte(aws.ToString(m.Body))); err == nil && c.CallID == "api-example-async-1" && c.Function == "procedures" {
				return
			}
		}
		t.Fatalf("the documented async example's call is not on %s (%d messages)", asynccall.QueueName, len(out.Messages))
	})
}

// runExample runs the setup steps, then the example, and checks the answer.
func runExample(t *testing.T, client *http.Client, base string, d *document, o operation, ex example, vs *vars) {
	for i, step := range ex.Setup {
		req, err := buildRequest(base, nil, step, vs)
		if err != nil {
			t.Fatalf("setup[%d]: %v", i, err)
		}
		status, hdr, body := do(t, client, req)
		if step.Status != 0 && status != step.Status {
			t.Fatalf("setup[%d] %s %s: status %d, want %d: %s", i, req.Method, req.URL.Path, status, step.Status, truncate(body))
		}
		if err := vs.capture(step.Capture, hdr, body); err != nil {
			t.Fatalf("setup[%d]: %v", i, err)
		}
	}
	req, err := buildRequest(base, &o, ex, vs)
	if err != nil {
		t.Fatal(err)
	}
	if ex, err = vs.expectations(ex); err != nil {
		t.Fatal(err)
	}
	if ex.Status < 400 {
		// A request the handler accepts must be one the document allows.
		checkRequest(t, d, req)
	}
	status, hdr, body := do(t, client, req)
	if errs := d.checkResponse(req, o, ex, status, hdr, body); len(errs) > 0 {
		t.Errorf("%s %s → %d %s\n%s\nbody: %s", req.Method, req.URL.RequestURI(), status, hdr.Get("Content-Type"),
			strings.Join(errs, "\n"), truncate(body))
		return
	}
	if err := vs.capture(ex.Capture, hdr, body); err != nil {
		t.Fatal(err)
	}
}

// checkRequest validates a successful example's request (parameters,
// headers, body) against the document with kin-openapi.
func checkRequest(t *testing.T, d *document, req *http.Request) {
	t.Helper()
	if d.kin == nil {
		t.Fatal(d.kinErr)
	}
	// Validate a copy: the validator consumes the body.
	r := req.Clone(req.Context())
	if raw := readBody(req); raw != nil {
		r.Body = io.NopCloser(bytes.NewReader(raw))
	}
	if errs := d.kin.validateRequest(r); len(errs) > 0 {
		t.Fatalf("the example's request does not match the document:\n%s", strings.Join(errs, "\n"))
	}
}

func do(t *testing.T, client *http.Client, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return res.StatusCode, res.Header, body
}

// startPortal starts the embedded S3/SQS stack, every function of stack.yml
// as its own process (built by the runner), and the gateway in front of
// them with asynchronous calls going to the real queue. It returns the
// gateway URL, the signer of staff tokens whose key set the functions read, their logs, the
// async queue's URL and an SQS client.
func startPortal(t *testing.T) (string, *staffauth.Signer, *logBuffer, string, *sqs.Client) {
	t.Helper()
	st := embedded.StartForTest(t)
	env := map[string]string{}
	for _, kv := range st.Env() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	secrets := t.TempDir()
	signer := stafftest.WriteKeys(t, secrets)
	logs := &logBuffer{}
	r, err := runner.New(runner.Options{
		RepoRoot:   repoRoot(t),
		BuildDir:   t.TempDir(),
		SecretsDir: secrets,
		Env:        env,
		Logger:     slog.New(slog.NewJSONHandler(logs, nil)),
		StopGrace:  5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Building twenty functions takes minutes on a loaded 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("runner start: %v\nlogs:\n%s", err, logs.tail(60))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Logf("runner stop: %v", err)
		}
	})
	_, sqsClient, err := st.Clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	qurl, ok := st.QueueURL(asynccall.QueueName)
	if !ok {
		t.Fatalf("the embedded stack has no %s queue", asynccall.QueueName)
	}
	gw := httptest.NewServer(gateway.New(gateway.Options{
		Functions: r,
		Async:     sqsQueue{client: sqsClient, url: qurl},
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
	}))
	t.Cleanup(gw.Close)
	return gw.URL, signer, logs, qurl, sqsClient
}

// sqsQueue is the gateway's AsyncQueue over the embedded SQS.
type sqsQueue struct {
	client *sqs.Client
	url    string
}

// Enqueue sends one async call message.
func (q sqsQueue) Enqueue(ctx context.Context, body []byte) error {
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("send async call: %w", err)
	}
	return nil
}

// mintStaffToken returns a token of agency with roles (staff when none)
// valid for one hour, signed with the run's staff key.
func mintStaffToken(signer *staffauth.Signer, agency string, roles ...string) (string, error) {
	if len(roles) == 0 {
		roles = []string{staffauth.RoleStaff}
	}
	return signer.Mint(staffauth.Claims{Subject: "canbo-api-test", Roles: roles, Agency: agency}, time.Hour, time.Now())
}

// logBuffer collects the functions' and the gateway's JSON logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// tail returns the last n lines.
func (l *logBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimRight(l.b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestChecker_catches_drift is the meta test: the checker really fails when
// a handler's answer drifts from the document.
func TestChecker_catches_drift(t *testing.T) {
	d := loadDocument(t)
	procs, err := catalog.SeedProcedures()
	if err != nil {
		t.Fatal(err)
	}
	toJSON := func(v any) map[string]any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Every seed procedure, as the Go model encodes it, fits the schema:
	// the document describes the JSON the handler writes.
	for _, p := range procs {
		if errs := d.kin.validateValue("Procedure", toJSON(p)); len(errs) > 0 {
			t.Errorf("seed procedure %s does not fit the Procedure schema:\n%s", p.Code, strings.Join(errs, "\n"))
		}
	}
	if errs := d.kin.validateValue("ProcedurePage", toJSON(catalog.NewIndex(procs).Search(catalog.Query{PageSize: 5}))); len(errs) > 0 {
		t.Errorf("a search page does not fit ProcedurePage:\n%s", strings.Join(errs, "\n"))
	}

	o := findOperation(t, d, "procedures")
	good := toJSON(procs[0])
	tests := []struct {
		name   string
		status int
		ctype  string
		body   func() any
		want   string // a substring of one reported error; "" = no error
	}{
		{"valid_procedure_passes", 200, "application/json; charset=utf-8", func() any { return good }, ""},
		{"extra_member_is_rejected", 200, "application/json", func() any {
			m := toJSON(procs[0])
			m["internalNote"] = "x"
			return m
		}, `property "internalNote" is unsupported`},
		{"extra_nested_member_is_rejected", 200, "application/json", func() any {
			m := toJSON(procs[0])
			m["agency"].(map[string]any)["phone"] = "0243"
			return m
		}, `property "phone" is unsupported`},
		{"missing_required_member_is_reported", 200, "application/json", func() any {
			m := toJSON(procs[0])
			delete(m, "updatedAt")
			return m
		}, `property "updatedAt" is missing`},
		{"wrong_type_is_reported", 200, "application/json", func() any {
			m := toJSON(procs[0])
			m["processingDays"] = "15"
			return m
		}, "value must be an integer"},
		{"enum_violation_is_reported", 200, "application/json", func() any {
			m := toJSON(procs[0])
			m["level"] = "national"
			return m
		}, "is not one of"},
		{"bad_date_time_is_reported", 200, "application/json", func() any {
			m := toJSON(procs[0])
			m["updatedAt"] = "01/07/2025"
			return m
		}, `doesn't match the format "date-time"`},
		{"undocumented_status_is_reported", 418, "application/json", func() any { return good }, "status 418 is not documented"},
		{"undocumented_content_type_is_reported", 200, "text/html", func() any { return good }, "Content-Type \"text/html\" is not documented"},
		{"problem_with_extra_member_is_rejected", 404, "application/problem+json", func() any {
			return map[string]any{"type": "about:blank", "title": "Not found", "status": 404, "stack": "main.go:1"}
		}, `property "stack" is unsupported`},
		{"problem_missing_title_is_reported", 400, "application/problem+json", func() any {
			return map[string]any{"type": "about:blank", "status": 400}
		}, `property "title" is missing`},
		{"missing_required_header_is_reported", 405, "application/problem+json", func() any {
			return map[string]any{"type": "about:blank", "title": "Method not allowed", "status": 405}
		}, "required header Allow is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.body())
			if err != nil {
				t.Fatal(err)
			}
			hdr := http.Header{"Content-Type": {tc.ctype}, "X-Call-Id": {"c1"}}
			req := httptest.NewRequest(http.MethodGet, "/function/procedures?code=X.HT.001", nil)
			errs := d.checkResponse(req, o, example{}, tc.status, hdr, b)
			if tc.status == 200 {
				// The 200 of procedures requires X-Call-Id: dropping it must be caught too.
				noID := http.Header{"Content-Type": {tc.ctype}}
				if e := d.checkResponse(req, o, example{}, tc.status, noID, b); !strings.Contains(strings.Join(e, "\n"), "required header X-Call-Id is missing") {
					t.Errorf("a 200 without X-Call-Id is not reported: %q", e)
				}
			}
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors:\n%s", strings.Join(errs, "\n"))
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Fatalf("errors %q do not report %q", errs, tc.want)
			}
		})
	}
}

// TestLint_catches_bad_documents proves the document checks fail on the
// mistakes they exist for.
func TestLint_catches_bad_documents(t *testing.T) {
	base := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /function/a:
    get:
      operationId: a
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: %s
      x-motcua-examples:
        %s
`
	tests := []struct {
		name, schema, examples string
		want                   string
	}{
		{"consistent", `{type: object, additionalProperties: false, properties: {n: {type: integer}}}`, `- {name: ok, status: 200}`, ""},
		{"open_object", `{type: object, properties: {n: {type: integer}}}`, `- {name: ok, status: 200}`, "must declare additionalProperties"},
		{"required_not_a_property", `{type: object, additionalProperties: false, required: [m], properties: {n: {type: integer}}}`, `- {name: ok, status: 200}`, "is not a documented property"},
		{"no_examples", `{type: string}`, `[]`, "no x-motcua-examples"},
		{"example_does_not_match_its_schema", `{type: integer, example: seven}`, `- {name: ok, status: 200}`, "kin-openapi"},
		{"unknown_type", `{type: strng}`, `- {name: ok, status: 200}`, "kin-openapi"},
		{"bad_pattern", `{type: string, pattern: "[0-9"}`, `- {name: ok, status: 200}`, "kin-openapi"},
		{"undocumented_status", `{type: string}`, `- {name: ok, status: 404}`, "status 404 is not documented"},
		{"undocumented_query", `{type: string}`, `- {name: ok, status: 200, query: {x: 1}}`, `query parameter "x" is not documented`},
		{"bad_example_name", `{type: string}`, `- {name: Bad-Name, status: 200}`, "snake_case"},
		{"dangling_ref", `{$ref: '#/components/schemas/Nope'}`, `- {name: ok, status: 200}`, "no member"},
		{"unknown_example_member", `{type: string}`, `- {name: ok, status: 200, sattus: 1}`, "unknown field"},
		{"required_header_missing_on_success", `{type: string}
      parameters: [{name: Idempotency-Key, in: header, required: true, schema: {type: string}}]`, `- {name: ok, status: 200}`, `required header "Idempotency-Key" is missing`},
		{"undefined_security_scheme", `{type: string}
      security: [{staffJwt: []}]`, `- {name: ok, status: 200}`, `security scheme "staffJwt" is not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDocument([]byte(fmt.Sprintf(base, tc.schema, tc.examples)))
			if err != nil {
				t.Fatal(err)
			}
			errs := lintDocument(d)
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors %q", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Fatalf("errors %q do not report %q", errs, tc.want)
			}
		})
	}
	t.Run("function_sets_differ", func(t *testing.T) {
		d, err := parseDocument([]byte(fmt.Sprintf(base, `{type: string}`, `- {name: ok, status: 200}`)))
		if err != nil {
			t.Fatal(err)
		}
		errs := strings.Join(compareFunctions([]string{"b"}, d), "\n")
		if !strings.Contains(errs, `function "b" of stack.yml has no path /function/b`) ||
			!strings.Contains(errs, `path /function/a is documented but stack.yml has no function "a"`) {
			t.Fatalf("got %q", errs)
		}
	})
}

// TestLint_sub_paths_and_error_formats proves the rules for functions that
// route by their own path (Open311's face of feedback): nested and
// templated sub-paths only with x-motcua-routed-by-path, and JSON error
// bodies only for operations declaring x-motcua-error-format.
func TestLint_sub_paths_and_error_formats(t *testing.T) {
	doc := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  %s:
    %s
    get:
      operationId: a
      %s
      parameters: %s
      responses:
        '200': {description: ok}
        '404':
          description: not found
          content:
            %s:
              schema: {type: array, items: {type: object, additionalProperties: false, properties: {code: {type: integer}}}}
      x-motcua-examples:
        - {name: ok, status: 200%s}
`
	const noParams, idParam = `[]`, `[{name: id, in: path, required: true, schema: {type: string}}]`
	tests := []struct {
		name                          string
		path, itemExt, opExt, params  string
		errMedia, exampleExtra, stack string
		want                          string // a substring of one error of lint or compareFunctions; "" = none
	}{
		{"routed_nested_templated_sub_path", "/function/a/v2/requests/{id}.json", "x-motcua-routed-by-path: true", "x-motcua-error-format: open311",
			idParam, "application/json", ", path: {id: x}", "a", ""},
		{"nested_sub_path_needs_routing", "/function/a/v2/requests/{id}.json", "", "x-motcua-error-format: open311",
			idParam, "application/json", ", path: {id: x}", "a", "document a function as /function/<name>"},
		{"routing_flag_on_the_function_itself", "/function/a", "x-motcua-routed-by-path: true", "", noParams, "application/problem+json", "", "a", "is for sub-paths"},
		{"routing_flag_not_a_boolean", "/function/a/x.json", "x-motcua-routed-by-path: yes-please", "", noParams, "application/problem+json", "", "a", "must be true or false"},
		{"routed_sub_path_of_unknown_function", "/function/a/v2/x.json", "x-motcua-routed-by-path: true", "", noParams, "application/problem+json", "", "b", `stack.yml has no function "a"`},
		{"json_errors_need_the_format", "/function/a", "", "", noParams, "application/json", "", "a", "error responses are application/problem+json, not application/json"},
		{"open311_format_refuses_problem_json", "/function/a/x.json", "x-motcua-routed-by-path: true", "x-motcua-error-format: open311",
			noParams, "application/problem+json", "", "a", "error responses are application/json, not application/problem+json"},
		{"unknown_error_format", "/function/a", "", "x-motcua-error-format: soap", noParams, "application/problem+json", "", "a", "x-motcua-error-format soap is unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDocument([]byte(fmt.Sprintf(doc, tc.path, tc.itemExt, tc.opExt, tc.params, tc.errMedia, tc.exampleExtra)))
			if err != nil {
				t.Fatal(err)
			}
			errs := strings.Join(append(lintDocument(d), compareFunctions([]string{tc.stack}, d)...), "\n")
			if tc.want == "" {
				if errs != "" {
					t.Fatalf("unexpected errors:\n%s", errs)
				}
				return
			}
			if !strings.Contains(errs, tc.want) {
				t.Fatalf("errors %q do not report %q", errs, tc.want)
			}
		})
	}
}

// findOperation returns the operation with the id.
func findOperation(t *testing.T, d *document, id string) operation {
	t.Helper()
	for _, o := range d.ops {
		if o.id() == id {
			return o
		}
	}
	t.Fatalf("no operation %q", id)
	return operation{}
}

// TestExamples_setup_and_capture runs a tiny document against a fake
// function: a setup step submits and captures, the example reuses the
// captured code, ${uuid:label} is stable, ${staff_token:AGENCY} and
// ${staff_token:AGENCY:staff,admin} verify with their roles.
func TestExamples_setup_and_capture(t *testing.T) {
	keys := t.TempDir()
	secret := stafftest.WriteKeys(t, keys)
	verifier, err := staffauth.NewVerifier(config.Secrets{Dir: keys})
	if err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/function/submit" && r.Method == http.MethodPost:
			gotKeys = append(gotKeys, r.Header.Get("Idempotency-Key"))
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"code":"HS-001","pin":"123456"}`)
		case r.URL.Path == "/function/status":
			c, err := verifier.Verify(r.Header.Get("Authorization"), time.Now())
			if err != nil || c.Agency != "STP" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_, _ = fmt.Fprintf(w, `{"code":%q,"status":"received"}`, r.URL.Query().Get("code"))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	doc := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /function/status:
    get:
      operationId: status
      parameters:
        - {name: code, in: query, schema: {type: string}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [code, status]
                properties: {code: {type: string}, status: {type: string, enum: [received]}}
      x-motcua-examples:
        - name: after_submit
          setup:
            - {method: POST, path: /function/submit, headers: {Idempotency-Key: '${uuid:k1}'}, body: {a: 1}, status: 201, capture: {appCode: code}}
            - {method: POST, path: /function/submit, headers: {Idempotency-Key: '${uuid:k1}'}, body: {a: 1}, status: 201}
          headers: {Authorization: 'Bearer ${staff_token:STP}'}
          query: {code: '${appCode}'}
          status: 200
          expectBody: {code: '${appCode}'}
`
	d, err := parseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if errs := lintDocument(d); len(errs) > 0 {
		t.Fatalf("lint: %q", errs)
	}
	vs := &vars{captured: map[string]any{}, uuids: map[string]string{}, newUUID: uuid.NewString,
		token: func(agency string, roles ...string) (string, error) { return mintStaffToken(secret, agency, roles...) }}
	o := d.ops[0]
	exs, err := o.examples()
	if err != nil {
		t.Fatal(err)
	}
	runExample(t, srv.Client(), srv.URL, d, o, exs[0], vs)
	if vs.captured["appCode"] != "HS-001" {
		t.Fatalf("captured %v", vs.captured)
	}
	if len(gotKeys) != 2 || gotKeys[0] == "" || gotKeys[0] != gotKeys[1] {
		t.Fatalf("Idempotency-Key per ${uuid:k1} not stable: %q", gotKeys)
	}
	if got, err := vs.substString("a${repeat:3:xy}b"); err != nil || got != "axyxyxyb" {
		t.Fatalf("${repeat:3:xy} = %q, %v", got, err)
	}
	if _, err := vs.substString("${repeat:many:x}"); err == nil {
		t.Fatal("a bad ${repeat} must be an error")
	}
	if _, err := vs.expectations(example{ExpectBody: map[string]any{"code": "${never_captured}"}}); err == nil {
		t.Fatal("an uncaptured variable in expectBody must be an error")
	}
	if _, err := vs.substString("${never_captured}"); err == nil || !strings.Contains(err.Error(), "has not been captured") {
		t.Fatalf("an uncaptured variable must be an error, got %v", err)
	}
	// ${staff_token:AGENCY:roles} carries exactly those roles.
	for _, tc := range []struct {
		placeholder string
		admin       bool
	}{{"${staff_token:STP}", false}, {"${staff_token:STP:staff,admin}", true}} {
		tok, err := vs.substString(tc.placeholder)
		if err != nil {
			t.Fatal(err)
		}
		c, err := verifier.Verify("Bearer "+tok, time.Now())
		if err != nil || c.Agency != "STP" || c.HasRole(staffauth.RoleAdmin) != tc.admin {
			t.Fatalf("%s: claims %+v, %v", tc.placeholder, c, err)
		}
	}
}
