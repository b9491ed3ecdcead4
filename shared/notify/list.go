package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"motcua/shared/docstore"
)

// List returns up to limit notification records, newest first (every
// record is read: meant for operators and the local stack, not a hot path).
func List(ctx context.Context, store docstore.Store, limit int) ([]Record, error) {
	var out []Record
	next := ""
	for {
		page, err := store.List(ctx, SentPrefix, next, 1000)
		if err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		for _, e := range page.Entries {
			var r Record
			if _, err := docstore.GetJSON(ctx, store, e.Key, &r); err != nil {
				if errors.Is(err, docstore.ErrNotFound) {
					continue
				}
				return nil, fmt.Errorf("list notifications: %w", err)
			}
			out = append(out, r)
		}
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
