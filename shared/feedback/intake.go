package feedback

import (
	"crypto/rand"
	"fmt"
	"path"
	"strings"
	"time"

	"motcua/shared/httpx"
	"motcua/shared/vnid"
	"motcua/shared/workdays"
)

// Limits of an intake.
const (
	// MaxContentChars bounds the content (characters, after NFC).
	MaxContentChars = 4000
	// MaxAttachments bounds the declared files.
	MaxAttachments = 5
	// MaxAttachmentBytes bounds one file (10 MB, as the catalog's usual
	// document limit).
	MaxAttachmentBytes = 10 << 20
)

// SubmitInput is the body of an intake.
type SubmitInput struct {
	// Kind is regulation (about a regulation or procedure) or conduct
	// (about an official's conduct).
	Kind string `json:"kind" validate:"required,oneof=regulation conduct"`
	// Field is a field code from the field table.
	Field string `json:"field" validate:"required,max=40"`
	// Title summarises the matter.
	Title string `json:"title" validate:"required,min=5,max=200"`
	// Content is the matter (≤ 4 000 characters).
	Content string `json:"content" validate:"required,min=10,max=4000"`
	// Location is where the matter is (optional).
	Location *LocationInput `json:"location"`
	// Attachments declares photos or documents to upload (optional).
	Attachments []AttachmentInput `json:"attachments" validate:"max=5,dive"`
	// Contact is the sender; omit (or leave empty) to stay anonymous.
	Contact *ContactInput `json:"contact"`
	// ApplicationCode is the application the feedback concerns (optional).
	ApplicationCode string `json:"applicationCode" validate:"omitempty,max=40,printascii"`
}

// LocationInput is the location of an intake.
type LocationInput struct {
	// Address is a free-text address.
	Address string `json:"address" validate:"max=500"`
	// Lat and Long are WGS84 degrees; both or neither.
	Lat  *float64 `json:"lat" validate:"omitempty,gte=-90,lte=90"`
	Long *float64 `json:"long" validate:"omitempty,gte=-180,lte=180"`
	// AreaCode is an area of the routing table, if the app knows it.
	AreaCode string `json:"areaCode" validate:"max=40"`
}

// ContactInput is the sender's contact.
type ContactInput struct {
	// Name is the sender's name.
	Name string `json:"name" validate:"max=100"`
	// Phone is a Vietnamese mobile number.
	Phone string `json:"phone" validate:"omitempty,vnphone"`
	// Email is an e-mail address.
	Email string `json:"email" validate:"omitempty,email,max=200"`
}

// empty reports a contact with nothing in it.
func (c *ContactInput) empty() bool {
	return c == nil || strings.TrimSpace(c.Name+c.Phone+c.Email) == ""
}

// AttachmentInput declares one file.
type AttachmentInput struct {
	// FileName is the file's name with its extension.
	FileName string `json:"fileName" validate:"required,max=200"`
	// ContentType is its media type.
	ContentType string `json:"contentType" validate:"required,max=100"`
	// Size is its size in bytes.
	Size int64 `json:"size" validate:"required,min=1"`
}

// attachmentTypes are the accepted extensions and their media types.
var attachmentTypes = map[string]string{
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic",
	"pdf": "application/pdf", "mp4": "video/mp4",
}

func fieldErr(field, code, en, vi string) httpx.FieldError {
	return httpx.FieldError{Field: field, Code: code, Message: en, MessageVi: vi}
}

// checkInput runs the checks tags cannot express; in must have passed
// httpx.Validate. It returns the cleaned contact (nil = anonymous) and the
// attachments to record.
func checkInput(in SubmitInput, fields Fields) (*Contact, []Attachment, Field, []httpx.FieldError) {
	var errs []httpx.FieldError
	f, ok := fields.Find(strings.ToUpper(strings.TrimSpace(in.Field)))
	if !ok {
		errs = append(errs, fieldErr("field", "unknown_field", "Unknown field; see ?action=fields for the list.",
			"Lĩnh vực không có trong danh mục; xem danh sách tại ?action=fields."))
	}
	if n := len([]rune(in.Content)); n > MaxContentChars {
		errs = append(errs, fieldErr("content", "max", fmt.Sprintf("At most %d characters.", MaxContentChars),
			fmt.Sprintf("Tối đa %d ký tự.", MaxContentChars)))
	}
	if l := in.Location; l != nil && (l.Lat == nil) != (l.Long == nil) {
		errs = append(errs, fieldErr("location.long", "required_with", "Give both lat and long, or neither.",
			"Cần nhập cả vĩ độ (lat) và kinh độ (long), hoặc không nhập cả hai."))
	}
	var contact *Contact
	if !in.Contact.empty() {
		c := in.Contact
		if strings.TrimSpace(c.Phone) == "" && strings.TrimSpace(c.Email) == "" {
			errs = append(errs, fieldErr("contact.phone", "required_without", "Give a phone number or an e-mail address, or no contact at all (anonymous).",
				"Cần số điện thoại hoặc email, hoặc để trống toàn bộ thông tin liên hệ (gửi ẩn danh)."))
		}
		contact = &Contact{Name: strings.TrimSpace(c.Name), Email: strings.ToLower(strings.TrimSpace(c.Email))}
		if c.Phone != "" {
			contact.Phone, _ = vnid.NormalizePhone(c.Phone) // validated by the vnphone tag
		}
	}
	docs := make([]Attachment, 0, len(in.Attachments))
	for i, a := range in.Attachments {
		at := fmt.Sprintf("attachments[%d]", i)
		name := safeFileName(a.FileName)
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
		want, ok := attachmentTypes[ext]
		mt, _, _ := strings.Cut(a.ContentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		switch {
		case !ok:
			errs = append(errs, fieldErr(at+".fileName", "format_not_allowed", "Accepted formats: jpg, jpeg, png, heic, pdf, mp4.",
				"Định dạng được chấp nhận: jpg, jpeg, png, heic, pdf, mp4."))
		case mt != want:
			errs = append(errs, fieldErr(at+".contentType", "content_type_mismatch",
				fmt.Sprintf("A .%s file must be declared as %s.", ext, want), fmt.Sprintf("Tệp .%s phải có kiểu %s.", ext, want)))
		}
		if a.Size > MaxAttachmentBytes {
			errs = append(errs, fieldErr(at+".size", "file_too_large", "The file is larger than 10 MB.", "Tệp vượt quá dung lượng tối đa 10 MB."))
		}
		docs = append(docs, Attachment{FileName: fmt.Sprintf("%d-%s", i+1, name), ContentType: want, Size: a.Size})
	}
	return contact, docs, f, errs
}

// safeFileName keeps letters, digits, dot, dash and underscore (after
// accent folding), so upload keys are plain.
func safeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range vnid.Fold(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if len(s) > 100 {
		s = s[len(s)-100:]
	}
	if s == "" {
		s = "file"
	}
	return s
}

// UploadKey is the uploads-bucket key of attachment name (a safeFileName)
// of item id.
func UploadKey(id ID, name string) string { return "feedback/" + id.String() + "/" + name }

// idAlphabet is Crockford-like base32 without I, L, O, U.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a fresh id: PAKN-<yymmdd in Vietnam>-<8 random base32>.
// Ids are not guessable in sequence; the secret still guards the item.
func NewID(now time.Time) (ID, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ID{}, fmt.Errorf("new feedback id: %w", err)
	}
	out := make([]byte, 8)
	for i, x := range b {
		out[i] = idAlphabet[int(x)%len(idAlphabet)]
	}
	return ParseID("PAKN-" + now.In(workdays.Location).Format("060102") + "-" + string(out))
}
