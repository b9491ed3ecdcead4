package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"motcua/shared/docstore"
)

// PointerKey is the key of the current-version pointer.
const PointerKey = "catalog/current.json"

// maxVersionProbe bounds how many taken version numbers Load skips.
const maxVersionProbe = 100

// VersionKey returns the key of catalog version n.
func VersionKey(n int) string {
	return "catalog/v" + strconv.Itoa(n) + "/procedures.json"
}

// Pointer is the document at PointerKey.
type Pointer struct {
	// Version is the current catalog version.
	Version int `json:"version"`
	// Key is where that version is stored.
	Key string `json:"key"`
	// Count is the number of procedures in it.
	Count int `json:"count"`
	// SHA256 is the hex digest of the version document's body.
	SHA256 string `json:"sha256"`
	// UpdatedAt is when the pointer was moved.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Version is the document stored at VersionKey(n): one immutable catalog.
type Version struct {
	// Version is n.
	Version int `json:"version"`
	// CreatedAt is when the version was written.
	CreatedAt time.Time `json:"createdAt"`
	// Procedures are the procedures, NFC-normalised.
	Procedures []Procedure `json:"procedures"`
}

// readPointer returns the pointer and its ETag; docstore.ErrNotFound when
// no catalog was ever loaded.
func readPointer(ctx context.Context, store docstore.Store) (Pointer, string, error) {
	var p Pointer
	etag, err := docstore.GetJSON(ctx, store, PointerKey, &p)
	if err != nil {
		return Pointer{}, "", fmt.Errorf("read %s: %w", PointerKey, err)
	}
	return p, etag, nil
}

// readVersion reads and decodes the version document the pointer names.
func readVersion(ctx context.Context, store docstore.Store, p Pointer) (Version, error) {
	key := p.Key
	if key == "" {
		key = VersionKey(p.Version)
	}
	var v Version
	if _, err := docstore.GetJSON(ctx, store, key, &v); err != nil {
		return Version{}, fmt.Errorf("read catalog version %d: %w", p.Version, err)
	}
	return v, nil
}

// prepare validates and normalises procs and builds the version body.
func prepare(procs []Procedure, n int, now time.Time) ([]byte, error) {
	norm := make([]Procedure, len(procs))
	for i, p := range procs {
		norm[i] = p.Normalize()
	}
	if err := Validate(norm); err != nil {
		return nil, err
	}
	body, err := json.Marshal(Version{Version: n, CreatedAt: now.UTC(), Procedures: norm})
	if err != nil {
		return nil, fmt.Errorf("encode catalog version %d: %w", n, err)
	}
	return body, nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Load validates procs and stores them as a new catalog version, then
// moves the pointer to it; it returns the version number.
//
// Concurrency: the version document is written create-once (If-None-Match),
// so two concurrent loads get distinct versions (a taken number is skipped).
// The pointer is moved with compare-and-swap and only forwards: when a
// concurrent load already pointed it at a higher version, this load's
// version stays stored (and is returned) but does not become current. So
// after two concurrent loads the versions are 1 and 2 and the pointer names 2.
// Invalid catalogs return an ErrInvalidCatalog *Error and write nothing.
func Load(ctx context.Context, store docstore.Store, procs []Procedure) (int, error) {
	if _, err := prepare(procs, 1, time.Now()); err != nil {
		return 0, err
	}
	cur, _, err := readPointer(ctx, store)
	if err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return 0, err
	}
	n := cur.Version + 1
	var body []byte
	for probe := 0; ; probe++ {
		if probe >= maxVersionProbe {
			return 0, fmt.Errorf("catalog load: no free version number after %d tries from v%d", maxVersionProbe, cur.Version+1)
		}
		if body, err = prepare(procs, n, time.Now()); err != nil {
			return 0, err
		}
		_, err = store.Put(ctx, VersionKey(n), body, docstore.PutOptions{IfNoneMatch: true})
		if err == nil {
			break
		}
		if !errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
			return 0, fmt.Errorf("write %s: %w", VersionKey(n), err)
		}
		n++
	}
	ptr := Pointer{Version: n, Key: VersionKey(n), Count: len(procs), SHA256: digest(body)}
	if err := advancePointer(ctx, store, ptr); err != nil {
		return n, err
	}
	return n, nil
}

// advancePointer moves the pointer to ptr unless it already names ptr's
// version or a later one.
func advancePointer(ctx context.Context, store docstore.Store, ptr Pointer) error {
	for attempt := 0; attempt < docstore.DefaultUpdateRetries; attempt++ {
		cur, etag, err := readPointer(ctx, store)
		missing := errors.Is(err, docstore.ErrNotFound)
		if err != nil && !missing {
			return err
		}
		if !missing && cur.Version >= ptr.Version {
			return nil
		}
		ptr.UpdatedAt = time.Now().UTC()
		opts := docstore.PutOptions{IfMatch: etag, IfNoneMatch: missing}
		_, err = docstore.PutJSON(ctx, store, PointerKey, ptr, opts)
		if err == nil {
			return nil
		}
		if !errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
			return fmt.Errorf("write %s: %w", PointerKey, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write %s: %w", PointerKey, err)
		}
	}
	return fmt.Errorf("write %s: lost the race %d times: %w", PointerKey, docstore.DefaultUpdateRetries, docstore.ErrPrecondition)
}

// Seed stores procs as version 1 and points the pointer at it, only if no
// catalog was ever loaded. It is create-once throughout, so any number of
// concurrent cold starts calling it end with one catalog (version 1) and no
// error; created reports whether this call wrote the pointer.
func Seed(ctx context.Context, store docstore.Store, procs []Procedure) (created bool, err error) {
	if _, err := store.Head(ctx, PointerKey); err == nil {
		return false, nil
	} else if !errors.Is(err, docstore.ErrNotFound) {
		return false, fmt.Errorf("head %s: %w", PointerKey, err)
	}
	body, err := prepare(procs, 1, time.Now())
	if err != nil {
		return false, err
	}
	_, err = store.Put(ctx, VersionKey(1), body, docstore.PutOptions{IfNoneMatch: true})
	switch {
	case err == nil:
	case errors.Is(err, docstore.ErrConflict) || errors.Is(err, docstore.ErrPrecondition):
		// Someone else wrote version 1 first: point at what is there.
		obj, gerr := store.Get(ctx, VersionKey(1))
		if gerr != nil {
			return false, fmt.Errorf("read %s: %w", VersionKey(1), gerr)
		}
		var v Version
		if derr := json.Unmarshal(obj.Body, &v); derr != nil {
			return false, fmt.Errorf("decode %s: %w", VersionKey(1), derr)
		}
		body, procs = obj.Body, v.Procedures
	default:
		return false, fmt.Errorf("write %s: %w", VersionKey(1), err)
	}
	ptr := Pointer{Version: 1, Key: VersionKey(1), Count: len(procs), SHA256: digest(body), UpdatedAt: time.Now().UTC()}
	_, err = docstore.PutJSON(ctx, store, PointerKey, ptr, docstore.PutOptions{IfNoneMatch: true})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, docstore.ErrConflict) || errors.Is(err, docstore.ErrPrecondition):
		return false, nil
	default:
		return false, fmt.Errorf("write %s: %w", PointerKey, err)
	}
}

// Current reads the current catalog version straight from the store
// (no caching); an ErrNotLoaded *Error when none was loaded.
func Current(ctx context.Context, store docstore.Store) (Version, error) {
	p, _, err := readPointer(ctx, store)
	if errors.Is(err, docstore.ErrNotFound) {
		return Version{}, notLoaded(err)
	}
	if err != nil {
		return Version{}, err
	}
	return readVersion(ctx, store, p)
}
