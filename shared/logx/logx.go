// Package logx builds motcua's structured loggers: JSON lines through
// log/slog, with personal identifiers masked and secrets redacted before
// anything is written, and the call id of the request added to every record.
//
// Masking applies to the message, to every string attribute, to attributes
// inside groups (however deep), to errors and Stringers, and to structs and
// maps logged with slog.Any (they are walked as JSON). An attribute whose key
// looks secret (see IsSecretKey) is replaced by "[REDACTED]" whatever its
// value, and so is a whole group with such a key.
package logx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

type callIDKey struct{}

// CallIDKey is the attribute key the handler uses for the call id.
const CallIDKey = "call_id"

// WithCallID returns a context carrying the call id (the X-Call-Id of the
// request); an empty id returns ctx unchanged.
func WithCallID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, callIDKey{}, id)
}

// CallIDFrom returns the call id stored by WithCallID, or "".
func CallIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(callIDKey{}).(string)
	return id
}

// ParseLevel turns "debug", "info", "warn"/"warning", "error" (any case) or
// a slog level text like "INFO+2" into a level; anything else is Info.
func ParseLevel(level string) slog.Level {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		return slog.LevelDebug
	case "", "info":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// New returns a JSON logger writing to w at the given level (see
// ParseLevel) that masks personal data, redacts secrets and adds call_id
// from the context of each record (use the *Context logging methods).
func New(w io.Writer, level string) *slog.Logger {
	return slog.New(NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: ParseLevel(level)})))
}

// NewHandler wraps inner so that every record reaching it is masked and
// carries call_id (at the top level, even under WithGroup) when the record's
// context has one. Safe for concurrent use if inner is.
func NewHandler(inner slog.Handler) slog.Handler {
	return &Handler{inner: inner}
}

// Handler is the masking slog.Handler built by NewHandler.
type Handler struct {
	inner slog.Handler
	// groups opened with WithGroup, outermost first, each with the
	// (already masked) attributes added inside it afterwards. Attributes
	// added before any group go straight to inner.
	groups []openGroup
}

type openGroup struct {
	name  string
	attrs []slog.Attr
}

var _ slog.Handler = (*Handler)(nil)

// Enabled reports whether inner handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle masks the record and passes it to inner.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Mask(r.Message), r.PC)
	if id := CallIDFrom(ctx); id != "" {
		out.AddAttrs(slog.String(CallIDKey, id))
	}
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, maskAttr(a))
		return true
	})
	if len(h.groups) == 0 {
		out.AddAttrs(attrs...)
		return h.inner.Handle(ctx, out)
	}
	// Rebuild the open groups from the innermost outwards.
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		inside := make([]slog.Attr, 0, len(g.attrs)+len(attrs))
		inside = append(inside, g.attrs...)
		inside = append(inside, attrs...)
		attrs = []slog.Attr{{Key: g.name, Value: slog.GroupValue(inside...)}}
	}
	out.AddAttrs(attrs...)
	return h.inner.Handle(ctx, out)
}

// WithAttrs returns a handler that adds the masked attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	if len(h.groups) == 0 {
		return &Handler{inner: h.inner.WithAttrs(masked)}
	}
	groups := cloneGroups(h.groups)
	last := &groups[len(groups)-1]
	last.attrs = append(last.attrs, masked...)
	return &Handler{inner: h.inner, groups: groups}
}

// WithGroup returns a handler that nests later attributes under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := cloneGroups(h.groups)
	groups = append(groups, openGroup{name: name})
	return &Handler{inner: h.inner, groups: groups}
}

func cloneGroups(gs []openGroup) []openGroup {
	out := make([]openGroup, len(gs), len(gs)+1)
	for i, g := range gs {
		out[i] = openGroup{name: g.name, attrs: append([]slog.Attr(nil), g.attrs...)}
	}
	return out
}

// maskAttr masks one attribute, recursing into groups.
func maskAttr(a slog.Attr) slog.Attr {
	if a.Key != "" && IsSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Mask(v.String()))
	case slog.KindGroup:
		in := v.Group()
		out := make([]slog.Attr, len(in))
		for i, g := range in {
			out[i] = maskAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		return slog.Any(a.Key, maskAny(v.Any()))
	case slog.KindInt64, slog.KindUint64:
		// An ID or a phone number logged as a number.
		s := v.String()
		if m := Mask(s); m != s {
			return slog.String(a.Key, m)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// maskAny masks values logged with slog.Any: errors and Stringers become
// masked strings; everything else is walked through its JSON form.
func maskAny(x any) any {
	switch t := x.(type) {
	case nil:
		return nil
	case error:
		return Mask(t.Error())
	case fmt.Stringer:
		return Mask(t.String())
	case []byte:
		return Mask(string(t))
	case json.RawMessage:
		return walkJSON(t)
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("!ERROR:%v", err)
	}
	return walkJSON(raw)
}

func walkJSON(raw []byte) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Mask(string(raw))
	}
	return walkValue(v)
}

func walkValue(v any) any {
	switch t := v.(type) {
	case string:
		return Mask(t)
	case json.Number:
		if m := Mask(t.String()); m != t.String() {
			return m
		}
		return t
	case []any:
		for i := range t {
			t[i] = walkValue(t[i])
		}
		return t
	case map[string]any:
		for k, e := range t {
			if IsSecretKey(k) {
				t[k] = Redacted
				continue
			}
			t[k] = walkValue(e)
		}
		return t
	}
	return v
}
