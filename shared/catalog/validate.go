package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits checked by Validate.
const (
	// MaxProcessingDays bounds the legal processing time.
	MaxProcessingDays = 365
	// MaxFeeVND bounds a fee (one billion đồng).
	MaxFeeVND = 1_000_000_000
	// MaxDocumentMB bounds a document's size limit.
	MaxDocumentMB = 50
	// MaxProcedures bounds the size of one catalog.
	MaxProcedures = 5000
)

var (
	codePattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$`)
	fieldNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)
	allowedFormats   = map[string]bool{"pdf": true, "jpg": true, "jpeg": true, "png": true, "doc": true, "docx": true, "xml": true}
)

// Validate checks a whole catalog and returns nil or an ErrInvalidCatalog
// *Error whose Issues name every problem: unique procedure codes, required
// fields, known enums, sane fees and processing days, unique document codes
// and form-field names, compilable patterns.
func Validate(procs []Procedure) error {
	var issues []Issue
	add := func(path, format string, args ...any) {
		issues = append(issues, Issue{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(procs) == 0 {
		add("procedures", "the catalog is empty")
	}
	if len(procs) > MaxProcedures {
		add("procedures", "%d procedures, at most %d allowed", len(procs), MaxProcedures)
	}
	seen := map[string]int{}
	for i, p := range procs {
		at := fmt.Sprintf("procedures[%d]", i)
		if p.Code != "" {
			at = fmt.Sprintf("procedures[%d](%s)", i, p.Code)
		}
		switch {
		case p.Code == "":
			add(at+".code", "required")
		case !codePattern.MatchString(p.Code):
			add(at+".code", "%q must be 2-40 letters, digits, '.', '_' or '-'", p.Code)
		default:
			if j, dup := seen[strings.ToUpper(p.Code)]; dup {
				add(at+".code", "duplicate of procedures[%d]", j)
			} else {
				seen[strings.ToUpper(p.Code)] = i
			}
		}
		requireText(add, at+".name", p.Name, 500)
		requireText(add, at+".field", p.Field, 200)
		requireText(add, at+".agency.code", p.Agency.Code, 64)
		requireText(add, at+".agency.name", p.Agency.Name, 300)
		switch p.Level {
		case LevelProvince, LevelDistrict, LevelCommune:
		default:
			add(at+".level", "%q is not province, district or commune", p.Level)
		}
		switch p.OnlineLevel {
		case OnlineFull, OnlinePartial:
		default:
			add(at+".onlineLevel", "%q is not full or partial", p.OnlineLevel)
		}
		if p.ProcessingDays < 0 || p.ProcessingDays > MaxProcessingDays {
			add(at+".processingDays", "%d is outside 0..%d", p.ProcessingDays, MaxProcessingDays)
		}
		if p.Version < 1 {
			add(at+".version", "must be at least 1")
		}
		if p.UpdatedAt.IsZero() {
			add(at+".updatedAt", "required")
		}
		validateFee(add, at+".fee", p.Fee)
		docCodes := map[string]bool{}
		for j, d := range p.Documents {
			dat := fmt.Sprintf("%s.documents[%d]", at, j)
			if d.Code == "" {
				add(dat+".code", "required")
			} else if docCodes[d.Code] {
				add(dat+".code", "duplicate document code %q", d.Code)
			}
			docCodes[d.Code] = true
			requireText(add, dat+".name", d.Name, 500)
			if len(d.Formats) == 0 {
				add(dat+".formats", "at least one format required")
			}
			for _, f := range d.Formats {
				if !allowedFormats[f] {
					add(dat+".formats", "%q is not an accepted format (pdf, jpg, jpeg, png, doc, docx, xml)", f)
				}
			}
			if d.MaxSizeMB < 1 || d.MaxSizeMB > MaxDocumentMB {
				add(dat+".maxSizeMB", "%d is outside 1..%d", d.MaxSizeMB, MaxDocumentMB)
			}
		}
		names := map[string]bool{}
		for j, f := range p.FormFields {
			fat := fmt.Sprintf("%s.formFields[%d]", at, j)
			if !fieldNamePattern.MatchString(f.Name) {
				add(fat+".name", "%q must start with a letter and hold only letters, digits and '_'", f.Name)
			} else if names[f.Name] {
				add(fat+".name", "duplicate field name %q", f.Name)
			}
			names[f.Name] = true
			requireText(add, fat+".label", f.Label, 300)
			switch f.Type {
			case FieldString, FieldDate, FieldNumber, FieldBool:
				if len(f.Options) > 0 {
					add(fat+".options", "only enum fields take options")
				}
			case FieldEnum:
				if len(f.Options) == 0 {
					add(fat+".options", "an enum field needs options")
				}
			default:
				add(fat+".type", "%q is not string, date, number, bool or enum", f.Type)
			}
			if f.Pattern != "" {
				if f.Type != FieldString {
					add(fat+".pattern", "only string fields take a pattern")
				}
				if _, err := regexp.Compile(f.Pattern); err != nil {
					add(fat+".pattern", "does not compile: %v", err)
				}
			}
		}
	}
	if len(issues) > 0 {
		return invalidCatalog(issues)
	}
	return nil
}

func requireText(add func(string, string, ...any), path, s string, max int) {
	switch {
	case strings.TrimSpace(s) == "":
		add(path, "required")
	case !utf8.ValidString(s):
		add(path, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		add(path, "longer than %d characters", max)
	}
}

func validateFee(add func(string, string, ...any), at string, f Fee) {
	switch f.Kind {
	case FeeKindFree:
		if f.AmountVND != 0 || (f.OnlineAmountVND != nil && *f.OnlineAmountVND != 0) {
			add(at+".amountVND", "a free procedure must have amount 0")
		}
	case FeeKindFee, FeeKindCharge:
		if f.AmountVND <= 0 || f.AmountVND > MaxFeeVND {
			add(at+".amountVND", "%d is outside 1..%d for a %s", f.AmountVND, MaxFeeVND, f.Kind)
		}
		if f.OnlineAmountVND != nil && (*f.OnlineAmountVND < 0 || *f.OnlineAmountVND > f.AmountVND) {
			add(at+".onlineAmountVND", "%d must be between 0 and the counter amount %d", *f.OnlineAmountVND, f.AmountVND)
		}
	default:
		add(at+".kind", "%q is not fee, charge or free", f.Kind)
	}
}
