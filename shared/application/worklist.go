package application

// Staff work queues: an index of every application per agency, kept by the
// repository's write path, so process-application GET lists an agency's
// applications without reading application documents.
//
//	index/agency/<AGENCY>/<family>/<due>/<code>/<status>/<procedure>/<received>   empty object, one per application
//	index/code/<code>.json                                                        pointer: the application's current entry, once it moved
//	index/agency/<AGENCY>/counts.json                                             finished applications per status
//
// family is "open" (work left: submitted … processed) or "done" (rejected,
// returned, cancelled), so the default queue never wades through finished
// files; <due> and <received> are UTC "20060102T150405Z" ("-" when not
// received), so S3's lexical listing order is the due-date order. Every
// write of an application (Repository.Create, Update, UpdateIfMatch)
// re-syncs its entry: put the new entry, move the pointer with
// compare-and-swap (only forward in Application.Version), count it in the
// agency's counts document when it enters a finished status, delete the
// old entry. Open statuses are counted by listing the open family (bounded
// by the agency's workload), so submissions never contend on one document. A crash between
// those steps leaves a stale or missing entry until the next write of the
// application or `motcua applications reindex` (RebuildIndex).
//
// A submission writes its entry only (one PUT, beside the application):
// the pointer is created by the first write that moves the entry (e.g.
// receive). Until then a missing pointer means "the first entry", which is
// a pure function of the application (firstIndexKey: status submitted, not
// received, due at Application.ExpectedDueAt), so that first move knows
// which entry to delete, and an entry without a pointer is never taken for
// a stale one while its application names it.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/staffauth"
)

const (
	indexTimeLayout = "20060102T150405Z"
	familyOpen      = "open"
	familyDone      = "done"
	// syncRetries bounds the pointer's compare-and-swap attempts.
	syncRetries = 8
)

// IndexAgencyPrefix returns the prefix of an agency's index.
func IndexAgencyPrefix(agency string) string {
	return "index/agency/" + strings.ToUpper(agency) + "/"
}

// IndexPointerKey returns the key of an application's index pointer.
func IndexPointerKey(code Code) string { return "index/code/" + code.String() + ".json" }

// IndexCountsKey returns the key of an agency's per-status counts.
func IndexCountsKey(agency string) string { return IndexAgencyPrefix(agency) + "counts.json" }

func family(s Status) string {
	switch s {
	case StatusRejected, StatusReturned, StatusCancelled:
		return familyDone
	}
	return familyOpen
}

// IndexKey returns the index entry of a as it is now.
func IndexKey(a Application) string {
	recv := "-"
	if a.ReceivedAt != nil {
		recv = a.ReceivedAt.UTC().Format(indexTimeLayout)
	}
	return IndexAgencyPrefix(a.Agency.Code) + family(a.Status) + "/" + a.DueAt.UTC().Format(indexTimeLayout) + "/" +
		a.Code + "/" + string(a.Status) + "/" + url.PathEscape(a.ProcedureCode) + "/" + recv
}

// indexPointer is the stored pointer of one application.
type indexPointer struct {
	Key     string `json:"key"`
	Agency  string `json:"agency"`
	Status  Status `json:"status"`
	Version int    `json:"version"`
}

// SyncIndex brings a's index entry, pointer and agency counts up to date
// with a (as just written). Safe to repeat and to run concurrently. While
// a's entry is its first one (firstIndexKey) and no pointer exists, it only
// makes sure the entry is there; the first write that moves the entry
// creates the pointer (create once) and deletes the first entry.
func SyncIndex(ctx context.Context, store docstore.Store, a Application) error {
	code := a.ID()
	if code.IsZero() {
		return fmt.Errorf("sync index: malformed code %q", a.Code)
	}
	want := IndexKey(a)
	first := firstIndexKey(a)
	for attempt := 0; attempt < syncRetries; attempt++ {
		var ptr indexPointer
		etag, err := docstore.GetJSON(ctx, store, IndexPointerKey(code), &ptr)
		if err != nil && !errors.Is(err, docstore.ErrNotFound) {
			return fmt.Errorf("sync index %s: %w", code, err)
		}
		exists := err == nil
		if exists && ptr.Version > a.Version {
			return nil // a newer write already moved the entry
		}
		if (exists && ptr.Key == want) || (!exists && want == first) {
			// Same entry (the pointer's, or the first one, which stands
			// without a pointer): make sure it is there (a crash may have
			// lost it).
			if _, err := store.Head(ctx, want); errors.Is(err, docstore.ErrNotFound) {
				if _, err := store.Put(ctx, want, nil, docstore.PutOptions{ContentType: "application/octet-stream"}); err != nil {
					return fmt.Errorf("sync index %s: %w", code, err)
				}
			}
			return nil
		}
		if _, err := store.Put(ctx, want, nil, docstore.PutOptions{ContentType: "application/octet-stream"}); err != nil {
			return fmt.Errorf("sync index %s: %w", code, err)
		}
		next := indexPointer{Key: want, Agency: strings.ToUpper(a.Agency.Code), Status: a.Status, Version: a.Version}
		opts := docstore.PutOptions{IfNoneMatch: !exists, IfMatch: etag}
		if _, err := docstore.PutJSON(ctx, store, IndexPointerKey(code), next, opts); err != nil {
			if errors.Is(err, docstore.ErrPrecondition) || errors.Is(err, docstore.ErrConflict) {
				continue // another sync moved it: re-read
			}
			return fmt.Errorf("sync index %s: %w", code, err)
		}
		// Finished applications are counted in the agency's counts
		// document (the open ones are counted by listing the open family),
		// so submissions and open steps never contend on it.
		if family(a.Status) == familyDone && (!exists || ptr.Status != a.Status || ptr.Agency != next.Agency) {
			var from *indexPointer
			if exists && family(ptr.Status) == familyDone {
				from = &ptr
			}
			if err := bumpCounts(ctx, store, from, next); err != nil {
				return fmt.Errorf("sync index %s: %w", code, err)
			}
		}
		old := first // no pointer yet: the entry moves from the first one
		if exists {
			old = ptr.Key
		}
		if old != "" && old != want {
			if err := store.Delete(ctx, old, ""); err != nil {
				return fmt.Errorf("sync index %s: %w", code, err)
			}
		}
		return nil
	}
	return fmt.Errorf("sync index %s: %w", code, docstore.ErrPrecondition)
}

// firstIndexKey returns the entry a had when it was filed (version 1:
// submitted, not received, due at ExpectedDueAt), the entry a missing
// pointer stands for; "" when a does not carry its ExpectedDueAt (filed
// before it was kept: those applications got their pointer at submission,
// and a missing one means a lost index, as it always did).
func firstIndexKey(a Application) string {
	if a.ExpectedDueAt == nil {
		return ""
	}
	f := a
	f.Status, f.ReceivedAt, f.DueAt = StatusSubmitted, nil, *a.ExpectedDueAt
	return IndexKey(f)
}

// agencyCounts is the stored per-status count of an agency.
type agencyCounts struct {
	Counts map[Status]int `json:"counts"`
}

func bumpCounts(ctx context.Context, store docstore.Store, from *indexPointer, to indexPointer) error {
	change := func(agency string, s Status, d int) error {
		var c agencyCounts
		return docstore.Upsert(ctx, store, IndexCountsKey(agency), &c, func() error {
			if c.Counts == nil {
				c.Counts = map[Status]int{}
			}
			c.Counts[s] = max(0, c.Counts[s]+d)
			return nil
		}, 64)
	}
	if from != nil {
		if err := change(from.Agency, from.Status, -1); err != nil {
			return err
		}
	}
	return change(to.Agency, to.Status, +1)
}

// indexCreated writes the index of an application being created (Version
// 1), concurrently with the application itself: its first entry only, one
// PUT instead of SyncIndex's read and writes (the pointer waits for the
// entry's first move, see SyncIndex). An application that does not name
// its first entry (no ExpectedDueAt), or a failed PUT, falls back to
// SyncIndex. An entry whose application write then fails names an
// application that does not exist: the work queue shows it until the
// submission is retried with the same Idempotency-Key (same code) or
// RebuildIndex removes it. Failures are logged like indexAfterWrite's.
func indexCreated(ctx context.Context, store docstore.Store, a Application) {
	ctx = context.WithoutCancel(ctx)
	if want := IndexKey(a); a.Version == 1 && want == firstIndexKey(a) {
		if _, err := store.Put(ctx, want, nil, docstore.PutOptions{ContentType: "application/octet-stream"}); err == nil {
			return
		}
	}
	indexAfterWrite(ctx, store, a)
}

// indexAfterWrite syncs the index after a write; failures are logged (the
// next write or RebuildIndex repairs the entry), never returned: the
// application itself is written.
func indexAfterWrite(ctx context.Context, store docstore.Store, a Application) {
	if err := SyncIndex(context.WithoutCancel(ctx), store, a); err != nil {
		slog.Default().WarnContext(ctx, "work-queue index not updated (repaired by the next write or `motcua applications reindex`)",
			"code", a.Code, "error", err.Error())
	}
}

// WorkQueueQuery filters an agency's work queue.
type WorkQueueQuery struct {
	// Statuses keeps these statuses (all of one family: open or done);
	// empty means every open status.
	Statuses []Status
	// Procedure keeps one procedure code.
	Procedure string
	// ReceivedFrom and ReceivedTo bound the receipt time (inclusive).
	ReceivedFrom, ReceivedTo *time.Time
	// DueFrom and DueTo bound the due time (inclusive).
	DueFrom, DueTo *time.Time
	// Overdue keeps applications past due and not settled.
	Overdue bool
	// DueWithinDays keeps applications due within this many working days
	// from now (0: no filter).
	DueWithinDays int
	// Cursor continues a previous page ("" for the first).
	Cursor string
	// Limit is the page size (default 50, at most 200).
	Limit int
}

// WorkItem is one row of the work queue.
type WorkItem struct {
	// Code is the application code.
	Code string `json:"code"`
	// Status is its status and StatusLabel the Vietnamese label.
	Status      Status `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// ProcedureCode is the catalog procedure.
	ProcedureCode string `json:"procedureCode"`
	// ReceivedAt is when staff received it (null before).
	ReceivedAt *time.Time `json:"receivedAt"`
	// DueAt is its due time.
	DueAt time.Time `json:"dueAt"`
	// Overdue is true when past due and not settled.
	Overdue bool `json:"overdue"`
}

// WorkQueue is the answer of process-application GET ?view=queue.
type WorkQueue struct {
	// Agency is the officer's agency.
	Agency string `json:"agency"`
	// Items are the matching applications, by due date then code.
	Items []WorkItem `json:"items"`
	// NextCursor continues the listing; null on the last page.
	NextCursor *string `json:"nextCursor"`
	// Counts are the agency's applications per status (all of them).
	Counts map[Status]int `json:"counts"`
}

// cursor is the decoded WorkQueueQuery.Cursor: the store's page token of
// the page holding the next item and how many entries of it were seen.
type cursor struct {
	Family string `json:"f"`
	Token  string `json:"t,omitempty"`
	Skip   int    `json:"s"`
}

// ErrBadCursor is a malformed or foreign cursor (400).
var ErrBadCursor = &ActionError{"cursor", "invalid", "The cursor is malformed; start again without it.", "Con trỏ trang không hợp lệ; hãy bắt đầu lại không có cursor."}

// WorkQueue lists the officer's agency's applications matching q, sorted
// by due date, reading only the agency's index (no application documents).
func (p *Processor) WorkQueue(ctx context.Context, claims staffauth.Claims, q WorkQueueQuery) (WorkQueue, error) {
	if claims.Agency == "" {
		return WorkQueue{}, ErrActorNotAllowed
	}
	agency := strings.ToUpper(claims.Agency)
	now := p.now().UTC()
	fam := familyOpen
	for i, s := range q.Statuses {
		if !s.Valid() {
			return WorkQueue{}, &ActionError{"status", "oneof", "Unknown status " + strconv.Quote(string(s)) + ".", "Trạng thái không hợp lệ: " + string(s) + "."}
		}
		if i == 0 {
			fam = family(s)
		} else if family(s) != fam {
			return WorkQueue{}, &ActionError{"status", "family", "List open statuses or finished ones (rejected, returned, cancelled), not both.",
				"Chỉ lọc các trạng thái đang giải quyết hoặc các trạng thái đã kết thúc, không lẫn cả hai."}
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 200 {
		return WorkQueue{}, &ActionError{"limit", "max", "At most 200.", "Tối đa 200."}
	}
	dueTo := q.DueTo
	if q.DueWithinDays > 0 {
		t := p.cal.AddWorkingDays(now, q.DueWithinDays).UTC()
		if dueTo == nil || t.Before(*dueTo) {
			dueTo = &t
		}
	}
	if q.Overdue && (dueTo == nil || now.Before(*dueTo)) {
		dueTo = &now
	}
	cur := cursor{Family: fam}
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || json.Unmarshal(b, &cur) != nil || cur.Family != fam || cur.Skip < 0 {
			return WorkQueue{}, ErrBadCursor
		}
	}
	prefix := IndexAgencyPrefix(agency) + fam + "/"
	out := WorkQueue{Agency: agency, Items: []WorkItem{}}
	token, skip := cur.Token, cur.Skip
scan:
	for {
		page, err := p.store.List(ctx, prefix, token, 1000)
		if err != nil {
			return WorkQueue{}, fmt.Errorf("work queue %s: %w", agency, err)
		}
		for i := skip; i < len(page.Entries); i++ {
			it, ok := parseIndexKey(strings.TrimPrefix(page.Entries[i].Key, prefix))
			if !ok {
				continue
			}
			if dueTo != nil && it.DueAt.After(*dueTo) {
				break scan // sorted by due date: nothing further matches
			}
			if !q.matches(it, now) {
				continue
			}
			it.Overdue = !closed(it.Status) && now.After(it.DueAt)
			it.StatusLabel = StatusLabelVi(it.Status)
			it.DueAt = APITime(it.DueAt)
			it.ReceivedAt = apiTimePtr(it.ReceivedAt)
			out.Items = append(out.Items, it)
			if len(out.Items) == limit {
				if i+1 < len(page.Entries) || page.Next != "" {
					c := cursor{Family: fam, Token: token, Skip: i + 1}
					if i+1 == len(page.Entries) {
						c = cursor{Family: fam, Token: page.Next}
					}
					b, _ := json.Marshal(c)
					s := base64.RawURLEncoding.EncodeToString(b)
					out.NextCursor = &s
				}
				break scan
			}
		}
		if page.Next == "" {
			break
		}
		token, skip = page.Next, 0
	}
	counts, err := p.counts(ctx, agency)
	if err != nil {
		return WorkQueue{}, err
	}
	out.Counts = counts
	return out, nil
}

// counts returns the agency's applications per status: open ones by
// listing the open family, finished ones from the counts document.
func (p *Processor) counts(ctx context.Context, agency string) (map[Status]int, error) {
	var stored agencyCounts
	if _, err := docstore.GetJSON(ctx, p.store, IndexCountsKey(agency), &stored); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return nil, fmt.Errorf("work queue %s: counts: %w", agency, err)
	}
	out := map[Status]int{}
	for _, s := range Statuses {
		if family(s) == familyDone {
			out[s] = stored.Counts[s]
		} else {
			out[s] = 0
		}
	}
	prefix := IndexAgencyPrefix(agency) + familyOpen + "/"
	err := listAll(ctx, p.store, prefix, func(key string) error {
		if it, ok := parseIndexKey(strings.TrimPrefix(key, prefix)); ok && family(it.Status) == familyOpen {
			out[it.Status]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("work queue %s: counts: %w", agency, err)
	}
	return out, nil
}

// matches applies the filters the key order does not.
func (q WorkQueueQuery) matches(it WorkItem, now time.Time) bool {
	if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, it.Status) {
		return false
	}
	if q.Procedure != "" && !strings.EqualFold(q.Procedure, it.ProcedureCode) {
		return false
	}
	if q.ReceivedFrom != nil || q.ReceivedTo != nil {
		if it.ReceivedAt == nil {
			return false
		}
		if q.ReceivedFrom != nil && it.ReceivedAt.Before(*q.ReceivedFrom) {
			return false
		}
		if q.ReceivedTo != nil && it.ReceivedAt.After(*q.ReceivedTo) {
			return false
		}
	}
	if q.DueFrom != nil && it.DueAt.Before(*q.DueFrom) {
		return false
	}
	if q.Overdue && (closed(it.Status) || !now.After(it.DueAt)) {
		return false
	}
	return true
}

// parseIndexKey reads "<due>/<code>/<status>/<procedure>/<received>".
func parseIndexKey(rest string) (WorkItem, bool) {
	parts := strings.Split(rest, "/")
	if len(parts) != 5 {
		return WorkItem{}, false
	}
	due, err := time.Parse(indexTimeLayout, parts[0])
	if err != nil {
		return WorkItem{}, false
	}
	proc, err := url.PathUnescape(parts[3])
	if err != nil {
		return WorkItem{}, false
	}
	it := WorkItem{Code: parts[1], Status: Status(parts[2]), ProcedureCode: proc, DueAt: due}
	if parts[4] != "-" {
		r, err := time.Parse(indexTimeLayout, parts[4])
		if err != nil {
			return WorkItem{}, false
		}
		it.ReceivedAt = &r
	}
	return it, true
}

// RebuildResult counts what RebuildIndex did.
type RebuildResult struct {
	// Applications is the number of applications indexed.
	Applications int `json:"applications"`
	// StaleRemoved is the number of stale index entries deleted.
	StaleRemoved int `json:"staleRemoved"`
}

// RebuildIndex re-syncs the index of every stored application, removes
// entries no pointer names (an application without a pointer names its
// first entry, see SyncIndex) and entries (with their pointer) of
// applications never written that are older than orphanAge, and
// recomputes every agency's counts. Entries
// are safe to rebuild while applications are written (each sync only
// moves forward); counts may be off by the writes made during the rebuild
// (run it again, or at a quiet hour, for exact counts).
func RebuildIndex(ctx context.Context, store docstore.Store) (RebuildResult, error) {
	var res RebuildResult
	counts := map[string]map[Status]int{}
	indexed := map[string]string{} // code → its entry as synced
	err := listAll(ctx, store, "applications/", func(key string) error {
		rest := strings.TrimPrefix(key, "applications/")
		if strings.Contains(rest, "/") || !strings.HasSuffix(rest, ".json") {
			return nil
		}
		code, err := ParseCode(strings.TrimSuffix(rest, ".json"))
		if err != nil {
			return nil
		}
		var a Application
		if _, err := docstore.GetJSON(ctx, store, Key(code), &a); err != nil {
			if errors.Is(err, docstore.ErrNotFound) {
				return nil
			}
			return err
		}
		if err := SyncIndex(ctx, store, a); err != nil {
			return err
		}
		ag := strings.ToUpper(a.Agency.Code)
		if counts[ag] == nil {
			counts[ag] = map[Status]int{}
		}
		if family(a.Status) == familyDone {
			counts[ag][a.Status]++
		}
		res.Applications++
		indexed[code.String()] = IndexKey(a)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rebuild index: %w", err)
	}
	err = listAll(ctx, store, "index/agency/", func(key string) error {
		if strings.HasSuffix(key, "/counts.json") {
			return nil
		}
		// <agency>/<family>/<due>/<code>/…: stale unless the pointer names it.
		parts := strings.Split(strings.TrimPrefix(key, "index/agency/"), "/")
		if len(parts) < 4 {
			return nil
		}
		code, err := ParseCode(parts[3])
		if err != nil {
			return nil
		}
		var ptr indexPointer
		ptrTag, err := docstore.GetJSON(ctx, store, IndexPointerKey(code), &ptr)
		if err != nil && !errors.Is(err, docstore.ErrNotFound) {
			return err
		}
		hasPtr := err == nil
		synced, wasIndexed := indexed[code.String()]
		// Named by its pointer or, without one, the first entry of its
		// application (see SyncIndex), or of an application not synced
		// above (filed since, or never written).
		named := ptr.Key == key
		if !hasPtr {
			named = !wasIndexed || synced == key
		}
		if named {
			// Stale only if the application was never written (a
			// submission that failed after writing its index, see
			// indexCreated) and old enough not to be one in flight or
			// about to be retried.
			if wasIndexed {
				return nil
			}
			orphan, err := orphanIndex(ctx, store, code, key, time.Now().Add(-orphanAge))
			if err != nil || !orphan {
				return err
			}
			res.StaleRemoved++
			if hasPtr {
				if err := store.Delete(ctx, IndexPointerKey(code), ptrTag); err != nil && !errors.Is(err, docstore.ErrPrecondition) {
					return err
				}
			}
		} else {
			res.StaleRemoved++
		}
		return store.Delete(ctx, key, "")
	})
	if err != nil {
		return res, fmt.Errorf("rebuild index: %w", err)
	}
	for ag, c := range counts {
		if _, err := docstore.PutJSON(ctx, store, IndexCountsKey(ag), agencyCounts{Counts: c}, docstore.PutOptions{}); err != nil {
			return res, fmt.Errorf("rebuild index: %w", err)
		}
	}
	return res, nil
}

// orphanAge is how old an index entry of a missing application must be
// before RebuildIndex removes it (well above a submission's duration and
// the idempotency lock TTL after which a retry takes a submission over).
const orphanAge = 15 * time.Minute

// orphanIndex reports whether the index entry key of code names an
// application that does not exist and was written before cutoff.
func orphanIndex(ctx context.Context, store docstore.Store, code Code, key string, cutoff time.Time) (bool, error) {
	if _, err := store.Head(ctx, Key(code)); !errors.Is(err, docstore.ErrNotFound) {
		return false, err
	}
	e, err := store.Head(ctx, key)
	if errors.Is(err, docstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return e.LastModified.Before(cutoff), nil
}

func listAll(ctx context.Context, store docstore.Store, prefix string, each func(key string) error) error {
	next := ""
	for {
		page, err := store.List(ctx, prefix, next, 1000)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if err := each(e.Key); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		next = page.Next
	}
}
