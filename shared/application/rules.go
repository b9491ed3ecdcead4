package application

import (
	"errors"
	"sync"

	"github.com/go-playground/validator/v10"

	"motcua/shared/httpx"
	"motcua/shared/vnid"
)

var (
	rulesOnce sync.Once
	rulesErr  error
)

// RegisterRules registers the validator tags the submission input uses:
// cccd (12-digit citizen ID shape and province code), mst (tax code with
// its check digit) and vnphone (Vietnamese mobile number). It is idempotent
// and called by NewService; call it before serving (the validator does not
// support registering concurrently with validation).
func RegisterRules() error {
	rulesOnce.Do(func() {
		rulesErr = errors.Join(
			httpx.RegisterRule("cccd", func(fl validator.FieldLevel) bool {
				_, err := vnid.ValidateCCCD(fl.Field().String(), zeroTime)
				return err == nil
			}, "Must be a 12-digit citizen ID (CCCD) with a valid province code.",
				"Phải là số căn cước công dân (CCCD) gồm 12 chữ số với mã tỉnh hợp lệ."),
			httpx.RegisterRule("mst", func(fl validator.FieldLevel) bool {
				_, err := vnid.ValidateMST(fl.Field().String())
				return err == nil
			}, "Must be a tax code (MST) of 10 digits, or 13 with a branch suffix, with a correct check digit.",
				"Phải là mã số thuế gồm 10 chữ số (hoặc 13 chữ số với mã chi nhánh) có chữ số kiểm tra đúng."),
			httpx.RegisterRule("vnphone", func(fl validator.FieldLevel) bool {
				_, err := vnid.NormalizePhone(fl.Field().String())
				return err == nil
			}, "Must be a Vietnamese mobile number, e.g. 0912345678 or +84912345678.",
				"Phải là số điện thoại di động Việt Nam, ví dụ 0912345678 hoặc +84912345678."),
		)
	})
	return rulesErr
}
