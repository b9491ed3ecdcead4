package feedback

import (
	"regexp"

	"motcua/shared/citizenguard"
)

// idKind is the shape of a feedback id: PAKN-<yymmdd>-<8 of base32>.
var idKind = citizenguard.Kind{
	Field:   "id",
	Pattern: regexp.MustCompile(`^PAKN-[0-9]{6}-[0-9A-Z]{8}$`),
	MaxLen:  20,
	Upper:   true,
	NameVi:  "mã phản ánh",
	NameEn:  "feedback id",
	Example: "PAKN-261203-7K3QX9MA",
}

// ID is a parsed feedback id. Only ParseID (from a client) and Item.Ref
// (from a stored item) make one, so storage keys, which take an ID, are
// never built from an unchecked string. The zero ID is invalid.
type ID struct{ v string }

// ParseID returns the ID of s (trimmed, upper-cased) or a 400 problem
// ("invalid_identifier" / "required") naming the field "id".
func ParseID(s string) (ID, error) {
	v, err := idKind.Parse(s)
	if err != nil {
		return ID{}, err
	}
	return ID{v}, nil
}

// String returns the id as text.
func (i ID) String() string { return i.v }

// IsZero reports whether i is the zero (invalid) ID.
func (i ID) IsZero() bool { return i.v == "" }

// Ref returns the item's id as an ID (the zero ID for a corrupt document).
func (it Item) Ref() ID {
	id, err := ParseID(it.ID)
	if err != nil {
		return ID{}
	}
	return id
}
