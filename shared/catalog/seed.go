package catalog

import (
	"bytes"
	_ "embed" // seed catalog
	"encoding/json"
	"fmt"
	"io"
)

//go:embed seed/procedures.json
var seedJSON []byte

// SeedProcedures returns the embedded seed catalog (seed/procedures.json),
// a realistic set of provincial, district and commune procedures used when
// a bucket holds no catalog yet and by tests.
func SeedProcedures() ([]Procedure, error) {
	return Decode(bytes.NewReader(seedJSON))
}

// Decode reads a catalog file: a JSON array of procedures, or an object
// with a "procedures" array (the stored Version form). It does not
// validate; Load and Validate do.
func Decode(r io.Reader) ([]Procedure, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode catalog: %w", err)
	}
	raw = bytes.TrimSpace(raw)
	var procs []Procedure
	if len(raw) > 0 && raw[0] == '{' {
		var v Version
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("decode catalog: %w", err)
		}
		return v.Procedures, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&procs); err != nil {
		return nil, fmt.Errorf("decode catalog: %w", err)
	}
	return procs, nil
}
