package application

import (
	"regexp"

	"motcua/shared/citizenguard"
)

// codeKind is the shape of an application code: {agency}-{yyMMdd}-{NNNN},
// the agency code being letters and digits in parts joined by '-', '_' or
// '.', the number 4 to 9 digits. Only ASCII letters, digits and single
// separators: nothing a storage key could be steered with.
var codeKind = citizenguard.Kind{
	Field:   "code",
	Pattern: regexp.MustCompile(`^[A-Z0-9]+(?:[-_.][A-Z0-9]+)*-[0-9]{6}-[0-9]{4,9}$`),
	MaxLen:  80,
	Upper:   true,
	NameVi:  "mã hồ sơ",
	NameEn:  "application code",
	Example: "STP-261203-0001",
}

// Code is a parsed application code. Only ParseCode (from a client) and
// Application.ID (from a stored application) make one, so storage keys,
// which take a Code, are never built from an unchecked string. The zero
// Code is invalid.
type Code struct{ v string }

// ParseCode returns the Code of s (trimmed, upper-cased) or a 400 problem
// ("invalid_identifier" / "required") naming the field "code".
func ParseCode(s string) (Code, error) {
	v, err := codeKind.Parse(s)
	if err != nil {
		return Code{}, err
	}
	return Code{v}, nil
}

// String returns the code as text.
func (c Code) String() string { return c.v }

// IsZero reports whether c is the zero (invalid) Code.
func (c Code) IsZero() bool { return c.v == "" }

// ID returns the application's code as a Code. Stored codes were made by
// AllocateCode, which only makes parseable codes; a stored code that does
// not parse (a corrupt or foreign document) gives the zero Code, whose keys
// name nothing.
func (a Application) ID() Code {
	c, err := ParseCode(a.Code)
	if err != nil {
		return Code{}
	}
	return c
}

// MarshalText writes the code as text (JSON strings, log values).
func (c Code) MarshalText() ([]byte, error) { return []byte(c.v), nil }
