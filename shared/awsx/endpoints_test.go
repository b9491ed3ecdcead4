package awsx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// s3Cases are the S3 parameter sets motcua's clients bind (see
// bindEndpointParams in the SDK): path style on a custom endpoint (the
// embedded stack, LocalStack), virtual host on AWS in the regions and
// variants a deployment may use.
func s3Cases() map[string]s3.EndpointParameters {
	base := func(region string) s3.EndpointParameters {
		return s3.EndpointParameters{Bucket: aws.String("motcua-data"), Region: aws.String(region),
			UseFIPS: aws.Bool(false), UseDualStack: aws.Bool(false), ForcePathStyle: aws.Bool(false),
			Accelerate: aws.Bool(false), DisableMultiRegionAccessPoints: aws.Bool(false), UseArnRegion: aws.Bool(false)}
	}
	custom := func(endpoint string) s3.EndpointParameters {
		p := base("us-east-1")
		p.Endpoint, p.ForcePathStyle = aws.String(endpoint), aws.Bool(true)
		return p
	}
	cases := map[string]s3.EndpointParameters{
		"custom_http_path_style":          custom("http://127.0.0.1:4566"),
		"custom_https_path_style":         custom("https://s3.internal.example:9000"),
		"custom_endpoint_with_base_path":  custom("http://127.0.0.1:4566/storage"),
		"aws_virtual_host_ap_southeast_1": base("ap-southeast-1"),
		"aws_virtual_host_us_east_1":      base("us-east-1"),
		"aws_virtual_host_eu_west_1":      base("eu-west-1"),
		"aws_virtual_host_cn_north_1":     base("cn-north-1"),
		"aws_virtual_host_gov_cloud":      base("us-gov-west-1"),
	}
	p := base("ap-southeast-1")
	p.ForcePathStyle = aws.Bool(true)
	cases["aws_path_style"] = p
	p = base("ap-southeast-1")
	p.UseFIPS = aws.Bool(true)
	cases["aws_fips"] = p
	p = base("ap-southeast-1")
	p.UseDualStack = aws.Bool(true)
	cases["aws_dual_stack"] = p
	p = base("ap-southeast-1")
	p.Bucket = aws.String("motcua-uploads")
	cases["aws_other_bucket"] = p
	p = base("ap-southeast-1")
	p.Bucket = nil
	cases["aws_no_bucket"] = p
	return cases
}

func sqsCases() map[string]sqs.EndpointParameters {
	p := func(region string, endpoint *string, fips, dual bool) sqs.EndpointParameters {
		return sqs.EndpointParameters{Region: aws.String(region), Endpoint: endpoint, UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)}
	}
	return map[string]sqs.EndpointParameters{
		"custom_http":     p("us-east-1", aws.String("http://127.0.0.1:4566"), false, false),
		"aws":             p("ap-southeast-1", nil, false, false),
		"aws_us_east_1":   p("us-east-1", nil, false, false),
		"aws_fips":        p("us-east-1", nil, true, false),
		"aws_dual_stack":  p("ap-southeast-1", nil, false, true),
		"aws_cn_north_1":  p("cn-north-1", nil, false, false),
		"aws_gov_cloud":   p("us-gov-west-1", nil, false, false),
		"custom_with_tls": p("ap-southeast-1", aws.String("https://sqs.internal.example"), false, false),
	}
}

// view is an endpoint in comparable form: its URI, headers and every
// property, auth options expanded.
type view struct {
	URI     string
	Headers http.Header
	Props   map[string]any
}

func viewOf(t *testing.T, e smithyendpoints.Endpoint) view {
	t.Helper()
	v := view{URI: e.URI.String(), Headers: e.Headers, Props: map[string]any{}}
	if len(v.Headers) == 0 {
		v.Headers = nil
	}
	for k, val := range e.Properties.Values() {
		if opts, ok := val.([]*smithyauth.Option); ok {
			var expanded []string
			for _, o := range opts {
				expanded = append(expanded, fmt.Sprintf("%s identity=%v signer=%v", o.SchemeID,
					sortedProps(o.IdentityProperties.Values()), sortedProps(o.SignerProperties.Values())))
			}
			val = expanded
		}
		v.Props[fmt.Sprintf("%T", k)] = val
	}
	return v
}

func sortedProps(m map[any]any) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%T=%v", k, v))
	}
	sort.Strings(out)
	return out
}

func TestS3EndpointCache_matches_sdk(t *testing.T) {
	ctx := context.Background()
	sdk := s3.NewDefaultEndpointResolverV2()
	cached := CachingS3Endpoints(nil)
	for name, p := range s3Cases() {
		t.Run(name, func(t *testing.T) {
			want, err := sdk.ResolveEndpoint(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for i, what := range []string{"miss", "hit"} {
				got, err := cached.ResolveEndpoint(ctx, p)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !reflect.DeepEqual(viewOf(t, got), viewOf(t, want)) {
					t.Fatalf("%s (%d):\n got %+v\nwant %+v", what, i, viewOf(t, got), viewOf(t, want))
				}
			}
		})
	}
	if n := len(cached.(*s3Endpoints).cache.m); n != len(s3Cases()) {
		t.Fatalf("%d cached entries for %d parameter sets", n, len(s3Cases()))
	}
}

func TestSQSEndpointCache_matches_sdk(t *testing.T) {
	ctx := context.Background()
	sdk := sqs.NewDefaultEndpointResolverV2()
	cached := CachingSQSEndpoints(nil)
	for name, p := range sqsCases() {
		t.Run(name, func(t *testing.T) {
			want, err := sdk.ResolveEndpoint(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, what := range []string{"miss", "hit"} {
				got, err := cached.ResolveEndpoint(ctx, p)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !reflect.DeepEqual(viewOf(t, got), viewOf(t, want)) {
					t.Fatalf("%s:\n got %+v\nwant %+v", what, viewOf(t, got), viewOf(t, want))
				}
			}
		})
	}
}

// The cache key leaves out Key, Prefix and CopySource (bound per request);
// this holds only while the SDK's rules ignore them, which is checked here
// against the SDK itself for every parameter set we use.
func TestS3EndpointCache_ignores_object_parameters(t *testing.T) {
	ctx := context.Background()
	sdk := s3.NewDefaultEndpointResolverV2()
	for name, p := range s3Cases() {
		t.Run(name, func(t *testing.T) {
			want, err := sdk.ResolveEndpoint(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, obj := range []struct{ key, prefix, copySource string }{
				{"applications/2026/A-1.json", "", ""},
				{"idempotency/submit-application/ab/cd", "applications/", "motcua-data/outbox/x.json"},
				{"a b/ü?x=1&y", "index/", "other-bucket/k?versionId=3"},
			} {
				q := p
				q.Key, q.Prefix, q.CopySource = aws.String(obj.key), aws.String(obj.prefix), aws.String(obj.copySource)
				got, err := sdk.ResolveEndpoint(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(viewOf(t, got), viewOf(t, want)) {
					t.Fatalf("key %q changes the SDK's endpoint: %+v, want %+v; the cache key must include it", obj.key, viewOf(t, got), viewOf(t, want))
				}
				if s3Key(q) != s3Key(p) {
					t.Fatal("object parameters changed the cache key")
				}
			}
		})
	}
}

// TestEndpointKeys_cover_every_parameter fails when an SDK upgrade adds an
// endpoint parameter: it must then be added to the cache key (or, if it is
// bound per request and the rules ignore it, to the ignored list with a
// check like TestS3EndpointCache_ignores_object_parameters).
func TestEndpointKeys_cover_every_parameter(t *testing.T) {
	tests := []struct {
		name  string
		typ   reflect.Type
		known []string
	}{
		{name: "s3", typ: reflect.TypeFor[s3.EndpointParameters](), known: []string{
			"Bucket", "Region", "UseFIPS", "UseDualStack", "Endpoint", "ForcePathStyle", "Accelerate",
			"UseGlobalEndpoint", "UseObjectLambdaEndpoint", "DisableAccessPoints", "DisableMultiRegionAccessPoints",
			"UseArnRegion", "UseS3ExpressControlEndpoint", "DisableS3ExpressSessionAuth",
			"Key", "Prefix", "CopySource", // ignored on purpose
		}},
		{name: "sqs", typ: reflect.TypeFor[sqs.EndpointParameters](), known: []string{"Region", "UseDualStack", "UseFIPS", "Endpoint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known := map[string]bool{}
			for _, f := range tt.known {
				known[f] = true
			}
			for i := range tt.typ.NumField() {
				if f := tt.typ.Field(i); !known[f.Name] {
					t.Errorf("%s.EndpointParameters.%s is not in awsx's cache key", tt.name, f.Name)
				}
			}
			if tt.typ.NumField() != len(known) {
				t.Errorf("%d fields, %d known: a known field was removed", tt.typ.NumField(), len(known))
			}
		})
	}
	// Every field changes the S3 key (none forgotten in s3Key).
	all := s3.EndpointParameters{}
	v := reflect.ValueOf(&all).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Key" || name == "Prefix" || name == "CopySource" {
			continue
		}
		p := s3.EndpointParameters{}
		f := reflect.ValueOf(&p).Elem().Field(i)
		switch f.Type() {
		case reflect.TypeFor[*string]():
			f.Set(reflect.ValueOf(aws.String("x")))
		case reflect.TypeFor[*bool]():
			f.Set(reflect.ValueOf(aws.Bool(true)))
		default:
			t.Fatalf("field %s has type %s", name, f.Type())
		}
		if s3Key(p) == s3Key(s3.EndpointParameters{}) {
			t.Errorf("s3Key ignores %s", name)
		}
	}
}

// Whatever a caller does to an answer, the next answer is the SDK's.
func TestEndpointCache_answers_are_copies(t *testing.T) {
	ctx := context.Background()
	p := s3Cases()["aws_virtual_host_ap_southeast_1"]
	want, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	cached := CachingS3Endpoints(nil)
	for range 3 {
		got, err := cached.ResolveEndpoint(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(viewOf(t, got), viewOf(t, want)) {
			t.Fatalf("got %+v, want %+v", viewOf(t, got), viewOf(t, want))
		}
		got.URI.Host, got.URI.Path = "evil.example", "/x"
		got.Headers.Set("X-Injected", "1")
		got.Properties.Set("injected", true)
		opts, ok := smithyauth.GetAuthOptions(&got.Properties)
		if !ok || len(opts) == 0 {
			t.Fatal("no auth options in the answer")
		}
		opts[0].SchemeID = "none"
		opts[0].SignerProperties.Set("injected", true)
		opts[0].IdentityProperties.Set("injected", true)
		opts = append(opts, &smithyauth.Option{SchemeID: "extra"})
		smithyauth.SetAuthOptions(&got.Properties, opts)
	}
}

type countingS3 struct {
	mu    sync.Mutex
	calls int
	fail  bool
}

func (c *countingS3) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	c.mu.Lock()
	c.calls++
	fail := c.fail
	c.mu.Unlock()
	if fail {
		return smithyendpoints.Endpoint{}, errors.New("rules: no endpoint")
	}
	return s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
}

func TestEndpointCache_asks_once_per_parameter_set_and_never_caches_errors(t *testing.T) {
	ctx := context.Background()
	next := &countingS3{fail: true}
	r := CachingS3Endpoints(next)
	p := s3Cases()["custom_http_path_style"]
	if _, err := r.ResolveEndpoint(ctx, p); err == nil {
		t.Fatal("error was not returned")
	}
	next.fail = false
	for range 5 {
		q := p
		q.Key = aws.String(fmt.Sprint("k", next.calls))
		if _, err := r.ResolveEndpoint(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if next.calls != 2 {
		t.Fatalf("the SDK's resolver was asked %d times, want 2 (the failure, then once)", next.calls)
	}
	if CachingS3Endpoints(r) != r {
		t.Fatal("wrapping twice adds a second cache")
	}
}

func TestEndpointCache_is_bounded(t *testing.T) {
	ctx := context.Background()
	r := CachingS3Endpoints(nil).(*s3Endpoints)
	p := s3Cases()["custom_http_path_style"]
	for i := range MaxCachedEndpoints + 20 {
		q := p
		q.Bucket = aws.String(fmt.Sprintf("bucket-%04d", i))
		got, err := r.ResolveEndpoint(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if want := "http://127.0.0.1:4566/" + *q.Bucket; got.URI.String() != want {
			t.Fatalf("%s, want %s", got.URI.String(), want)
		}
	}
	if n := len(r.cache.m); n != MaxCachedEndpoints {
		t.Fatalf("%d entries, want the bound %d", n, MaxCachedEndpoints)
	}
}

// Run with -race: concurrent misses, hits and callers writing to their
// answers.
func TestEndpointCache_concurrent_use(t *testing.T) {
	ctx := context.Background()
	s3r, sqsr := CachingS3Endpoints(nil), CachingSQSEndpoints(nil)
	s3p, sqsp := s3Cases(), sqsCases()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				for name, p := range s3p {
					e, err := s3r.ResolveEndpoint(ctx, p)
					if err != nil {
						t.Error(name, err)
						return
					}
					e.Headers.Set("X-G", fmt.Sprint(g, i))
					if opts, ok := smithyauth.GetAuthOptions(&e.Properties); ok {
						opts[0].SignerProperties.Set("g", g)
					}
				}
				for name, p := range sqsp {
					if _, err := sqsr.ResolveEndpoint(ctx, p); err != nil {
						t.Error(name, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
