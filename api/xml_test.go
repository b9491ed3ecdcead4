package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// maxXMLBody bounds an XML request body the checker reads (the receipt
// function's own limit is 256 KiB).
const maxXMLBody = 1 << 20

func init() {
	// kin-openapi decodes JSON, forms and plain text itself; the receipt
	// function's verification takes the signed receipt as
	// application/xml (or text/xml), documented as a string: decode the
	// body as that string so examples posting XML are checked too.
	openapi3filter.RegisterBodyDecoder("application/xml", xmlBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/xml", xmlBodyDecoder)
}

// xmlBodyDecoder returns the XML document as a string; the documented
// string schema then applies to the whole document.
func xmlBodyDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxXMLBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxXMLBody {
		return nil, fmt.Errorf("XML body larger than %d bytes", maxXMLBody)
	}
	return string(b), nil
}

// TestXMLBodies_are_checked: an XML request body is validated against
// its documented string schema where XML is documented (not refused as an
// unknown content type), and refused where it is not.
func TestXMLBodies_are_checked(t *testing.T) {
	d := loadDocument(t)
	if d.kin == nil {
		t.Fatal(d.kinErr)
	}
	for _, tc := range []struct {
		name, path string
		valid      bool
	}{
		{"xml_where_documented", "/function/receipt", true},
		{"xml_where_not_documented", "/function/receipt/lookup?action=lookup", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://gateway"+tc.path, strings.NewReader(`<?xml version="1.0"?><BLai><DLBLai Id="DLBLai"/></BLai>`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/xml")
			errs := d.kin.validateRequest(req)
			if tc.valid && len(errs) > 0 {
				t.Fatalf("valid XML body refused: %v", errs)
			}
			if !tc.valid && len(errs) == 0 {
				t.Fatal("an XML body passed where only JSON is documented")
			}
		})
	}
}
