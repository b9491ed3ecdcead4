package sqsserver

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"sort"
)

// msgAttr is one message attribute (or message system attribute) in the wire
// shape of the JSON protocol; BinaryValue travels as base64.
type msgAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// md5OfAttributes computes MD5OfMessageAttributes exactly as SQS does: the
// attributes sorted by name, each encoded as length-prefixed (4-byte big
// endian) name, length-prefixed data type, one transport byte (1 = string,
// 2 = binary) and the length-prefixed value; the MD5 of the concatenation.
// It returns "" for no attributes (the field is then omitted).
func md5OfAttributes(attrs map[string]msgAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var lb [4]byte
	writeLP := func(b []byte) {
		binary.BigEndian.PutUint32(lb[:], uint32(len(b)))
		h.Write(lb[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		writeLP([]byte(n))
		writeLP([]byte(a.DataType))
		if isBinaryType(a.DataType) {
			h.Write([]byte{2})
			writeLP(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			writeLP([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// isBinaryType reports whether a data type ("Binary" or "Binary.custom") is
// transported as bytes.
func isBinaryType(dt string) bool {
	return baseType(dt) == "Binary"
}

// baseType strips the custom suffix of a data type ("Number.int" -> "Number").
func baseType(dt string) string {
	for i := 0; i < len(dt); i++ {
		if dt[i] == '.' {
			return dt[:i]
		}
	}
	return dt
}
