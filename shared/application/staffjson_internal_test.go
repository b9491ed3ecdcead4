package application

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

// staffJSONByMap is the former StaffApplication encoding (encode, decode
// into a map, drop the PIN members, encode again), kept as the reference
// the one-pass encoding must match.
func staffJSONByMap(a Application) ([]byte, error) {
	type plain Application
	b, err := json.Marshal(plain(a.InAPIZone()))
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "pinHash")
	delete(m, "pinSalt")
	return json.Marshal(m)
}

// TestStaffApplication_json_has_no_pin_and_matches_reference: the staff
// encoding carries every member of the application but pinHash and
// pinSalt, with the same values as the reference encoding.
func TestStaffApplication_json_has_no_pin_and_matches_reference(t *testing.T) {
	at := time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC)
	full := Application{Code: "STP-261203-0001", ProcedureCode: "STP.01", ProcedureName: "Cấp phiếu lý lịch tư pháp",
		Agency: Agency{Code: "STP", Name: "Sở Tư pháp"}, Status: StatusReturned, SubmittedAt: at, ReceivedAt: &at, SettledAt: &at,
		DueAt: at.Add(72 * time.Hour), PINHash: "hmac-sha256$k1$secret", PINSalt: "c2FsdA==", PINChangedAt: &at, Version: 7,
		Fee:       Fee{AmountVND: 200000, Kind: "fee", PaymentState: PaymentPaid, PaymentRef: "P1", PaidAt: &at},
		Timeline:  []Event{{At: at, Status: StatusSubmitted, Actor: ActorCitizen, EventID: "e1"}},
		Documents: []Document{{Code: "TK", Name: "Tờ khai", Required: true, Uploaded: true, UploadKey: "k"}},
		Result:    &ResultRecord{DocumentKey: "d", Description: "x", Size: 10, RecordedAt: at},
		Delivery:  &DeliveryRecord{Method: DeliveryOnline, ReturnedAt: at, Downloads: 2, LastDownloadAt: &at}}
	for name, a := range map[string]Application{"full": full, "zero": {}, "redacted": full.Redacted()} {
		t.Run(name, func(t *testing.T) {
			got, err := json.Marshal(StaffApplication{a})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(got), "pinHash") || strings.Contains(string(got), "pinSalt") || strings.Contains(string(got), "secret") {
				t.Fatalf("PIN data in %s", got)
			}
			want, err := staffJSONByMap(a)
			if err != nil {
				t.Fatal(err)
			}
			var g, w map[string]any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("members %v\nwant %v", slicesSorted(g), slicesSorted(w))
			}
		})
	}
}

func slicesSorted(m map[string]any) []string {
	var out []string
	for k := range maps.Keys(m) {
		out = append(out, k)
	}
	return out
}

// BenchmarkStaffApplication_json is the encoding of a staff answer's
// application (process-application answers one per call).
func BenchmarkStaffApplication_json(b *testing.B) {
	at := time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC)
	a := Application{Code: "STP-261203-0001", ProcedureCode: "STP.01", Agency: Agency{Code: "STP", Name: "Sở Tư pháp"},
		Status: StatusProcessing, SubmittedAt: at, ReceivedAt: &at, DueAt: at, PINHash: "h", PINSalt: "s",
		Form: map[string]any{"loaiTrichLuc": "khai_sinh", "soBanSao": 2}}
	for range 6 {
		a.Timeline = append(a.Timeline, Event{At: at, Status: StatusProcessing, Actor: "STP", EventID: "0b9b6a8e-1f4e-4f63-9d55-2d8c1c7b1a11", Note: "Đang xử lý hồ sơ"})
		a.Documents = append(a.Documents, Document{Code: "TK", Name: "Tờ khai", Required: true})
	}
	b.Run("one_pass", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(StaffApplication{a}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("by_map", func(b *testing.B) {
		for b.Loop() {
			if _, err := staffJSONByMap(a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
