package jobs

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua/shared/docstore"
)

// ReportColumns are the CSV report's columns.
var ReportColumns = []string{"index", "key", "action", "note", "outcome", "detail", "attempt", "at"}

// reportReaders bounds concurrent marker reads of one report.
const reportReaders = 16

// WriteReport writes job id's report as CSV: one row per planned item, in
// plan order, with its outcome ("pending" while not run yet; "not_run" for
// a dry run) and why it failed or was skipped. Cells that a spreadsheet
// would run as a formula are prefixed with a quote.
func (s *Service) WriteReport(ctx context.Context, id string, w io.Writer) error {
	j, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(ReportColumns); err != nil {
		return err
	}
	notRun := "pending"
	if j.Status == StatusPlanned || j.Confirmed == nil {
		notRun = "not_run"
	}
	present := map[int]bool{}
	err = s.listKeys(ctx, itemsPrefix(id), func(key string) error {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, itemsPrefix(id)), ".json"))
		if err == nil {
			present[n] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for p := 0; p < j.Plan.Pages; p++ {
		items, err := s.planPage(ctx, id, p)
		if err != nil {
			return err
		}
		recs, err := s.records(ctx, id, present, p*PlanPageSize, len(items))
		if err != nil {
			return err
		}
		for i, it := range items {
			idx := p*PlanPageSize + i
			row := []string{strconv.Itoa(idx), it.Key, it.Action, it.Note, notRun, "", "", ""}
			if r, ok := recs[idx]; ok {
				row[4], row[5], row[6], row[7] = string(r.Outcome), r.Detail, strconv.Itoa(r.Attempt), r.At.Format(time.RFC3339)
			}
			for c := range row {
				row[c] = safeCell(row[c])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// records reads the done-markers of items [from, from+n) among present.
func (s *Service) records(ctx context.Context, id string, present map[int]bool, from, n int) (map[int]itemRecord, error) {
	var keys []string
	for idx := from; idx < from+n; idx++ {
		if present[idx] {
			keys = append(keys, itemKey(id, idx))
		}
	}
	out := make(map[int]itemRecord, len(keys))
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan string)
	)
	for range min(reportReaders, max(1, len(keys))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				var r itemRecord
				_, err := docstore.GetJSON(ctx, s.store, k, &r)
				mu.Lock()
				if err != nil && !errors.Is(err, docstore.ErrNotFound) && first == nil {
					first = err
				}
				if err == nil {
					out[r.Index] = r
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	return out, first
}

// safeCell neutralises spreadsheet formula injection.
func safeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
