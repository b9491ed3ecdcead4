package deploy_test

// The consistency checks of issue 10: stack.yml, resources.json, the
// generated CloudFormation template and the Kubernetes manifests against the
// code. How strong each check is:
//
//   - function folders ⇄ stack.yml: exact.
//   - secrets: the Go sources linked into each function are parsed (go/ast);
//     every `.Get(X)` whose argument is a string constant named *Secret* is a
//     secret read. A function must mount every secret its own handler package
//     reads, may only mount secrets some linked package reads, and every
//     secret any linked package reads must be mounted somewhere (or be listed
//     in notMounted with the reason). Package granularity: a secret read on a
//     path the function never takes (pay-fee links the bank-webhook reader)
//     is allowed but not required.
//   - S3 prefixes: each domain package that owns a key prefix is listed in
//     owners (with the package's exported constants where it has them). A
//     function's com.motcua.s3 declaration must cover the prefixes of the
//     packages its handler imports directly (except prefixes marked optional:
//     used by some entry points only, e.g. application's counters), plus
//     guard/ when the handler hands p.Guard to its domain, outbox/ when it
//     publishes, idempotency/<name>/ when it keeps idempotency records; and
//     it may only name prefixes of packages linked into it at all. Any linked package that talks to the
//     store (imports shared/docstore) but is in neither owners nor plumbing
//     fails the test, so a new domain package cannot silently escape the IAM
//     roles. This is static and package-grained, not a trace of real calls.
//   - queues, DLQs, visibility > exec_timeout, KMS, connector: exact, on the
//     generated template.

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"motcua/infra/deploy"
	"motcua/infra/provision"
	"motcua/infra/stackfile"
	"motcua/shared/application"
	"motcua/shared/catalog"
	"motcua/shared/citizenguard"
	"motcua/shared/feedback"
	"motcua/shared/jobs"
	"motcua/shared/outbox"
	"motcua/shared/payment"
	"motcua/shared/rating"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/numbering"
	"motcua/shared/reconcile"
	"motcua/shared/stats"
)

func TestFunctions_folders_match_stack(t *testing.T) {
	m := load(t)
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	// Several functions may share one handler folder (the reprocess-cron-*
	// schedules); every folder must be deployed by at least one.
	used := map[string]bool{}
	for _, n := range m.Stack.FunctionNames() {
		h := strings.TrimPrefix(m.Stack.Functions[n].Handler, "./functions/")
		if strings.Contains(h, "/") || h == m.Stack.Functions[n].Handler {
			t.Errorf("%s: handler %q is not a folder of functions/", n, m.Stack.Functions[n].Handler)
			continue
		}
		if !slices.Contains(dirs, h) {
			t.Errorf("stack.yml lists %s but functions/%s does not exist", n, h)
		}
		used[h] = true
	}
	for _, d := range dirs {
		if !used[d] {
			t.Errorf("functions/%s is not deployed by any function of stack.yml", d)
		}
	}
}

// pkgInfo is one package of `go list`.
type pkgInfo struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

func goList(t *testing.T) map[string]pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./functions/...", "./shared/...", "./cmd/...", "./infra/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkgInfo{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// secretReads returns the secret names each package reads: `.Get(C)` with C
// a string constant whose name contains "Secret" (this package's or an
// imported package's).
func secretReads(t *testing.T, pkgs map[string]pkgInfo) map[string][]string {
	t.Helper()
	consts := map[string]map[string]string{} // import path -> const name -> value
	files := map[string][]*ast.File{}
	fset := token.NewFileSet()
	for path, p := range pkgs {
		consts[path] = map[string]string{}
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files[path] = append(files[path], f)
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, s := range g.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								consts[path][n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			}
		}
	}
	reads := map[string][]string{}
	for path, fs := range files {
		for _, f := range fs {
			alias := map[string]string{}
			for _, imp := range f.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				name := ip[strings.LastIndex(ip, "/")+1:]
				if imp.Name != nil {
					name = imp.Name.Name
				}
				alias[name] = ip
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Get" {
					return true
				}
				var owner, name string
				switch a := call.Args[0].(type) {
				case *ast.Ident:
					owner, name = path, a.Name
				case *ast.SelectorExpr:
					if x, ok := a.X.(*ast.Ident); ok {
						owner, name = alias[x.Name], a.Sel.Name
					}
				}
				if v, ok := consts[owner][name]; ok && strings.Contains(name, "Secret") {
					if !slices.Contains(reads[path], v) {
						reads[path] = append(reads[path], v)
					}
				}
				return true
			})
		}
	}
	return reads
}

// notMounted lists secrets the code reads that no function mounts, and why.
var notMounted = map[string]string{
	"staff-jwt-private-key": "read only by `motcua token mint` (the token issuer), never by a function",
	"open311-api-keys":      "optional by design (shared/feedback): without it Open311 POST needs no api_key; mount it to require keys",
}

func TestSecrets_read_by_code_are_declared(t *testing.T) {
	m := load(t)
	pkgs := goList(t)
	reads := secretReads(t, pkgs)
	if len(reads) == 0 {
		t.Fatal("found no secret reads at all: the scanner is broken")
	}
	mounted := map[string]bool{}
	linked := map[string]bool{}
	for _, f := range m.Functions {
		p, ok := pkgs[handlerPkg(m, f.Name)]
		if !ok {
			t.Fatalf("no package %s", handlerPkg(m, f.Name))
		}
		can := map[string]bool{}
		for _, dep := range append([]string{p.ImportPath}, p.Deps...) {
			for _, s := range reads[dep] {
				can[s] = true
				linked[s] = true
			}
		}
		for _, s := range reads[p.ImportPath] {
			if !slices.Contains(f.Secrets, s) && notMounted[s] == "" {
				t.Errorf("%s: its handler reads secret %q but stack.yml does not mount it", f.Name, s)
			}
		}
		for _, s := range f.Secrets {
			mounted[s] = true
			if !can[s] {
				t.Errorf("%s: mounts secret %q that no code linked into it reads", f.Name, s)
			}
		}
	}
	for s := range linked {
		if !mounted[s] && notMounted[s] == "" {
			t.Errorf("secret %q is read by code linked into a function, but no function mounts it", s)
		}
	}
	// The connector signs deliveries with the secret issue-receipt verifies.
	if !slices.Contains(reads["motcua/cmd/motcua-connector"], "queue-delivery-secret") {
		t.Errorf("motcua-connector no longer reads queue-delivery-secret: update the manifests")
	}
}

// TestSecrets_pepper_is_mounted_exactly_where_citizen_secrets_are_hashed:
// a function whose handler builds the peppered guard (p.CitizenGuard())
// mounts citizenguard.PepperSecret, or it would not start; no other
// function mounts it (least privilege: the key must reach as few
// processes as possible).
func TestSecrets_pepper_is_mounted_exactly_where_citizen_secrets_are_hashed(t *testing.T) {
	m := load(t)
	pkgs := goList(t)
	users := 0
	for _, f := range m.Functions {
		uses := strings.Contains(handlerSource(t, pkgs[handlerPkg(m, f.Name)]), "p.CitizenGuard()")
		mounts := slices.Contains(f.Secrets, citizenguard.PepperSecret)
		if uses {
			users++
		}
		switch {
		case uses && !mounts:
			t.Errorf("%s: its handler builds p.CitizenGuard() but stack.yml does not mount %s", f.Name, citizenguard.PepperSecret)
		case mounts && !uses:
			t.Errorf("%s: mounts %s but never builds p.CitizenGuard()", f.Name, citizenguard.PepperSecret)
		}
	}
	if users == 0 {
		t.Fatal("no handler builds p.CitizenGuard(): the scan is broken")
	}
}

// owner is the key prefixes a domain package owns in a bucket chosen by env.
type owner struct {
	env      string   // MOTCUA_BUCKET or MOTCUA_UPLOADS_BUCKET
	prefixes []string // needed by any function importing the package directly
	optional []string // owned too, but used by some of its entry points only: allowed, not required
}

func dir(key string) string { return key[:strings.Index(key, "/")+1] }

func owners(t *testing.T) map[string][]owner {
	code, err := application.ParseCode("STP-260302-0001")
	if err != nil {
		t.Fatal(err)
	}
	appUpload := application.UploadKey(code, "D1", "x.pdf")
	return map[string][]owner{
		"motcua/shared/catalog": {{env: "MOTCUA_BUCKET", prefixes: []string{dir(catalog.PointerKey)}}},
		"motcua/shared/application": {
			{env: "MOTCUA_BUCKET", prefixes: []string{dir(application.Key(code))}, optional: []string{
				strings.TrimSuffix(application.CounterKey("STP", "260302"), "STP/260302.json"), // submission only
				strings.TrimSuffix(application.AuditPrefix(code), code.String()+"/"),           // processing only
				"index/",       // the per-agency work-queue index (every write path; read by staff)
				"pinrecovery/", // PIN recovery (application-status only)
			}},
			{env: "MOTCUA_UPLOADS_BUCKET", optional: []string{dir(appUpload)}}, // submission only
		},
		"motcua/shared/payment":   {{env: "MOTCUA_BUCKET", prefixes: []string{payment.Prefix}}},
		"motcua/shared/rating":    {{env: "MOTCUA_BUCKET", prefixes: []string{rating.Prefix}}},
		"motcua/shared/reconcile": {{env: "MOTCUA_BUCKET", prefixes: []string{dir(reconcile.SettlementPrefix)}}},
		"motcua/shared/feedback": {
			{env: "MOTCUA_BUCKET", prefixes: []string{dir(feedback.ItemsPrefix)}},
			{env: "MOTCUA_UPLOADS_BUCKET", optional: []string{dir(feedback.UploadKey(feedbackID(t), "x.pdf"))}},
		},
		"motcua/shared/stats": {{env: "MOTCUA_BUCKET", prefixes: []string{"stats/"}, optional: []string{
			// rebuild and per-event re-reads of the documents it counts
			dir(application.Key(code)), dir(catalog.PointerKey), rating.Prefix, stats.FeedbackPrefix,
		}}},
		"motcua/shared/jobs":              {{env: "MOTCUA_BUCKET", prefixes: []string{jobs.Prefix, jobs.IndexPrefix, jobs.SchedulePrefix, jobs.AuditPrefix}}},
		"motcua/shared/receipt/book":      {{env: "MOTCUA_BUCKET", prefixes: []string{book.Prefix}}},
		"motcua/shared/receipt/numbering": {{env: "MOTCUA_BUCKET", prefixes: []string{book.Prefix}}},
		"motcua/shared/notify": {{env: "MOTCUA_BUCKET", prefixes: []string{"notifications/"}, optional: []string{
			// the documents an event names: contacts, amounts, steps
			dir(application.Key(code)), payment.Prefix, feedback.ItemsPrefix, book.Prefix,
		}}},
		"motcua/shared/dvcqg": {{env: "MOTCUA_BUCKET", prefixes: []string{"dvcqg/"}, optional: []string{
			dir(application.Key(code)), dir(catalog.PointerKey),
		}}},
	}
}

// plumbing talks to the store only on behalf of the domain packages, or
// under a prefix checked by its own rule below (guard/, outbox/,
// idempotency/<function>/).
var plumbing = []string{
	"motcua/shared/docstore", "motcua/shared/platform", "motcua/shared/citizenguard", "motcua/shared/outbox",
	"motcua/shared/idempotency", "motcua/shared/queue",
	"motcua/shared/outbox/checks", // the outbox checks read the records the domain packages own
	"motcua/shared/jobs/kinds",    // runs the domain packages' own operations (their prefixes are owned above)
}

func TestS3_declarations_cover_the_code(t *testing.T) {
	m := load(t)
	pkgs := goList(t)
	own := owners(t)
	if !strings.HasPrefix(numbering.Prefix, book.Prefix) {
		t.Fatalf("receipt numbering left %s", book.Prefix)
	}
	for _, f := range m.Functions {
		p := pkgs[handlerPkg(m, f.Name)]
		env, _ := m.Stack.Env(m.Stack.Functions[f.Name])
		declared := map[string]bool{}
		for _, g := range f.Grants {
			declared[g.String()] = true
		}
		grant := func(envKey, prefix string) string { return env[envKey] + ":" + prefix }
		required, allowed := map[string]bool{}, map[string]bool{}
		add := func(set map[string]bool, pkg string, withOptional bool) {
			for _, o := range own[pkg] {
				if env[o.env] == "" {
					continue
				}
				for _, pre := range o.prefixes {
					set[grant(o.env, pre)] = true
				}
				for _, pre := range o.optional {
					if withOptional {
						set[grant(o.env, pre)] = true
					}
				}
			}
		}
		for _, imp := range p.Imports {
			add(required, imp, false)
		}
		for _, dep := range p.Deps {
			add(allowed, dep, true)
			if _, known := own[dep]; known || slices.Contains(plumbing, dep) || !strings.HasPrefix(dep, "motcua/") {
				continue
			}
			if slices.Contains(pkgs[dep].Imports, "motcua/shared/docstore") {
				t.Errorf("%s links %s, which uses the document store but is not in owners/plumbing of this test: say which prefixes it owns", f.Name, dep)
			}
		}
		src := handlerSource(t, p)
		if strings.Contains(src, "p.Guard") || strings.Contains(src, "p.CitizenGuard()") {
			required[grant("MOTCUA_BUCKET", citizenguard.DefaultPrefix)] = true
		}
		if len(f.Publishes) > 0 {
			required[grant("MOTCUA_BUCKET", outbox.Prefix)] = true
		}
		if strings.Contains(src, `"idempotency/`+f.Name+`"`) {
			required[grant("MOTCUA_BUCKET", "idempotency/"+f.Name+"/")] = true
		}
		for g := range required {
			allowed[g] = true
			if !declared[g] {
				t.Errorf("%s: its code needs %s but %s does not grant it", f.Name, g, deploy.S3Annotation)
			}
		}
		for g := range declared {
			if !allowed[g] {
				t.Errorf("%s: %s grants %s, which no package linked into it owns (least privilege)", f.Name, deploy.S3Annotation, g)
			}
		}
	}
}

// handlerPkg is the import path of a function's handler folder.
func handlerPkg(m *deploy.Model, name string) string {
	return "motcua/" + strings.TrimPrefix(m.Stack.Functions[name].Handler, "./")
}

func handlerSource(t *testing.T, p pkgInfo) string {
	t.Helper()
	var b strings.Builder
	for _, f := range p.GoFiles {
		data, err := os.ReadFile(filepath.Join(p.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

type cfnTemplate struct {
	Resources map[string]struct {
		Type       string
		Properties map[string]any
	}
}

func template(t *testing.T, m *deploy.Model) cfnTemplate {
	t.Helper()
	b, err := m.CloudFormation()
	if err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestTemplate_queues_have_DLQs_and_visibility_above_consumer_timeout(t *testing.T) {
	m := load(t)
	tpl := template(t, m)
	used := map[string]time.Duration{}
	for _, f := range m.Functions {
		for _, q := range f.Publishes {
			if _, ok := used[q]; !ok {
				used[q] = 0
			}
		}
		if f.Consumes != "" && f.ExecTimeout > used[f.Consumes] {
			used[f.Consumes] = f.ExecTimeout
		}
	}
	for q, timeout := range used {
		r, ok := tpl.Resources[deploy.QueueID(q)]
		if !ok || r.Type != "AWS::SQS::Queue" {
			t.Errorf("queue %s: not in the template", q)
			continue
		}
		rp, _ := r.Properties["RedrivePolicy"].(map[string]any)
		target, _ := rp["deadLetterTargetArn"].(map[string]any)
		att, _ := target["Fn::GetAtt"].([]any)
		if len(att) != 2 || att[0] != deploy.QueueID(provision.DLQName(q)) {
			t.Errorf("queue %s: redrive policy %v does not point at its DLQ", q, rp)
		} else if _, ok := tpl.Resources[deploy.QueueID(provision.DLQName(q))]; !ok {
			t.Errorf("queue %s: DLQ missing", q)
		}
		vis, _ := r.Properties["VisibilityTimeout"].(float64)
		if time.Duration(vis)*time.Second <= timeout {
			t.Errorf("queue %s: visibility %vs does not exceed its consumer's exec_timeout %s", q, vis, timeout)
		}
	}
}

func policyText(t *testing.T, tpl cfnTemplate, id string) string {
	t.Helper()
	r, ok := tpl.Resources[id]
	if !ok {
		t.Fatalf("%s not in the template", id)
	}
	b, _ := json.Marshal(r.Properties["Policies"])
	return string(b)
}

func TestTemplate_roles_grant_exactly_the_declarations(t *testing.T) {
	m := load(t)
	tpl := template(t, m)
	for _, f := range m.Functions {
		pol := policyText(t, tpl, deploy.RoleID(f.Name))
		for _, g := range f.Grants {
			if !strings.Contains(pol, g.Bucket+"${BucketSuffix}/"+g.Prefix+"*") {
				t.Errorf("%s: role lacks %s", f.Name, g)
			}
		}
		if n := strings.Count(pol, "${BucketSuffix}/"); n != len(f.Grants) {
			t.Errorf("%s: role names %d object prefixes, stack.yml declares %d", f.Name, n, len(f.Grants))
		}
		for _, q := range m.Resources.Queues {
			has := strings.Contains(pol, `"`+deploy.QueueID(q.Name)+`"`)
			if want := slices.Contains(f.Publishes, q.Name); has != want {
				t.Errorf("%s: role mentions queue %s = %v, publishes to it = %v", f.Name, q.Name, has, want)
			}
		}
		if strings.Contains(pol, "sqs:ReceiveMessage") || strings.Contains(pol, "sqs:DeleteMessage") {
			t.Errorf("%s: a function never receives from SQS itself (the connector does)", f.Name)
		}
		if has := strings.Contains(pol, "kms:Sign"); has != f.KMSSign {
			t.Errorf("%s: kms:Sign = %v, declared %v", f.Name, has, f.KMSSign)
		}
		if strings.Contains(pol, `"*"`) {
			t.Errorf("%s: wildcard resource in role", f.Name)
		}
	}
	if f, ok := m.Function("issue-receipt"); !ok || !f.KMSSign {
		t.Errorf("issue-receipt must be the receipt signer")
	}
	conn := policyText(t, tpl, deploy.ConnectorRoleID)
	for _, q := range m.Resources.Queues {
		has := strings.Contains(conn, `"`+deploy.QueueID(q.Name)+`"`)
		if want := slices.Contains(m.ConsumedQueues(), q.Name); has != want {
			t.Errorf("connector: role mentions %s = %v, consumed = %v", q.Name, has, want)
		}
	}
	if strings.Contains(conn, "s3:") || strings.Contains(conn, "kms:") {
		t.Errorf("connector role reaches beyond SQS: %s", conn)
	}
}

func TestTemplate_buckets_are_private_encrypted_and_receipts_versioned(t *testing.T) {
	m := load(t)
	tpl := template(t, m)
	for _, b := range m.Resources.Buckets {
		r := tpl.Resources[deploy.BucketID(b.Name)]
		js, _ := json.Marshal(r.Properties)
		s := string(js)
		for _, want := range []string{`"BlockPublicAcls":true`, `"RestrictPublicBuckets":true`, `"SSEAlgorithm":"AES256"`, `"AbortIncompleteMultipartUpload"`} {
			if !strings.Contains(s, want) {
				t.Errorf("bucket %s lacks %s", b.Name, want)
			}
		}
		pol, _ := json.Marshal(tpl.Resources[deploy.BucketID(b.Name)+"Policy"].Properties)
		if !strings.Contains(string(pol), `"aws:SecureTransport":"false"`) {
			t.Errorf("bucket %s: no TLS-only policy", b.Name)
		}
	}
	data, _ := json.Marshal(tpl.Resources[deploy.BucketID("motcua-data")].Properties)
	if !strings.Contains(string(data), `"VersioningConfiguration":{"Status":"Enabled"}`) {
		t.Errorf("the bucket holding %s is not versioned", book.Prefix)
	}
	if !strings.Contains(string(data), `"Prefix":"`+payment.AuditPrefix+`"`) {
		t.Errorf("no lifecycle rule for the raw callback audit %s", payment.AuditPrefix)
	}
	key := tpl.Resources[deploy.ReceiptKeyID].Properties
	if key["KeySpec"] != "RSA_2048" || key["KeyUsage"] != "SIGN_VERIFY" {
		t.Errorf("receipt key %v", key)
	}
}

func TestKubernetes_manifests_reference_what_exists(t *testing.T) {
	m := load(t)
	dir := filepath.Join(root, "infra/connector/deploy")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]any{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				break
			}
			kind, _ := doc["kind"].(string)
			md, _ := doc["metadata"].(map[string]any)
			name, _ := md["name"].(string)
			if kind != "" && name != "" { // faasd-compose.yaml is not a Kubernetes object
				kinds[kind+"/"+name] = doc
			}
		}
		f.Close()
	}
	dep, ok := kinds["Deployment/motcua-connector"]
	if !ok {
		t.Fatalf("no Deployment/motcua-connector in %s (have %v)", dir, slices.Sorted(mapKeys(kinds)))
	}
	js, _ := json.Marshal(dep)
	s := string(js)
	for _, want := range []string{`"livenessProbe"`, `"readinessProbe"`, `"limits"`, `"requests"`, `"serviceAccountName":"motcua-connector"`, `"name":"queue-delivery-secret"`} {
		if !strings.Contains(s, want) {
			t.Errorf("connector Deployment lacks %s", want)
		}
	}
	if _, ok := kinds["ServiceAccount/motcua-connector"]; !ok {
		t.Errorf("no ServiceAccount/motcua-connector")
	}
	if _, ok := m.Secrets()["queue-delivery-secret"]; !ok {
		t.Errorf("no function mounts queue-delivery-secret, yet the connector signs with it")
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func feedbackID(t *testing.T) feedback.ID {
	t.Helper()
	id, err := feedback.NewID(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestStack_production_conventions: images under the registry prefix and
// tag variables, bucket names with the suffix variable, resources and
// scaling labels on every function.
func TestStack_production_conventions(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"MOTCUA_REGISTRY": "REG.example/x", "MOTCUA_TAG": "TAG1", "MOTCUA_BUCKET_SUFFIX": "-sfx"}
	st, err := stackfile.ParseEnv(raw, root, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st.FunctionNames() {
		fn := st.Functions[n]
		folder := strings.TrimPrefix(fn.Handler, "./functions/")
		if want := "REG.example/x/" + folder + ":TAG1"; fn.Image != want {
			t.Errorf("%s: image %q with MOTCUA_REGISTRY/MOTCUA_TAG set, want %q (use ${MOTCUA_REGISTRY:-ghcr.io/motcua}/%s:${MOTCUA_TAG:-latest})", n, fn.Image, want, folder)
		}
		env, _ := st.Env(fn)
		for _, k := range []string{"MOTCUA_BUCKET", "MOTCUA_UPLOADS_BUCKET"} {
			if v, ok := env[k]; ok && !strings.HasSuffix(v, "-sfx") {
				t.Errorf("%s: %s %q ignores MOTCUA_BUCKET_SUFFIX", n, k, v)
			}
		}
		if fn.Requests == nil || fn.Limits == nil || fn.Limits.Memory == "" || fn.Limits.CPU == "" || fn.Requests.Memory == "" {
			t.Errorf("%s: requests and limits (memory, cpu) are required", n)
		}
		for _, l := range []string{"com.openfaas.scale.min", "com.openfaas.scale.max"} {
			if fn.Labels[l] == "" && fn.Topic() != deploy.CronTopic {
				t.Errorf("%s: label %s missing", n, l)
			}
		}
	}
}
