package main

// The province scenario's synthetic citizens, applications and feedback:
// every value valid the way the functions check it (CCCD matching the date
// of birth, Vietnamese mobile numbers, MST with its check digit, each
// procedure's form fields and required documents from the seed catalog).

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"motcua/shared/catalog"
	"motcua/shared/vnid"
)

var (
	provFamily = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	provMiddle = []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Anh"}
	provGiven  = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Nhung", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"}
	// provPrefixes are mobile prefixes in service (Viettel, VinaPhone,
	// MobiFone).
	provPrefixes = []string{"090", "091", "093", "094", "096", "097", "098", "086", "088", "089", "070", "077", "083", "084", "085", "032", "035", "038"}
	provPlaces   = []string{"Phường Xuân Hương, Đà Lạt", "Xã Việt Hùng, Đông Anh", "Phường 2, Bảo Lộc", "Thị trấn Liên Nghĩa, Đức Trọng", "Xã Tà Nung, Đà Lạt"}
)

// citizen is one synthetic applicant.
type citizen struct {
	Name, IDNumber, DOB, Phone, Email, Address string
	// From is the loopback address the citizen's calls come from.
	From string
}

// newRng is the generator of item i of a run seeded with seed.
func newRng(seed uint64, i int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(i))) }

// newCitizen returns a valid person for index i.
func newCitizen(rng *rand.Rand, i int) citizen {
	year := 1950 + rng.IntN(55)
	female := rng.IntN(2) == 1
	century := 0
	if year >= 2000 {
		century = 2
	}
	if female {
		century++
	}
	dob := fmt.Sprintf("%04d-%02d-%02d", year, 1+rng.IntN(12), 1+rng.IntN(28))
	id := fmt.Sprintf("068%d%02d%06d", century, year%100, rng.IntN(1000000))
	name := provFamily[rng.IntN(len(provFamily))] + " " + provMiddle[rng.IntN(len(provMiddle))] + " " + provGiven[rng.IntN(len(provGiven))]
	phone := provPrefixes[rng.IntN(len(provPrefixes))] + fmt.Sprintf("%07d", rng.IntN(10000000))
	return citizen{Name: name, IDNumber: id, DOB: dob, Phone: phone,
		Email:   fmt.Sprintf("cd%d@example.vn", i),
		Address: fmt.Sprintf("Số %d, %s, tỉnh Lâm Đồng", 1+rng.IntN(300), provPlaces[rng.IntN(len(provPlaces))]),
		// One loopback address per citizen (127.0.0.1, the gateway's own
		// address, is never used): see provClient.fnFrom.
		From: fmt.Sprintf("127.%d.%d.%d", 10+i/(250*256)%200, i/250%256, 1+i%250)}
}

// validMST returns a 10-digit tax code with a valid check digit.
func validMST(rng *rand.Rand) string {
	for {
		base := fmt.Sprintf("58%07d", rng.IntN(10000000))
		for d := 0; d < 10; d++ {
			s := base + fmt.Sprint(d)
			if _, err := vnid.ValidateMST(s); err == nil {
				return s
			}
		}
	}
}

// formFor fills p's form fields for applicant a.
func formFor(rng *rand.Rand, p catalog.Procedure, a citizen) map[string]any {
	form := map[string]any{}
	for _, f := range p.FormFields {
		switch {
		case f.Name == "hoTenNguoiYeuCau":
			form[f.Name] = a.Name
		case f.Pattern == `^[0-9]{12}$`:
			form[f.Name] = a.IDNumber
		case strings.Contains(f.Pattern, "[35789]"):
			form[f.Name] = a.Phone
		case strings.HasPrefix(f.Pattern, `^[0-9]{10}`):
			form[f.Name] = validMST(rng)
		case f.Pattern == `^[0-9]{4}$`:
			form[f.Name] = fmt.Sprintf("%04d", 2000+rng.IntN(26))
		case f.Type == catalog.FieldType("enum") && len(f.Options) > 0:
			form[f.Name] = f.Options[rng.IntN(len(f.Options))]
		case f.Type == catalog.FieldType("number"):
			form[f.Name] = 1 + rng.IntN(3)
		case f.Type == catalog.FieldType("date"):
			form[f.Name] = fmt.Sprintf("2025-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28))
		default:
			form[f.Name] = "Nội dung " + strings.ToLower(f.Label)
		}
	}
	return form
}

// contentTypes maps catalog formats to media types.
var contentTypes = map[string]string{"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
	"doc": "application/msword", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

// documentsFor declares p's required documents.
func documentsFor(p catalog.Procedure) []map[string]any {
	var docs []map[string]any
	for _, d := range p.Documents {
		if !d.Required {
			continue
		}
		ext := "pdf"
		if len(d.Formats) > 0 {
			ext = d.Formats[0]
		}
		ct := contentTypes[ext]
		if ct == "" {
			ext, ct = "pdf", "application/pdf"
		}
		docs = append(docs, map[string]any{"code": d.Code, "fileName": strings.ToLower(d.Code) + "." + ext, "contentType": ct, "size": 50000 + len(d.Code)})
	}
	return docs
}

// submission is the submit-application body for applicant a.
func submission(rng *rand.Rand, p catalog.Procedure, a citizen, channel string) map[string]any {
	return map[string]any{
		"procedureCode": p.Code,
		"applicant": map[string]any{"kind": "person", "name": a.Name, "idNumber": a.IDNumber, "dateOfBirth": a.DOB,
			"phone": a.Phone, "email": a.Email, "address": a.Address},
		"form":      formFor(rng, p, a),
		"documents": documentsFor(p),
		"channel":   channel,
	}
}

// provPDF is a minimal valid PDF carrying text (the result document).
func provPDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(b.String())
}
