package api_test

import "github.com/getkin/kin-openapi/openapi3filter"

// The stats function's public page (GET /function/stats?format=html) is
// documented as text/html with a string schema; kin-openapi has no decoder
// for that media type, so it is read as plain text like text/plain.
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}
