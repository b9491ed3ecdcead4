package feedback

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/vnid"
	"motcua/shared/workdays"
)

// Listing bounds.
const (
	// DefaultPageSize is the page size when none is asked.
	DefaultPageSize = 20
	// MaxPageSize bounds the page size.
	MaxPageSize = 100
	// scanBudget bounds the index entries one listing call examines; a
	// page may come back short with a cursor when filters skip many.
	scanBudget = 500
	// defaultQueueMonths is how far back the queue looks without from.
	defaultQueueMonths = 24
)

// ErrBadCursor: the cursor is not one this service returned.
var ErrBadCursor = fault.New("feedback", "invalid_cursor", 400, "Con trỏ phân trang không hợp lệ.", "The paging cursor is not valid.").WithParam("cursor")

// QueueQuery filters an agency's queue.
type QueueQuery struct {
	// Status keeps items in this status ("" = any).
	Status Status
	// Field keeps items of this field ("" = any).
	Field string
	// Overdue, when set, keeps overdue (true) or not overdue (false) items.
	Overdue *bool
	// From and To bound the receipt time (zero = open).
	From, To time.Time
	// Cursor continues a previous page.
	Cursor string
	// Limit is the page size (DefaultPageSize when 0).
	Limit int
}

// QueueEntry is one item of a queue page.
type QueueEntry struct {
	// ID, Version, Kind, Field, Title, Status are the item's.
	ID          string `json:"id"`
	Version     int    `json:"version"`
	Kind        string `json:"kind"`
	Field       string `json:"field"`
	Title       string `json:"title"`
	Status      Status `json:"status"`
	StatusLabel string `json:"statusLabel"`
	// Assignee is the officer working on it.
	Assignee string `json:"assignee,omitempty"`
	// ReceivedAt and Due are the dates.
	ReceivedAt time.Time `json:"receivedAt"`
	Due        Due       `json:"due"`
	// Overdue lists the missed deadlines.
	Overdue []string `json:"overdue"`
}

// QueuePage is one page of a queue.
type QueuePage struct {
	// Items are the matching items, oldest receipt first.
	Items []QueueEntry `json:"items"`
	// Next continues the listing; "" at the end.
	Next string `json:"next"`
}

type cursor struct {
	Month string `json:"m"`
	Token string `json:"t,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return cursor{}, ErrBadCursor
	}
	if _, err := time.Parse("2006-01", c.Month); err != nil {
		return cursor{}, ErrBadCursor
	}
	return c, nil
}

func monthStart(t time.Time) time.Time {
	l := t.In(workdays.Location)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, workdays.Location)
}

// Queue lists the items of agency matching q, oldest receipt first. It
// reads the agency's month index (feedback/agency/<AGENCY>/<yyyy-mm>/…)
// for the months of q's range, never every item, and reads each listed
// item to apply the filters; entries left by a reassign are skipped.
func (s *Service) Queue(ctx context.Context, o Officer, q QueueQuery) (QueuePage, error) {
	now := s.d.Now()
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	to := q.To
	if to.IsZero() {
		to = now
	}
	from := q.From
	if from.IsZero() {
		from = monthStart(now).AddDate(0, -defaultQueueMonths+1, 0)
	}
	cur := cursor{Month: monthStart(from).Format("2006-01")}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return QueuePage{}, err
		}
		cur = c
	}
	agency := strings.ToUpper(strings.TrimSpace(o.Agency))
	page := QueuePage{Items: []QueueEntry{}}
	if !codeOK(agency) {
		return page, nil // no agency of this shape has items
	}
	budget := scanBudget
	lastMonth := monthStart(to)
	for {
		m, _ := time.ParseInLocation("2006-01", cur.Month, workdays.Location)
		if m.After(lastMonth) {
			return page, nil
		}
		for {
			need := limit - len(page.Items)
			if need <= 0 || budget <= 0 {
				page.Next = encodeCursor(cur)
				return page, nil
			}
			lp, err := s.d.Store.List(ctx, agencyMonthPrefix(agency, m), cur.Token, min(need, budget))
			if err != nil {
				return QueuePage{}, err
			}
			budget -= len(lp.Entries)
			for _, e := range lp.Entries {
				id, err := idFromIndexKey(e.Key)
				if err != nil {
					continue // not an entry this code wrote
				}
				it, _, err := s.repo.get(ctx, id)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return QueuePage{}, err
				}
				if !strings.EqualFold(it.Agency.Code, agency) {
					continue // moved by a reassign; the entry is stale
				}
				if !matchQueue(it, q, from, to, now) {
					continue
				}
				page.Items = append(page.Items, QueueEntry{ID: it.ID, Version: it.Version, Kind: it.Kind, Field: it.FieldCode,
					Title: it.Title, Status: it.Status, StatusLabel: StatusLabelVi(it.Status), Assignee: it.Assignee,
					ReceivedAt: vn(it.ReceivedAt), Due: vnDue(it.Due), Overdue: overdue(it, now)})
			}
			cur.Token = lp.Next
			if lp.Next == "" {
				break
			}
		}
		cur = cursor{Month: m.AddDate(0, 1, 0).Format("2006-01")}
		if len(page.Items) >= limit {
			if !time.Time(m.AddDate(0, 1, 0)).After(lastMonth) {
				page.Next = encodeCursor(cur)
			}
			return page, nil
		}
	}
}

func matchQueue(it Item, q QueueQuery, from, to, now time.Time) bool {
	if q.Status != "" && it.Status != q.Status {
		return false
	}
	if q.Field != "" && !strings.EqualFold(it.FieldCode, q.Field) {
		return false
	}
	if it.ReceivedAt.Before(from) || it.ReceivedAt.After(to) {
		return false
	}
	if q.Overdue != nil && (len(it.Overdue(now)) > 0) != *q.Overdue {
		return false
	}
	return true
}

// PublicQuery filters the published answers.
type PublicQuery struct {
	// Q is searched in title, content and answer, accent-insensitively.
	Q string
	// Field keeps one field ("" = any).
	Field string
	// IDs keeps only these ids (nil = any).
	IDs []string
	// From and To bound the receipt time (zero = open).
	From, To time.Time
	// Cursor continues a previous page; Limit is the page size.
	Cursor string
	Limit  int
}

// PublicPage is one page of published answers.
type PublicPage struct {
	// Items are the published items, by id (receipt day) order.
	Items []PublicItem `json:"items"`
	// Next continues the listing; "" at the end.
	Next string `json:"next"`
}

// GetPublic returns the published view of item id (ErrNotFound when the
// item is unknown or not published).
func (s *Service) GetPublic(ctx context.Context, id ID) (PublicItem, error) {
	if id.IsZero() {
		return PublicItem{}, ErrNotFound
	}
	var p PublicItem
	if _, err := docstore.GetJSON(ctx, s.d.Store, PublicKey(id), &p); err != nil {
		if errors.Is(err, docstore.ErrNotFound) {
			return PublicItem{}, ErrNotFound
		}
		return PublicItem{}, err
	}
	return p, nil
}

// Public lists published answers matching q (public list and search).
func (s *Service) Public(ctx context.Context, q PublicQuery) (PublicPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	words := strings.Fields(vnid.Fold(q.Q))
	page := PublicPage{Items: []PublicItem{}}
	token := q.Cursor
	budget := scanBudget
	for {
		need := limit - len(page.Items)
		if need <= 0 || budget <= 0 {
			page.Next = token
			return page, nil
		}
		lp, err := s.d.Store.List(ctx, PublicPrefix, token, min(need, budget))
		if err != nil {
			return PublicPage{}, err
		}
		budget -= len(lp.Entries)
		for _, e := range lp.Entries {
			id, err := ParseID(strings.TrimSuffix(strings.TrimPrefix(e.Key, PublicPrefix), ".json"))
			if err != nil || (q.IDs != nil && !slices.Contains(q.IDs, id.String())) {
				continue
			}
			p, err := s.GetPublic(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return PublicPage{}, err
			}
			if q.Field != "" && !strings.EqualFold(p.Field, q.Field) {
				continue
			}
			if (!q.From.IsZero() && p.ReceivedAt.Before(q.From)) || (!q.To.IsZero() && p.ReceivedAt.After(q.To)) {
				continue
			}
			if !matchWords(vnid.Fold(p.Title+" "+p.Content+" "+p.Answer+" "+p.FieldName), words) {
				continue
			}
			page.Items = append(page.Items, p)
		}
		token = lp.Next
		if token == "" {
			return page, nil
		}
	}
}

// matchWords reports whether folded text holds every word.
func matchWords(text string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}
