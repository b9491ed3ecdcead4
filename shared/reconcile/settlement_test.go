package reconcile

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseSettlement_valid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []SettlementLine
	}{
		{"header_only", "date,reference,amount,bank_transaction_id\n", nil},
		{"header_without_newline", "date,reference,amount,bank_transaction_id", nil},
		{"lf", "date,reference,amount,bank_transaction_id\n2026-11-25,MCAAAAAAAAAAAA,50000,14123456\n",
			[]SettlementLine{{Line: 2, Date: "2026-11-25", Reference: "MCAAAAAAAAAAAA", AmountVND: 50000, BankTransactionID: "14123456"}}},
		{"crlf_and_bom", "\ufeffdate,reference,amount,bank_transaction_id\r\n2026-11-25,MCAAAAAAAAAAAA,50000,FT1\r\n2026-11-26,REF_2-b,1,FT2\r\n",
			[]SettlementLine{
				{Line: 2, Date: "2026-11-25", Reference: "MCAAAAAAAAAAAA", AmountVND: 50000, BankTransactionID: "FT1"},
				{Line: 3, Date: "2026-11-26", Reference: "REF_2-b", AmountVND: 1, BankTransactionID: "FT2"}}},
		{"quoted_fields", "date,reference,amount,bank_transaction_id\n\"2026-02-28\",\"MCAAAAAAAAAAAA\",\"700\",\"X-1\"\n",
			[]SettlementLine{{Line: 2, Date: "2026-02-28", Reference: "MCAAAAAAAAAAAA", AmountVND: 700, BankTransactionID: "X-1"}}},
		{"same_reference_twice_is_parsed", "date,reference,amount,bank_transaction_id\n2026-11-25,R1,5,T1\n2026-11-25,R1,5,T2\n",
			[]SettlementLine{{Line: 2, Date: "2026-11-25", Reference: "R1", AmountVND: 5, BankTransactionID: "T1"},
				{Line: 3, Date: "2026-11-25", Reference: "R1", AmountVND: 5, BankTransactionID: "T2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSettlement(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseSettlement_invalid(t *testing.T) {
	const h = "date,reference,amount,bank_transaction_id\n"
	tests := []struct {
		name string
		in   string
		want []LineError // Line and Field checked
	}{
		{"empty", "", []LineError{{Line: 1}}},
		{"wrong_header", "date,ref,amount,txn\n", []LineError{{Line: 1}}},
		{"header_extra_column", "date,reference,amount,bank_transaction_id,x\n", []LineError{{Line: 1}}},
		{"header_case", "Date,Reference,Amount,Bank_Transaction_ID\n", []LineError{{Line: 1}}},
		{"bad_date_format", h + "25/11/2026,R1,5,T1\n", []LineError{{Line: 2, Field: "date"}}},
		{"impossible_date", h + "2026-02-30,R1,5,T1\n", []LineError{{Line: 2, Field: "date"}}},
		{"negative_amount", h + "2026-11-25,R1,-5,T1\n", []LineError{{Line: 2, Field: "amount"}}},
		{"zero_amount", h + "2026-11-25,R1,0,T1\n", []LineError{{Line: 2, Field: "amount"}}},
		{"decimal_amount", h + "2026-11-25,R1,5.00,T1\n", []LineError{{Line: 2, Field: "amount"}}},
		{"thousands_separator", h + "2026-11-25,R1,\"50,000\",T1\n", []LineError{{Line: 2, Field: "amount"}}},
		{"amount_with_spaces", h + "2026-11-25,R1, 5,T1\n", []LineError{{Line: 2, Field: "amount"}}},
		{"huge_amount", h + "2026-11-25,R1,99999999999999999999,T1\n", []LineError{{Line: 2, Field: "amount"}}},
		{"empty_reference", h + "2026-11-25,,5,T1\n", []LineError{{Line: 2, Field: "reference"}}},
		{"reference_with_space", h + "2026-11-25,R 1,5,T1\n", []LineError{{Line: 2, Field: "reference"}}},
		{"vietnamese_reference", h + "2026-11-25,Lệphí,5,T1\n", []LineError{{Line: 2, Field: "reference"}}},
		{"empty_txn", h + "2026-11-25,R1,5,\n", []LineError{{Line: 2, Field: "bank_transaction_id"}}},
		{"too_few_fields", h + "2026-11-25,R1,5\n", []LineError{{Line: 2}}},
		{"too_many_fields", h + "2026-11-25,R1,5,T1,x\n", []LineError{{Line: 2}}},
		{"duplicate_txn", h + "2026-11-25,R1,5,T1\n2026-11-25,R2,5,T1\n", []LineError{{Line: 3, Field: "bank_transaction_id"}}},
		{"blank_line", h + "2026-11-25,R1,5,T1\n\n2026-11-25,R2,5,T2\n", []LineError{{Line: 3}}},
		{"bare_quote", h + "2026-11-25,R\"1,5,T1\n", []LineError{{Line: 2}}},
		{"multiline_field", h + "2026-11-25,\"R\n1\",5,T1\n", []LineError{{Line: 2}}},
		{"not_utf8", h + "2026-11-25,R1,5,T\xff\n", []LineError{{Line: 0}}},
		{"several_bad_lines", h + "2026-11-25,R1,5,T1\nx,R2,5,T2\n2026-11-25,R3,abc,T3\n",
			[]LineError{{Line: 3, Field: "date"}, {Line: 4, Field: "amount"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSettlement(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if got != nil {
				t.Errorf("returned lines with an error: %+v", got)
			}
			var se *SettlementError
			if !errors.As(err, &se) || !errors.Is(err, ErrBadSettlement) {
				t.Fatalf("err %T %v, want *SettlementError", err, err)
			}
			if len(se.Problems) != len(tc.want) {
				t.Fatalf("problems %+v, want %+v", se.Problems, tc.want)
			}
			for i, w := range tc.want {
				p := se.Problems[i]
				if p.Line != w.Line || p.Field != w.Field || p.Message == "" || p.MessageVi == "" {
					t.Errorf("problem %d = %+v, want line %d field %q with both messages", i, p, w.Line, w.Field)
				}
			}
			if tc.want[0].Line > 0 && !strings.Contains(err.Error(), "line ") {
				t.Errorf("error text %q names no line", err)
			}
		})
	}
}

func TestParseSettlement_caps_listed_problems(t *testing.T) {
	var b strings.Builder
	b.WriteString(SettlementHeader + "\n")
	for i := 0; i < 120; i++ {
		b.WriteString("bad,R1,5,T" + strconv.Itoa(i) + "\n")
	}
	_, err := ParseSettlement(strings.NewReader(b.String()))
	var se *SettlementError
	if !errors.As(err, &se) || len(se.Problems) != maxReported || se.More != 120-maxReported {
		t.Fatalf("err = %v", err)
	}
}

func TestFormatSettlement_round_trips(t *testing.T) {
	lines := []SettlementLine{
		{Line: 2, Date: "2026-11-25", Reference: "MCAAAAAAAAAAAA", AmountVND: 50000, BankTransactionID: "14123456"},
		{Line: 3, Date: "2026-11-26", Reference: "MCBBBBBBBBBBBB", AmountVND: 1, BankTransactionID: "FT-9/x"},
	}
	got, err := ParseSettlement(strings.NewReader(string(FormatSettlement(lines))))
	if err != nil || !reflect.DeepEqual(got, lines) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func FuzzParseSettlement(f *testing.F) {
	f.Add([]byte(SettlementHeader + "\n2026-11-25,MCAAAAAAAAAAAA,50000,14123456\n"))
	f.Add([]byte("\ufeff" + SettlementHeader + "\r\n2026-11-25,R1,5,T1\r\n2026-11-26,R1,6,T2"))
	f.Add([]byte(SettlementHeader + "\n\"2026-11-25\",\"R\"\"1\",5,T1\n"))
	f.Add([]byte(SettlementHeader + "\n2026-11-25,R1,5,T1\n\n"))
	f.Add([]byte("date,reference\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lines, err := ParseSettlement(strings.NewReader(string(in)))
		if err != nil {
			var se *SettlementError
			if !errors.As(err, &se) || !errors.Is(err, ErrBadSettlement) || len(se.Problems) == 0 {
				t.Fatalf("error %T %v is not a *SettlementError with problems", err, err)
			}
			if lines != nil {
				t.Fatalf("lines returned with an error")
			}
			return
		}
		seen := map[string]bool{}
		for i, l := range lines {
			if l.Line != i+2 || l.AmountVND <= 0 || !validRef(l.Reference) || !validTxnID(l.BankTransactionID) || seen[l.BankTransactionID] {
				t.Fatalf("accepted bad line %+v", l)
			}
			seen[l.BankTransactionID] = true
		}
		again, err := ParseSettlement(strings.NewReader(string(FormatSettlement(lines))))
		if err != nil || !reflect.DeepEqual(again, lines) && len(lines) > 0 {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, lines)
		}
	})
}
