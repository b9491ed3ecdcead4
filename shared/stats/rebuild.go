package stats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/rating"
)

// RebuildWorkers is how many documents Rebuild reads or writes at once
// (reads are latency-bound round trips to S3).
const RebuildWorkers = 32

// RebuildResult counts what a rebuild read and wrote.
type RebuildResult struct {
	// Applications, Ratings and Feedback count the documents read.
	Applications int `json:"applications"`
	Ratings      int `json:"ratings"`
	Feedback     int `json:"feedback"`
	// Shards and Months count the aggregates written.
	Shards int `json:"shards"`
	Months int `json:"months"`
	// Removed counts stale aggregate documents deleted.
	Removed int `json:"removed"`
	// Duration is the wall time; Reading the part of it spent listing and
	// reading the documents (the rest writes the aggregates).
	Duration time.Duration `json:"duration"`
	Reading  time.Duration `json:"reading"`
}

// Rebuild recomputes every indicator from the documents (applications,
// their ratings, feedback items) and replaces the stored aggregates with
// the result: the numbers are identical to those kept incrementally,
// because both come from the same contribution of each document.
//
// It is safe to run while events are being applied: a shard entry written
// meanwhile from a newer version of its document is kept. Entries of
// documents that no longer exist, and shards and summaries nothing
// contributes to, are removed.
func (s *Service) Rebuild(ctx context.Context) (RebuildResult, error) {
	start := time.Now()
	var res RebuildResult
	ix, err := s.index(ctx)
	if err != nil {
		return res, err
	}

	// Ratings first, so each application is computed with its rating.
	ratingKeys, err := listAll(ctx, s.store, rating.Prefix)
	if err != nil {
		return res, err
	}
	ratings := make(map[string]*rating.Rating, len(ratingKeys))
	var mu sync.Mutex
	if err := forEach(ctx, ratingKeys, func(ctx context.Context, key string) error {
		code := rating.CodeFromKey(key)
		if code == "" {
			return nil
		}
		r, err := rating.Get(ctx, s.store, code)
		if errors.Is(err, docstore.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		ratings[code] = &r
		mu.Unlock()
		return nil
	}); err != nil {
		return res, err
	}
	res.Ratings = len(ratings)

	shards := map[shardID]map[string]Entry{}
	var feedbackPlaces []Contribution
	collect := func(c Contribution) {
		mu.Lock()
		defer mu.Unlock()
		b := bucketOf(c.Doc)
		for p, k := range c.Places {
			if k.IsZero() {
				continue
			}
			id := shardID{p, b}
			m := shards[id]
			if m == nil {
				m = map[string]Entry{}
				shards[id] = m
			}
			m[c.Doc] = Entry{V: c.Version, K: c.Cell, C: k}
		}
		if mayMove(c.Doc) {
			feedbackPlaces = append(feedbackPlaces, Contribution{Doc: c.Doc, Version: c.Version, Places: c.Places})
		}
	}

	appKeys, err := listAll(ctx, s.store, "applications/")
	if err != nil {
		return res, err
	}
	var nApps, nFb int
	if err := forEach(ctx, appKeys, func(ctx context.Context, key string) error {
		code, ok := strings.CutPrefix(key, "applications/")
		if !ok || !strings.HasSuffix(code, ".json") || strings.Contains(code, "/") {
			return nil
		}
		var a application.Application
		if _, err := docstore.GetJSON(ctx, s.store, key, &a); err != nil {
			if errors.Is(err, docstore.ErrNotFound) {
				return nil
			}
			return err
		}
		collect(ApplicationContribution(a, procedure(ix, a.ProcedureCode), ratings[a.Code]))
		mu.Lock()
		nApps++
		mu.Unlock()
		return nil
	}); err != nil {
		return res, err
	}
	res.Applications = nApps

	fbKeys, err := listAll(ctx, s.store, FeedbackPrefix)
	if err != nil {
		return res, err
	}
	if err := forEach(ctx, fbKeys, func(ctx context.Context, key string) error {
		rest := strings.TrimPrefix(key, FeedbackPrefix)
		if !strings.HasSuffix(rest, ".json") || strings.Contains(rest, "/") {
			return nil
		}
		var it FeedbackItem
		if _, err := docstore.GetJSON(ctx, s.store, key, &it); err != nil {
			if errors.Is(err, docstore.ErrNotFound) {
				return nil
			}
			return err
		}
		collect(FeedbackContribution(it, s.cal))
		mu.Lock()
		nFb++
		mu.Unlock()
		return nil
	}); err != nil {
		return res, err
	}
	res.Feedback = nFb
	res.Reading = time.Since(start)

	// Place indexes of the documents that can move.
	if err := forEach(ctx, feedbackPlaces, func(ctx context.Context, c Contribution) error {
		idx := PlaceIndex{V: c.Version}
		for p := range c.Places {
			idx.Places = append(idx.Places, p)
		}
		var cur PlaceIndex
		return docstore.Upsert(ctx, s.store, placesKey(c.Doc), &cur, func() error {
			if cur.V > idx.V {
				return docstore.ErrUnchanged
			}
			cur = idx
			return nil
		}, casRetries)
	}); err != nil {
		return res, err
	}

	// Shards: replace, keeping entries of newer document versions.
	places := make([]shardID, 0, len(shards))
	for id := range shards {
		places = append(places, id)
	}
	parts := map[Place]map[string]Part{}
	if err := forEach(ctx, places, func(ctx context.Context, id shardID) error {
		built, p := shards[id], id.p
		var sh Shard
		err := docstore.Upsert(ctx, s.store, ShardKey(p, id.b), &sh, func() error {
			next := make(map[string]Entry, len(built))
			for doc, e := range built {
				if old, ok := sh.Entries[doc]; ok && old.V > e.V {
					e = old
				}
				next[doc] = e
			}
			sh.Month, sh.Agency, sh.Bucket, sh.Entries = p.Month, p.Agency, id.b, next
			sh.Rev++
			return nil
		}, casRetries)
		if err != nil {
			return err
		}
		mu.Lock()
		if parts[p] == nil {
			parts[p] = map[string]Part{}
		}
		parts[p][bucketName(id.b)] = Part{Rev: sh.Rev, Cells: sh.cells()}
		mu.Unlock()
		return nil
	}); err != nil {
		return res, err
	}
	res.Shards = len(places)

	// Agency parts: exactly the rebuilt buckets.
	agencyPlaces := make([]Place, 0, len(parts))
	for p := range parts {
		agencyPlaces = append(agencyPlaces, p)
	}
	months := map[string]map[string]Part{}
	if err := forEach(ctx, agencyPlaces, func(ctx context.Context, p Place) error {
		var ap AgencyParts
		err := docstore.Upsert(ctx, s.store, PartsKey(p), &ap, func() error {
			next := make(map[string]Part, len(parts[p]))
			for b, pt := range parts[p] {
				if cur, ok := ap.Parts[b]; ok && cur.Rev > pt.Rev {
					pt = cur
				}
				next[b] = pt
			}
			ap.Month, ap.Agency, ap.Parts = p.Month, p.Agency, next
			ap.Rev++
			return nil
		}, casRetries)
		if err != nil {
			return err
		}
		mu.Lock()
		if months[p.Month] == nil {
			months[p.Month] = map[string]Part{}
		}
		months[p.Month][p.Agency] = Part{Rev: ap.Rev, Cells: ap.total()}
		mu.Unlock()
		return nil
	}); err != nil {
		return res, err
	}

	// Summaries: exactly the rebuilt agencies of each month.
	monthList := make([]string, 0, len(months))
	for m := range months {
		monthList = append(monthList, m)
	}
	if err := forEach(ctx, monthList, func(ctx context.Context, m string) error {
		var sum Summary
		return docstore.Upsert(ctx, s.store, SummaryKey(m), &sum, func() error {
			next := make(map[string]Part, len(months[m]))
			for a, pt := range months[m] {
				if cur, ok := sum.Agencies[a]; ok && cur.Rev > pt.Rev {
					pt = cur
				}
				next[a] = pt
			}
			sum.Month, sum.Agencies = m, next
			return nil
		}, casRetries)
	}); err != nil {
		return res, err
	}
	res.Months = len(monthList)

	// Remove what nothing contributes to any more.
	stale, err := listAll(ctx, s.store, shardPrefix)
	if err != nil {
		return res, err
	}
	keep := make(map[string]bool, len(places)+len(monthList))
	for _, id := range places {
		keep[ShardKey(id.p, id.b)] = true
	}
	for _, m := range monthList {
		keep[SummaryKey(m)] = true
	}
	for _, p := range agencyPlaces {
		keep[PartsKey(p)] = true
	}
	sums, err := listAll(ctx, s.store, summaryPrefix)
	if err != nil {
		return res, err
	}
	aps, err := listAll(ctx, s.store, partsPrefix)
	if err != nil {
		return res, err
	}
	var drop []string
	for _, k := range append(append(stale, sums...), aps...) {
		if !keep[k] {
			drop = append(drop, k)
		}
	}
	if err := forEach(ctx, drop, func(ctx context.Context, k string) error {
		return s.store.Delete(ctx, k, "")
	}); err != nil {
		return res, err
	}
	res.Removed = len(drop)
	res.Duration = time.Since(start)
	s.log.InfoContext(ctx, "stats rebuilt", "applications", res.Applications, "ratings", res.Ratings,
		"feedback", res.Feedback, "shards", res.Shards, "months", res.Months, "removed", res.Removed,
		"duration_ms", res.Duration.Milliseconds(), "reading_ms", res.Reading.Milliseconds())
	return res, nil
}

// shardID names one shard: a place and a bucket.
type shardID struct {
	p Place
	b int
}

// forEach runs fn on every item with RebuildWorkers goroutines, stopping
// at the first error.
func forEach[T any](ctx context.Context, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan T)
	var wg sync.WaitGroup
	for range min(RebuildWorkers, len(items)) {
		wg.Go(func() {
			for it := range work {
				if err := fn(ctx, it); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, it := range items {
		select {
		case work <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("stats rebuild: %w", err)
	}
	return nil
}
