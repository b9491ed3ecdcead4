package feedback

import (
	"bytes"
	"context"
	_ "embed" // seed tables
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/fault"
	"motcua/shared/vnid"
)

//go:embed seed/fields.json
var seedFields []byte

//go:embed seed/routing.json
var seedRouting []byte

// Field is one field (lĩnh vực) a sender picks.
type Field struct {
	// Code is the stable code, e.g. DAT_DAI.
	Code string `json:"code"`
	// Name is the Vietnamese name.
	Name string `json:"name"`
	// NameEn is the English name.
	NameEn string `json:"nameEn"`
	// Description helps the sender choose (Vietnamese).
	Description string `json:"description"`
}

// Fields is the field table (one stored version).
type Fields struct {
	// Version is the table version (set by the store).
	Version int `json:"version"`
	// Fields lists the fields.
	Fields []Field `json:"fields"`
}

// Find returns the field with code.
func (f Fields) Find(code string) (Field, bool) {
	for _, x := range f.Fields {
		if x.Code == code {
			return x, true
		}
	}
	return Field{}, false
}

// Validate reports every problem of the table.
func (f Fields) Validate() error {
	var errs []error
	seen := map[string]bool{}
	if len(f.Fields) == 0 {
		errs = append(errs, errors.New("fields: empty table"))
	}
	for i, x := range f.Fields {
		switch {
		case !codeOK(x.Code):
			errs = append(errs, fmt.Errorf("fields[%d].code %q: 1-40 of A-Z 0-9 _ -", i, x.Code))
		case seen[x.Code]:
			errs = append(errs, fmt.Errorf("fields[%d].code %q: duplicate", i, x.Code))
		}
		seen[x.Code] = true
		if strings.TrimSpace(x.Name) == "" {
			errs = append(errs, fmt.Errorf("fields[%d].name: required", i))
		}
	}
	return errors.Join(errs...)
}

// Area is an administrative area (district, commune) routing can match,
// found from the sender's area code or from coordinates inside its box.
type Area struct {
	// Code identifies it, e.g. H-DONGANH.
	Code string `json:"code"`
	// Name is its Vietnamese name.
	Name string `json:"name"`
	// Parent is the enclosing area's code ("" for a district).
	Parent string `json:"parent,omitempty"`
	// Box is the bounding box [minLat, minLong, maxLat, maxLong].
	Box [4]float64 `json:"box"`
}

// Rule routes items of a field (or any field, "") in an area (or anywhere,
// "") to an agency.
type Rule struct {
	// Field is a field code or "" for any field.
	Field string `json:"field,omitempty"`
	// Area is an area code or "" for anywhere; an item in a sub-area of
	// Area matches too.
	Area string `json:"area,omitempty"`
	// Agency is the agency code (one of Routing.Agencies).
	Agency string `json:"agency"`
}

// Routing is the routing table (one stored version).
type Routing struct {
	// Version is the table version (set by the store).
	Version int `json:"version"`
	// Agencies lists the agencies items can be routed or reassigned to.
	Agencies []Agency `json:"agencies"`
	// Areas lists the areas rules may name.
	Areas []Area `json:"areas"`
	// Rules are the routing rules; the most specific match wins (see Route).
	Rules []Rule `json:"rules"`
	// Default is the agency of items no rule matches.
	Default string `json:"default"`
}

// Agency returns the agency with code.
func (r Routing) Agency(code string) (Agency, bool) {
	for _, a := range r.Agencies {
		if strings.EqualFold(a.Code, code) {
			return a, true
		}
	}
	return Agency{}, false
}

func (r Routing) area(code string) (Area, bool) {
	for _, a := range r.Areas {
		if a.Code == code {
			return a, true
		}
	}
	return Area{}, false
}

// Validate reports every problem of the table.
func (r Routing) Validate() error {
	var errs []error
	agencies := map[string]bool{}
	for i, a := range r.Agencies {
		if !codeOK(a.Code) || strings.TrimSpace(a.Name) == "" {
			errs = append(errs, fmt.Errorf("agencies[%d]: code and name required", i))
		}
		agencies[a.Code] = true
	}
	areas := map[string]bool{}
	for i, a := range r.Areas {
		if !codeOK(a.Code) || areas[a.Code] {
			errs = append(errs, fmt.Errorf("areas[%d].code %q: missing, malformed or duplicate", i, a.Code))
		}
		areas[a.Code] = true
		b := a.Box
		if b[0] < -90 || b[2] > 90 || b[1] < -180 || b[3] > 180 || b[0] >= b[2] || b[1] >= b[3] {
			errs = append(errs, fmt.Errorf("areas[%d].box: want [minLat, minLong, maxLat, maxLong] within range", i))
		}
	}
	for i, a := range r.Areas {
		if a.Parent != "" && !areas[a.Parent] {
			errs = append(errs, fmt.Errorf("areas[%d].parent %q: unknown area", i, a.Parent))
		}
	}
	for i, ru := range r.Rules {
		if !agencies[ru.Agency] {
			errs = append(errs, fmt.Errorf("rules[%d].agency %q: not in agencies", i, ru.Agency))
		}
		if ru.Area != "" && !areas[ru.Area] {
			errs = append(errs, fmt.Errorf("rules[%d].area %q: not in areas", i, ru.Area))
		}
	}
	if !agencies[r.Default] {
		errs = append(errs, fmt.Errorf("default %q: not in agencies", r.Default))
	}
	return errors.Join(errs...)
}

// ResolveArea returns the area of a location: the given area code when
// known, else the smallest area whose box holds the coordinates, else "".
func (r Routing) ResolveArea(areaCode string, lat, long *float64) string {
	if _, ok := r.area(areaCode); ok {
		return areaCode
	}
	if lat == nil || long == nil {
		return ""
	}
	best, bestSize := "", math.Inf(1)
	for _, a := range r.Areas {
		b := a.Box
		if *lat >= b[0] && *lat <= b[2] && *long >= b[1] && *long <= b[3] {
			if size := (b[2] - b[0]) * (b[3] - b[1]); size < bestSize {
				best, bestSize = a.Code, size
			}
		}
	}
	return best
}

// depth returns how deep area sits under areaOf (0 = areaOf itself), or -1
// when area is not areaOf nor one of its ancestors.
func (r Routing) depth(areaOf, area string) int {
	d := 0
	for cur := areaOf; cur != "" && d < 16; d++ {
		if cur == area {
			return d
		}
		a, ok := r.area(cur)
		if !ok {
			return -1
		}
		cur = a.Parent
	}
	return -1
}

// Route picks the agency for an item of field in area. A rule matches when
// its field is field or "" and its area holds area (area itself or an
// ancestor) or is "". The best match is: a rule naming the field beats one
// that does not; then a rule naming an area beats one that does not, the
// nearest area first; ties go to the earlier rule. So a field's local rule
// (HO_TICH in a commune) beats its provincial rule (HO_TICH → STP), which
// beats an any-field rule of the district. No match → Default. The second
// result names the table version and rule for the record.
func (r Routing) Route(field, area string) (Agency, string) {
	bestScore, bestIdx := -1, -1
	for i, ru := range r.Rules {
		if ru.Field != "" && ru.Field != field {
			continue
		}
		score := 0
		if ru.Field != "" {
			score += 1000
		}
		if ru.Area != "" {
			d := r.depth(area, ru.Area)
			if d < 0 {
				continue
			}
			score += 100 - d
		}
		if score > bestScore {
			bestScore, bestIdx = score, i
		}
	}
	code, rule := r.Default, "default"
	if bestIdx >= 0 {
		code, rule = r.Rules[bestIdx].Agency, "rule "+strconv.Itoa(bestIdx)
	}
	a, _ := r.Agency(code)
	return a, fmt.Sprintf("routing v%d %s", r.Version, rule)
}

func codeOK(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// SeedFields returns the embedded field table (seed/fields.json).
func SeedFields() (Fields, error) {
	var f Fields
	if err := decodeStrict(seedFields, &f); err != nil {
		return Fields{}, fmt.Errorf("seed fields: %w", err)
	}
	return f, nil
}

// SeedRouting returns the embedded routing table (seed/routing.json).
func SeedRouting() (Routing, error) {
	var r Routing
	if err := decodeStrict(seedRouting, &r); err != nil {
		return Routing{}, fmt.Errorf("seed routing: %w", err)
	}
	return r, nil
}

// DecodeFields reads a field table file, NFC-normalised, and validates it.
func DecodeFields(b []byte) (Fields, error) {
	var f Fields
	if err := decodeStrict([]byte(vnid.NFC(string(b))), &f); err != nil {
		return Fields{}, err
	}
	return f, f.Validate()
}

// DecodeRouting reads a routing table file, NFC-normalised, and validates it.
func DecodeRouting(b []byte) (Routing, error) {
	var r Routing
	if err := decodeStrict([]byte(vnid.NFC(string(b))), &r); err != nil {
		return Routing{}, err
	}
	return r, r.Validate()
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Table names of the versioned tables.
const (
	// TableFields is the field table.
	TableFields = "fields"
	// TableRouting is the routing table.
	TableRouting = "routing"
)

// tablePointer is the document at feedback/<table>/current.json.
type tablePointer struct {
	Version   int       `json:"version"`
	Key       string    `json:"key"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func tablePointerKey(table string) string { return "feedback/" + table + "/current.json" }

func tableVersionKey(table string, n int) string {
	return "feedback/" + table + "/v" + strconv.Itoa(n) + ".json"
}

// ErrTableInvalid is returned for a table that fails validation.
var ErrTableInvalid = fault.New("feedback", "invalid_table", 422, "Bảng cấu hình không hợp lệ.", "The table is not valid.")

// StoreTable validates v (a Fields or Routing) and stores it as the next
// version of table, then moves the table's pointer to it (only forwards);
// it returns the version. Versions are immutable and written create-once,
// so concurrent loads get distinct versions.
func StoreTable(ctx context.Context, store docstore.Store, table string, v any) (int, error) {
	switch t := v.(type) {
	case Fields:
		if err := t.Validate(); err != nil {
			return 0, ErrTableInvalid.WithCause(err)
		}
	case Routing:
		if err := t.Validate(); err != nil {
			return 0, ErrTableInvalid.WithCause(err)
		}
	default:
		return 0, fmt.Errorf("store table %s: unsupported %T", table, v)
	}
	var cur tablePointer
	if _, err := docstore.GetJSON(ctx, store, tablePointerKey(table), &cur); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return 0, err
	}
	n := cur.Version + 1
	for probe := 0; ; probe++ {
		if probe > 100 {
			return 0, fmt.Errorf("store table %s: no free version", table)
		}
		body, err := withVersion(v, n)
		if err != nil {
			return 0, err
		}
		_, err = store.Put(ctx, tableVersionKey(table, n), body, docstore.PutOptions{IfNoneMatch: true})
		if err == nil {
			break
		}
		if !errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
			return 0, fmt.Errorf("store table %s v%d: %w", table, n, err)
		}
		n++
	}
	var p tablePointer
	err := docstore.Upsert(ctx, store, tablePointerKey(table), &p, func() error {
		if p.Version >= n {
			return docstore.ErrUnchanged
		}
		p = tablePointer{Version: n, Key: tableVersionKey(table, n), UpdatedAt: time.Now().UTC()}
		return nil
	}, 0)
	return n, err
}

func withVersion(v any, n int) ([]byte, error) {
	switch t := v.(type) {
	case Fields:
		t.Version = n
		return json.Marshal(t)
	case Routing:
		t.Version = n
		return json.Marshal(t)
	}
	return nil, fmt.Errorf("unsupported table %T", v)
}

// Tables reads the field and routing tables from the store, seeding each
// from the embedded seed on first use (create-once, so concurrent cold
// starts end with one version 1), and keeps them in memory for TTL.
type Tables struct {
	store docstore.Store
	ttl   time.Duration
	now   func() time.Time

	mu       sync.Mutex
	fields   Fields
	routing  Routing
	loadedAt time.Time
}

// DefaultTablesTTL is how long Tables trusts its in-memory copy.
const DefaultTablesTTL = 30 * time.Second

// NewTables returns a Tables over store.
func NewTables(store docstore.Store) *Tables {
	return &Tables{store: store, ttl: DefaultTablesTTL, now: time.Now}
}

// Get returns the current field and routing tables.
func (t *Tables) Get(ctx context.Context) (Fields, Routing, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loadedAt.IsZero() && t.now().Sub(t.loadedAt) < t.ttl {
		return t.fields, t.routing, nil
	}
	var f Fields
	if err := t.current(ctx, TableFields, &f); err != nil {
		return Fields{}, Routing{}, err
	}
	var r Routing
	if err := t.current(ctx, TableRouting, &r); err != nil {
		return Fields{}, Routing{}, err
	}
	t.fields, t.routing, t.loadedAt = f, r, t.now()
	return f, r, nil
}

// current reads table's current version into v, seeding it when absent.
func (t *Tables) current(ctx context.Context, table string, v any) error {
	var p tablePointer
	_, err := docstore.GetJSON(ctx, t.store, tablePointerKey(table), &p)
	if errors.Is(err, docstore.ErrNotFound) {
		if err := t.seed(ctx, table); err != nil {
			return err
		}
		_, err = docstore.GetJSON(ctx, t.store, tablePointerKey(table), &p)
	}
	if err != nil {
		return fmt.Errorf("feedback %s table: %w", table, err)
	}
	if _, err := docstore.GetJSON(ctx, t.store, p.Key, v); err != nil {
		return fmt.Errorf("feedback %s table v%d: %w", table, p.Version, err)
	}
	return nil
}

// seed writes the embedded table as version 1 and the pointer, both
// create-once.
func (t *Tables) seed(ctx context.Context, table string) error {
	var body []byte
	var err error
	switch table {
	case TableFields:
		var f Fields
		if f, err = SeedFields(); err == nil {
			body, err = withVersion(f, 1)
		}
	case TableRouting:
		var r Routing
		if r, err = SeedRouting(); err == nil {
			body, err = withVersion(r, 1)
		}
	}
	if err != nil {
		return err
	}
	if _, err := t.store.Put(ctx, tableVersionKey(table, 1), body, docstore.PutOptions{IfNoneMatch: true}); err != nil &&
		!errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
		return fmt.Errorf("seed %s: %w", table, err)
	}
	p := tablePointer{Version: 1, Key: tableVersionKey(table, 1), UpdatedAt: time.Now().UTC()}
	if _, err := docstore.PutJSON(ctx, t.store, tablePointerKey(table), p, docstore.PutOptions{IfNoneMatch: true}); err != nil &&
		!errors.Is(err, docstore.ErrConflict) && !errors.Is(err, docstore.ErrPrecondition) {
		return fmt.Errorf("seed %s pointer: %w", table, err)
	}
	return nil
}
