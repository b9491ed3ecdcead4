package awsx

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// MaxCachedEndpoints bounds each client's endpoint cache. A process resolves
// a handful of parameter sets (one per bucket and region, one per SQS
// endpoint); past the bound, answers are still correct, just not cached.
const MaxCachedEndpoints = 256

// The SDK runs its endpoint rules engine (a decision diagram over the
// region, endpoint, bucket, addressing style, FIPS, dual-stack ...) on every
// request: 3-5 % of a submission's CPU in BenchmarkSubmitHTTP for S3 (~25
// allocations each time), 2 % for SQS. The answer depends only on those
// parameters, which take a few values in a process, so awsx's clients
// remember it per parameter set (see BenchmarkEndpoints).

// endpointCache remembers resolved endpoints by key, up to
// MaxCachedEndpoints. Safe for concurrent use. Errors are not cached. Every
// answer is a fresh copy: whatever a caller (or a middleware after it) does
// to the endpoint it got, headers, property maps and auth options included,
// cannot reach the cached value or another request. Property values other
// than the auth options are shared as they are (the SDK keeps strings and
// booleans there).
type endpointCache[K comparable] struct {
	mu sync.RWMutex // a plain map: sync.Map would box (allocate) every key
	m  map[K]*frozenEndpoint
}

// get returns a copy of the answer cached for key, if any.
func (c *endpointCache[K]) get(key K) (smithyendpoints.Endpoint, bool) {
	c.mu.RLock()
	f := c.m[key]
	c.mu.RUnlock()
	if f == nil {
		return smithyendpoints.Endpoint{}, false
	}
	return f.thaw(), true
}

// put remembers e (a copy of it) for key while there is room.
func (c *endpointCache[K]) put(key K, e smithyendpoints.Endpoint) {
	f := freeze(e)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[K]*frozenEndpoint)
	}
	if len(c.m) < MaxCachedEndpoints {
		c.m[key] = f
	}
}

// frozenEndpoint is a resolved endpoint kept in maps of its own, which are
// only ever read: smithy.Properties' Get initialises a nil map, and the
// auth options are pointers, so neither is shared with a request.
type frozenEndpoint struct {
	uri        url.URL
	headers    http.Header
	props      map[any]any // without the auth options
	optionsKey any         // the properties key of the auth options, if any
	options    []frozenOption
}

type frozenOption struct {
	absent           bool // a nil *smithyauth.Option
	scheme           string
	identity, signer map[any]any
}

func freeze(e smithyendpoints.Endpoint) *frozenEndpoint {
	f := &frozenEndpoint{uri: e.URI, headers: e.Headers.Clone(), props: e.Properties.Values()}
	if e.URI.User != nil {
		u := *e.URI.User
		f.uri.User = &u
	}
	for k, v := range f.props {
		opts, ok := v.([]*smithyauth.Option)
		if !ok {
			continue
		}
		f.optionsKey = k
		f.options = make([]frozenOption, len(opts))
		for i, o := range opts {
			if o == nil {
				f.options[i].absent = true
				continue
			}
			f.options[i] = frozenOption{scheme: o.SchemeID, identity: o.IdentityProperties.Values(), signer: o.SignerProperties.Values()}
		}
		delete(f.props, k)
		break
	}
	return f
}

// thaw returns a copy of the endpoint that shares nothing writable with f
// (url.Userinfo is immutable).
func (f *frozenEndpoint) thaw() smithyendpoints.Endpoint {
	e := smithyendpoints.Endpoint{URI: f.uri, Headers: f.headers.Clone()}
	setAll(&e.Properties, f.props)
	if f.optionsKey != nil {
		opts := make([]*smithyauth.Option, len(f.options))
		for i, fo := range f.options {
			if fo.absent {
				continue
			}
			o := &smithyauth.Option{SchemeID: fo.scheme}
			setAll(&o.IdentityProperties, fo.identity)
			setAll(&o.SignerProperties, fo.signer)
			opts[i] = o
		}
		e.Properties.Set(f.optionsKey, opts)
	}
	return e
}

func setAll(p *smithy.Properties, m map[any]any) {
	for k, v := range m {
		p.Set(k, v)
	}
}

// optString and optBool keep "unset" apart from the zero value in a cache
// key built from the SDK's pointer parameters.
type optString struct {
	set bool
	v   string
}

func optS(p *string) optString {
	if p == nil {
		return optString{}
	}
	return optString{set: true, v: *p}
}

type optBool uint8

func optB(p *bool) optBool {
	switch {
	case p == nil:
		return 0
	case *p:
		return 2
	default:
		return 1
	}
}

// resolve returns the cached answer for k, or asks resolve and caches its
// answer (errors are not cached).
func (c *endpointCache[K]) resolve(k K, resolve func() (smithyendpoints.Endpoint, error)) (smithyendpoints.Endpoint, error) {
	if e, ok := c.get(k); ok {
		return e, nil
	}
	e, err := resolve()
	if err == nil {
		c.put(k, e)
	}
	return e, err
}

// s3EndpointKey is every S3 endpoint parameter the rules engine reads.
// Key, Prefix and CopySource are left out on purpose: the SDK binds them
// per request (every object key would be a new entry) but its rules do not
// read them; TestS3EndpointCache_ignores_object_parameters checks that
// against the SDK's own resolver, and TestS3EndpointKey_covers_every_parameter
// fails when an SDK upgrade adds a parameter this key does not know.
type s3EndpointKey struct {
	bucket, region, endpoint                                  optString
	useFIPS, useDualStack, forcePathStyle, accelerate         optBool
	useGlobalEndpoint, useObjectLambdaEndpoint                optBool
	disableAccessPoints, disableMultiRegionAccessPoints       optBool
	useArnRegion, useS3ExpressControlEndpoint, disableS3XAuth optBool
}

func s3Key(p s3.EndpointParameters) s3EndpointKey {
	return s3EndpointKey{
		bucket: optS(p.Bucket), region: optS(p.Region), endpoint: optS(p.Endpoint),
		useFIPS: optB(p.UseFIPS), useDualStack: optB(p.UseDualStack), forcePathStyle: optB(p.ForcePathStyle),
		accelerate: optB(p.Accelerate), useGlobalEndpoint: optB(p.UseGlobalEndpoint),
		useObjectLambdaEndpoint: optB(p.UseObjectLambdaEndpoint), disableAccessPoints: optB(p.DisableAccessPoints),
		disableMultiRegionAccessPoints: optB(p.DisableMultiRegionAccessPoints), useArnRegion: optB(p.UseArnRegion),
		useS3ExpressControlEndpoint: optB(p.UseS3ExpressControlEndpoint), disableS3XAuth: optB(p.DisableS3ExpressSessionAuth),
	}
}

// s3Endpoints is a caching s3.EndpointResolverV2.
type s3Endpoints struct {
	next  s3.EndpointResolverV2
	cache endpointCache[s3EndpointKey]
}

// ResolveEndpoint implements s3.EndpointResolverV2.
func (r *s3Endpoints) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return r.cache.resolve(s3Key(p), func() (smithyendpoints.Endpoint, error) { return r.next.ResolveEndpoint(ctx, p) })
}

// CachingS3Endpoints wraps next (the SDK's resolver when nil) so that it is
// asked once per distinct parameter set (up to MaxCachedEndpoints), each
// answer handed out as a copy. Safe for concurrent use.
func CachingS3Endpoints(next s3.EndpointResolverV2) s3.EndpointResolverV2 {
	if next == nil {
		next = s3.NewDefaultEndpointResolverV2()
	}
	if _, ok := next.(*s3Endpoints); ok {
		return next
	}
	return &s3Endpoints{next: next}
}

// sqsEndpointKey is every SQS endpoint parameter.
type sqsEndpointKey struct {
	region, endpoint      optString
	useFIPS, useDualStack optBool
}

// sqsEndpoints is a caching sqs.EndpointResolverV2.
type sqsEndpoints struct {
	next  sqs.EndpointResolverV2
	cache endpointCache[sqsEndpointKey]
}

// ResolveEndpoint implements sqs.EndpointResolverV2.
func (r *sqsEndpoints) ResolveEndpoint(ctx context.Context, p sqs.EndpointParameters) (smithyendpoints.Endpoint, error) {
	k := sqsEndpointKey{region: optS(p.Region), endpoint: optS(p.Endpoint), useFIPS: optB(p.UseFIPS), useDualStack: optB(p.UseDualStack)}
	return r.cache.resolve(k, func() (smithyendpoints.Endpoint, error) { return r.next.ResolveEndpoint(ctx, p) })
}

// CachingSQSEndpoints is CachingS3Endpoints for SQS.
func CachingSQSEndpoints(next sqs.EndpointResolverV2) sqs.EndpointResolverV2 {
	if next == nil {
		next = sqs.NewDefaultEndpointResolverV2()
	}
	if _, ok := next.(*sqsEndpoints); ok {
		return next
	}
	return &sqsEndpoints{next: next}
}
