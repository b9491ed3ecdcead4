package fault_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"motcua/shared/fault"
)

var (
	errBase     = errors.New("base not found")
	errNotFound = fault.New("shop", "item_not_found", 404, "Không thấy.", "Not found.", fault.Matches(errBase))
	errInvalid  = fault.New("shop", "invalid_query", 400, "Sai tham số.", "Bad parameter.")
	errOther    = fault.New("stock", "item_not_found", 404, "Không thấy.", "Not found.")
)

func TestError_accessors(t *testing.T) {
	e := errNotFound
	if e.ProblemCode() != "item_not_found" || e.StatusCode() != 404 || e.MessageVi() != "Không thấy." || e.MessageEn() != "Not found." {
		t.Fatalf("accessors: %q %d %q %q", e.ProblemCode(), e.StatusCode(), e.MessageVi(), e.MessageEn())
	}
	if e.ProblemExtra() != nil || e.ProblemFields() != nil || e.Param() != "" || e.Issues() != nil || e.Unwrap() != nil {
		t.Fatalf("a plain sentinel carries nothing else: %+v", e)
	}
}

func TestError_text(t *testing.T) {
	cause := errors.New("bucket empty")
	issues := []fault.Issue{{Path: "a[0].code", Message: "required"}, {Path: "b", Message: "too long"}}
	tests := []struct {
		name string
		err  *fault.Error
		want string
	}{
		{"plain", errNotFound, "shop: item_not_found: Not found."},
		{"more_specific_messages", errNotFound.WithMessages("vi", "No item X."), "shop: item_not_found: No item X."},
		{"parameter", errInvalid.WithParam("page"), `shop: invalid_query: Bad parameter. (parameter "page")`},
		{"issues", errInvalid.WithIssues(issues), "shop: invalid_query: Bad parameter.\n  - a[0].code: required\n  - b: too long"},
		{"cause", errInvalid.WithCause(cause), "shop: invalid_query: Bad parameter.: bucket empty"},
		{"everything", errInvalid.WithParam("q").WithIssues(issues[:1]).WithCause(cause),
			"shop: invalid_query: Bad parameter. (parameter \"q\")\n  - a[0].code: required: bucket empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestError_is(t *testing.T) {
	cause := errors.New("io")
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same_sentinel", errNotFound, errNotFound, true},
		{"derived_matches_its_sentinel", errNotFound.WithMessages("a", "b").With("k", 1), errNotFound, true},
		{"wrapped_derived", fmt.Errorf("ctx: %w", errNotFound.WithParam("p")), errNotFound, true},
		{"matches_given_target", errNotFound, errBase, true},
		{"other_code", errInvalid, errNotFound, false},
		{"same_code_other_domain", errOther, errNotFound, false},
		{"no_match_without_option", errInvalid, errBase, false},
		{"cause_seen_through", errInvalid.WithCause(cause), cause, true},
		{"cause_of_other_kind", errInvalid.WithCause(cause), errNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestError_derivations_copy(t *testing.T) {
	a := errNotFound.With("current_status", "received")
	b := a.With("payment_ref", "P1")
	if !reflect.DeepEqual(a.ProblemExtra(), map[string]any{"current_status": "received"}) {
		t.Fatalf("With changed its receiver: %v", a.ProblemExtra())
	}
	if !reflect.DeepEqual(b.ProblemExtra(), map[string]any{"current_status": "received", "payment_ref": "P1"}) {
		t.Fatalf("With keeps other members: %v", b.ProblemExtra())
	}
	c := b.WithExtra(map[string]any{"methods": []string{"vnpay"}})
	if !reflect.DeepEqual(c.ProblemExtra(), map[string]any{"methods": []string{"vnpay"}}) {
		t.Fatalf("WithExtra replaces: %v", c.ProblemExtra())
	}
	if errNotFound.ProblemExtra() != nil || errNotFound.MessageEn() != "Not found." || errInvalid.Param() != "" {
		t.Fatal("a sentinel was modified by a derivation")
	}
	_ = errInvalid.WithParam("q").WithMessages("x", "y")
	if errInvalid.Param() != "" || errInvalid.MessageVi() != "Sai tham số." {
		t.Fatal("WithParam/WithMessages modified the sentinel")
	}
}

func TestError_problem_fields(t *testing.T) {
	e := errInvalid.WithMessages("Trang sai.", "Bad page.").WithParam("page").
		WithIssues([]fault.Issue{{Path: "x", Message: "bad x"}})
	want := [][4]string{{"page", "invalid", "Bad page.", "Trang sai."}, {"x", "invalid", "bad x", "bad x"}}
	if got := e.ProblemFields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ProblemFields() = %v, want %v", got, want)
	}
	var fe *fault.Error
	if !errors.As(fmt.Errorf("wrap: %w", e), &fe) || fe.Param() != "page" || len(fe.Issues()) != 1 {
		t.Fatalf("errors.As lost the details: %v", fe)
	}
}

func TestIssue_string(t *testing.T) {
	if got := (fault.Issue{Path: "p", Message: "m"}).String(); got != "p: m" {
		t.Fatalf("String() = %q", got)
	}
}
