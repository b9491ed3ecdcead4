// Package docstoretest is the contract suite of the docstore.Store port. Every
// adapter (MemStore, S3Store on the embedded stack, S3Store on LocalStack)
// runs it unchanged, so a fake cannot drift from the real thing.
package docstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua/shared/docstore"
)

// Option adjusts the suite for an adapter.
type Option func(*suite)

type suite struct {
	noPresignHTTP string
}

// WithoutPresignHTTP declares that the adapter's presigned URLs cannot be
// fetched over HTTP (MemStore's mem:// URLs), giving the reason. The
// presign case then checks the URLs' shape and skips the HTTP round trip,
// saying why.
func WithoutPresignHTTP(reason string) Option {
	return func(s *suite) { s.noPresignHTTP = reason }
}

// Run runs the contract suite. newStore is called once per case and may
// return a store over a shared bucket: every case works under its own random
// key prefix.
func Run(t *testing.T, newStore func(t *testing.T) docstore.Store, opts ...Option) {
	var s suite
	for _, o := range opts {
		o(&s)
	}
	cases := []struct {
		name string
		fn   func(t *testing.T, st docstore.Store, p string)
	}{
		{"missing_key_is_not_found", testMissing},
		{"put_get_head_round_trip", testRoundTrip},
		{"overwrite_changes_etag", testOverwrite},
		{"put_if_match", testPutIfMatch},
		{"put_if_none_match_creates_once", testCreateOnce},
		{"concurrent_create_once_has_one_winner", testConcurrentCreate},
		{"delete", testDelete},
		{"delete_if_match", testDeleteIfMatch},
		{"delete_many", testDeleteMany},
		{"delete_many_splits_long_lists", testDeleteManyLong},
		{"delete_many_failure_lists_every_key", testDeleteManyFailure},
		{"concurrent_update_loses_nothing", testConcurrentUpdate},
		{"upsert_and_unchanged", testUpsert},
		{"list_prefix_paginated", testList},
		{"presigned_put_then_get", s.testPresign},
		{"get_prefix", testGetPrefix},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newStore(t), prefix(t))
		})
	}
}

func prefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "contract-" + hex.EncodeToString(b) + "/"
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustPut(t *testing.T, st docstore.Store, key, body string, opts docstore.PutOptions) string {
	t.Helper()
	etag, err := st.Put(ctx(t), key, []byte(body), opts)
	if err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
	if etag == "" {
		t.Fatalf("Put(%s) returned an empty ETag", key)
	}
	return etag
}

func mustBody(t *testing.T, st docstore.Store, key, want string) docstore.Object {
	t.Helper()
	obj, err := st.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if string(obj.Body) != want {
		t.Fatalf("Get(%s) body = %q, want %q", key, obj.Body, want)
	}
	return obj
}

func testMissing(t *testing.T, st docstore.Store, p string) {
	if _, err := st.Get(ctx(t), p+"nope"); !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	if _, err := st.Head(ctx(t), p+"nope"); !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("Head missing: %v, want ErrNotFound", err)
	}
}

func testRoundTrip(t *testing.T, st docstore.Store, p string) {
	body := `{"hoTen":"Nguyễn Văn A","soHoSo":"H01.2026.000001"}`
	etag := mustPut(t, st, p+"doc.json", body, docstore.PutOptions{})
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
		t.Errorf("ETag %s is not quoted as S3 gives it", etag)
	}
	obj := mustBody(t, st, p+"doc.json", body)
	if obj.ETag != etag || obj.Key != p+"doc.json" {
		t.Errorf("Get = key %q etag %s, want %q %s", obj.Key, obj.ETag, p+"doc.json", etag)
	}
	if obj.ContentType != docstore.DefaultContentType {
		t.Errorf("ContentType = %q, want %q", obj.ContentType, docstore.DefaultContentType)
	}
	if obj.LastModified.IsZero() {
		t.Error("LastModified is zero")
	}
	e, err := st.Head(ctx(t), p+"doc.json")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if e.ETag != etag || e.Size != int64(len(body)) {
		t.Errorf("Head = etag %s size %d, want %s %d", e.ETag, e.Size, etag, len(body))
	}
	mustPut(t, st, p+"note.txt", "xin chào", docstore.PutOptions{ContentType: "text/plain; charset=utf-8"})
	if obj := mustBody(t, st, p+"note.txt", "xin chào"); obj.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("ContentType = %q, want the one put", obj.ContentType)
	}
}

func testOverwrite(t *testing.T, st docstore.Store, p string) {
	e1 := mustPut(t, st, p+"k", "one", docstore.PutOptions{})
	e2 := mustPut(t, st, p+"k", "two", docstore.PutOptions{})
	if e1 == e2 {
		t.Errorf("ETag unchanged after overwrite with other content: %s", e1)
	}
	mustBody(t, st, p+"k", "two")
}

func testPutIfMatch(t *testing.T, st docstore.Store, p string) {
	e1 := mustPut(t, st, p+"k", "v1", docstore.PutOptions{})
	e2 := mustPut(t, st, p+"k", "v2", docstore.PutOptions{IfMatch: e1})
	if _, err := st.Put(ctx(t), p+"k", []byte("stale"), docstore.PutOptions{IfMatch: e1}); !errors.Is(err, docstore.ErrPrecondition) {
		t.Errorf("Put with stale IfMatch: %v, want ErrPrecondition", err)
	}
	mustBody(t, st, p+"k", "v2")
	mustPut(t, st, p+"k", "v3", docstore.PutOptions{IfMatch: e2})
	mustBody(t, st, p+"k", "v3")
	if _, err := st.Put(ctx(t), p+"absent", []byte("x"), docstore.PutOptions{IfMatch: e2}); !errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("Put IfMatch on absent key: %v, want ErrPrecondition only", err)
	}
	if _, err := st.Get(ctx(t), p+"absent"); !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("failed IfMatch put created the key: %v", err)
	}
}

func testCreateOnce(t *testing.T, st docstore.Store, p string) {
	mustPut(t, st, p+"once", "first", docstore.PutOptions{IfNoneMatch: true})
	if _, err := st.Put(ctx(t), p+"once", []byte("second"), docstore.PutOptions{IfNoneMatch: true}); !errors.Is(err, docstore.ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}
	mustBody(t, st, p+"once", "first")
}

func testConcurrentCreate(t *testing.T, st docstore.Store, p string) {
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = st.Put(ctx(t), p+"race", []byte(fmt.Sprint(i)), docstore.PutOptions{IfNoneMatch: true})
		})
	}
	wg.Wait()
	winners, winner := 0, -1
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			winner = i
		case errors.Is(err, docstore.ErrConflict):
		default:
			t.Errorf("creator %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d creators won, want exactly 1", winners)
	}
	mustBody(t, st, p+"race", fmt.Sprint(winner))
}

func testDelete(t *testing.T, st docstore.Store, p string) {
	mustPut(t, st, p+"k", "v", docstore.PutOptions{})
	if err := st.Delete(ctx(t), p+"k", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := st.Get(ctx(t), p+"k"); !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx(t), p+"k", ""); err != nil {
		t.Errorf("Delete of absent key: %v, want nil", err)
	}
}

// batch returns st as a docstore.BatchDeleter, or skips the case.
func batch(t *testing.T, st docstore.Store) docstore.BatchDeleter {
	t.Helper()
	bd, ok := st.(docstore.BatchDeleter)
	if !ok {
		t.Skipf("%T does not implement docstore.BatchDeleter", st)
	}
	return bd
}

func testDeleteMany(t *testing.T, st docstore.Store, p string) {
	bd := batch(t, st)
	for _, k := range []string{"a", "b", "c", "keep"} {
		mustPut(t, st, p+k, "v-"+k, docstore.PutOptions{})
	}
	// A repeated key and an absent one are not errors.
	failed, err := bd.DeleteMany(ctx(t), []string{p + "a", p + "b", p + "c", p + "a", p + "absent"})
	if err != nil || len(failed) != 0 {
		t.Fatalf("DeleteMany = %v, %v; want no failure", failed, err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := st.Get(ctx(t), p+k); !errors.Is(err, docstore.ErrNotFound) {
			t.Errorf("Get %s after DeleteMany: %v, want ErrNotFound", k, err)
		}
	}
	mustBody(t, st, p+"keep", "v-keep")
	if failed, err := bd.DeleteMany(ctx(t), nil); err != nil || len(failed) != 0 {
		t.Errorf("DeleteMany(nil) = %v, %v", failed, err)
	}
}

// testDeleteManyLong deletes more keys than one DeleteObjects request
// carries: the adapter must split the list and delete them all.
func testDeleteManyLong(t *testing.T, st docstore.Store, p string) {
	bd := batch(t, st)
	n := docstore.MaxDeleteMany + 3
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sm/%05d", p, i)
	}
	var (
		wg   sync.WaitGroup
		next = make(chan string)
	)
	for range 16 {
		wg.Go(func() {
			for k := range next {
				mustPut(t, st, k, "v", docstore.PutOptions{})
			}
		})
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		return
	}
	failed, err := bd.DeleteMany(ctx(t), keys)
	if err != nil || len(failed) != 0 {
		t.Fatalf("DeleteMany of %d keys: %d failed, %v", n, len(failed), err)
	}
	page, err := st.List(ctx(t), p+"m/", "", 10)
	if err != nil || len(page.Entries) != 0 {
		t.Fatalf("List after DeleteMany: %d left (%v)", len(page.Entries), err)
	}
}

// testDeleteManyFailure: a call that fails as a whole returns an error and
// lists every key in failed, and deletes nothing.
func testDeleteManyFailure(t *testing.T, st docstore.Store, p string) {
	bd := batch(t, st)
	mustPut(t, st, p+"a", "v", docstore.PutOptions{})
	c, cancel := context.WithCancel(context.Background())
	cancel()
	failed, err := bd.DeleteMany(c, []string{p + "a", p + "b"})
	if err == nil || len(failed) != 2 || failed[p+"a"] == nil || failed[p+"b"] == nil {
		t.Fatalf("DeleteMany with a cancelled context = %v, %v; want both keys failed", failed, err)
	}
	mustBody(t, st, p+"a", "v")
}

func testDeleteIfMatch(t *testing.T, st docstore.Store, p string) {
	e1 := mustPut(t, st, p+"k", "v1", docstore.PutOptions{})
	e2 := mustPut(t, st, p+"k", "v2", docstore.PutOptions{})
	if err := st.Delete(ctx(t), p+"k", e1); !errors.Is(err, docstore.ErrPrecondition) {
		t.Errorf("Delete with stale IfMatch: %v, want ErrPrecondition", err)
	}
	mustBody(t, st, p+"k", "v2")
	if err := st.Delete(ctx(t), p+"k", e2); err != nil {
		t.Fatalf("Delete with current IfMatch: %v", err)
	}
	if _, err := st.Get(ctx(t), p+"k"); !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("Get after conditional Delete: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx(t), p+"k", e2); !errors.Is(err, docstore.ErrPrecondition) {
		t.Errorf("conditional Delete of absent key: %v, want ErrPrecondition", err)
	}
}

type counter struct {
	N       int      `json:"n"`
	Writers []string `json:"writers"`
}

func testConcurrentUpdate(t *testing.T, st docstore.Store, p string) {
	key := p + "counter.json"
	if _, err := docstore.PutJSON(ctx(t), st, key, counter{}, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var c counter
			errs[i] = docstore.Update(ctx(t), st, key, &c, func() error {
				c.N++
				c.Writers = append(c.Writers, fmt.Sprint(i))
				return nil
			}, 200)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("updater %d: %v", i, err)
		}
	}
	var got counter
	if _, err := docstore.GetJSON(ctx(t), st, key, &got); err != nil {
		t.Fatal(err)
	}
	if got.N != n || len(got.Writers) != n {
		t.Fatalf("counter = %d with %d writers, want %d: lost update", got.N, len(got.Writers), n)
	}
}

func testUpsert(t *testing.T, st docstore.Store, p string) {
	key := p + "upsert.json"
	var c counter
	if err := docstore.Update(ctx(t), st, key, &c, func() error { return nil }, 1); !errors.Is(err, docstore.ErrNotFound) {
		t.Fatalf("Update of absent key: %v, want ErrNotFound", err)
	}
	for range 2 {
		if err := docstore.Upsert(ctx(t), st, key, &c, func() error { c.N++; return nil }, 3); err != nil {
			t.Fatalf("Upsert: %v", err)
		}
	}
	before, err := st.Head(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := docstore.Update(ctx(t), st, key, &c, func() error { return docstore.ErrUnchanged }, 3); err != nil {
		t.Fatalf("Update with ErrUnchanged: %v", err)
	}
	boom := errors.New("boom")
	if err := docstore.Update(ctx(t), st, key, &c, func() error { c.N = 99; return boom }, 3); !errors.Is(err, boom) {
		t.Fatalf("Update with failing mutate: %v, want boom", err)
	}
	var got counter
	etag, err := docstore.GetJSON(ctx(t), st, key, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 2 || etag != before.ETag {
		t.Fatalf("after Upsert x2 and two non-writes: n=%d etag %s, want 2 and %s", got.N, etag, before.ETag)
	}
}

func testList(t *testing.T, st docstore.Store, p string) {
	want := []string{"a/01", "a/02", "a/03", "a/04", "a/05", "a/06", "a/07"}
	for _, k := range append([]string{"b/01", "ab"}, want...) {
		mustPut(t, st, p+k, k, docstore.PutOptions{})
	}
	var got []string
	var sizes []int
	next := ""
	for range 10 {
		page, err := st.List(ctx(t), p+"a/", next, 3)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		sizes = append(sizes, len(page.Entries))
		for _, e := range page.Entries {
			got = append(got, strings.TrimPrefix(e.Key, p))
			if e.ETag == "" || e.Size != int64(len(strings.TrimPrefix(e.Key, p))) {
				t.Errorf("entry %s: etag %q size %d", e.Key, e.ETag, e.Size)
			}
		}
		if next = page.Next; next == "" {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if fmt.Sprint(sizes) != "[3 3 1]" {
		t.Errorf("page sizes %v, want [3 3 1]", sizes)
	}
	page, err := st.List(ctx(t), p+"zzz/", "", 10)
	if err != nil || len(page.Entries) != 0 || page.Next != "" {
		t.Errorf("List of empty prefix = %+v, %v; want empty last page", page, err)
	}
}

func (s suite) testPresign(t *testing.T, st docstore.Store, p string) {
	key := p + "uploads/giay-to.pdf"
	putURL, err := st.PresignPut(ctx(t), key, "application/pdf", 5*time.Minute)
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	getURL, err := st.PresignGet(ctx(t), key, 5*time.Minute)
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	for _, u := range []string{putURL, getURL} {
		if !strings.Contains(u, "giay-to.pdf") {
			t.Errorf("presigned URL %q does not name the key", u)
		}
	}
	if s.noPresignHTTP != "" {
		t.Skipf("presigned HTTP round trip not possible: %s", s.noPresignHTTP)
	}
	body := []byte("%PDF-1.7 tờ khai")
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPut, putURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT presigned: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT presigned: status %d", resp.StatusCode)
	}
	req, err = http.NewRequestWithContext(ctx(t), http.MethodGet, getURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET presigned: %v", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET presigned: status %d body %q, want 200 %q", resp.StatusCode, got, body)
	}
	obj := mustBody(t, st, key, string(body))
	if obj.ContentType != "application/pdf" {
		t.Errorf("uploaded ContentType = %q, want application/pdf", obj.ContentType)
	}
}

// testGetPrefix: a PrefixReader returns the first n bytes and the whole
// size, for documents longer and shorter than n and empty ones, and
// ErrNotFound for an absent key.
func testGetPrefix(t *testing.T, st docstore.Store, p string) {
	pr, ok := st.(docstore.PrefixReader)
	if !ok {
		t.Skipf("%T does not implement docstore.PrefixReader", st)
	}
	mustPut(t, st, p+"long", "%PDF-1.7 and the rest of it", docstore.PutOptions{ContentType: "application/pdf"})
	mustPut(t, st, p+"short", "%P", docstore.PutOptions{ContentType: "application/pdf"})
	mustPut(t, st, p+"empty", "", docstore.PutOptions{ContentType: "application/pdf"})
	for _, c := range []struct {
		key, head string
		size      int64
	}{{"long", "%PDF-", 27}, {"short", "%P", 2}, {"empty", "", 0}} {
		head, size, err := pr.GetPrefix(ctx(t), p+c.key, 5)
		if err != nil || string(head) != c.head || size != c.size {
			t.Errorf("GetPrefix(%s, 5) = %q, %d, %v; want %q, %d", c.key, head, size, err, c.head, c.size)
		}
	}
	if _, _, err := pr.GetPrefix(ctx(t), p+"absent", 5); !errors.Is(err, docstore.ErrNotFound) {
		t.Errorf("GetPrefix of an absent key: %v, want ErrNotFound", err)
	}
}
