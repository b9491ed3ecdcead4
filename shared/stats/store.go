package stats

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"motcua/shared/docstore"
)

// Storage layout (data bucket), all JSON:
//
//	stats/v1/shards/<yyyy-mm>/<agency>/<bb>.json  Shard: the contributions to that month and agency of the
//	                                              documents in bucket bb (hash of the document, ShardBuckets of them)
//	stats/v1/agencies/<yyyy-mm>/<agency>.json     AgencyParts: each bucket's cell totals, and their revisions
//	stats/v1/months/<yyyy-mm>.json                Summary: per agency, the cell totals (what queries read)
//	stats/v1/places/f/<id>.json               PlaceIndex of a feedback item: every place it ever contributed to
const (
	shardPrefix   = "stats/v1/shards/"
	summaryPrefix = "stats/v1/months/"
	partsPrefix   = "stats/v1/agencies/"
	placesPrefix  = "stats/v1/places/"
)

// casRetries bounds the compare-and-swap attempts on one shard or summary
// (many events of one agency and month can land at once).
const casRetries = 64

// ShardBuckets is how many shards one agency's month is split into, by a
// hash of the document: an event rewrites one small shard, not every
// document of a busy agency's month.
const ShardBuckets = 32

// bucketOf returns the shard bucket of doc.
func bucketOf(doc string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(doc))
	return int(h.Sum32() % ShardBuckets)
}

// ShardKey returns the key of bucket b of place p.
func ShardKey(p Place, b int) string {
	return fmt.Sprintf("%s%s/%s/%02d.json", shardPrefix, p.Month, p.Agency, b)
}

// PartsKey returns the key of the bucket totals of place p.
func PartsKey(p Place) string { return partsPrefix + p.Month + "/" + p.Agency + ".json" }

// AgencyParts holds, for one month and agency, each shard bucket's cell
// totals with the shard revision they were computed from; Rev counts its
// changes and orders the agency's totals in the month summary.
type AgencyParts struct {
	// Month and Agency locate it; Rev counts its changes; Parts are
	// keyed by bucket ("00".."31").
	Month  string          `json:"month"`
	Agency string          `json:"agency"`
	Rev    int64           `json:"rev"`
	Parts  map[string]Part `json:"parts"`
}

// total sums the parts.
func (ap AgencyParts) total() map[string]Counters {
	out := map[string]Counters{}
	for _, pt := range ap.Parts {
		for cell, c := range pt.Cells {
			k := out[cell]
			k.Add(c)
			out[cell] = k
		}
	}
	return out
}

func bucketName(b int) string { return fmt.Sprintf("%02d", b) }

// SummaryKey returns the key of month's summary.
func SummaryKey(month string) string { return summaryPrefix + month + ".json" }

func placesKey(doc string) string {
	kind, id, _ := strings.Cut(doc, ":")
	return placesPrefix + kind + "/" + id + ".json"
}

// Entry is one document's contribution to one shard.
type Entry struct {
	// V is the source document's version the entry was computed from.
	V int64 `json:"v"`
	// K is the cell (CellKey).
	K string `json:"k"`
	// C are the counters.
	C Counters `json:"c"`
}

// Shard holds the contributions of every document to one month and agency.
type Shard struct {
	// Month, Agency and Bucket locate the shard.
	Month  string `json:"month"`
	Agency string `json:"agency"`
	Bucket int    `json:"bucket"`
	// Rev counts the shard's changes; a summary keeps the Rev it was
	// computed from, so an older computation never overwrites a newer one.
	Rev int64 `json:"rev"`
	// Entries are keyed by Contribution.Doc.
	Entries map[string]Entry `json:"entries"`
}

// cells sums the shard's entries per cell.
func (s Shard) cells() map[string]Counters {
	out := map[string]Counters{}
	for _, e := range s.Entries {
		k := out[e.K]
		k.Add(e.C)
		out[e.K] = k
	}
	return out
}

// Part is cell totals computed from a document of revision Rev (a shard's
// in AgencyParts, an AgencyParts' in a Summary).
type Part struct {
	// Rev is the Shard.Rev the cells were computed from.
	Rev int64 `json:"rev"`
	// Cells are the totals per cell (CellKey).
	Cells map[string]Counters `json:"cells"`
}

// Summary is a month's totals per agency and cell.
type Summary struct {
	// Month is YYYY-MM.
	Month string `json:"month"`
	// Agencies are keyed by agency code.
	Agencies map[string]Part `json:"agencies"`
}

// PlaceIndex lists every place a document has contributed to, so that a
// document that moves (a feedback item reassigned to another agency) leaves
// no stale entry behind. Applications need none: their places only grow
// (every date they are counted by is set once, and their agency is fixed).
type PlaceIndex struct {
	// V is the newest document version applied.
	V int64 `json:"v"`
	// Places lists every place the document contributed to.
	Places []Place `json:"places"`
}

// mayMove reports whether a document's places can shrink.
func mayMove(doc string) bool { return strings.HasPrefix(doc, "f:") }

// Apply replaces c.Doc's contribution in the aggregates by c. It is
// idempotent and order-independent: the stored entry of a newer version of
// the document is never replaced by an older one, and applying the same
// contribution again changes nothing. Safe for concurrent use (ETag
// compare-and-swap on every document it writes); a failure part-way is
// repaired by applying again (the consumer's retry does that).
func Apply(ctx context.Context, store docstore.Store, c Contribution) error {
	places := make([]Place, 0, len(c.Places))
	for p := range c.Places {
		places = append(places, p)
	}
	if mayMove(c.Doc) {
		var idx PlaceIndex
		stale := false
		err := docstore.Upsert(ctx, store, placesKey(c.Doc), &idx, func() error {
			if idx.V > c.Version {
				stale = true
				places = append(places, idx.Places...)
				return docstore.ErrUnchanged
			}
			n := len(idx.Places)
			for _, p := range places {
				if !slices.Contains(idx.Places, p) {
					idx.Places = append(idx.Places, p)
				}
			}
			places = slices.Clone(idx.Places)
			if len(idx.Places) == n && idx.V == c.Version {
				return docstore.ErrUnchanged
			}
			idx.V = c.Version
			return nil
		}, casRetries)
		if err != nil {
			return fmt.Errorf("stats apply %s: %w", c.Doc, err)
		}
		if stale {
			return nil
		}
	}
	b := bucketOf(c.Doc)
	for _, p := range places {
		counters, has := c.Places[p]
		var sh Shard
		err := docstore.Upsert(ctx, store, ShardKey(p, b), &sh, func() error {
			old, ok := sh.Entries[c.Doc]
			if ok && old.V > c.Version {
				return docstore.ErrUnchanged
			}
			switch {
			case !has || counters.IsZero():
				if !ok {
					return docstore.ErrUnchanged
				}
				delete(sh.Entries, c.Doc)
			case ok && old.V == c.Version && old.K == c.Cell && old.C.Equal(counters):
				return docstore.ErrUnchanged
			default:
				if sh.Entries == nil {
					sh.Entries = map[string]Entry{}
				}
				sh.Entries[c.Doc] = Entry{V: c.Version, K: c.Cell, C: counters}
			}
			sh.Month, sh.Agency, sh.Bucket = p.Month, p.Agency, b
			sh.Rev++
			return nil
		}, casRetries)
		if err != nil {
			return fmt.Errorf("stats apply %s to %s: %w", c.Doc, ShardKey(p, b), err)
		}
		// Always push: a crash after an earlier shard write left the
		// summary behind, and this retry is what brings it up to date.
		if sh.Rev > 0 {
			if err := pushPart(ctx, store, p, b, Part{Rev: sh.Rev, Cells: sh.cells()}); err != nil {
				return fmt.Errorf("stats apply %s: %w", c.Doc, err)
			}
		}
	}
	return nil
}

// pushPart puts a shard's totals into its agency's parts unless they hold
// a newer (or the same) shard revision, then the agency's totals into the
// month summary unless it holds a newer (or the same) parts revision. Both
// steps run even when nothing changed, so a retry finishes what a crash
// left half done. Concurrent pushes of one process to the same documents
// share their writes (pushers).
func pushPart(ctx context.Context, store docstore.Store, p Place, b int, pt Part) error {
	return pushers.push(ctx, store, PartsKey(p), bucketName(b), pt, func(parts map[string]Part) error {
		var ap AgencyParts
		err := docstore.Upsert(ctx, store, PartsKey(p), &ap, func() error {
			changed := false
			for name, pt := range parts {
				if cur, ok := ap.Parts[name]; ok && cur.Rev >= pt.Rev {
					continue
				}
				if ap.Parts == nil {
					ap.Parts = map[string]Part{}
				}
				ap.Parts[name] = pt
				changed = true
			}
			if !changed {
				return docstore.ErrUnchanged
			}
			ap.Month, ap.Agency = p.Month, p.Agency
			ap.Rev++
			return nil
		}, casRetries)
		if err != nil {
			return fmt.Errorf("parts %s: %w", PartsKey(p), err)
		}
		return pushSummary(ctx, store, p, Part{Rev: ap.Rev, Cells: ap.total()})
	})
}

// pushSummary puts an agency's totals into the month summary unless the
// summary already holds a newer (or the same) revision.
func pushSummary(ctx context.Context, store docstore.Store, p Place, pt Part) error {
	return pushers.push(ctx, store, SummaryKey(p.Month), p.Agency, pt, func(agencies map[string]Part) error {
		var s Summary
		err := docstore.Upsert(ctx, store, SummaryKey(p.Month), &s, func() error {
			changed := false
			for agency, pt := range agencies {
				if cur, ok := s.Agencies[agency]; ok && cur.Rev >= pt.Rev {
					continue
				}
				if s.Agencies == nil {
					s.Agencies = map[string]Part{}
				}
				s.Agencies[agency] = pt
				changed = true
			}
			if !changed {
				return docstore.ErrUnchanged
			}
			s.Month = p.Month
			return nil
		}, casRetries)
		if err != nil {
			return fmt.Errorf("summary %s: %w", SummaryKey(p.Month), err)
		}
		return nil
	})
}

// ReadSummary reads a month's summary; a month nothing contributed to is
// an empty summary, not an error.
func ReadSummary(ctx context.Context, store docstore.Store, month string) (Summary, error) {
	var s Summary
	_, err := docstore.GetJSON(ctx, store, SummaryKey(month), &s)
	if errors.Is(err, docstore.ErrNotFound) {
		return Summary{Month: month}, nil
	}
	if err != nil {
		return Summary{}, fmt.Errorf("read %s: %w", SummaryKey(month), err)
	}
	return s, nil
}

// listAll lists every key under prefix.
func listAll(ctx context.Context, store docstore.Store, prefix string) ([]string, error) {
	var keys []string
	next := ""
	for {
		page, err := store.List(ctx, prefix, next, 1000)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, e := range page.Entries {
			keys = append(keys, e.Key)
		}
		if page.Next == "" {
			return keys, nil
		}
		next = page.Next
	}
}
