package feedback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/vnid"
	"motcua/shared/workdays"
)

// Key prefixes in the data bucket.
const (
	// ItemsPrefix holds one document per item.
	ItemsPrefix = "feedback/items/"
	// AgencyPrefix holds the per-agency queue index.
	AgencyPrefix = "feedback/agency/"
	// PublicPrefix holds the published, redacted items.
	PublicPrefix = "feedback/public/"
	// DedupPrefix holds the same-content markers.
	DedupPrefix = "feedback/dedup/"
)

// ItemKey returns the key of item id.
func ItemKey(id ID) string { return ItemsPrefix + id.String() + ".json" }

// PublicKey returns the key of the published view of item id.
func PublicKey(id ID) string { return PublicPrefix + id.String() + ".json" }

// agencyMonthPrefix is the index prefix of an agency's items received in
// a month (Asia/Ho_Chi_Minh).
func agencyMonthPrefix(agency string, month time.Time) string {
	return AgencyPrefix + strings.ToUpper(agency) + "/" + month.In(workdays.Location).Format("2006-01") + "/"
}

// indexKey is an item's entry in its agency's queue index: ordered by
// receipt time within the month.
func indexKey(agency string, receivedAt time.Time, id ID) string {
	return agencyMonthPrefix(agency, receivedAt) + receivedAt.UTC().Format("20060102T150405Z") + "_" + id.String()
}

// idFromIndexKey returns the item id at the end of an index key.
func idFromIndexKey(key string) (ID, error) {
	return ParseID(key[strings.LastIndexByte(key, '_')+1:])
}

// repo reads and writes items and their indexes.
type repo struct {
	store docstore.Store
}

// get reads item id; ErrNotFound when absent.
func (r repo) get(ctx context.Context, id ID) (Item, string, error) {
	if id.IsZero() {
		return Item{}, "", ErrNotFound
	}
	var it Item
	etag, err := docstore.GetJSON(ctx, r.store, ItemKey(id), &it)
	if errors.Is(err, docstore.ErrNotFound) {
		return Item{}, "", ErrNotFound
	}
	if err != nil {
		return Item{}, "", fmt.Errorf("feedback get %s: %w", id, err)
	}
	return it, etag, nil
}

// create writes a new item create-once, then its agency index entry.
func (r repo) create(ctx context.Context, it Item) error {
	if _, err := docstore.PutJSON(ctx, r.store, ItemKey(it.Ref()), it, docstore.PutOptions{IfNoneMatch: true}); err != nil {
		return fmt.Errorf("feedback create %s: %w", it.ID, err)
	}
	return r.index(ctx, it)
}

// index writes the agency index entry of it (idempotent).
func (r repo) index(ctx context.Context, it Item) error {
	if _, err := r.store.Put(ctx, indexKey(it.Agency.Code, it.ReceivedAt, it.Ref()), []byte("{}"), docstore.PutOptions{}); err != nil {
		return fmt.Errorf("feedback index %s: %w", it.ID, err)
	}
	return nil
}

// unindex removes it's entry from the index of agency.
func (r repo) unindex(ctx context.Context, agency string, it Item) error {
	return r.store.Delete(ctx, indexKey(agency, it.ReceivedAt, it.Ref()), "")
}

// replace writes it over the version with etag (compare-and-swap);
// docstore.ErrPrecondition when another write came first.
func (r repo) replace(ctx context.Context, it Item, etag string) (string, error) {
	return docstore.PutJSON(ctx, r.store, ItemKey(it.Ref()), it, docstore.PutOptions{IfMatch: etag})
}

// dedupMarker is the document at a dedup key.
type dedupMarker struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
}

// dedupKey hashes the sender and the normalised text, so the marker holds
// no personal data.
func dedupKey(sender, fieldCode, title, content string) string {
	norm := func(s string) string { return strings.Join(strings.Fields(vnid.Fold(s)), " ") }
	sum := sha256.Sum256([]byte("motcua-feedback-dedup\x00" + sender + "\x00" + fieldCode + "\x00" + norm(title) + "\x00" + norm(content)))
	return DedupPrefix + hex.EncodeToString(sum[:]) + ".json"
}

// claimDedup claims key for id. It returns the id of an existing item
// when the same content came from the same sender within window (then
// nothing is written), else "" after writing the marker for id.
func (r repo) claimDedup(ctx context.Context, key, id string, now time.Time, window time.Duration) (string, error) {
	var existing string
	var m dedupMarker
	err := docstore.Upsert(ctx, r.store, key, &m, func() error {
		existing = ""
		if m.ID != "" && now.Sub(m.CreatedAt) < window {
			existing = m.ID
			return docstore.ErrUnchanged
		}
		m = dedupMarker{ID: id, CreatedAt: now.UTC()}
		return nil
	}, 0)
	if err != nil {
		return "", fmt.Errorf("feedback dedup: %w", err)
	}
	return existing, nil
}
